"""The count cubes and populations kept beside the store are the ones the store gives."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from numpy.testing import assert_array_equal

from vru.adapters.store.evidence_store import EvidenceStore, ImportRecord
from vru.services.sna_figures import SnaData


def test_saved_sources_and_populations_equal_freshly_built_ones(
        sna_store: EvidenceStore) -> None:
    with SnaData(sna_store, "london") as first:
        built = {level: first.sources(level) for level in ("lad", "ward", "lsoa")}
        pops = {level: first.populations(level) for level in ("lad", "ward", "lsoa")}
    names = {p.name for p in (sna_store.root / "derived").iterdir()}
    assert {"sna-sources-london-lsoa.npz", "sna-populations-london-ward-persons.npz"} <= names
    with SnaData(sna_store, "london") as again:
        for level, sources in built.items():
            fresh = again._build_sources(level)
            read = again.sources(level)
            assert [s.key for s in read] == [s.key for s in fresh] == [s.key for s in sources]
            for r, f in zip(read, fresh, strict=True):
                assert (r.codes, r.names, r.parents, r.keys, r.notes, r.imports_at,
                        r.grain, r.vintage, r.title) == (
                    f.codes, f.names, f.parents, f.keys, f.notes, f.imports_at,
                    f.grain, f.vintage, f.title)
                assert_array_equal(r.periods, f.periods)
                assert_array_equal(r.cube, f.cube)
                assert_array_equal(r.outside, f.outside)
        for level, expected in pops.items():
            assert again.populations(level) == expected
        figures = again.figures("violence_against_the_person", "borough", "2025-12",
                                rank_simulations=0)
    assert figures["count"].sum() > 200_000


def test_any_new_import_or_another_area_makes_saved_entries_stale(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "data")
    store.commit_import(_record("a" * 64), {"stations": pa.table({"x": [1]})})
    with SnaData(store, "london") as data:
        key = data._derived_key
        data._derived.save("sna-sources-london-lad", key, {}, [])
        assert data.sources("lad") == []  # read back from the saved entry
    with SnaData(store, "leicestershire") as other:
        assert other._derived_key != key
    store.commit_import(_record("b" * 64), {"stations": pa.table({"x": [2]})})
    with SnaData(store, "london") as later:
        assert later._derived_key != key
        assert later._derived.load("sna-sources-london-lad", later._derived_key) is None


def _record(sha: str) -> ImportRecord:
    return ImportRecord(format="test", file_name="f.csv", source="/x/f.csv", sha256=sha,
                        size_bytes=10, rows_read=1, rows_stored=1, rows_rejected=0)
