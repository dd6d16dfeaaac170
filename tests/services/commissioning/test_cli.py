"""vru rounds: create from a decision record, open, template, import-applications (a bad
file refused whole), close, score sheet, moderate, allocate (and --verify), publish --out,
check-file, catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from vru.adapters import threesixtygiving as tsg
from vru.interfaces.cli.main import app

from .conftest import application, decision_record

REF = "cli-fund"


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=env)


def csv_file(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    from vru.domain.commissioning.applications import COLUMNS

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({c: r.get(c, "") for c in COLUMNS} for r in rows)
    return path


def test_a_round_on_the_command_line(tmp_path: Path, database_url: str) -> None:
    env = {"VRU_DATA_DIR": str(tmp_path / "data"), "VRU_DATABASE_URL": database_url,
           "VRU_SECRET_KEY": "cli-tests-only-9c3e1b7a5d2f8e4c6a0b9d8f7e6c5b4a",
           "VRU_PUBLIC_BASE_URL": "https://vru.example.org"}
    decision = tmp_path / "decision.json"
    decision.write_text(json.dumps(decision_record()), "utf-8")
    made = run(env, "rounds", "create", "--decision", str(decision), "--reference", REF,
               "--title", "CLI fund", "--budget", "150000", "--min-award", "10000",
               "--max-award", "60000", "--weight", "need=40", "--weight", "delivery=0")
    assert made.exit_code == 1 and "weight 0" in made.output  # weights are checked
    made = run(env, "rounds", "create", "--decision", str(decision), "--reference", REF,
               "--title", "CLI fund", "--budget", "150000", "--min-award", "10000",
               "--max-award", "60000", "--cap", "60000", "--prefix", "360G-vru-cli",
               "--funder-id", "360G-vru-cli", "--decision-date", "2026-03-31")
    assert made.exit_code == 0, made.output
    assert "4 eligible boroughs" in made.output
    shown = run(env, "rounds", "show", REF, "--json")
    assert json.loads(shown.output)["places"][3]["need_points"] == 4.0
    assert run(env, "rounds", "open", REF).exit_code == 0
    template = run(env, "rounds", "template", REF, str(tmp_path / "template.xlsx"))
    assert template.exit_code == 0 and (tmp_path / "template.xlsx").is_file()

    bad = csv_file(tmp_path / "bad.csv", [application(1), application(2, title="")])
    refused = run(env, "rounds", "import-applications", REF, str(bad))
    assert refused.exit_code == 1
    assert "bad.csv, row 3, column 'title'" in refused.output.replace("\n", " ")
    good = csv_file(tmp_path / "good.csv", [application(1, "E09000004"),
                                            application(2, "E09000003"),
                                            application(3, "E09000001")])
    imported = run(env, "rounds", "import-applications", REF, str(good))
    assert imported.exit_code == 0 and "imported 3 applications (3 eligible" in \
        imported.output
    assert run(env, "rounds", "close", REF).exit_code == 0

    sheet = tmp_path / "scores.csv"
    sheet.write_text("application,assessor,community,partnership,delivery,comment\r\n"
                     "A-001,ann,4,4,4,\r\nA-001,bob,4,3,4,\r\nA-002,ann,3,3,3,\r\n"
                     "A-002,bob,3,3,3,\r\nA-003,ann,1,1,1,\r\nA-003,bob,4,4,4,\r\n", "utf-8")
    scored = run(env, "rounds", "score", REF, str(sheet))
    assert scored.exit_code == 0, scored.output
    assert "2 agreed, 1 needs moderation" in scored.output
    queue = run(env, "rounds", "moderate", REF)
    assert "A-003: How strong community activity" in queue.output
    moderated = run(env, "rounds", "moderate", REF, "A-003", "--points", "community=3",
                    "--points", "partnership=3", "--points", "delivery=3", "--reason",
                    "agreed at panel", "--moderator", "cat")
    assert moderated.exit_code == 0, moderated.output
    allocated = run(env, "rounds", "allocate", REF)
    assert allocated.exit_code == 0, allocated.output
    assert "Awarded £120,000 of £150,000 to 3 applications" in allocated.output
    assert run(env, "rounds", "allocate", REF, "--verify").exit_code == 0
    out = tmp_path / "published"
    published = run(env, "rounds", "publish", REF, "--out", str(out))
    assert published.exit_code == 0, published.output
    checked = tsg.check_file(out / f"360giving-{REF}.json")
    assert checked.ok and len(checked.file.grants) == 3
    assert checked.file.grants[0]["dataSource"] == f"https://vru.example.org/funding/{REF}"
    assert tsg.check_file(out / f"360giving-{REF}.xlsx").ok
    listed = run(env, "rounds", "list")
    assert REF in listed.output and "Published" in listed.output
    assert "TO CHECK" in run(env, "rounds", "catalogue").output


def test_check_file_on_a_real_file(shared_data: Path) -> None:
    result = run({}, "rounds", "check-file",
                 str(shared_data / "geo/grants/360giving_indigo_trust_grants.csv"))
    assert result.exit_code == 1
    assert "269 grants" in result.output
    assert "269 x format at /grants/N/awardDate" in result.output
