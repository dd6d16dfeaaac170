"""`vru stats` on the loaded store: JSON rows, the table and its provenance line, errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from vru.adapters.store.evidence_store import EvidenceStore
from vru.interfaces.cli.main import app

runner = CliRunner()


def test_stats_json_lists_one_row_per_borough(sna_store: EvidenceStore) -> None:
    result = runner.invoke(app, [
        "stats", "violence_against_the_person", "--geography", "borough", "--to", "2025-12",
        "--json", "--data-dir", str(sna_store.data_dir)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 32
    assert rows[0]["area_name"] == "Westminster" and rows[0]["count"] == 11_262
    assert rows[0]["period_start"] == "2025-01-01" and rows[0]["previous_count"] == 10_861
    assert rows[0]["meta_population_source"].startswith("Census 2021")


def test_stats_table_says_definition_period_population_and_source(
        sna_store: EvidenceStore) -> None:
    result = runner.invoke(app, [
        "stats", "homicide", "--geography", "region", "--to", "2022-12", "--months", "60",
        "--by", "ethnicity", "--data-dir", str(sna_store.data_dir)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for words in ("Definition: Murder, manslaughter", "Period: 2018-01-01 to 2022-12-31",
                  "Population base: Census 2021 TS021", "Source: MPS homicide victims",
                  "Black", "4.44"):
        assert words in text


def test_stats_refusal_is_a_clear_error(sna_store: EvidenceStore) -> None:
    result = runner.invoke(app, [
        "stats", "violence_against_the_person", "--area", "leicestershire",
        "--to", "2022-10", "--data-dir", str(sna_store.data_dir)])
    assert result.exit_code == 2
    assert "can give: violence_and_sexual_offences" in " ".join(result.output.split())
