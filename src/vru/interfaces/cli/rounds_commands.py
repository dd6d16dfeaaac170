"""CLI commands of the commissioning framework: ``vru rounds ...``. Registered by
``register``.

    vru rounds create --decision RECORD.json --reference youth-fund-2026 --title "..." \\
        --level borough --budget 1000000 --min-award 10000 --max-award 100000
    vru rounds open youth-fund-2026
    vru rounds template youth-fund-2026 applications.xlsx
    vru rounds import-applications youth-fund-2026 applications.xlsx
    vru rounds close youth-fund-2026
    vru rounds score youth-fund-2026 panel-scores.csv
    vru rounds moderate youth-fund-2026 [APPLICATION --points community=3 ... --reason ...]
    vru rounds allocate youth-fund-2026
    vru rounds publish youth-fund-2026 --out published/
    vru rounds check-file some-funder-360giving.xlsx
    vru rounds demo --out demo/

The command line runs on the server as a trusted operator (``cli:<user>`` in the audit log);
score sheets and moderation name the assessor and moderator they record.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vru.adapters import threesixtygiving as tsg
from vru.adapters.records.commissioning_files import write_template
from vru.domain.commissioning.criteria import DEFAULT_CRITERIA
from vru.domain.commissioning.rounds import AwardLevel, RoundError, RoundTerms
from vru.domain.commissioning.threesixtygiving import Funder
from vru.interfaces.cli.common import (
    DatabaseUrlOption,
    DataDirOption,
    console,
    err_console,
    records_session,
)
from vru.interfaces.cli.common import open_records as _open
from vru.interfaces.cli.common import refusal as _fail
from vru.services import commissioning as cm
from vru.services.records import command_line

RoundArg = Annotated[str, typer.Argument(metavar="ROUND", help="The round's reference.")]
BaseUrlOption = Annotated[str, typer.Option(
    "--base-url", envvar="VRU_PUBLIC_BASE_URL",
    help="Web address the public pages are served from (goes into the 360Giving file).")]




def _money(v: Any) -> str:
    return "" if v is None else f"£{v:,.0f}"


def _limits(path: Path | None) -> tuple[dict[str, int], dict[str, int | None]]:
    """Per-place floors and caps from a CSV with columns place, floor, cap."""
    floors: dict[str, int] = {}
    caps: dict[str, int | None] = {}
    if path is None:
        return floors, caps
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("place") or "").strip()
            if not code:
                continue
            if (row.get("floor") or "").strip():
                floors[code] = int(row["floor"])
            if (row.get("cap") or "").strip():
                caps[code] = int(row["cap"])
    return floors, caps


def _weights(values: list[str]) -> tuple[Any, ...]:
    if not values:
        return DEFAULT_CRITERIA
    given: dict[str, int] = {}
    for v in values:
        key, _, number = v.partition("=")
        if not number.strip().isdigit():
            raise typer.BadParameter(f"--weight {v!r}: write criterion=percentage")
        given[key.strip()] = int(number)
    unknown = set(given) - {c.key for c in DEFAULT_CRITERIA}
    if unknown:
        raise typer.BadParameter(f"unknown criteria: {', '.join(sorted(unknown))}")
    from dataclasses import replace

    return tuple(replace(c, weight=given.get(c.key, c.weight)) for c in DEFAULT_CRITERIA)


def _points(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        key, _, number = v.partition("=")
        if not number.strip().isdigit():
            raise typer.BadParameter(f"--points {v!r}: write criterion=points (0 to 4)")
        out[key.strip()] = int(number)
    return out


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add the ``rounds`` group to ``vru``."""
    del data_app
    rounds_app = typer.Typer(help="Funding rounds: criteria, applications, scoring, "
                                  "allocation and 360Giving publication.",
                             no_args_is_help=True)
    app.add_typer(rounds_app, name="rounds")

    @rounds_app.command("create")
    def create(
        decision: Annotated[Path, typer.Option(
            "--decision", help="The priority-places decision record (JSON) the eligible "
                               "places come from.")],
        reference: Annotated[str, typer.Option("--reference", help="Short name, e.g. "
                                               "youth-fund-2026.")],
        title: Annotated[str, typer.Option("--title", help="The round's title.")],
        budget: Annotated[int, typer.Option("--budget", min=1, help="Whole pounds.")],
        min_award: Annotated[int, typer.Option("--min-award", min=1)],
        max_award: Annotated[int, typer.Option("--max-award", min=1)],
        level: Annotated[AwardLevel, typer.Option("--level", help="ward, borough or "
                                                  "multi_borough.")] = AwardLevel.BOROUGH,
        fund_name: Annotated[str, typer.Option("--fund-name")] = "",
        description: Annotated[str, typer.Option("--description")] = "",
        threshold: Annotated[float, typer.Option("--threshold", help="Quality threshold "
                                                 "(weighted score, 0-100).")] = 50.0,
        floor: Annotated[int, typer.Option("--floor", help="Floor for every place.")] = 0,
        cap: Annotated[int | None, typer.Option("--cap", help="Cap for every place.")]
        = None,
        limits: Annotated[Path | None, typer.Option(
            "--limits", help="CSV of per-place floors and caps (columns place, floor, "
                             "cap).")] = None,
        weight: Annotated[list[str] | None, typer.Option(
            "--weight", help="criterion=percentage, e.g. need=40 (weights must add to "
                             "100).")] = None,
        no_partial: Annotated[bool, typer.Option("--no-partial-awards")] = False,
        funder_id: Annotated[str, typer.Option("--funder-id", help="The funder's org-id.")]
        = "360G-vru",
        funder_name: Annotated[str, typer.Option("--funder-name")]
        = "Violence Reduction Unit",
        prefix: Annotated[str, typer.Option("--prefix", help="Your 360Giving publisher "
                                            "prefix (360G-...).")] = "360G-vru",
        decision_date: Annotated[str | None, typer.Option(
            "--decision-date", help="YYYY-MM-DD (the awards' date).")] = None,
        evidence_dir: Annotated[Path | None, typer.Option(
            "--evidence-dir", help="Evidence store with boundaries, for the public map "
                                   "(default: the data directory).")] = None,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Create a round (in draft) whose eligible places come from a decision record."""
        try:
            record = json.loads(decision.read_text("utf-8"))
            floors, caps = _limits(limits)
            places = cm.places_from_decision(record, level, floors=floors, caps=caps,
                                             default_floor=floor, default_cap=cap)
        except (OSError, json.JSONDecodeError, RoundError, ValueError, KeyError) as exc:
            raise _fail(exc) from None
        spec = cm.RoundSpec(
            reference=reference, title=title, fund_name=fund_name or title,
            description=description, level=level,
            terms=RoundTerms(budget, min_award, max_award, threshold,
                             partial_awards=not no_partial),
            funder=Funder(funder_id, funder_name, prefix=prefix),
            criteria=_weights(weight or []),
            decision_on=date.fromisoformat(decision_date) if decision_date else None)
        outlines, background, why = cm.outlines_for(evidence_dir or data_dir, record, level,
                                                    places)
        if why:
            err_console.print(f"The public map will have no outlines: {why}.",
                              highlight=False)
        with records_session(data_dir, database_url) as svc:
            out = cm.create_round(svc, command_line(), spec, places,
                                  cm.decision_summary(record, str(decision)), outlines,
                                  background)
        console.print(f"Created round {out['reference']} (draft) with {len(out['places'])} "
                      f"eligible {out['level_label']}s and a budget of "
                      f"{_money(out['budget'])}. Open it with: vru rounds open "
                      f"{out['reference']}", highlight=False)

    @rounds_app.command("list")
    def list_command(data_dir: DataDirOption = None,
                     database_url: DatabaseUrlOption = None) -> None:
        """The rounds, newest first."""
        svc = _open(data_dir, database_url)
        try:
            rows = cm.list_rounds(svc, command_line())
        finally:
            svc.close()
        table = Table(title="Funding rounds")
        for col in ("reference", "title", "stage", "budget", "applications"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["reference"], r["title"], r["status_label"], _money(r["budget"]),
                          str(r["applications"]))
        console.print(table)

    @rounds_app.command("show")
    def show(reference: RoundArg, as_json: Annotated[bool, typer.Option("--json")] = False,
             data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None) -> None:
        """A round: terms, criteria and weights, places."""
        with records_session(data_dir, database_url) as svc:
            r = cm.get_round(svc, command_line(), reference)
        if as_json:
            typer.echo(json.dumps(r, indent=2, default=str))
            return
        console.print(f"[bold]{r['title']}[/] ({r['reference']}): {r['status_label']}; "
                      f"budget {_money(r['budget'])}, awards {_money(r['min_award'])} to "
                      f"{_money(r['max_award'])}", highlight=False)
        for c in r["criteria"]:
            console.print(f"  {c['weight']:>3}%  {c['title']} ({c['source']})",
                          highlight=False)
        table = Table(title=f"{len(r['places'])} eligible places")
        for col in ("code", "name", "rate per 100k", "need points", "floor", "cap"):
            table.add_column(col)
        for p in r["places"]:
            rate = p["rate_per_100k"]
            table.add_row(p["code"], p["name"], "" if rate is None else f"{rate:,.0f}",
                          f"{p['need_points']:.2f}", _money(p["floor"]), _money(p["cap"]))
        console.print(table)

    def _move(reference: str, to: str, data_dir: Path | None, database_url: str | None
              ) -> None:
        with records_session(data_dir, database_url) as svc:
            r = cm.move_round(svc, command_line(), reference, to)
        console.print(f"Round {r['reference']} is now: {r['status_label']}.", highlight=False)

    @rounds_app.command("open")
    def open_round(reference: RoundArg, data_dir: DataDirOption = None,
                   database_url: DatabaseUrlOption = None) -> None:
        """Open a draft round for applications (its criteria are then fixed)."""
        _move(reference, "open", data_dir, database_url)

    @rounds_app.command("close")
    def close_round(reference: RoundArg, data_dir: DataDirOption = None,
                    database_url: DatabaseUrlOption = None) -> None:
        """Close a round to applications and start assessment."""
        _move(reference, "assessing", data_dir, database_url)

    @rounds_app.command("template")
    def template(reference: RoundArg,
                 file: Annotated[Path, typer.Argument(help=".xlsx or .csv")]
                 = Path("applications.xlsx"),
                 data_dir: DataDirOption = None, database_url: DatabaseUrlOption = None
                 ) -> None:
        """Write an applications file to fill in (Excel: with the round's places and the
        catalogue's approaches)."""
        with records_session(data_dir, database_url) as svc:
            r = cm.get_round(svc, command_line(), reference)
            approaches = [(i.key, i.name) for i in cm.catalogue(svc)]
        write_template(file, [(p["code"], p["name"]) for p in r["places"]], approaches)
        console.print(f"Wrote {file}.", highlight=False)

    @rounds_app.command("import-applications")
    def import_applications(
        reference: RoundArg,
        file: Annotated[Path, typer.Argument(help="CSV or .xlsx made from the template.")],
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Import applications. Every row is checked; the file is imported whole or not at
        all."""
        with records_session(data_dir, database_url) as svc:
            result = cm.import_applications(svc, command_line(), reference, file)
        console.print(f"{result.file}: imported {result.imported:,} applications "
                      f"({result.eligible:,} eligible, {result.not_eligible:,} not).",
                      highlight=False)

    @rounds_app.command("conflict")
    def conflict(
        reference: RoundArg,
        person: Annotated[str, typer.Option("--person", help="Who has the conflict.")],
        nature: Annotated[str, typer.Option("--nature", help="What it is.")],
        application: Annotated[str | None, typer.Option("--application")] = None,
        organisation: Annotated[str | None, typer.Option("--organisation",
                                                         help="An org-id.")] = None,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Record a declared conflict of interest."""
        with records_session(data_dir, database_url) as svc:
            cm.declare_conflict(svc, command_line(), reference, nature,
                                application=application, organisation_id=organisation,
                                person=person)
        console.print(f"Recorded {person}'s conflict.", highlight=False)

    @rounds_app.command("score")
    def score(
        reference: RoundArg,
        file: Annotated[Path, typer.Argument(help="Score sheet (CSV or .xlsx): columns "
                                             "application, assessor, one per assessed "
                                             "criterion, comment.")],
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Record a panel's scores from a score sheet (whole file or nothing), then show
        where scoring stands."""
        with records_session(data_dir, database_url) as svc:
            n = cm.import_scores(svc, command_line(), reference, file)
            status = cm.scoring_status(svc, command_line(), reference)
        counts: dict[str, int] = {}
        for s in status:
            counts[s["state"]] = counts.get(s["state"], 0) + 1
        console.print(f"Recorded {n:,} scores. Applications: "
                      + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".",
                      highlight=False)

    @rounds_app.command("moderate")
    def moderate(
        reference: RoundArg,
        application: Annotated[str | None, typer.Argument(help="Leave out to list the "
                                                          "applications to moderate.")]
        = None,
        points: Annotated[list[str] | None, typer.Option(
            "--points", help="criterion=points for every assessed criterion.")] = None,
        reason: Annotated[str, typer.Option("--reason")] = "",
        moderator: Annotated[str | None, typer.Option("--moderator")] = None,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """List the applications whose scores differ too much, or settle one."""
        with records_session(data_dir, database_url) as svc:
            if application is None:
                queue = [s for s in cm.scoring_status(svc, command_line(), reference)
                         if s["state"] == "needs moderation"]
                for s in queue:
                    console.print(f"{s['reference']}: " + "; ".join(s["reasons"]),
                                  highlight=False, markup=False)
                console.print(f"{len(queue)} application(s) need moderation.")
                return
            out = cm.moderate(svc, command_line(), reference, application,
                              _points(points or []), reason, moderator=moderator)
        console.print(f"Moderated {application}: {out['points']}.", highlight=False)

    @rounds_app.command("allocate")
    def allocate(
        reference: RoundArg,
        verify: Annotated[bool, typer.Option("--verify", help="Re-run the stored "
                                             "allocation and check it is the same.")]
        = False,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Allocate the budget (the ranked method with floors and caps) and show every
        decision with its reason."""
        with records_session(data_dir, database_url) as svc:
            if verify:
                check = cm.verify_allocation(svc, command_line(), reference)
                console.print("Same awards on re-running: " + ("yes" if check["ok"] else
                                                               "NO"), highlight=False)
                if not check["ok"]:
                    raise typer.Exit(1)
                return
            result = cm.allocate(svc, command_line(), reference)
        if as_json:
            typer.echo(json.dumps(result, indent=2, default=str))
            return
        for d in result["decisions"]:
            console.print(f"{d['reference']:>10}  {_money(d['award']):>10}  {d['reason']}",
                          highlight=False, markup=False, soft_wrap=True)
        console.print(f"Awarded {_money(result['awarded'])} of {_money(result['budget'])} "
                      f"to {result['funded']} applications (result "
                      f"{result['result_sha256'][:12]}).", highlight=False)

    @rounds_app.command("publish")
    def publish(
        reference: RoundArg,
        out: Annotated[Path, typer.Option("--out", help="Folder for the 360Giving JSON and "
                                          "spreadsheet.")] = Path("."),
        base_url: BaseUrlOption = cm.DEFAULT_BASE_URL,
        data_dir: DataDirOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Publish an allocated round (after the 360Giving schema and quality checks) and
        write its files."""
        with records_session(data_dir, database_url) as svc:
            result = cm.publish(svc, command_line(), reference, base_url)
        paths = cm.write_publication(result.package, out, f"360giving-{reference}")
        console.print(f"Published {len(result.package['grants'])} grants: "
                      f"{paths[0]} and {paths[1]}.", highlight=False)
        for line in result.quality.lines():
            console.print(f"  {line}", highlight=False, markup=False)

    @rounds_app.command("check-file")
    def check_file(
        file: Annotated[Path, typer.Argument(help="A 360Giving file (.json, .xlsx, .csv).")],
        limit: Annotated[int, typer.Option("--limit", help="Problems to show per kind.")]
        = 3,
    ) -> None:
        """Check any 360Giving file against the schema and the quality checks."""
        try:
            result = tsg.check_file(file)
        except tsg.GrantsFileError as exc:
            raise _fail(exc) from None
        grants = result.file.grants
        console.print(f"{result.file.name}: {len(grants):,} grants.", highlight=False)
        if result.file.unknown_columns:
            console.print("Columns not in the schema: "
                          + ", ".join(result.file.unknown_columns), highlight=False)
        for note in result.file.notes:
            console.print(note, highlight=False)
        if result.valid:
            console.print("Schema: valid.")
        else:
            console.print(f"Schema: {len(result.schema_problems):,} problems.")
            for kind, n in result.problems_by_rule().items():
                console.print(f"  {n:,} x {kind}", highlight=False)
            for p in result.schema_problems[:limit]:
                console.print(f"    e.g. {p}", highlight=False, markup=False)
        for line in result.quality.lines(limit):
            console.print(line, highlight=False, markup=False)
        if not result.ok:
            raise typer.Exit(1)

    @rounds_app.command("catalogue")
    def catalogue_command(data_dir: DataDirOption = None,
                          database_url: DatabaseUrlOption = None) -> None:
        """The intervention catalogue and its evidence ratings."""
        svc = _open(data_dir, database_url)
        try:
            entries = cm.catalogue(svc)
        finally:
            svc.close()
        table = Table(title="Intervention catalogue")
        for col in ("key", "approach", "impact", "evidence quality", "checked"):
            table.add_column(col)
        for e in entries:
            table.add_row(e.key, e.name, e.impact.value, str(e.evidence_quality or ""),
                          "yes" if e.checked else "TO CHECK")
        console.print(table)

    @rounds_app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option("--out", help="Folder for the SYNTHETIC round's "
                                          "files.")] = Path("vru-rounds-demo-SYNTHETIC"),
        data_dir: Annotated[Path | None, typer.Option(
            "--data-dir", help="Evidence store for the real London data (default: "
                               "<out>/data).", show_default=False)] = None,
        mirror: Annotated[Path | None, typer.Option(
            "--mirror", help="Folder laid out like shared/data (default: the shared data "
                             "folder when present, else download).", show_default=False)]
        = None,
        seed: Annotated[int, typer.Option("--seed")] = cm.DEMO_SEED,
        base_url: BaseUrlOption = cm.DEFAULT_BASE_URL,
    ) -> None:
        """Run a whole, clearly labelled SYNTHETIC round on the real London evidence and
        write its 360Giving JSON and spreadsheet into --out."""
        result = cm.run_round_demo(out, data_dir=data_dir, mirror=mirror, seed=seed,
                                   base_url=base_url)
        for line in result.lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        if not result.ok:
            raise typer.Exit(1)


__all__ = ["register"]
