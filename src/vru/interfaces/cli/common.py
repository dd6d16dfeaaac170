"""Options and error reporting every command shares."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.settings import resolve_data_dir

console = Console()
err_console = Console(stderr=True)

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="VRU_DATA_DIR",
        help="Data directory (default: $VRU_DATA_DIR, else ~/.local/share/vru).",
        show_default=False,
    ),
]


def open_store(data_dir: Path | None) -> EvidenceStore:
    return EvidenceStore(resolve_data_dir(data_dir))


def report_input_error(exc: InputError) -> None:
    err_console.print(f"[bold red]Refused:[/] {exc.problems[0].file if exc.problems else ''}"
                      f" — {exc.total} problem(s); nothing was imported.", highlight=False)
    for p in exc.problems[:10]:
        err_console.print(f"  • {p}", highlight=False, markup=False, soft_wrap=True)
    if exc.total > 10:
        err_console.print(f"  … and {exc.total - 10} more.", highlight=False)
