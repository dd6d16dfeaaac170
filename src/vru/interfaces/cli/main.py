"""The ``vru`` command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vru.adapters.sources import FORMATS
from vru.domain.problems import InputError
from vru.interfaces.cli import (
    demo_commands,
    evidence_commands,
    fetch_commands,
    places_commands,
    records_commands,
    rounds_commands,
    sna_commands,
    stats_commands,
)
from vru.interfaces.cli.common import (
    DataDirOption,
    console,
    err_console,
    open_store,
    report_input_error,
)
from vru.services.ingest import ingest_file
from vru.services.status import store_status

app = typer.Typer(
    help="vru: evidence, priority places and commissioning for Violence Reduction Units.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The evidence store: fetch public data, see what is loaded.",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")


@app.command()
def ingest(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT",
                                       help=f"One of: {', '.join(FORMATS)}.")],
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Files to import.")],
    skip_invalid: Annotated[bool, typer.Option(
        "--skip-invalid",
        help="Import the valid rows and record every skipped row with its reason.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Import your own files. Each file is imported whole or not at all."""
    if fmt not in FORMATS:
        err_console.print(f"Unknown format {fmt!r}. Known formats: {', '.join(FORMATS)}")
        raise typer.Exit(2)
    store = open_store(data_dir)
    failed = 0
    for path in files:
        try:
            result = ingest_file(store, fmt, path, skip_invalid=skip_invalid)
        except InputError as exc:
            report_input_error(exc)
            failed += 1
            continue
        if result.status == "already imported":
            console.print(f"{path.name}: already imported (import {result.import_id}); "
                          "nothing changed.")
            continue
        line = (f"{path.name}: imported {result.rows_stored:,} of {result.rows_read:,} rows "
                f"(import {result.import_id})")
        if result.rows_rejected:
            line += (f"; [yellow]{result.rows_rejected:,} invalid rows skipped[/], reasons in "
                     f"the import log (vru data rejected {result.import_id})")
        console.print(line)
    if failed:
        raise typer.Exit(1)


@data_app.command("status")
def data_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """What is loaded: datasets, periods, row counts and imports."""
    status = store_status(open_store(data_dir))
    if as_json:
        typer.echo(json.dumps(status, indent=2, default=str))
        return
    table = Table(title=f"Evidence store at {status['data_dir']}")
    for col in ("dataset", "records", "files", "period", "formats"):
        table.add_column(col, justify="right" if col in ("records", "files") else "left")
    for d in status["datasets"]:
        period = f"{d['period_start'] or ''} to {d['period_end'] or ''}".strip()
        table.add_row(d["dataset"], f"{d['records']:,}", str(d["files"]),
                      period if period != "to" else "", ", ".join(d["formats"]))
    console.print(table)
    t = status["totals"]
    console.print(f"{t['imports']} imports: {t['rows_read']:,} rows read, "
                  f"{t['rows_stored']:,} stored, {t['rows_rejected']:,} rejected.")


@data_app.command("rejected")
def data_rejected(
    import_id: Annotated[str, typer.Argument(help="An import id from `vru data status`.")],
    data_dir: DataDirOption = None,
) -> None:
    """The rows an import skipped (with --skip-invalid) and why."""
    rows = open_store(data_dir).rejected_rows(import_id)
    if not rows:
        console.print(f"Import {import_id} skipped no rows.")
        return
    for r in rows:
        console.print(f"row {r['row']}, column {r['col']!r}: {r['reason']} "
                      f"(value {r['value']!r}). {r['action']}", markup=False, highlight=False)


for _module in (demo_commands, evidence_commands, fetch_commands, places_commands,
                records_commands, rounds_commands, sna_commands, stats_commands):
    _module.register(app, data_app)


def main() -> None:  # pragma: no cover
    app()
