"""CLI commands: fetch. Registered on the main app by `register`."""

from __future__ import annotations

import typer


def register(app: typer.Typer, data_app: typer.Typer) -> None:
    """Add this module's commands to the `vru` app and its `data` group."""
