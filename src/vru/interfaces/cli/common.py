"""Options and error reporting every command shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.settings import resolve_data_dir

if TYPE_CHECKING:
    from vru.services.records import RecordsService

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


DatabaseUrlOption = Annotated[
    str | None,
    typer.Option("--database-url", envvar="VRU_DATABASE_URL", show_default=False,
                 help="Records database (default: $VRU_DATABASE_URL, else SQLite in the data "
                      "directory)."),
]


def open_records(data_dir: Path | None, database_url: str | None) -> RecordsService:
    """The records service, or exit 2 with the reason when its settings are unsafe."""
    # Imported here so commands that never touch records do not load SQLAlchemy.
    from vru.services.records import RecordsService
    from vru.services.security.settings import InsecureSettings

    try:
        return RecordsService.open(data_dir, url=database_url)
    except InsecureSettings as exc:
        err_console.print(f"[bold red]Refused:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None


def refusal(exc: Exception) -> typer.Exit:
    """Print why an operation was refused; the caller raises the returned exit (status 1)."""
    err_console.print(f"[bold red]Refused:[/] {escape(str(exc))}", highlight=False)
    return typer.Exit(1)


@contextmanager
def records_session(data_dir: Path | None, database_url: str | None
                    ) -> Iterator[RecordsService]:
    """The records service for one command: a refused file is reported with its locations
    and a refused operation with its reason (exit status 1); the service is always closed."""
    from vru.services.records import ServiceError

    svc = open_records(data_dir, database_url)
    try:
        yield svc
    except InputError as exc:
        report_input_error(exc)
        raise typer.Exit(1) from None
    except ServiceError as exc:
        raise refusal(exc) from None
    finally:
        svc.close()
