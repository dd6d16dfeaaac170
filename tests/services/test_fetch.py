"""Fetching public data: the catalogue, a mirror, and downloads from a local HTTP server.

Downloads are tested against a ``http.server`` thread on 127.0.0.1 serving a zip laid out
like a data.police.uk monthly archive, never the real network.
"""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from vru.adapters.fetch import Downloader, Expected, FetchError, cache_path, extract_members
from vru.adapters.sources import FORMATS
from vru.adapters.store.evidence_store import EvidenceStore
from vru.services.fetch import (
    ALREADY,
    FAILED,
    IMPORTED,
    NOT_DOWNLOADABLE,
    NOT_IN_MIRROR,
    Catalogue,
    Series,
    UnknownDatasetError,
    area_forces,
    fetch,
    load_catalogue,
    month_range,
)

LOOKUP = "geo/lookups/ons_lsoa11_to_ward2018_to_lad2018_ew.csv"
LEICS = "crime/police_uk/{m}/{m}-leicestershire-street.csv"
# SOURCES.md: rows in the Leicestershire street files for these months.
LEICS_ROWS = {"2020-01": 8852, "2020-02": 7857}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def small_catalogue(*, series: tuple[Series, ...] | None = None,
                    url: str | None = None) -> Catalogue:
    """The shipped catalogue cut down: one England-wide lookup, and police.uk street files
    for two months of Leicestershire (or the given series), optionally from ``url``."""
    cat = load_catalogue()
    lookups = cat.datasets["lookups"]
    street = cat.datasets["police-uk-street"]
    pattern = dict(street.pattern)
    if url is not None:
        pattern["url"] = url
    return replace(cat, datasets={
        "lookups": replace(lookups, files=tuple(f for f in lookups.files if f.mirror == LOOKUP)),
        "police-uk-street": replace(
            street, pattern=pattern,
            series=series or (Series("leicestershire", "2020-01", "2020-02", "2022-10"),)),
    })


# -- the catalogue -------------------------------------------------------------------------

def test_catalogue_formats_order_and_licences() -> None:
    cat = load_catalogue()
    ids = [d.id for d in cat.ordered()]
    assert ids[:2] == ["lookups", "boundaries"]  # geography first, so codes are checked
    for expected in ("population", "deprivation", "stations", "mps-borough", "mps-ward",
                     "lsoa-annual", "homicide", "police-uk-street", "police-uk-stop-search"):
        assert expected in ids
    for d in cat.datasets.values():
        assert d.format in FORMATS
        assert all(f.format in FORMATS for f in d.files)
        assert d.licence in cat.licences
        assert d.order > 20 or d.id in ("lookups", "boundaries")


def test_every_mirror_file_matches_its_catalogue_size_and_sha256(shared_data: Path) -> None:
    cat = load_catalogue()
    checked = 0
    for d in cat.datasets.values():
        for f in d.files:
            data = (shared_data / f.mirror).read_bytes()
            assert (len(data), sha256(data)) == (f.size, f.sha256), f.mirror
            checked += 1
        for name, exp in d.checksums.items():
            month = name[:7]
            data = (shared_data / "crime" / "police_uk" / month / name).read_bytes()
            assert (len(data), sha256(data)) == (exp.size, exp.sha256), name
            checked += 1
    # 71 street files, 36 + 15 stop-and-search files, and the non-police.uk files.
    assert sum(len(d.checksums) for d in cat.datasets.values()) == 71 + 36 + 15
    assert checked > 122


def test_repacked_boundary_members_are_checked_member_by_member(shared_data: Path) -> None:
    f = next(f for f in load_catalogue().datasets["boundaries"].files
             if f.name == "London_Borough_Excluding_MHW.zip")
    assert f.url and f.url.endswith("statistical-gis-boundaries-london.zip")
    with zipfile.ZipFile(shared_data / f.mirror) as zf:
        assert {n: sha256(zf.read(n)) for n in zf.namelist()} == {
            n: e.sha256 for n, e in f.members.items()}


def test_areas_get_their_forces_and_only_their_files() -> None:
    cat = load_catalogue()
    assert set(area_forces("london")) == {"metropolitan", "city-of-london"}
    assert area_forces("leicestershire") == ["leicestershire"]
    london = cat.resolve("london", area_forces("london"))
    leics = cat.resolve("leicestershire", area_forces("leicestershire"))
    names_l = {f.name for f in london}
    names_c = {f.name for f in leics}
    # England-wide lookups apply to every area; London's derived lookups only to London.
    assert "ons_lsoa11_to_ward2018_to_lad2018_ew.csv" in names_l & names_c
    assert "london_lsoa11_msoa11_ward2018_lad2018.csv" in names_l - names_c
    assert not any(f.dataset in ("boundaries", "mps-borough", "homicide") for f in leics)
    # police.uk files follow the forces: 36 months each of the Met (publisher only) and City.
    street_l = [f for f in london if f.dataset == "police-uk-street"]
    assert {f.force for f in street_l} == {"metropolitan", "city-of-london"}
    met = [f for f in street_l if f.force == "metropolitan"]
    assert len(met) == 36 and met[0].name == "2017-12-metropolitan-street.csv"
    assert met[0].url == "https://data.police.uk/data/archive/2020-11.zip"
    assert met[0].member == "2017-12/2017-12-metropolitan-street.csv"
    assert met[0].sha256 is None  # not in the mirror: nothing to check it against
    city = next(f for f in street_l if f.name == "2018-01-city-of-london-street.csv")
    assert city.sha256 and city.same_bytes
    street_c = [f for f in leics if f.dataset == "police-uk-street"]
    assert len(street_c) == 35 and {f.force for f in street_c} == {"leicestershire"}
    # Import order: lookups, then boundaries, then the rest.
    orders = [f.order for f in london]
    assert orders == sorted(orders) and london[0].dataset == "lookups"


def test_unknown_dataset_and_month_ranges() -> None:
    with pytest.raises(UnknownDatasetError, match="lookups"):
        load_catalogue().resolve("london", [], ["no-such-dataset"])
    assert month_range("2019-11", "2020-02") == ["2019-11", "2019-12", "2020-01", "2020-02"]
    with pytest.raises(ValueError):
        month_range("2019-13", "2020-01")


# -- from a mirror -------------------------------------------------------------------------

def test_mirror_fetch_imports_in_order_then_changes_nothing(shared_data: Path,
                                                            store: EvidenceStore) -> None:
    cat = small_catalogue()
    report = fetch(store, None, "leicestershire", mirror=shared_data, catalogue=cat)
    assert report.ok
    assert [(r.dataset, r.file, r.status) for r in report.results] == [
        ("lookups", "ons_lsoa11_to_ward2018_to_lad2018_ew.csv", IMPORTED),
        ("police-uk-street", "2020-01-leicestershire-street.csv", IMPORTED),
        ("police-uk-street", "2020-02-leicestershire-street.csv", IMPORTED),
    ]
    street = {r.file[:7]: r.rows_stored for r in report.results[1:]}
    assert street == LEICS_ROWS
    imports = store.imports()
    assert len(imports) == 3
    # The street files were checked against the lookup loaded just before them.
    meta = [i["meta"] for i in imports if i["format"] == "police-uk-street"]
    assert all("against the loaded 2011 LSOA list" in m for m in meta)
    assert all(i["source"].startswith(str(shared_data)) for i in imports)

    again = fetch(store, None, "leicestershire", mirror=shared_data, catalogue=cat)
    assert again.ok and {r.status for r in again.results} == {ALREADY}
    assert store.imports() == imports


def test_files_missing_from_the_mirror_are_reported_not_failed(shared_data: Path,
                                                               store: EvidenceStore) -> None:
    cat = small_catalogue(series=(Series("metropolitan", "2018-01", "2018-02", "2020-11"),
                                  Series("city-of-london", "2018-01", "2018-01", "2020-11")))
    report = fetch(store, ["police-uk-street"], "london", mirror=shared_data, catalogue=cat)
    assert report.ok
    status = {r.file: r.status for r in report.results}
    assert status == {"2018-01-metropolitan-street.csv": NOT_IN_MIRROR,
                      "2018-02-metropolitan-street.csv": NOT_IN_MIRROR,
                      "2018-01-city-of-london-street.csv": IMPORTED}
    missing = next(r for r in report.results if r.status == NOT_IN_MIRROR)
    assert "https://data.police.uk/data/archive/2020-11.zip" in missing.message


def test_a_failed_file_does_not_stop_the_others_and_is_never_half_imported(
        shared_data: Path, tmp_path: Path, store: EvidenceStore) -> None:
    mirror = tmp_path / "mirror"
    for m in LEICS_ROWS:
        dest = mirror / LEICS.format(m=m)
        dest.parent.mkdir(parents=True)
        shutil.copy(shared_data / LEICS.format(m=m), dest)
    # 2020-01 is damaged: one row's month made impossible. Its sha256 no longer matches the
    # catalogue, so it is refused before parsing; without a checksum the adapter refuses it.
    bad = mirror / LEICS.format(m="2020-01")
    lines = bad.read_bytes().split(b"\n")
    lines[5] = lines[5].replace(b"2020-01", b"2020-13", 1)  # spreadsheet row 6
    bad.write_bytes(b"\n".join(lines))
    cat = small_catalogue()
    report = fetch(store, ["police-uk-street"], "leicestershire", mirror=mirror,
                   catalogue=cat)
    assert not report.ok
    by_file = {r.file: r for r in report.results}
    assert by_file["2020-01-leicestershire-street.csv"].status == FAILED
    assert "sha256" in by_file["2020-01-leicestershire-street.csv"].message
    assert by_file["2020-02-leicestershire-street.csv"].status == IMPORTED

    street = cat.datasets["police-uk-street"]
    unchecked = replace(cat, datasets={"police-uk-street": replace(street, checksums={})})
    report = fetch(store, ["police-uk-street"], "leicestershire", mirror=mirror,
                   catalogue=unchecked)
    failed = next(r for r in report.results if r.status == FAILED)
    assert "row 6" in failed.message and "Month" in failed.message
    assert [i["file_name"] for i in store.imports()] == ["2020-02-leicestershire-street.csv"]


def test_files_not_published_in_this_form_are_not_downloadable_offline(
        store: EvidenceStore, tmp_path: Path) -> None:
    cat = load_catalogue()
    lookups = cat.datasets["lookups"]
    cat = replace(cat, datasets={"lookups": lookups})
    dl = Downloader(tmp_path / "dl", retries=0)
    report = fetch(store, None, "london", catalogue=cat, downloader=dl)
    assert report.ok and {r.status for r in report.results} == {NOT_DOWNLOADABLE}
    derived = next(r for r in report.results if r.file.startswith("london_lsoa11"))
    assert "Derived" in derived.message and "--mirror" in derived.message
    assert store.imports() == []


# -- downloads -----------------------------------------------------------------------------

class _Server:
    """Serves ``files`` (path -> bytes) on 127.0.0.1, with Range requests, failures on demand
    (``fail_first`` answers 503 that many times) and truncation (``truncate`` cuts a body)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.fail_first = 0
        self.truncate: int | None = None
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests.append((self.path, self.headers.get("Range")))
                if server.fail_first > 0:
                    server.fail_first -= 1
                    self.send_error(503)
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/"
                                                      f"{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if server.truncate is not None:
                    payload = payload[:server.truncate]
                    server.truncate = None
                    self.wfile.write(payload)
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


def police_archive(shared_data: Path, *, corrupt: str | None = None) -> bytes:
    """A zip laid out like data.police.uk/data/archive/2022-10.zip, holding two months of two
    forces' street files (``corrupt`` names a month whose Leicestershire file is altered)."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in LEICS_ROWS:
            data = (shared_data / LEICS.format(m=m)).read_bytes()
            if m == corrupt:
                data = data.replace(b"Burglary", b"Burglarx", 1)
            zf.writestr(f"{m}/{m}-leicestershire-street.csv", data)
            city = shared_data / f"crime/police_uk/{m}/{m}-city-of-london-street.csv"
            zf.writestr(f"{m}/{m}-city-of-london-street.csv",
                        city.read_bytes() if city.exists() else b"x")
    return buf.getvalue()


def test_download_extracts_only_the_forces_files_and_verifies_them(
        shared_data: Path, store: EvidenceStore, server: _Server) -> None:
    server.files["/data/archive/2022-10.zip"] = police_archive(shared_data)
    cat = small_catalogue(url=server.url + "/data/archive/{archive}.zip")
    report = fetch(store, ["police-uk-street"], "leicestershire", catalogue=cat)
    assert report.ok, [r.message for r in report.results]
    assert {r.file: r.rows_stored for r in report.results} == {
        f"{m}-leicestershire-street.csv": n for m, n in LEICS_ROWS.items()}
    assert all(r.source.startswith(server.url) for r in report.results)
    # The archive was downloaded once, and only Leicestershire's members were extracted.
    assert [p for p, _ in server.requests] == ["/data/archive/2022-10.zip"]
    cache = store.data_dir / "downloads"
    extracted = sorted(p.name for p in (cache / "extracted").rglob("*.csv"))
    assert extracted == [f"{m}-leicestershire-street.csv" for m in LEICS_ROWS]
    assert not list(cache.rglob("*.part"))
    # The extracted files are the publisher's bytes, as the catalogue's sha256 says.
    for p in (cache / "extracted").rglob("*.csv"):
        assert sha256(p.read_bytes()) == cat.datasets["police-uk-street"].checksums[
            p.name].sha256


def test_a_corrupted_download_is_refused(shared_data: Path, store: EvidenceStore,
                                         server: _Server) -> None:
    server.files["/data/archive/2022-10.zip"] = police_archive(shared_data, corrupt="2020-02")
    cat = small_catalogue(url=server.url + "/data/archive/{archive}.zip")
    report = fetch(store, ["police-uk-street"], "leicestershire", catalogue=cat)
    assert not report.ok
    by_file = {r.file: r for r in report.results}
    assert by_file["2020-01-leicestershire-street.csv"].status == IMPORTED
    refused = by_file["2020-02-leicestershire-street.csv"]
    assert refused.status == FAILED and "sha256" in refused.message
    assert "refused" in refused.message
    assert [i["file_name"] for i in store.imports()] == ["2020-01-leicestershire-street.csv"]
    assert not list((store.data_dir / "downloads").rglob("2020-02-*"))


def test_downloader_checks_sha256_and_leaves_nothing_on_mismatch(tmp_path: Path,
                                                                 server: _Server) -> None:
    body = b"a,b\n1,2\n" * 1000
    server.files["/f.csv"] = body
    with Downloader(tmp_path, retries=0) as dl:
        with pytest.raises(FetchError, match="sha256"):
            dl.download(server.url + "/f.csv", Expected(len(body), "0" * 64))
        assert not any(tmp_path.rglob("f.csv*"))
        path = dl.download(server.url + "/f.csv", Expected(len(body), sha256(body)))
        assert path.read_bytes() == body and path == cache_path(tmp_path, server.url + "/f.csv")
        # Cached: a second call does not download again.
        n = len(server.requests)
        assert dl.download(server.url + "/f.csv", Expected(len(body), sha256(body))) == path
        assert len(server.requests) == n
        with pytest.raises(FetchError, match="HTTP 404"):
            dl.download(server.url + "/missing.csv")


def test_downloader_retries_and_resumes_a_partial_download(tmp_path: Path,
                                                           server: _Server) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    server.files["/big.zip"] = body
    server.fail_first = 1  # one 503
    server.truncate = 300_000  # then the connection drops part way
    waits: list[float] = []
    with Downloader(tmp_path, retries=3, backoff=0.5, sleep=waits.append) as dl:
        path = dl.download(server.url + "/big.zip", Expected(len(body), sha256(body)))
    assert path.read_bytes() == body
    assert waits == [0.5, 1.0]
    ranges = [r for _, r in server.requests]
    assert ranges == [None, None, "bytes=300000-"]  # resumed from the .part file
    assert not path.with_name(path.name + ".part").exists()


def test_downloader_gives_up_after_its_retries_keeping_the_part_file(tmp_path: Path,
                                                                     server: _Server) -> None:
    server.files["/x.csv"] = b"abc"
    server.fail_first = 10
    with Downloader(tmp_path, retries=2, sleep=lambda s: None) as dl, \
            pytest.raises(FetchError, match="after 3 attempts"):
        dl.download(server.url + "/x.csv")
    assert not cache_path(tmp_path, server.url + "/x.csv").exists()


def test_extract_members_reports_missing_members_and_bad_archives(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("2020-01/2020-01-x-street.csv", "hello")
    got = extract_members(archive, {
        "2020-01/2020-01-x-street.csv": tmp_path / "out" / "x.csv",
        "2020-01/2020-01-y-street.csv": tmp_path / "out" / "y.csv",
    }, {"2020-01/2020-01-x-street.csv": Expected(5, sha256(b"hello"))})
    assert got["2020-01/2020-01-x-street.csv"] == tmp_path / "out" / "x.csv"
    missing = got["2020-01/2020-01-y-street.csv"]
    assert isinstance(missing, FetchError) and "not in a.zip" in str(missing)
    (tmp_path / "b.zip").write_bytes(b"not a zip")
    bad = extract_members(tmp_path / "b.zip", {"m": tmp_path / "m"})
    assert isinstance(bad["m"], FetchError) and "not a readable zip" in str(bad["m"])


def test_a_layer_is_repacked_from_the_publishers_zip_member_by_member(
        shared_data: Path, store: EvidenceStore, server: _Server) -> None:
    import io

    cat = load_catalogue()
    bounds = cat.datasets["boundaries"]
    layer = next(f for f in bounds.files if f.name == "London_Borough_Excluding_MHW.zip")
    # The publisher's zip: every layer in one folder, with files the mirror's zip leaves out.
    buf = io.BytesIO()
    with zipfile.ZipFile(shared_data / layer.mirror) as src, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in src.namelist():
            zf.writestr(f"statistical-gis-boundaries-london/ESRI/{name}", src.read(name))
        zf.writestr("statistical-gis-boundaries-london/ESRI/London_Borough_Excluding_MHW.sbn",
                    b"index")
        zf.writestr("statistical-gis-boundaries-london/MapInfo/x.tab", b"other layer")
    server.files["/statistical-gis-boundaries-london.zip"] = buf.getvalue()
    url = server.url + "/statistical-gis-boundaries-london.zip"
    small = replace(cat, datasets={"boundaries": replace(bounds, files=(
        replace(layer, url=url),))})
    report = fetch(store, None, "london", catalogue=small)
    assert [(r.file, r.status) for r in report.results] == [(layer.name, IMPORTED)], [
        r.message for r in report.results]
    repacked = next((store.data_dir / "downloads" / "extracted").rglob(layer.name))
    with zipfile.ZipFile(repacked) as zf, zipfile.ZipFile(shared_data / layer.mirror) as orig:
        assert sorted(zf.namelist()) == sorted(orig.namelist())
        assert all(zf.read(n) == orig.read(n) for n in orig.namelist())

    # A member whose bytes differ from the catalogue's is refused, and nothing imported.
    store2 = EvidenceStore(store.data_dir.parent / "other")
    bad = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(server.files["/statistical-gis-boundaries-london.zip"])) \
            as src, zipfile.ZipFile(bad, "w") as zf:
        for name in src.namelist():
            data = src.read(name)
            zf.writestr(name, data + b"x" if name.endswith(".dbf") else data)
    server.files["/bad.zip"] = bad.getvalue()
    small = replace(cat, datasets={"boundaries": replace(bounds, files=(
        replace(layer, url=server.url + "/bad.zip"),))})
    [result] = fetch(store2, None, "london", catalogue=small).results
    assert result.status == FAILED and ".dbf" in result.message
    assert store2.imports() == []
