"""Property tests for the CSV reader and the category mapping.

* Any table of text (commas, quotes, spaces, any Unicode except line breaks and NUL) written
  by Python's ``csv`` module is read back by ``read_csv`` with the same values, and data row
  ``i`` is line ``i + 2`` of the file.
* No sequence of bytes makes ``read_csv`` fail with anything but ``InputError``.
* ``map_categories`` ignores case and whitespace, and names exactly the unknown categories;
  the SQL ``normalised`` the adapters use agrees with the Python normalisation.
"""

from __future__ import annotations

import csv
import io
import string
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from vru.adapters.sources.checks import normalised
from vru.adapters.sources.csvfile import CsvText, read_csv
from vru.domain.measures import (
    CATEGORY_SCHEMES,
    UnknownCategoryError,
    map_categories,
    normalise_category,
)
from vru.domain.problems import InputError

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# Any character but line breaks (a value may not span lines), NUL (binary) and surrogates.
value_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x00"),
    max_size=12)
# Header names: as values, but not blank, already stripped (read_csv strips names), and with
# no byte order mark (one at the start of the file is removed as Excel's BOM).
header_name = value_text.filter(lambda s: s.strip() == s and s != "" and "\ufeff" not in s)


@st.composite
def text_tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(header_name, min_size=1, max_size=5, unique=True))
    rows = draw(st.lists(st.lists(value_text, min_size=len(header), max_size=len(header)),
                         min_size=1, max_size=8))
    return header, rows


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hypothesis")


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, terminator: str,
              bom: bool, final_newline: bool) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=terminator)
    writer.writerow(header)
    writer.writerows(rows)
    text = buf.getvalue()
    if not final_newline:
        text = text.removesuffix(terminator)
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8")
    path.write_bytes(data)
    return data


@SETTINGS
@given(table=text_tables(), terminator=st.sampled_from(["\n", "\r\n"]), bom=st.booleans(),
       final_newline=st.booleans())
def test_read_csv_round_trips_values_and_row_numbers(
        work: Path, table: tuple[list[str], list[list[str]]], terminator: str, bom: bool,
        final_newline: bool) -> None:
    header, rows = table
    # A one-column row whose value is blank is indistinguishable from a blank line.
    assume(not (len(header) == 1 and any(r[0].strip() == "" for r in rows)))
    path = work / "table.csv"
    data = write_csv(path, header, rows, terminator=terminator, bom=bom,
                     final_newline=final_newline)
    result = read_csv(path, header)
    assert isinstance(result, CsvText)
    assert result.header == header
    assert result.had_bom is bom
    assert result.table.column_names == header
    assert [list(r.values()) for r in result.table.to_pylist()] == rows
    # Row i of the table is line i + 2 of the file (the header is line 1).
    lines = data.decode("utf-8-sig").split("\n")
    for i, row in enumerate(rows):
        line = lines[i + 1].removesuffix("\r")
        assert next(csv.reader([line])) == row


@SETTINGS
@given(table=text_tables())
def test_read_csv_names_the_missing_column(
        work: Path, table: tuple[list[str], list[list[str]]]) -> None:
    header, rows = table
    path = work / "missing.csv"
    write_csv(path, header, rows, terminator="\n", bom=False, final_newline=True)
    wanted = "a column that is not there"
    assume(wanted not in header)
    with pytest.raises(InputError) as refused:
        read_csv(path, [*header, wanted])
    assert [(p.row, p.column) for p in refused.value.problems] == [(1, wanted)]


csv_like_bytes = st.lists(
    st.sampled_from([b"a", b"b,c", b",", b'"', b'""', b"\n", b"\r\n", b"\r", b" ", b"\t",
                     b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"\xe9", b"\xc3\xa9",
                     b"PK\x03\x04", b"\x1f\x8b", b"x,y,z\n", b"1,2,3\n"]),
    max_size=40).map(b"".join)


@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), csv_like_bytes),
       required=st.sampled_from([(), ("x",), ("x", "y", "z")]),
       allow_extra=st.booleans())
def test_read_csv_fails_only_with_input_error(
        work: Path, data: bytes, required: tuple[str, ...], allow_extra: bool) -> None:
    path = work / "random.csv"
    path.write_bytes(data)
    try:
        result = read_csv(path, required, allow_extra=allow_extra)
    except InputError as exc:
        assert exc.problems and all(p.file == "random.csv" for p in exc.problems)
        assert all(p.message and p.action for p in exc.problems)
        assert exc.total >= len(exc.problems)
        return
    assert result.table.num_rows >= 1
    assert result.table.column_names == result.header


# -- category mapping ------------------------------------------------------------------------

WHITESPACE = [" ", "  ", "\t", "\u00a0", "\u2003", "\u3000", " \t "]


@st.composite
def respelt(draw: st.DrawFn, key: str) -> str:
    """``key`` with random letter case and random whitespace around and between words."""
    def part(text: str) -> str:
        words = [
            "".join(draw(st.sampled_from([c.lower(), c.upper()])) for c in word)
            for word in text.split(" ")
        ]
        out = draw(st.sampled_from(["", *WHITESPACE]))
        for i, w in enumerate(words):
            out += w if i == 0 else draw(st.sampled_from(WHITESPACE)) + w
        return out + draw(st.sampled_from(["", *WHITESPACE]))
    return " | ".join(part(p) for p in key.split(" | "))


scheme_keys = st.sampled_from(
    [(scheme, key) for scheme, table in CATEGORY_SCHEMES.items() for key in table])


@SETTINGS
@given(data=st.data(), picks=st.lists(scheme_keys, min_size=1, max_size=6))
def test_map_categories_ignores_case_and_whitespace(
        data: st.DataObject, picks: list[tuple[str, str]]) -> None:
    scheme = picks[0][0]
    keys = [k for s, k in picks if s == scheme]
    raw = [data.draw(respelt(k)) for k in keys]
    mapped = map_categories(scheme, raw)
    assert mapped == {r: CATEGORY_SCHEMES[scheme][k] for r, k in zip(raw, keys, strict=True)}


def _key(raw: str) -> str:
    return " | ".join(" ".join(part.split()).casefold() for part in raw.split(" | "))


@SETTINGS
@given(data=st.data(), scheme=st.sampled_from(sorted(CATEGORY_SCHEMES)),
       unknown=st.lists(st.text(max_size=20), min_size=1, max_size=4))
def test_unknown_categories_are_named_exactly(
        data: st.DataObject, scheme: str, unknown: list[str]) -> None:
    table = CATEGORY_SCHEMES[scheme]
    unknown = [u for u in unknown if _key(u) not in table]
    assume(unknown)
    known = [data.draw(respelt(k)) for k in data.draw(
        st.lists(st.sampled_from(sorted(table)), max_size=4))]
    mixed = data.draw(st.permutations(known + unknown))
    with pytest.raises(UnknownCategoryError) as refused:
        map_categories(scheme, mixed)
    assert refused.value.categories == sorted(set(unknown))
    assert refused.value.scheme == scheme
    for u in set(unknown):
        assert u in refused.value.args[0]


# Letters whose case folding is special, every kind of whitespace, and plain ASCII.
FOLD_ALPHABET = (string.ascii_letters + " |-/&" + "\t\n\x0b\x0c\r\x1c\x1f\x85\u00a0\u1680"
                 "\u2000\u200a\u2028\u2029\u202f\u205f\u3000" + "ßẞſﬀﬁﬂﬃﬄﬅﬆİÉéÄ")


@SETTINGS
@given(texts=st.lists(st.text(alphabet=FOLD_ALPHABET, max_size=25), min_size=1, max_size=20))
def test_sql_normalisation_matches_python(texts: list[str]) -> None:
    con = duckdb.connect()
    try:
        got = [r[0] for r in con.execute(
            f"SELECT {normalised('c')} FROM unnest(?) WITH ORDINALITY AS t(c, i) ORDER BY i",
            [texts]).fetchall()]
    finally:
        con.close()
    assert got == [normalise_category(t) for t in texts]
