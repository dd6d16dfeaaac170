"""CLI commands: demo. Registered on the main app by `register`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vru.adapters.store.evidence_store import EvidenceStore
from vru.interfaces.cli.common import console, err_console
from vru.services.demo import DEFAULT_MONTHS, DEFAULT_SEED, LABEL, run_demo


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add this module's commands to the `vru` app and its `data` group."""

    @app.command("demo")
    def demo(
        out: Annotated[Path, typer.Option(
            "--out", help="Folder for the SYNTHETIC files (and, by default, their store).")]
        = Path("vru-demo-SYNTHETIC"),
        seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same data.")]
        = DEFAULT_SEED,
        months: Annotated[int, typer.Option("--months", min=1, max=120,
                                            help="How many months to generate.")]
        = DEFAULT_MONTHS,
        data_dir: Annotated[Path | None, typer.Option(
            "--data-dir", help="Store to import into (default: <out>/data-SYNTHETIC; never "
            "a store holding real data).", show_default=False)] = None,
    ) -> None:
        """Generate a small SYNTHETIC area (made-up data, clearly labelled) and import it."""
        # The demo never falls back to $VRU_DATA_DIR: synthetic data stays out of real stores.
        store = EvidenceStore(data_dir if data_dir is not None else out / f"data-{LABEL}")
        try:
            result = run_demo(store, out, seed=seed, months=months)
        except ValueError as exc:
            err_console.print(f"[bold red]{LABEL} demo refused:[/] {exc}", highlight=False)
            raise typer.Exit(2) from None
        for line in result.lines:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        if not result.ok:
            raise typer.Exit(1)
