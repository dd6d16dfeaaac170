"""Shared fixtures. Tests read the real public data in ``../shared/data`` in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vru.adapters.store.evidence_store import EvidenceStore

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("VRU_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder laid out as ``../shared/data`` (see its SOURCES.md)."""
    if not (SHARED_DATA / "crime").is_dir():
        pytest.fail(f"the shared data folder is missing: {SHARED_DATA} (set VRU_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture()
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "data")
