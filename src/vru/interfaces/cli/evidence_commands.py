"""CLI commands: evidence. Registered on the main app by `register`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from vru.interfaces.cli.common import DataDirOption, console, err_console, open_store
from vru.services.areas import AreaDefinitionError, UnknownAreaError, area_definitions
from vru.services.summary import area_summary

evidence_app = typer.Typer(
    help="The evidence base: what is known about an area.", no_args_is_help=True)


def _fmt(n: int | None) -> str:
    return "" if n is None else f"{n:,}"


def _pct(p: float | None) -> str:
    return "" if p is None else f"{p:+.1f}%"


def _print_summary(s: dict[str, Any]) -> None:
    a = s["area"]
    console.print(f"[bold]{a['name']}[/] ({a['key']}, defined in {a['defined_in']})",
                  highlight=False)
    if a.get("description"):
        console.print(a["description"], highlight=False)
    console.print(f"Police forces: {', '.join(a['police_forces']) or 'none given'}",
                  highlight=False)
    lads = Table(title=f"Local authority districts ({len(a['lads'])})")
    lads.add_column("code")
    lads.add_column("name")
    lads.add_column("in loaded vintages")
    for lad in a["lads"]:
        lads.add_row(lad["code"], lad["name"] or "[yellow]not in any loaded lookup[/]",
                     ", ".join(str(v) for v in lad["vintages"] if v is not None))
    console.print(lads)
    geo = Table(title="Geography")
    geo.add_column("level")
    geo.add_column("vintage")
    geo.add_column("areas", justify="right")
    for label, key in (("wards", "wards"), ("MSOAs", "msoas"), ("LSOAs", "lsoas")):
        if not a[key]:
            geo.add_row(label, "", "not loaded")
        for vintage, n in a[key].items():
            geo.add_row(label, vintage, _fmt(n))
    console.print(geo)
    pop = s["population"]
    if pop["status"] == "loaded":
        pt = Table(title="Population (all persons)")
        for col in ("year", "source", "areas", "population"):
            pt.add_column(col, justify="right" if col in ("areas", "population") else "left")
        for t in pop["totals"]:
            level = f"{t['area_level']} {t['area_vintage'] or ''}".strip()
            of = f" of {t['areas_in_area']:,}" if t["areas_in_area"] else ""
            pt.add_row(str(t["year"]), t["source"], f"{t['areas']:,}{of} {level}",
                       _fmt(t["population"]))
        console.print(pt)
    else:
        console.print(f"Population: {pop['status']}", highlight=False)
    for dataset, c in s["crime"].items():
        if c["status"] != "loaded":
            console.print(f"[bold]{c['title']}[/] ({dataset}): {c['status']}", highlight=False)
            for note in c.get("notes", []):
                console.print(f"  {note}", highlight=False)
            continue
        blocks = ([("", c)] if dataset == "street_crime" else
                  [(f", {b['geography_level']} counts ({b['areas']:,} areas)", b)
                   for b in c["by_geography_level"]])
        for suffix, b in blocks:
            w = b["windows"]
            t = Table(title=f"{c['title']}{suffix}: {b['period_start']} to {b['period_end']}")
            t.add_column("measure")
            for label in ("latest", "previous"):
                start, end = w[label]["start"], w[label]["end"]
                t.add_column(start if start == end else f"{start} to {end}", justify="right")
            t.add_column("change", justify="right")
            t.add_column("", justify="right")
            for m in b["measures"]:
                flag = "" if m["comparable"] else (
                    f"months {m['latest_months']}/{m['previous_months']}")
                t.add_row(m["name"], _fmt(m["latest"]), _fmt(m["previous"]),
                          f"{m['change']:+,} {_pct(m['change_pct'])}", flag)
            if not b["measures"]:
                t.add_row("(none of the summary measures in this dataset)", "", "", "", "")
            console.print(t)
            if b.get("note"):
                console.print(f"  {b['note']}", highlight=False)
        for note in c.get("notes", []):
            console.print(f"  {note}", highlight=False)
    for note in a["notes"]:
        console.print(f"[yellow]Note:[/] {note}", highlight=False)


@evidence_app.command("summary")
def summary(
    area: Annotated[str, typer.Option("--area", help="An area key, e.g. london.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """An area's geography, population and crime at a glance: the latest 12 months of
    violence, weapons possession, robbery and homicide against the 12 before."""
    store = open_store(data_dir)
    try:
        result = area_summary(store, area, store.data_dir)
    except (UnknownAreaError, AreaDefinitionError) as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    _print_summary(result)


@evidence_app.command("areas")
def areas(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """The areas you can name with --area, and where each is defined."""
    store = open_store(data_dir)
    try:
        defs = area_definitions(store.data_dir)
    except AreaDefinitionError as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps({k: {"name": d.name, "lads": list(d.lads),
                                   "police_forces": list(d.police_forces),
                                   "region": d.region, "defined_in": d.defined_in}
                               for k, d in defs.items()}, indent=2))
        return
    t = Table(title="Areas")
    for col in ("area", "name", "LADs", "police forces", "defined in"):
        t.add_column(col)
    for k, d in defs.items():
        t.add_row(k, d.name, str(len(d.lads)), ", ".join(d.police_forces), d.defined_in)
    console.print(t)


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add this module's commands to the `vru` app and its `data` group."""
    app.add_typer(evidence_app, name="evidence")
