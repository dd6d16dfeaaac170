"""The MPS homicide victim file as the register's first data: every row a case, mapped to
the register vocabulary, audited, whole or nothing, and idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from vru.adapters.records.models import AuditEntry, Case
from vru.domain.problems import InputError
from vru.domain.register.cases import check_case
from vru.services import register_seed as seed
from vru.services.records import Forbidden, Principal, RecordsService, UserError
from vru.services.security.roles import Role

MPS_FILE = Path("/work/shared/data/crime/homicide/mps_homicides_2003_2023_stCEG.csv")
needs_file = pytest.mark.skipif(not MPS_FILE.exists(), reason="MPS homicide file not present")
HEADER = "Age_Group,Sex,Method_of_Killing,Domestic_Abuse,Solved_Status,Borough,Ethnicity,Year,BCU"


def _count(svc: RecordsService, query: object) -> int:
    with svc.records.reading() as s:
        return int(s.scalar(query) or 0)  # type: ignore[call-overload]


def test_file_rows_map_to_the_vocabulary(tmp_path: Path) -> None:
    f = tmp_path / "mps.csv"
    f.write_text(HEADER + "\n"
                 'Child,Female,"Physical Assault, no weapon",Domestic Abuse,Solved,Hackney,'
                 "Not Reported/Not Known,2004,Central East\n"
                 "Adult,Male,Knife or Sharp Implement,Not Domestic Abuse,Unsolved,Hackney,"
                 "Black,2004,Central East\n")
    a, b = seed.read_mps_homicides(f)
    assert (a.reference, b.reference) == ("MPS-2004-0001", "MPS-2004-0002")
    assert (a.victim_age_band, a.victim_sex, a.method, a.relationship, a.victim_ethnicity) == (
        "mps_child", "female", "physical_assault_no_weapon", "domestic_unspecified",
        "not_stated")
    assert (b.method, b.relationship, b.review_type, b.review_status) == (
        "knife_or_sharp_instrument", "not_known", "none", "notified")
    assert check_case(a) == [] and check_case(b) == []


def test_a_file_with_a_bad_row_loads_nothing(svc: RecordsService, cli: Principal,
                                             tmp_path: Path) -> None:
    f = tmp_path / "mps.csv"
    f.write_text(HEADER + "\n"
                 "Adult,Male,Shooting,Not Domestic Abuse,Solved,Brent,White,2010,North West\n"
                 "Adult,Male,Crossbow,Not Domestic Abuse,Solved,Brent,White,20x0,North West\n")
    with pytest.raises(InputError) as err:
        seed.load_mps_homicides(svc, cli, f)
    assert {(p.row, p.column) for p in err.value.problems} == {
        (3, "Method_of_Killing"), (3, "Year")}
    assert _count(svc, select(func.count()).select_from(Case)) == 0
    analyst = Principal(Role.ANALYST, username="ann", session_id=3)
    with pytest.raises(Forbidden):
        seed.load_mps_homicides(svc, analyst, f)


@needs_file
def test_the_real_file_loads_once_audited(svc: RecordsService, cli: Principal) -> None:
    first = seed.load_mps_homicides(svc, cli, MPS_FILE)
    assert (first.cases, first.added, first.unchanged) == (2670, 2670, 0)
    assert _count(svc, select(func.count()).select_from(Case)) == 2670
    assert _count(svc, select(func.count()).select_from(Case).where(
        Case.method == "knife_or_sharp_instrument")) == 1434
    assert _count(svc, select(func.count()).select_from(Case).where(
        Case.relationship == "domestic_unspecified")) == 472
    assert _count(svc, select(func.count(func.distinct(Case.borough)))) == 32
    creates = _count(svc, select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "register.load_mps_homicides", AuditEntry.entity == "case"))
    assert creates == 2670
    assert _count(svc, select(func.count()).select_from(AuditEntry).where(
        AuditEntry.entity == "file")) == 1
    entries = _count(svc, select(func.count()).select_from(AuditEntry))

    again = seed.load_mps_homicides(svc, cli, MPS_FILE)
    assert (again.cases, again.added, again.unchanged) == (2670, 0, 2670)
    assert _count(svc, select(func.count()).select_from(Case)) == 2670
    assert _count(svc, select(func.count()).select_from(AuditEntry)) == entries
    from vru.services.records import verify_audit
    assert verify_audit(svc).ok


def test_a_different_file_over_a_loaded_one_is_refused(svc: RecordsService, cli: Principal,
                                                       tmp_path: Path) -> None:
    f = tmp_path / "mps.csv"
    row = "Adult,Male,Shooting,Not Domestic Abuse,Solved,Brent,White,2010,North West\n"
    f.write_text(HEADER + "\n" + row)
    assert seed.load_mps_homicides(svc, cli, f).added == 1
    f.write_text(HEADER + "\n" + row.replace("Shooting", "Blunt Implement"))
    with pytest.raises(UserError):
        seed.load_mps_homicides(svc, cli, f)


def test_the_command_line_loads_and_refuses(database_url: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vru.interfaces.cli.main import app
    env = {
        "VRU_DATA_DIR": str(tmp_path / "data"), "VRU_DATABASE_URL": database_url,
        "VRU_SECRET_KEY": "cli-tests-only-5d2c8e1a9f4b7e3c6a0d9f8e7b6c5a4d",
        "VRU_ARGON2_MEMORY_KIB": "19456", "VRU_ARGON2_PASSES": "2", "VRU_ARGON2_LANES": "1",
    }
    f = tmp_path / "mps.csv"
    f.write_text(HEADER + "\n"
                 "Adult,Male,Shooting,Not Domestic Abuse,Solved,Brent,White,2010,North West\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\nAdult,Male,Shooting,Maybe,Solved,Brent,White,2010,North West\n")
    runner = CliRunner()
    refused = runner.invoke(app, ["register", "load-mps-homicides", str(bad)], env=env)
    assert refused.exit_code == 1 and "Domestic_Abuse" in refused.output
    done = runner.invoke(app, ["register", "load-mps-homicides", str(f)], env=env)
    assert done.exit_code == 0 and "added 1 cases" in done.output
    again = runner.invoke(app, ["register", "load-mps-homicides", str(f)], env=env)
    assert again.exit_code == 0 and "added 0 cases, 1 already" in again.output
