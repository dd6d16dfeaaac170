"""Derived tables kept beside the evidence store: results computed from it, saved so the
next run can start from them.

Each entry is one ``.npz`` file in ``<data_dir>/evidence/derived``: named arrays, and the
entry's description as JSON text, under a name (what it is, e.g. ``sna-sources-london-lsoa``)
and a key (everything it was computed from: the files of every import, the code's version).
An entry whose key differs is never read; writing replaces the old entry of that name. The
files are written whole and then renamed into place, and hold no pickled objects, so a
crash or a damaged file costs only the time to compute it again. Deleting the folder is
always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vru.adapters.store.evidence_store import EvidenceStore

_META = "__meta__"
_KEY = "__key__"


class DerivedCache:
    """The derived entries of one evidence store."""

    def __init__(self, store: EvidenceStore) -> None:
        self.dir = store.root / "derived"

    def _path(self, name: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
        return self.dir / f"{safe}.npz"

    def load(self, name: str, key: str) -> tuple[dict[str, npt.NDArray[Any]], Any] | None:
        """The arrays and description saved under ``name`` for ``key``, or None when there
        is none, it was computed from something else, or it cannot be read."""
        path = self._path(name)
        if not path.exists():
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z[_KEY]) != _digest(key):
                    return None
                meta = json.loads(str(z[_META]))
                arrays = {k: z[k] for k in z.files if k not in (_META, _KEY)}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError):
            return None
        return arrays, meta

    def save(self, name: str, key: str, arrays: dict[str, npt.NDArray[Any]],
             meta: Any) -> None:
        """Save an entry, replacing the one of that name. A failure to write (a read-only
        data directory, a full disk) is not an error: the entry is only not kept."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.dir, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    entries: dict[str, Any] = {**arrays, _META: np.array(json.dumps(meta)),
                                               _KEY: np.array(_digest(key))}
                    np.savez(fh, **entries)
                os.replace(tmp, self._path(name))
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            return


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
