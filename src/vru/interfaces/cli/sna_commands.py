"""CLI command: the Strategic Needs Assessment report. Registered on the main app by `register`.

``vru sna --area london --to 2025-12 --months 12 --edition public --out out/london`` loads
what the area is missing (from ``--mirror`` or the publishers, with progress), computes the
figures and writes the report folder: report.html (self-contained, opens offline),
figures.json, figures.csv, layers.gpkg and charts/*.svg. ``--edition both`` writes
``OUT/restricted`` and ``OUT/public`` from one computation.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from vru.domain.disclosure import DisclosureRules
from vru.interfaces.cli.common import DataDirOption, console, err_console, open_store
from vru.interfaces.report.assets import AssetsMissing, load_assets
from vru.interfaces.report.builder import DisclosureFailure, write_report
from vru.services.areas import AreaDefinitionError, UnknownAreaError
from vru.services.sna_figures import SnaError
from vru.services.sna_report import (
    ReportError,
    build_report,
    ensure_evidence,
    hidden_cells,
    missing_datasets,
    to_public,
)


def _fail(message: object, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add `vru sna` to the `vru` app."""

    @app.command("sna")
    def sna_command(
        out: Annotated[Path, typer.Option("--out", help="Folder to write the report to.")],
        area: Annotated[str, typer.Option("--area", help="An area key (london, "
                                          "leicestershire, or your own).")] = "london",
        to: Annotated[str | None, typer.Option(
            "--to", help="Last month of the period, YYYY-MM (default: the latest month of "
            "the area's borough counts).")] = None,
        months: Annotated[int, typer.Option("--months", min=1,
                                            help="Length of the period in months.")] = 12,
        edition: Annotated[str, typer.Option(
            "--edition", help="restricted (all figures, for analysts and partners), public "
            "(after disclosure control, plain language) or both (OUT/restricted and "
            "OUT/public).")] = "restricted",
        mirror: Annotated[Path | None, typer.Option(
            "--mirror", help="Load missing data from this folder (laid out like "
            "shared/data) instead of the publishers.")] = None,
        threshold: Annotated[int, typer.Option(
            "--threshold", min=2, help="Public edition: counts under this are hidden.")] = 10,
        round_to: Annotated[int | None, typer.Option(
            "--round-to", min=2, help="Public edition: round counts to this base (e.g. 5).")]
        = None,
        fetch_missing: Annotated[bool, typer.Option(
            "--fetch/--no-fetch", help="Load missing datasets first.")] = True,
        data_dir: DataDirOption = None,
    ) -> None:
        """Build the Strategic Needs Assessment report of an area."""
        if edition not in ("restricted", "public", "both"):
            raise _fail(f"--edition must be restricted, public or both, not {edition!r}")
        try:
            load_assets()
        except AssetsMissing as exc:
            raise _fail(exc) from None
        if mirror is not None and not mirror.is_dir():
            raise _fail(f"the mirror folder {mirror} does not exist")
        store = open_store(data_dir)
        started = time.perf_counter()
        if fetch_missing and missing_datasets(store):
            err_console.print(f"Loading the data {area} is missing: "
                              + ", ".join(missing_datasets(store)), highlight=False)
            with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                          TimeElapsedColumn(), console=err_console,
                          transient=True) as progress:
                try:
                    report_ = ensure_evidence(store, area, mirror, progress)
                except (UnknownAreaError, AreaDefinitionError, FileNotFoundError) as exc:
                    raise _fail(exc) from None
            if report_ is not None:
                err_console.print(
                    f"Loaded: {report_.count('imported')} files imported, "
                    f"{report_.count('already imported')} already there, "
                    f"{report_.count('failed')} failed.", highlight=False)
        rules = DisclosureRules(threshold=threshold, round_base=round_to)
        try:
            with err_console.status("Computing the figures…") as status:
                report = build_report(
                    store, area, to, months, "restricted",
                    log=lambda step: status.update(f"Computing the figures: {step}…"))
        except (ReportError, SnaError, UnknownAreaError, AreaDefinitionError) as exc:
            raise _fail(exc) from None
        editions = ["restricted", "public"] if edition == "both" else [edition]
        for ed in editions:
            folder = out / ed if edition == "both" else out
            rep = report if ed == "restricted" else to_public(report, rules)
            try:
                with err_console.status(f"Writing the {ed} edition…"):
                    written = write_report(rep, folder)
            except DisclosureFailure as exc:
                raise _fail(f"{exc}\nNothing was written for the {ed} edition.", 1) from None
            for note in written.notes:
                err_console.print(f"[yellow]Note:[/] {note}", highlight=False, soft_wrap=True)
            extra = (f" ({hidden_cells(rep):,} small counts hidden; every output checked)"
                     if ed == "public" else "")
            console.print(f"[bold]{rep.area_name}[/], {rep.period}, {ed} edition{extra}:\n"
                          f"  {written.html.resolve()}\n"
                          f"  figures: {written.figures_json.name}, {written.figures_csv.name}"
                          + (f", {written.geopackage.name}" if written.geopackage else "")
                          + f", {len(written.charts)} charts in charts/", highlight=False,
                          soft_wrap=True)
        unavailable = [f"{s.title}: {u}" for s in report.sections for u in s.unavailable]
        for u in unavailable:
            err_console.print(f"[yellow]Not in the report:[/] {u}", highlight=False,
                              soft_wrap=True)
        console.print(f"Done in {time.perf_counter() - started:.1f} s. Open report.html in "
                      "any browser; it needs no network.", highlight=False)
