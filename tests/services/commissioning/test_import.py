"""Importing applications and score sheets (CSV and Excel): every row checked, the file
taken whole or not at all, every problem located; known-bad files refused."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from vru.adapters.records.commissioning_files import read_applications_file, write_template
from vru.adapters.records.commissioning_models import Application, AssessorScoreRow
from vru.adapters.records.models import AuditEntry
from vru.domain.commissioning.applications import COLUMNS
from vru.domain.problems import InputError
from vru.services import commissioning as cm
from vru.services.records import Principal, RecordsService

from .conftest import application, make_round

REF = "fund-2026"


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS
              ) -> Path:
    lines = [",".join(columns)]
    for r in rows:
        lines.append(",".join(f'"{r.get(c, "")}"' for c in columns))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def write_xlsx(path: Path, rows: list[dict[str, str]], sheet: str = "applications",
               extra_sheet: bool = True) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(list(COLUMNS))
    for r in rows:
        ws.append([int(r[c]) if c in ("amount_requested", "duration_months") and r.get(c)
                   else r.get(c, "") for c in COLUMNS])
    if extra_sheet:
        book.create_sheet("notes").append(["anything"])
    book.save(path)
    return path


def counts(svc: RecordsService) -> tuple[int, int]:
    with svc.records.reading() as s:
        return (int(s.scalar(select(func.count()).select_from(Application)) or 0),
                int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0))


def test_a_csv_file_is_imported_whole(svc: RecordsService, cli: Principal,
                                      tmp_path: Path) -> None:
    make_round(svc, cli, REF)
    rows = [application(1), application(2, "Borough 3", reference=""),
            application(3, amount=95_000)]
    result = cm.import_applications(svc, cli, REF, write_csv(tmp_path / "a.csv", rows))
    assert (result.imported, result.eligible, result.not_eligible) == (3, 2, 1)
    assert result.references == ("A-001", "A-0001", "A-003")
    apps = {a["reference"]: a for a in cm.list_applications(svc, cli, REF)}
    assert apps["A-0001"]["place_code"] == "E09000003"  # the place given by its name
    with svc.records.reading() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "application.import")
                         .where(AuditEntry.entity == "file"))
    assert entry is not None and '"applications":3' in (entry.before or entry.after or "")


def test_an_excel_file_is_imported(svc: RecordsService, cli: Principal,
                                   tmp_path: Path) -> None:
    make_round(svc, cli, REF)
    path = write_xlsx(tmp_path / "a.xlsx", [application(1), application(2)])
    assert read_applications_file(path).rows[0][1]["amount_requested"] == "40000"
    assert cm.import_applications(svc, cli, REF, path).imported == 2


def test_one_bad_row_refuses_the_whole_file(svc: RecordsService, cli: Principal,
                                            tmp_path: Path) -> None:
    make_round(svc, cli, REF)
    cm.add_application(svc, cli, REF, application(7))
    before = counts(svc)
    rows = [application(1), application(2, amount_requested="forty thousand"),
            application(3, reference="A-007"), application(4, title="")]
    with pytest.raises(InputError) as caught:
        cm.import_applications(svc, cli, REF, write_csv(tmp_path / "bad.csv", rows))
    located = {(p.row, p.column) for p in caught.value.problems}
    assert located == {(3, "amount_requested"), (4, "reference"), (5, "title")}
    assert caught.value.total == 3
    assert counts(svc) == before  # nothing written, nothing audited


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.csv", b"", "empty"),
    ("header-only.csv", (",".join(COLUMNS) + "\r\n").encode(), "no data rows"),
    ("missing.csv", b"organisation_name,title\r\nA,B\r\n", "missing"),
    ("unknown.csv", (",".join(COLUMNS) + ",shoe_size\r\n" + "," * len(COLUMNS) + "9\r\n"
                     ).encode(), "does not know"),
    ("utf16.csv", (",".join(COLUMNS) + "\r\n").encode("utf-16"), ""),
    ("old.xls", b"\xd0\xcf\x11\xe0", "old Excel"),
    ("broken.xlsx", b"PK\x03\x04 not really a workbook", "cannot be opened"),
])
def test_known_bad_files_are_refused(svc: RecordsService, cli: Principal, tmp_path: Path,
                                     name: str, content: bytes, message: str) -> None:
    make_round(svc, cli, REF)
    path = tmp_path / name
    path.write_bytes(content)
    before = counts(svc)
    with pytest.raises(InputError) as caught:
        cm.import_applications(svc, cli, REF, path)
    assert message in str(caught.value)
    assert counts(svc) == before


def test_an_excel_file_needs_its_applications_sheet(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "a.xlsx", [application(1)], sheet="Sheet1")
    with pytest.raises(InputError, match="no sheet called 'applications'"):
        read_applications_file(path)


def test_the_template_reads_back(svc: RecordsService, cli: Principal,
                                 tmp_path: Path) -> None:
    r = make_round(svc, cli, REF)
    path = write_template(tmp_path / "t.xlsx", [(p["code"], p["name"]) for p in r["places"]],
                          [(e.key, e.name) for e in cm.catalogue(svc)])
    read = read_applications_file(path)
    assert read.columns == list(COLUMNS) and read.rows == []
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["applications", "columns", "places", "interventions"]
    csv_path = write_template(tmp_path / "t.csv", [], [])
    assert csv_path.read_text("utf-8-sig").strip() == ",".join(COLUMNS)


def test_a_score_sheet_is_imported_whole(svc: RecordsService, cli: Principal,
                                         tmp_path: Path) -> None:
    make_round(svc, cli, REF)
    for n in (1, 2):
        cm.add_application(svc, cli, REF, application(n))
    cm.move_round(svc, cli, REF, "assessing")
    cm.declare_conflict(svc, cli, REF, "trustee", application="A-002", person="bob")
    sheet = tmp_path / "scores.csv"
    header = "application,assessor,community,partnership,delivery,comment"
    sheet.write_text("\r\n".join([header, "A-001,ann,3,3,3,good", "A-001,bob,4,3,3,",
                                  "A-002,bob,1,1,1,", "A-002,ann,5,3,3,", "A-009,ann,1,1,1,"])
                     + "\r\n", "utf-8")
    with pytest.raises(InputError) as caught:
        cm.import_scores(svc, cli, REF, sheet)
    assert {(p.row, p.column) for p in caught.value.problems} == {
        (4, "assessor"), (5, None), (6, "application")}
    with svc.records.reading() as s:
        assert s.scalar(select(func.count()).select_from(AssessorScoreRow)) == 0
    sheet.write_text("\r\n".join([header, "A-001,ann,3,3,3,good", "A-001,bob,4,3,3,",
                                  "A-002,ann,2,3,3,", "A-002,cat,2,2,2,"]) + "\r\n", "utf-8")
    assert cm.import_scores(svc, cli, REF, sheet) == 4
    states = {x["reference"]: x["state"] for x in cm.scoring_status(svc, cli, REF)}
    assert states == {"A-001": "agreed", "A-002": "agreed"}
