"""One evidence store loaded with the real public data (London, and Leicestershire's police.uk
files) and the reports built from it once per session: London restricted and public,
Leicestershire public. Set ``VRU_SNA_TEST_DATA_DIR`` to keep the loaded store between
sessions (loading is idempotent)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.disclosure import DisclosureRules
from vru.interfaces.report.builder import ReportOutputs, write_report
from vru.services.fetch import fetch
from vru.services.ingest import ingest_file
from vru.services.sna_report import SnaReport, build_report, to_public

DATASETS = ["lookups", "boundaries", "deprivation", "population", "stations", "homicide",
            "lsoa-annual", "mps-borough", "mps-ward", "police-uk-street"]


@dataclass
class Built:
    report: SnaReport
    outputs: ReportOutputs


@pytest.fixture(scope="session")
def report_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> EvidenceStore:
    reuse = os.environ.get("VRU_SNA_TEST_DATA_DIR")
    data_dir = Path(reuse) if reuse else tmp_path_factory.mktemp("sna_report") / "data"
    store = EvidenceStore(data_dir)
    fetch(store, DATASETS, area="london", mirror=shared_data)
    fetch(store, ["police-uk-street"], area="leicestershire", mirror=shared_data)
    ingest_file(store, "population",
                shared_data / "geo" / "population" / "census2021-ts021-msoa.csv",
                skip_invalid=True)
    return store


@pytest.fixture(scope="session")
def london_reports(report_store: EvidenceStore, tmp_path_factory: pytest.TempPathFactory
                   ) -> dict[str, Built]:
    out = tmp_path_factory.mktemp("london_report")
    restricted = build_report(report_store, "london", None, 12)
    public = to_public(restricted, DisclosureRules())
    return {"restricted": Built(restricted, write_report(restricted, out / "restricted")),
            "public": Built(public, write_report(public, out / "public"))}


@pytest.fixture(scope="session")
def leicestershire_public(report_store: EvidenceStore,
                          tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("leics_report")
    report = build_report(report_store, "leicestershire", None, 12, "public")
    return Built(report, write_report(report, out / "public"))
