"""Evidence stores loaded with the real public data, shared by the priority-places tests.

Loaded once per test session with ``vru data fetch`` (the fetch service) from the shared
mirror, only the datasets hot spots need: London's geography (lookups, boundaries),
deprivation, population and the MPS borough, ward and annual LSOA counts; and, in a store of
its own, Leicestershire's police.uk street-level crime (the grid: no boundaries at all).

Set ``VRU_PLACES_TEST_DATA_DIR`` to keep the loaded stores between sessions (loading is
idempotent: a file already imported is skipped by its sha256).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.fetch import fetch

LONDON_DATASETS = ["lookups", "boundaries", "deprivation", "population", "lsoa-annual",
                   "mps-borough", "mps-ward"]


def _data_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    reuse = os.environ.get("VRU_PLACES_TEST_DATA_DIR")
    return Path(reuse) / name if reuse else tmp_path_factory.mktemp(name) / "data"


@pytest.fixture(scope="session")
def london_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> EvidenceStore:
    store = EvidenceStore(_data_dir(tmp_path_factory, "places-london"))
    report = fetch(store, LONDON_DATASETS, area="london", mirror=shared_data)
    assert report.ok, [r.message for r in report.results if r.failed]
    return store


@pytest.fixture(scope="session")
def leicestershire_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory
                         ) -> EvidenceStore:
    store = EvidenceStore(_data_dir(tmp_path_factory, "places-leicestershire"))
    fetch(store, ["police-uk-street"], area="leicestershire", mirror=shared_data)
    return store
