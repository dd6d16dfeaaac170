"""Use case: load the public data an area needs, from a local mirror or from the publishers.

The datasets are described as data, in ``vru/reference/catalogue.toml``: for each dataset its
format, the areas it applies to, its files with the publisher's download address, the path
of the same file in a mirror folder (laid out like ``shared/data``), and its size and sha256
where known. police.uk files are described by pattern (one file per force and month, held in
the publisher's monthly archive zips), so an area's files follow from its police forces.

``fetch`` resolves the files an area needs, gets each one (mirror, or download with checks),
and imports them in catalogue order (lookups, then boundaries, then the rest, so that codes
are checked against the loaded geography), each file whole or not at all. It reports every
file: imported, already imported, not in mirror, not downloadable, or failed (with the
located reason). A failed file does not stop the others.
"""

from __future__ import annotations

import re
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rich.progress import Progress

from vru.adapters.fetch import Downloader, Expected, FetchError, extract_members, verify
from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain.problems import InputError
from vru.services.areas import get_area
from vru.services.batch_ingest import BatchOutcome, ingest_files
from vru.services.ingest import reference_data

IMPORTED = "imported"
ALREADY = "already imported"
NOT_IN_MIRROR = "not in mirror"
NOT_DOWNLOADABLE = "not downloadable"
FAILED = "failed"

# Formats whose imports change the reference data later files are checked against.
GEOGRAPHY_FORMATS = frozenset({"lookup", "boundaries"})

ANY_AREA = "*"
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# -- the catalogue -------------------------------------------------------------------------

@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str
    attribution: str = ""


@dataclass(frozen=True)
class CatalogueFile:
    """One file of a dataset, as the catalogue describes it.

    ``mirror`` is its path in a mirror folder; ``url`` is the publisher's download (for a
    zip, ``member`` is the file inside it, and ``repack`` names the members to gather into a
    zip of their own, checked against ``members``). ``same_bytes`` says the publisher's file
    is byte for byte the mirror's, so ``size`` and ``sha256`` check the download too.
    ``online`` is False when the publisher's download cannot stand in for the file (a file
    we derived, or the publisher offers another format); ``note`` says why.
    """

    dataset: str
    format: str
    name: str
    mirror: str
    order: int
    licence: str
    url: str | None = None
    member: str | None = None
    repack: str | None = None
    members: Mapping[str, Expected] = field(default_factory=dict)
    same_bytes: bool = False
    online: bool = True
    size: int | None = None
    sha256: str | None = None
    page: str | None = None
    note: str | None = None
    areas: tuple[str, ...] = (ANY_AREA,)
    publisher: str = ""
    force: str | None = None
    month: str | None = None

    @property
    def expected(self) -> Expected:
        return Expected(self.size, self.sha256)

    @property
    def download_expected(self) -> Expected:
        """What the downloaded file must be: the mirror's checksums when the bytes are the
        publisher's own, otherwise unknown."""
        return self.expected if self.same_bytes else Expected()

    def applies_to(self, area: str) -> bool:
        return ANY_AREA in self.areas or area in self.areas


@dataclass(frozen=True)
class Series:
    """police.uk monthly files of one force, ``start`` to ``end``, held in ``archive``."""

    force: str
    start: str
    end: str
    archive: str
    note: str | None = None

    def months(self) -> list[str]:
        return month_range(self.start, self.end)


@dataclass(frozen=True)
class Dataset:
    id: str
    title: str
    format: str
    order: int
    areas: tuple[str, ...]
    publisher: str
    licence: str
    page: str | None
    description: str
    files: tuple[CatalogueFile, ...] = ()
    series: tuple[Series, ...] = ()
    pattern: Mapping[str, Any] = field(default_factory=dict)
    checksums: Mapping[str, Expected] = field(default_factory=dict)

    def applies_to(self, area: str) -> bool:
        return ANY_AREA in self.areas or area in self.areas

    def files_for(self, area: str, forces: Sequence[str]) -> list[CatalogueFile]:
        """The files this dataset has for ``area`` (whose police forces are ``forces``)."""
        if not self.applies_to(area):
            return []
        out = [f for f in self.files if f.applies_to(area)]
        for s in self.series:
            if s.force in forces:
                out.extend(self._series_file(s, m) for m in s.months())
        return out

    def _series_file(self, s: Series, month: str) -> CatalogueFile:
        p = self.pattern

        def fill(key: str) -> str:
            return str(p[key]).format(month=month, force=s.force, archive=s.archive)

        name = fill("name")
        known = self.checksums.get(name, Expected())
        return CatalogueFile(
            dataset=self.id, format=self.format, name=name, mirror=fill("mirror"),
            order=self.order, licence=self.licence, url=fill("url"), member=fill("member"),
            same_bytes=bool(p.get("same_bytes", False)), size=known.size,
            sha256=known.sha256, page=self.page, note=s.note, publisher=self.publisher,
            force=s.force, month=month,
        )


@dataclass(frozen=True)
class Catalogue:
    datasets: Mapping[str, Dataset]
    licences: Mapping[str, Licence]
    source: str

    def ordered(self) -> list[Dataset]:
        return sorted(self.datasets.values(), key=lambda d: (d.order, d.id))

    def resolve(self, area: str, forces: Sequence[str],
                dataset_ids: Sequence[str] | None = None) -> list[CatalogueFile]:
        """Every file ``area`` needs, of the given datasets (all when None), in import order."""
        wanted = list(dataset_ids or [])
        unknown = [d for d in wanted if d not in self.datasets]
        if unknown:
            raise UnknownDatasetError(unknown, [d.id for d in self.ordered()])
        out: list[CatalogueFile] = []
        for ds in self.ordered():
            if wanted and ds.id not in wanted:
                continue
            out.extend(ds.files_for(area, forces))
        return sorted(out, key=lambda f: (f.order, f.dataset, f.month or "", f.name))


class UnknownDatasetError(KeyError):
    """Dataset ids the catalogue does not have; the message lists the ones it has."""

    def __init__(self, unknown: Sequence[str], known: Sequence[str]) -> None:
        self.unknown, self.known = list(unknown), list(known)
        super().__init__(", ".join(unknown))

    def __str__(self) -> str:
        return (f"unknown dataset(s): {', '.join(self.unknown)}; the catalogue has: "
                f"{', '.join(self.known)} (see `vru data catalogue`)")


def month_range(start: str, end: str) -> list[str]:
    for m in (start, end):
        if not MONTH.match(m):
            raise ValueError(f"{m!r} is not a month in the form YYYY-MM")
    y, mo = int(start[:4]), int(start[5:])
    out: list[str] = []
    while f"{y:04d}-{mo:02d}" <= end:
        out.append(f"{y:04d}-{mo:02d}")
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return out


def _expected(v: Any) -> Expected:
    if isinstance(v, str):
        return Expected(None, v)
    return Expected(v.get("size"), v.get("sha256"))


def _areas(v: Any) -> tuple[str, ...]:
    if v is None:
        return (ANY_AREA,)
    return (v,) if isinstance(v, str) else tuple(v)


def parse_catalogue(data: Mapping[str, Any], source: str = "catalogue.toml") -> Catalogue:
    """Build a ``Catalogue`` from the parsed TOML; ``ValueError`` naming what is wrong."""
    licences = {
        k: Licence(k, v["title"], v["url"], v.get("attribution", ""))
        for k, v in data.get("licences", {}).items()
    }
    datasets: dict[str, Dataset] = {}
    for ds_id, d in data.get("datasets", {}).items():
        try:
            fmt = d["format"]
            order = int(d["order"])
            licence = d["licence"]
            page = d.get("page")
            files = tuple(
                CatalogueFile(
                    dataset=ds_id, format=f.get("format", fmt),
                    name=f.get("name", Path(f["mirror"]).name), mirror=f["mirror"],
                    order=int(f.get("order", order)), licence=f.get("licence", licence),
                    url=f.get("url"), member=f.get("member"), repack=f.get("repack"),
                    members={k: _expected(v) for k, v in f.get("members", {}).items()},
                    same_bytes=bool(f.get("same_bytes", False)),
                    online=bool(f.get("online", f.get("url") is not None)),
                    size=f.get("size"), sha256=f.get("sha256"), page=f.get("page", page),
                    note=f.get("note"), areas=_areas(f.get("areas", d.get("areas"))),
                    publisher=f.get("publisher", d.get("publisher", "")),
                )
                for f in d.get("files", [])
            )
            series = tuple(
                Series(s["force"], s["from"], s["to"], s["archive"], s.get("note"))
                for s in d.get("series", [])
            )
            pattern = d.get("monthly", {})
            if series and not all(k in pattern for k in ("name", "mirror", "url", "member")):
                raise ValueError("a dataset with series needs [monthly] name, mirror, url and "
                                 "member patterns")
            datasets[ds_id] = Dataset(
                id=ds_id, title=d["title"], format=fmt, order=order, areas=_areas(d.get("areas")),
                publisher=d.get("publisher", ""), licence=licence, page=page,
                description=d.get("description", ""), files=files, series=series,
                pattern=pattern,
                checksums={k: _expected(v) for k, v in d.get("checksums", {}).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: dataset {ds_id!r} is malformed ({exc})") from None
        if licence not in licences:
            raise ValueError(f"{source}: dataset {ds_id!r} names an unknown licence {licence!r}")
    return Catalogue(datasets, licences, source)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue shipped with vru (or the one at ``path``)."""
    if path is not None:
        return parse_catalogue(tomllib.loads(Path(path).read_text("utf-8")), str(path))
    text = resources.files("vru").joinpath("reference", "catalogue.toml").read_text("utf-8")
    return parse_catalogue(tomllib.loads(text), "vru/reference/catalogue.toml")


# -- areas ---------------------------------------------------------------------------------

def area_forces(area: str, data_dir: Path | None = None) -> list[str]:
    """The police.uk force ids of ``area`` (``vru/reference/areas.toml``, or the user's
    ``<data_dir>/areas.toml``); ``UnknownAreaError`` (a ``KeyError``) listing the known
    areas otherwise."""
    return list(get_area(area, data_dir).police_forces)


# -- fetching ------------------------------------------------------------------------------

@dataclass
class FileResult:
    """What happened to one catalogue file."""

    dataset: str
    format: str
    file: str
    status: str
    source: str = ""
    rows_read: int = 0
    rows_stored: int = 0
    rows_rejected: int = 0
    import_id: str | None = None
    message: str = ""
    force: str | None = None  # police.uk files: force and month
    month: str | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAILED


@dataclass
class FetchReport:
    area: str
    mirror: str | None
    results: list[FileResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(r.failed for r in self.results)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def rows_stored(self) -> int:
        return sum(r.rows_stored for r in self.results)


ProgressHook = Callable[[FileResult], None]


def fetch(
    store: EvidenceStore,
    datasets: Sequence[str] | None = None,
    area: str = "london",
    mirror: Path | None = None,
    progress: Progress | None = None,
    *,
    catalogue: Catalogue | None = None,
    downloader: Downloader | None = None,
    forces: Sequence[str] | None = None,
    on_file: ProgressHook | None = None,
    workers: int | None = None,
) -> FetchReport:
    """Load ``datasets`` (every dataset the catalogue has for ``area`` when none are named).

    With ``mirror`` (a folder laid out like ``shared/data``) files come from there and a
    missing one is reported ``not in mirror``; without it they are downloaded from the
    publishers into ``<data_dir>/downloads``. ``progress`` (a Rich ``Progress``) shows
    downloads and imports; ``on_file`` is called with each file's result as it is known.
    """
    catalogue = catalogue or load_catalogue()
    forces = list(forces) if forces is not None else area_forces(area, store.data_dir)
    files = catalogue.resolve(area, forces, datasets)
    if mirror is not None and not Path(mirror).is_dir():
        raise FileNotFoundError(f"the mirror folder {mirror} does not exist")
    report = FetchReport(area, str(mirror) if mirror is not None else None)

    def done(r: FileResult) -> None:
        report.results.append(r)
        if on_file is not None:
            on_file(r)

    already = {i["sha256"]: i["import_id"] for i in store.imports()}
    own_downloader = downloader is None
    dl = downloader or Downloader(store.data_dir / "downloads", progress=progress)
    task = progress.add_task("import", total=len(files)) if progress is not None else None
    ref = None
    try:
        # Files are imported dataset by dataset in catalogue order.
        for group in _groups(files):
            if progress is not None and task is not None:
                progress.update(task, description=f"import {group[0].dataset}")
            ready: list[tuple[CatalogueFile, Path, str]] = []
            for f in group:
                if f.sha256 and f.sha256 in already:
                    done(_result(f, ALREADY, import_id=already[f.sha256],
                                 message="same sha256 as an earlier import; nothing changed"))
                    _advance(progress, task)
                    continue
                got = _get(f, mirror, dl)
                if isinstance(got, FileResult):
                    done(got)
                    _advance(progress, task)
                else:
                    ready.append((f, got[0], got[1]))
            if not ready:
                continue
            if ref is None:
                ref = reference_data(store)
            outcomes = _ingest(store, ready, ref, progress, task, workers)
            changed = False
            for (f, _path, source), out in zip(ready, outcomes, strict=True):
                r = _from_outcome(f, source, out)
                changed |= r.status == IMPORTED and f.format in GEOGRAPHY_FORMATS
                done(r)
            if changed:
                ref = None  # recompute: the next files are checked against the new geography
    finally:
        if own_downloader:
            dl.close()
        if progress is not None and task is not None:
            progress.remove_task(task)
    return report


def _advance(progress: Progress | None, task: Any) -> None:
    if progress is not None and task is not None:
        progress.advance(task)


def _groups(files: Sequence[CatalogueFile]) -> Iterable[list[CatalogueFile]]:
    """Consecutive files of the same dataset and format (files are in import order)."""
    group: list[CatalogueFile] = []
    for f in files:
        if group and (group[0].dataset, group[0].format) != (f.dataset, f.format):
            yield group
            group = []
        group.append(f)
    if group:
        yield group


def _result(f: CatalogueFile, status: str, source: str = "", **kw: Any) -> FileResult:
    return FileResult(f.dataset, f.format, f.name, status, source, force=f.force,
                      month=f.month, **kw)


def _get(f: CatalogueFile, mirror: Path | None,
         dl: Downloader) -> tuple[Path, str] | FileResult:
    """The file on disk and where it came from, or a result saying why it is not."""
    if mirror is not None:
        path = Path(mirror) / f.mirror
        if not path.is_file():
            where = f" (at the publisher: {f.url or f.page})" if (f.url or f.page) else ""
            return _result(f, NOT_IN_MIRROR, str(path),
                           message=f"{f.mirror} is not in the mirror{where}")
        try:
            verify(path, f.expected, f"{f.mirror} in the mirror")
        except FetchError as exc:
            return _result(f, FAILED, str(path), message=str(exc))
        return path, str(path.resolve())
    if not f.online or not f.url:
        why = f.note or ("the publisher offers no direct download of this file"
                         if not f.url else "the publisher's download is not this file")
        where = f"; get it from {f.page} and import it with `vru ingest {f.format} FILE`" \
            if f.page else ""
        return _result(f, NOT_DOWNLOADABLE, f.url or f.page or "",
                       message=f"{why}{where}, or fetch with --mirror")
    try:
        return _download(f, dl), f.url if not (f.member or f.repack) else \
            f"{f.url}#{f.member or f.repack}"
    except FetchError as exc:
        return _result(f, FAILED, f.url, message=str(exc))
    except OSError as exc:
        return _result(f, FAILED, f.url, message=f"{f.name}: {exc}")


def _download(f: CatalogueFile, dl: Downloader) -> Path:
    assert f.url is not None
    if f.member is None and f.repack is None:
        return dl.download(f.url, f.download_expected, label=f.name)
    archive = dl.download(f.url, Expected(), label=Path(f.url).name)
    extracted = dl.cache_dir / "extracted" / archive.stem
    if f.member is not None:
        # Keep the catalogue's file name: adapters read meaning from it (force, month).
        dest = extracted / Path(f.member).parent / f.name
        result = extract_members(archive, {f.member: dest},
                                 {f.member: f.download_expected})[f.member]
        if isinstance(result, FetchError):
            raise result
        return result
    return _repack(archive, f, extracted)


def _repack(archive: Path, f: CatalogueFile, extracted: Path) -> Path:
    """Gather the members under ``f.repack`` named in ``f.members`` into a zip of their own
    (the layout of the mirror's file), checking each member's bytes."""
    assert f.repack is not None
    parts = extracted / (f.name + ".members")
    got = extract_members(archive, {f.repack + n: parts / n for n in f.members},
                          {f.repack + n: e for n, e in f.members.items()})
    errors = [r for r in got.values() if isinstance(r, FetchError)]
    if errors:
        raise errors[0]
    out = extracted / f.name
    part = out.with_name(out.name + ".part")
    with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in f.members:
            zf.write(parts / name, name)
    part.replace(out)
    return out


def _ingest(store: EvidenceStore, ready: list[tuple[CatalogueFile, Path, str]], ref: Any,
            progress: Progress | None, task: Any, workers: int | None) -> list[BatchOutcome]:
    fmt = ready[0][0].format

    def advance(_out: BatchOutcome) -> None:
        _advance(progress, task)

    try:
        return ingest_files(store, fmt, [p for _f, p, _s in ready], ref=ref,
                            sources=[s for _f, _p, s in ready], workers=workers,
                            on_done=advance)
    except (KeyError, ImportError) as exc:  # no adapter for this format (yet)
        for _ in ready:
            advance(BatchOutcome(Path()))
        err = RuntimeError(f"no adapter can read format {fmt!r} ({exc})")
        return [BatchOutcome(p, error=err) for _f, p, _s in ready]


def _from_outcome(f: CatalogueFile, source: str, out: BatchOutcome) -> FileResult:
    if out.result is not None:
        r = out.result
        return _result(f, IMPORTED if r.status == "imported" else ALREADY, source,
                       rows_read=r.rows_read, rows_stored=r.rows_stored,
                       rows_rejected=r.rows_rejected, import_id=r.import_id,
                       message="" if r.status == "imported" else
                       "same sha256 as an earlier import; nothing changed")
    exc = out.error
    if isinstance(exc, InputError):
        message = exc.summary(limit=5)
    else:
        message = f"{f.name}: {type(exc).__name__}: {exc}"
    return _result(f, FAILED, source, message=message)


def describe(catalogue: Catalogue, area: str | None = None,
             forces: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The catalogue as rows for display: one per dataset, with its files (all areas' files
    when ``area`` is None), licence and addresses."""
    rows: list[dict[str, Any]] = []
    for ds in catalogue.ordered():
        if area is not None and not ds.applies_to(area):
            continue
        if area is None:
            files = list(ds.files)
            series = list(ds.series)
        else:
            files = [f for f in ds.files if f.applies_to(area)]
            series = [s for s in ds.series if forces is None or s.force in forces]
        if area is not None and not files and not series:
            continue
        lic = catalogue.licences[ds.licence]
        rows.append({
            "dataset": ds.id, "title": ds.title, "format": ds.format, "order": ds.order,
            "areas": list(ds.areas), "publisher": ds.publisher,
            "licence": lic.title, "licence_url": lic.url, "page": ds.page,
            "licence_id": lic.id,
            "files": [{"name": f.name, "mirror": f.mirror, "url": f.url, "member": f.member,
                       "online": f.online, "same_bytes": f.same_bytes, "size": f.size,
                       "sha256": f.sha256, "page": f.page, "areas": list(f.areas),
                       "note": f.note} for f in files],
            "series": [{"force": s.force, "from": s.start, "to": s.end,
                        "files": len(s.months()),
                        "name": str(ds.pattern.get("name", "")).format(
                            month="YYYY-MM", force=s.force, archive=s.archive),
                        "url": str(ds.pattern.get("url", "")).format(
                            month="YYYY-MM", force=s.force, archive=s.archive),
                        "checksums_known": sum(
                            str(ds.pattern["name"]).format(month=m, force=s.force,
                                                           archive=s.archive)
                            in ds.checksums for m in s.months()),
                        "note": s.note} for s in series],
        })
    return rows


__all__ = [
    "ALREADY", "FAILED", "IMPORTED", "NOT_DOWNLOADABLE", "NOT_IN_MIRROR",
    "Catalogue", "CatalogueFile", "Dataset", "FetchReport", "FileResult", "Series",
    "UnknownDatasetError", "area_forces", "describe", "fetch", "load_catalogue", "month_range",
    "parse_catalogue",
]
