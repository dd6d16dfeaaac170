"""Where the data directory is: ``--data-dir``, else ``VRU_DATA_DIR``, else a per-user default."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/vru`` (``~/.local/share/vru`` on Linux and macOS)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "vru"


def resolve_data_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit.expanduser()
    env = os.environ.get("VRU_DATA_DIR")
    return Path(env).expanduser() if env else default_data_dir()
