"""CLI commands: hot spots and priority places. Registered on the main app by `register`.

``vru hotspots MEASURE --geography ward --to 2025-12`` prints one row per area (Gi*, local
Moran, emerging hot spot category, trend); ``vru priority-places --rule NAME --to 2025-12``
applies a published rule, prints the picked places with their reasons and stores the
decision record; ``vru priority-places --verify RECORD`` re-runs a stored decision.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vru.domain.places.priority_rules import RuleError
from vru.interfaces.cli.common import DataDirOption, console, err_console, open_store
from vru.services.areas import AreaDefinitionError, UnknownAreaError
from vru.services.priority_places import (
    HOTSPOT_GEOGRAPHIES,
    HotspotResult,
    PlacesError,
    PriorityResult,
    decisions,
    export_places,
    hotspots,
    priority_places,
    rule_names,
    verify_decision,
)
from vru.services.sna_figures import SnaError, records

_ERRORS = (PlacesError, SnaError, RuleError, UnknownAreaError, AreaDefinitionError,
           ValueError, KeyError)


def _num(v: Any, fmt: str = "{:,.0f}") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return fmt.format(v)


def _p(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _fail(exc: BaseException) -> typer.Exit:
    err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def _hotspot_json(result: HotspotResult) -> dict[str, Any]:
    t = result.table
    return {"parameters": t.attrs.get("parameters"), "summary": result.summary(),
            "weights": t.attrs.get("weights"), "global_moran": t.attrs.get("global_moran"),
            "notes": t.attrs.get("notes", []), "rows": records(t)}


def _print_hotspots(result: HotspotResult, top: int) -> None:
    t = result.table
    params = t.attrs.get("parameters", {})
    steps = params.get("steps") or ["", "", 0]
    table = Table(title=f"Hot spots: {params.get('measure')} by {params.get('geography')}, "
                        f"{params.get('months')} months to {params.get('to')} "
                        f"(emerging: {steps[2]} steps {steps[0]} to {steps[1]})")
    for col, right in (("area", False), ("in", False), ("count", True), ("Gi* z", True),
                       ("p sim", True), ("p FDR", True), ("LISA", False), ("emerging", False),
                       ("trend", False), ("trend p", True)):
        table.add_column(col, justify="right" if right else "left")
    shown = t if top <= 0 else t.head(top)
    for r in shown.to_dict(orient="records"):
        table.add_row(str(r["area_name"]), str(r.get("parent_name") or ""), _num(r["count"]),
                      _num(r["gi_z"], "{:.2f}"), _p(r["gi_p_sim"]), _p(r["gi_p_fdr"]),
                      f"{r['lisa_quadrant']}" + ("*" if r["lisa_cluster"] != "not significant"
                                                 else ""),
                      str(r.get("ehsa_category") or ""), str(r.get("trend") or ""),
                      _p(r.get("trend_p")))
    console.print(table)
    if top > 0 and len(t) > top:
        console.print(f"… {len(t) - top:,} more areas (--top 0 for all, --json for every "
                      "column).", highlight=False)
    s = result.summary()
    console.print(f"{s['hot_spots']} hot spot(s) and {s['cold_spots']} cold spot(s) of "
                  f"{s['areas']:,} areas (Gi*, FDR {params.get('alpha')}). Global Moran's I = "
                  f"{s['global_moran_i']:.3f} (pseudo p = {s['global_moran_p_sim']:.3f}). "
                  "LISA * = significant cluster.", highlight=False)
    if s.get("emerging_categories"):
        console.print("Emerging hot spot categories: " + ", ".join(
            f"{k} {v}" for k, v in s["emerging_categories"].items()), highlight=False)
    for note in t.attrs.get("notes", []):
        console.print(f"[yellow]Note:[/] {note}", highlight=False, soft_wrap=True)


def _priority_json(result: PriorityResult) -> dict[str, Any]:
    return {"rule": result.record["rule"], "parameters": result.record["parameters"],
            "decided_at": result.record["decided_at"],
            "record_sha256": result.record["record_sha256"],
            "record_path": str(result.record_path) if result.record_path else None,
            "rising": records(result.rising), "falling": records(result.falling),
            "clusters": result.clusters,
            "excluded": records(result.table[result.table["direction"].isna()][
                ["area_code", "area_name", "excluded_reason"]]),
            "notes": result.table.attrs.get("notes", [])}


def _print_priority(result: PriorityResult) -> None:
    console.print(f"[bold]{result.rule.title}[/] (rule {result.rule.name}, from "
                  f"{result.rule_origin})", highlight=False)
    console.print(result.table.attrs.get("rule_description", ""), highlight=False,
                  soft_wrap=True)
    for direction, part in (("rising", result.rising), ("falling", result.falling)):
        table = Table(title=f"{direction.capitalize()}: {len(part)} place(s)")
        for col in ("place", "in", "count", "before", "cluster", "why"):
            table.add_column(col, justify="right" if col in ("count", "before") else "left")
        for r in part.to_dict(orient="records"):
            table.add_row(str(r["area_name"]), str(r.get("parent_name") or ""),
                          _num(r["count"]), _num(r["previous_count"]),
                          str(r.get("cluster_id") or ""), str(r["explanation"]))
        console.print(table)
    multi = [c for c in result.clusters if c["multi_borough"]]
    for c in multi:
        parents = ", ".join(str(p) for p in c["parent_names"])
        console.print(f"Multi-borough cluster {c['cluster_id']} ({c['direction']}): "
                      f"{len(c['members'])} places across {parents}.", highlight=False)
    excluded = result.table[result.table["direction"].isna()]
    if len(excluded):
        console.print(f"{len(excluded)} place(s) not considered (below a floor); see --json.",
                      highlight=False)
    if result.record_path is not None:
        console.print(f"Decision record: {result.record_path} (sha256 "
                      f"{str(result.record['record_sha256'])[:12]}…); check it later with "
                      f"vru priority-places --verify {result.record_path.name}",
                      highlight=False, soft_wrap=True)


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add this module's commands to the `vru` app."""

    @app.command("hotspots")
    def hotspots_command(
        measure: Annotated[str, typer.Argument(help="A measure id, e.g. "
                                               "violence_against_the_person.")],
        geography: Annotated[str, typer.Option(
            "--geography", help=f"One of: {', '.join(HOTSPOT_GEOGRAPHIES)} (grid: police.uk "
            "points in square or hexagonal cells, no boundaries needed).")] = "ward",
        to: Annotated[str | None, typer.Option(
            "--to", help="Last month of the period, YYYY-MM (default: the latest).")] = None,
        months: Annotated[int, typer.Option("--months", min=1,
                                            help="Length of the period in months.")] = 12,
        area: Annotated[str, typer.Option("--area", help="An area key.")] = "london",
        weights: Annotated[str, typer.Option(
            "--weights", help="queen, rook, knn or distance_band.")] = "queen",
        permutations: Annotated[int, typer.Option("--permutations", min=1)] = 999,
        seed: Annotated[int, typer.Option("--seed", help="Random seed for permutations.")] = 0,
        alpha: Annotated[float, typer.Option("--alpha", min=0.0001, max=0.5)] = 0.05,
        time_lag: Annotated[int, typer.Option(
            "--time-lag", min=0, help="Earlier time steps in the space-time neighbourhood.")]
        = 1,
        global_window: Annotated[str, typer.Option(
            "--global-window", help="neighbourhood (each step's own window) or cube "
            "(ArcGIS's default: the whole series).")] = "neighbourhood",
        steps: Annotated[int | None, typer.Option(
            "--steps", min=3, help="Only the last N time steps for emerging hot spots.")]
        = None,
        cell_size: Annotated[float | None, typer.Option(
            "--cell-size", help="Grid cell size in metres (default: chosen from the data).")]
        = None,
        grid_shape: Annotated[str, typer.Option("--grid-shape", help="square or hex.")]
        = "square",
        footprint: Annotated[str, typer.Option(
            "--footprint", help="Grid cells kept: concave, convex or occupied.")]
        = "concave",
        top: Annotated[int, typer.Option("--top", help="Rows to print (0: all).")] = 25,
        out: Annotated[Path | None, typer.Option(
            "--out", help="Also write the table with its polygons: .geojson, .gpkg or .csv.")]
        = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Hot spots, cold spots and emerging hot spots of a measure, one row per area."""
        store = open_store(data_dir)
        try:
            result = hotspots(store, measure, geography, to, months, area, weights=weights,
                              permutations=permutations, seed=seed, alpha=alpha,
                              time_lag=time_lag, global_window=global_window, steps=steps,
                              cell_size=cell_size, grid_shape=grid_shape, footprint=footprint)
            if out is not None:
                export_places(result.geo_table(), out)
        except _ERRORS as exc:
            raise _fail(exc) from None
        if as_json:
            typer.echo(json.dumps(_hotspot_json(result), indent=2, default=str))
        else:
            _print_hotspots(result, top)
        if out is not None and not as_json:
            console.print(f"Written: {out}", highlight=False)

    @app.command("priority-places")
    def priority_places_command(
        rule: Annotated[str | None, typer.Option(
            "--rule", help="A rule name (see --list) or a .toml rule file.")] = None,
        to: Annotated[str | None, typer.Option(
            "--to", help="Last month of the period, YYYY-MM (default: the latest).")] = None,
        area: Annotated[str, typer.Option("--area", help="An area key.")] = "london",
        out: Annotated[Path | None, typer.Option(
            "--out", help="Also write the picked places with polygons: .geojson, .gpkg or "
            ".csv.")] = None,
        no_save: Annotated[bool, typer.Option(
            "--no-save", help="Do not store a decision record (a trial run).")] = False,
        verify: Annotated[str | None, typer.Option(
            "--verify", help="Re-run a stored decision record (file or name) and check the "
                             "list is the same.")] = None,
        list_all: Annotated[bool, typer.Option(
            "--list", help="List the rules and the stored decision records.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        data_dir: DataDirOption = None,
    ) -> None:
        """Pick priority places by a published rule, explain each, and record the decision."""
        store = open_store(data_dir)
        if list_all:
            names = rule_names(store.data_dir)
            stored = decisions(store.data_dir)
            if as_json:
                typer.echo(json.dumps({"rules": names, "decisions": stored}, indent=2))
                return
            console.print("Rules: " + ", ".join(names), highlight=False)
            for d in stored:
                console.print(f"{d['decided_at']}  {d['rule']}  to {d['to']}: {d['rising']} "
                              f"rising, {d['falling']} falling  {d['path']}", highlight=False)
            return
        if verify is not None:
            try:
                v = verify_decision(store, verify)
            except _ERRORS as exc:
                raise _fail(exc) from None
            if as_json:
                typer.echo(json.dumps(v.__dict__, indent=2, default=list))
            else:
                style = "green" if v.ok else "bold red"
                console.print(f"[{style}]{'Reproduced' if v.ok else 'Not reproduced'}:[/] "
                              f"{v.message}", highlight=False, soft_wrap=True)
                if v.added or v.removed:
                    console.print(f"Added: {', '.join(v.added) or 'none'}; removed: "
                                  f"{', '.join(v.removed) or 'none'}", highlight=False)
            if not v.ok:
                raise typer.Exit(1)
            return
        if rule is None:
            err_console.print("Give --rule NAME|FILE (rules: "
                              f"{', '.join(rule_names(store.data_dir))}), --verify or --list.",
                              highlight=False)
            raise typer.Exit(2)
        try:
            result = priority_places(store, rule, to, area, save=not no_save)
            if out is not None:
                export_places(result.geo_table(), out)
        except _ERRORS as exc:
            raise _fail(exc) from None
        if as_json:
            typer.echo(json.dumps(_priority_json(result), indent=2, default=str))
        else:
            _print_priority(result)
