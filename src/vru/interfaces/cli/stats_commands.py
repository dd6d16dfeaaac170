"""CLI command: `vru stats`, the Strategic Needs Assessment figures of an area."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from vru.interfaces.cli.common import DataDirOption, console, err_console, open_store
from vru.services.areas import AreaDefinitionError, UnknownAreaError
from vru.services.sna_figures import GEOGRAPHIES, GROUPINGS, SnaError, figures, records


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    return f"{value:,.{digits}f}"


def _interval(low: Any, high: Any, digits: int = 0) -> str:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"{low:,.{digits}f}–{high:,.{digits}f}"


def _rank(rank: Any, low: Any, high: Any) -> str:
    if rank is None or not math.isfinite(rank):
        return ""
    span = f" ({low:.0f}–{high:.0f})" if low is not None and math.isfinite(low) else ""
    return f"{rank:.0f}{span}"


def _pct(value: Any) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:+.1f}%"


def _p(value: Any) -> str:
    if value is None or not math.isfinite(value):
        return ""
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _print_table(df: pd.DataFrame, top: int) -> None:
    rows = records(df.head(top))
    first = rows[0]
    grouped = "group" in df.columns
    title = (f"{first['measure_name']} by {first['geography']}, "
             f"{first['period_start']} to {first['period_end']}")
    table = Table(title=title)
    columns = [("area", "left")] + ([("group", "left")] if grouped else []) + [
        ("count", "right"), ("previous", "right"), ("change", "right"), ("p (FDR)", "right"),
        ("population", "right"), ("rate /100k/yr", "right"), ("95% CI", "right"),
        ("rank by count", "right"), ("rank by rate", "right")]
    if grouped:
        columns.append(("rate ratio (95% CI)", "right"))
    for col, justify in columns:
        table.add_column(col, justify="left" if justify == "left" else "right")
    for r in rows:
        cells = [str(r["area_name"])]
        if grouped:
            cells.append(str(r["group"]))
        flag = " *" if r["unreliable"] else ""
        cells += [_num(r["count"]), _num(r["previous_count"]), _pct(r["change_pct"]),
                  _p(r["change_p_adjusted"]), _num(r["population"]),
                  _num(r["rate_per_100k"], 1) + flag,
                  _interval(r["rate_ci_low"], r["rate_ci_high"], 1),
                  _rank(r["rank_by_count"], r["rank_by_count_low"], r["rank_by_count_high"]),
                  _rank(r["rank_by_rate"], r["rank_by_rate_low"], r["rank_by_rate_high"])]
        if grouped:
            ratio = _num(r["rate_ratio"], 2)
            ci = _interval(r["rate_ratio_ci_low"], r["rate_ratio_ci_high"], 2)
            cells.append(f"{ratio} ({ci})" if ci else ratio)
        table.add_row(*cells)
    console.print(table)
    if len(df) > top:
        console.print(f"Top {top} of {len(df)} rows; --json for all.", highlight=False)
    console.print(
        f"[bold]Definition:[/] {first['meta_definition']} [bold]Period:[/] "
        f"{first['period_start']} to {first['period_end']}, against {first['previous_start']}"
        f" to {first['previous_end']}. [bold]Population base:[/] "
        f"{first['population_base'] or 'none loaded'}"
        f"{', ' + str(first['population_year']) if first['population_year'] else ''}. "
        f"[bold]Source:[/] {first['source']} (datasets {first['meta_sources']}).",
        highlight=False)
    if df["unreliable"].any():
        console.print("* fewer than 10 events: too few for a reliable rate (not for publishing).",
                      highlight=False)
    for note in df.attrs.get("notes", []):
        console.print(f"[yellow]Note:[/] {note}", highlight=False)


def stats(
    measure: Annotated[str, typer.Argument(metavar="MEASURE",
                                           help="A measure id, e.g. violence_against_the_person.")],
    geography: Annotated[str, typer.Option(
        "--geography", help=f"One of: {', '.join(GEOGRAPHIES)} (region = the whole area).")
    ] = "borough",
    to: Annotated[str | None, typer.Option(
        "--to", metavar="YYYY-MM",
        help="Last month of the period (default: the latest month the data reach).")] = None,
    months: Annotated[int, typer.Option("--months", help="Length of the period in months.")
                      ] = 12,
    area: Annotated[str, typer.Option("--area", help="An area key, e.g. london.")] = "london",
    by: Annotated[str | None, typer.Option(
        "--by", help=f"Split by group where the data has it: {', '.join(GROUPINGS)}.")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Rows to show in the table.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of rows.")] = False,
    data_dir: DataDirOption = None,
) -> None:
    """Counts, rates per 100,000 with intervals, change against the previous period with its
    significance, and ranks with their intervals, by area, each with its provenance."""
    store = open_store(data_dir)
    try:
        df = figures(store, measure, geography, to, months, area, by)
    except (SnaError, UnknownAreaError, AreaDefinitionError) as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(json.dumps(records(df), indent=2, default=str, allow_nan=False))
        return
    _print_table(df, top)


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add this module's commands to the `vru` app."""
    app.command("stats")(stats)
