"""One evidence store loaded with the real public data, shared by every SNA statistics test.

Loaded once per test session with ``vru data fetch`` (the fetch service) from the shared
mirror: London's geography, population, deprivation, stations, homicide victims, MPS
borough, ward and annual LSOA counts and the City of London's police.uk street crime, and
Leicestershire's police.uk street crime. The Census 2021 files that cover England and Wales
(TS021 ethnic group by MSOA, TS007A by 2021 LSOA) are refused by fetch because the loaded
2021 geography is London's; they are then imported with ``--skip-invalid``, which keeps the
rows of the loaded areas (London), as a user would.

Set ``VRU_SNA_TEST_DATA_DIR`` to keep the loaded store between sessions (loading is
idempotent: a file already imported is skipped by its sha256).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.fetch import fetch
from vru.services.ingest import ingest_file
from vru.services.sna_figures import SnaData

LONDON_DATASETS = [
    "lookups", "boundaries", "deprivation", "population", "stations", "homicide",
    "lsoa-annual", "mps-borough", "mps-ward", "police-uk-street",
]
WIDER_THAN_LONDON = ["census2021-ts021-msoa.csv", "census2021-ts007a-lsoa.csv"]


@pytest.fixture(scope="session")
def sna_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> EvidenceStore:
    reuse = os.environ.get("VRU_SNA_TEST_DATA_DIR")
    data_dir = Path(reuse) if reuse else tmp_path_factory.mktemp("sna") / "data"
    store = EvidenceStore(data_dir)
    fetch(store, LONDON_DATASETS, area="london", mirror=shared_data)
    fetch(store, ["police-uk-street"], area="leicestershire", mirror=shared_data)
    for name in WIDER_THAN_LONDON:
        ingest_file(store, "population", shared_data / "geo" / "population" / name,
                    skip_invalid=True)
    return store


@pytest.fixture(scope="session")
def london(sna_store: EvidenceStore) -> Iterator[SnaData]:
    data = SnaData(sna_store, "london")
    yield data
    data.close()


@pytest.fixture(scope="session")
def leicestershire(sna_store: EvidenceStore) -> Iterator[SnaData]:
    data = SnaData(sna_store, "leicestershire")
    yield data
    data.close()
