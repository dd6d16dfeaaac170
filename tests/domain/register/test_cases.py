"""Import rows: every problem located by row and column; whole file or nothing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vru.domain.register.cases import (
    CASE_COLUMNS,
    TEMPLATE_COLUMNS,
    CaseRecord,
    check_case,
    parse_rows,
    template_example,
)
from vru.domain.register.vocabulary import (
    FACTOR_CODES,
    FACTORS,
    METHODS,
    REVIEW_TYPES,
    parse_factor_value,
)


def _row(**values: str) -> dict[str, str]:
    row = dict.fromkeys(TEMPLATE_COLUMNS, "")
    row.update(reference="R-1", year="2022", borough="Hackney", review_type="dhr",
               review_status="in_progress")
    row.update(values)
    return row


def _parse(*rows: dict[str, str], existing: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return parse_rows("f.csv", list(TEMPLATE_COLUMNS),
                      [(i + 2, r) for i, r in enumerate(rows)], existing_references=existing)


def test_a_good_file_gives_cases_and_codings() -> None:
    parsed, problems = _parse(
        _row(coding_round="first", coder="AB", ace_abuse="yes", school_exclusion="No"),
        _row(coding_round="second", coder="CD", ace_abuse="n", school_exclusion=""),
        _row(reference="R-2", method="Knife or sharp implement", victim_sex="FEMALE"),
    )
    assert problems == []
    assert parsed is not None
    assert [c.reference for c in parsed.cases] == ["R-1", "R-2"]
    assert parsed.cases[1].method == "knife_or_sharp_instrument"
    assert parsed.cases[1].victim_sex == "female"
    assert parsed.cases[0].victim_ethnicity == "not_stated"  # blank means not known
    assert [(c.reference, c.coding_round) for c in parsed.codings] == [("R-1", "first"),
                                                                      ("R-1", "second")]
    assert parsed.codings[0].values["ace_abuse"] is True
    assert parsed.codings[1].values["school_exclusion"] is None


def test_every_problem_is_located_and_nothing_is_returned() -> None:
    parsed, problems = _parse(
        _row(year="twenty", method="poison"),
        _row(reference="R-2", review_type="", incident_date="2022-13-01"),
        _row(reference="R-3", ace_abuse="maybe"),
        _row(reference="R-4", year="2021", incident_date="2022-01-05"),
        _row(reference="R-5", ace_abuse="yes"),
    )
    assert parsed is None
    where = {(p.row, p.column) for p in problems}
    assert where == {(2, "year"), (2, "method"), (3, "review_type"), (3, "incident_date"),
                     (4, "ace_abuse"), (5, "incident_date"), (6, "coding_round")}
    assert all(p.action for p in problems)


def test_file_level_checks() -> None:
    _, problems = _parse(_row(), _row(borough="Camden"))
    assert [(p.row, p.column) for p in problems] == [(3, "borough")]
    _, problems = _parse(_row(coding_round="first", coder="A"),
                         _row(coding_round="first", coder="B"))
    assert [(p.row, p.column) for p in problems] == [(3, "coding_round")]
    _, problems = _parse(_row(coding_round="second", coder="A"))
    assert "needs a first coding" in problems[0].message
    _, problems = _parse(_row(), existing=("R-1",))
    assert problems[0].message == "is already on the register"
    _, problems = _parse()
    assert problems[0].message == "has no data rows"
    _, problems = parse_rows("f.csv", ["reference", "year", "colour"], [])
    assert {p.column for p in problems} == {"borough", "review_type", "review_status", "colour"}


def test_check_case_for_api_input() -> None:
    ok = CaseRecord("R-1", 2022, "Hackney", "dhr", "completed")
    assert check_case(ok) == []
    bad = CaseRecord("", 1800, " ", "x", "y", method="poison")
    cols = {c for c, _, _ in check_case(bad)}
    assert cols == {"reference", "year", "borough", "review_type", "review_status", "method"}


def test_vocabulary_reads_codes_and_labels() -> None:
    assert REVIEW_TYPES.parse("Domestic homicide review") == "dhr"
    assert REVIEW_TYPES.parse("  OWHR ") == "owhr"
    assert METHODS.parse("physical assault, no weapon") == "physical_assault_no_weapon"
    assert REVIEW_TYPES.parse("inquest") is None
    assert parse_factor_value("Yes") == (True, True)
    assert parse_factor_value("not known") == (None, True)
    assert parse_factor_value("perhaps") == (None, False)
    assert len({f.code for f in FACTORS}) == len(FACTORS) == len(FACTOR_CODES)
    assert len([f for f in FACTORS if f.group == "ace"]) == 7


def test_template_example_parses() -> None:
    parsed, problems = _parse(template_example())
    assert problems == [] and parsed is not None and parsed.cases[0].synthetic


@settings(max_examples=200, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(CASE_COLUMNS + ("coding_round", "coder",
                                                                "ace_abuse")),
                                st.text(max_size=12)), max_size=5))
def test_parser_never_crashes_on_arbitrary_text(rows: list[dict[str, str]]) -> None:
    parsed, problems = parse_rows("f.csv", list(TEMPLATE_COLUMNS),
                                  [(i + 2, r) for i, r in enumerate(rows)])
    assert (parsed is None) == bool(problems)
    assert all(p.row is None or p.row >= 1 for p in problems)
