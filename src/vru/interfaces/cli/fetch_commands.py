"""CLI commands: fetch. Registered on the main app by `register`.

``vru data fetch`` loads the public datasets an area needs (from a mirror folder or from the
publishers) and ``vru data catalogue`` lists them, with their files, addresses and licences.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from vru.interfaces.cli.common import DataDirOption, console, err_console, open_store
from vru.services.fetch import (
    ALREADY,
    FAILED,
    IMPORTED,
    NOT_DOWNLOADABLE,
    NOT_IN_MIRROR,
    FetchReport,
    FileResult,
    area_forces,
    describe,
    fetch,
    load_catalogue,
)

STATUS_STYLE = {IMPORTED: "green", ALREADY: "cyan", NOT_IN_MIRROR: "yellow",
                NOT_DOWNLOADABLE: "yellow", FAILED: "bold red"}
# Statuses listed as one row per dataset; other statuses too when a dataset has more than
# GROUP_OVER files with it (police.uk has one file per force and month).
GROUPED = (NOT_IN_MIRROR, ALREADY)
GROUP_OVER = 3


class _AmountColumn(ProgressColumn):
    """Bytes for a download, files for an import."""

    def render(self, task: Task) -> Text:
        done, total = int(task.completed), task.total
        if task.description.startswith("download"):
            mb = f"{done / 1e6:,.1f}"
            return Text(f"{mb} / {total / 1e6:,.1f} MB" if total else f"{mb} MB")
        return Text(f"{done:,} / {int(total):,} files" if total else f"{done:,} files")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), _AmountColumn(),
        TimeElapsedColumn(), console=err_console, transient=True,
    )


def _span(rows: list[FileResult]) -> str:
    months = sorted(r.month for r in rows if r.month)
    if len(months) == len(rows):  # police.uk: say which months and forces
        forces = ", ".join(sorted({r.force for r in rows if r.force}))
        return f"{months[0]} to {months[-1]}, {forces}"
    names = sorted(r.file for r in rows)
    return names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"


def _report_table(report: FetchReport) -> Table:
    where = f"mirror {report.mirror}" if report.mirror else "the publishers"
    table = Table(title=f"vru data fetch: area {report.area}, from {where}", title_justify="left")
    table.add_column("dataset", overflow="fold")
    table.add_column("file", overflow="fold")
    table.add_column("status")
    table.add_column("rows stored", justify="right")
    table.add_column("note", overflow="fold")
    # A dataset's files with the same outcome share a row (police.uk has one file a month);
    # a failed file always has its own, with its reason.
    groups: dict[tuple[str, str], list[FileResult]] = defaultdict(list)
    for r in report.results:
        groups[(r.dataset, r.status)].append(r)
    shown: set[tuple[str, str]] = set()
    for r in report.results:
        key = (r.dataset, r.status)
        rows = groups[key]
        if r.status == FAILED or (len(rows) <= GROUP_OVER and r.status not in GROUPED):
            table.add_row(r.dataset, escape(r.file), _status(r.status),
                          f"{r.rows_stored:,}" if r.status == IMPORTED else "",
                          escape(_note(r)))
            continue
        if key in shown:
            continue
        shown.add(key)
        label = f"{len(rows)} files: {_span(rows)}" if len(rows) > 1 else rows[0].file
        stored = sum(x.rows_stored for x in rows)
        table.add_row(r.dataset, escape(label), _status(r.status),
                      f"{stored:,}" if r.status == IMPORTED else "",
                      escape(_group_note(rows)))
    return table


def _note(r: FileResult) -> str:
    if r.rows_rejected:
        return f"{r.rows_rejected:,} invalid rows skipped"
    return r.message.splitlines()[0] if r.message else ""


def _group_note(rows: list[FileResult]) -> str:
    first = rows[0]
    if len(rows) == 1:
        return _note(first)
    if first.status == IMPORTED:
        skipped = sum(r.rows_rejected for r in rows)
        return f"{skipped:,} invalid rows skipped" if skipped else ""
    if first.status == NOT_IN_MIRROR:
        return "not in the mirror folder; fetch without --mirror to get them from the publisher"
    if first.status == ALREADY:
        return "same sha256 as earlier imports; nothing changed"
    return first.message


def _status(status: str) -> str:
    return f"[{STATUS_STYLE.get(status, '')}]{status}[/]"


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add this module's commands to the `vru` app and its `data` group."""

    @data_app.command("fetch")
    def data_fetch(
        datasets: Annotated[list[str] | None, typer.Argument(
            metavar="DATASET",
            help="Datasets to load (see `vru data catalogue`); all the area's when omitted.",
            show_default=False)] = None,
        area: Annotated[str, typer.Option("--area", help="The area whose data to load.")]
        = "london",
        mirror: Annotated[Path | None, typer.Option(
            "--mirror", help="A folder laid out like shared/data to take files from instead "
            "of downloading them; files it lacks are reported 'not in mirror'.",
            show_default=False)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Load public data for an area, in catalogue order, each file whole or not at all."""
        store = open_store(data_dir)
        try:
            catalogue = load_catalogue()
            forces = area_forces(area, store.data_dir)
            catalogue.resolve(area, forces, datasets)  # unknown dataset: say so before work
        except (KeyError, ValueError) as exc:  # unknown area or dataset, bad areas.toml
            err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(2) from None
        if mirror is not None and not mirror.is_dir():
            err_console.print(f"[bold red]Error:[/] the mirror folder {escape(str(mirror))} "
                              "does not exist")
            raise typer.Exit(2)
        with _progress() as progress:
            report = fetch(store, datasets, area, mirror, progress, catalogue=catalogue,
                           forces=forces)
        if as_json:
            typer.echo(json.dumps({"area": report.area, "mirror": report.mirror,
                                   "ok": report.ok,
                                   "results": [asdict(r) for r in report.results]}, indent=2))
        else:
            console.print(_report_table(report))
            counts = ", ".join(f"{report.count(s)} {s}" for s in
                               (IMPORTED, ALREADY, NOT_IN_MIRROR, NOT_DOWNLOADABLE, FAILED)
                               if report.count(s))
            console.print(f"{len(report.results)} files: {counts or 'nothing to do'}; "
                          f"{report.rows_stored:,} rows stored.", highlight=False)
            for r in report.results:
                if r.failed:
                    err_console.print(f"[bold red]Failed:[/] {escape(r.dataset)} "
                                      f"{escape(r.file)} ({escape(r.source)})", highlight=False)
                    for line in r.message.splitlines():
                        err_console.print(f"  {line}", markup=False, highlight=False,
                                          soft_wrap=True)
        if not report.ok:
            raise typer.Exit(1)

    @data_app.command("catalogue")
    def data_catalogue(
        area: Annotated[str | None, typer.Option(
            "--area", help="Only what this area needs (every area's by default).",
            show_default=False)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """The public datasets vru can load: files, download addresses and licences."""
        catalogue = load_catalogue()
        forces = None
        if area is not None:
            try:
                forces = area_forces(area, open_store(data_dir).data_dir)
            except (KeyError, ValueError) as exc:
                err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False)
                raise typer.Exit(2) from None
        rows = describe(catalogue, area, forces)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        title = f"Datasets for area {area}" if area else "Datasets (all areas)"
        summary = Table(title=title, title_justify="left")
        for col in ("order", "dataset", "format", "files", "areas", "licence"):
            summary.add_column(col, justify="right" if col in ("order", "files") else "left",
                               no_wrap=col != "areas")
        for d in rows:
            n = len(d["files"]) + sum(s["files"] for s in d["series"])
            summary.add_row(str(d["order"]), d["dataset"], d["format"], str(n),
                            ", ".join(d["areas"]).replace("*", "every area"),
                            escape(d["licence_id"]))
        console.print(summary)
        for d in rows:
            console.print(f"\n[bold]{escape(d['dataset'])}[/]: {escape(d['title'])}. "
                          f"Publisher: {escape(d['publisher'])}. "
                          f"Licence: {escape(d['licence'])} ({d['licence_url']}). "
                          f"Page: {d['page'] or '-'}", highlight=False, soft_wrap=True)
            for f in d["files"]:
                where = f["url"] or (f"no direct download; page {f.get('page') or d['page']}")
                if f["member"]:
                    where += f" (member {f['member']})"
                if not f["online"] and f["url"]:
                    where += " (not usable as is: see note)"
                size = f"{f['size'] / 1e6:,.1f} MB" if f["size"] else "size unknown"
                areas = "" if "*" in f["areas"] else f" [{', '.join(f['areas'])} only]"
                console.print(f"  {escape(f['name'] + areas)}, {size}: {escape(where)}",
                              highlight=False, soft_wrap=True)
                if f["note"]:
                    console.print(f"      {escape(f['note'])}", style="dim", highlight=False,
                                  soft_wrap=True)
            for s in d["series"]:
                console.print(f"  {escape(s['name'])}: force {s['force']}, {s['from']} to "
                              f"{s['to']} ({s['files']} files, checksums known for "
                              f"{s['checksums_known']}) from {escape(s['url'])}",
                              highlight=False, soft_wrap=True)
                if s["note"]:
                    console.print(f"      {escape(s['note'])}", style="dim", highlight=False,
                                  soft_wrap=True)
        attributions = sorted({lic.attribution for lic in catalogue.licences.values()
                               if lic.attribution})
        console.print("\nAttribution: " + " ".join(attributions), highlight=False,
                      soft_wrap=True)
