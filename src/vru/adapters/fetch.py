"""Getting public files: downloads from publishers, and members out of publishers' zips.

``Downloader.download`` streams a URL to ``<cache>/<host>/<path>.part`` with httpx, shows a
Rich progress bar when given one, resumes a partial download when the server allows it,
retries transient failures, checks the size and (where the catalogue knows it) the sha256,
and only then renames the ``.part`` file into place. A file in the cache is therefore always
complete; a corrupted download is deleted and refused, never handed on.

``extract_members`` copies chosen members out of a zip (for example three forces' monthly
files out of a 1.5 GB data.police.uk archive) without extracting the rest, verifying each.
"""

from __future__ import annotations

import hashlib
import os
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx
from rich.progress import Progress, TaskID

CHUNK = 1 << 20
RETRY_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = "vru (open platform for Violence Reduction Units; +https://github.com/)"


class FetchError(Exception):
    """A file could not be got. The message says which, from where, and what to do."""


@dataclass(frozen=True)
class Expected:
    """What a file must be, where known: its size in bytes and its sha256."""

    size: int | None = None
    sha256: str | None = None


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where ``url`` is cached: ``<cache_dir>/<host>/<url path>`` (query folded into the name)."""
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/") or "index"
    if parts.query:
        path += "_" + hashlib.sha256(parts.query.encode()).hexdigest()[:12]
    safe = [p for p in path.split("/") if p not in ("", ".", "..")]
    return cache_dir.joinpath(parts.hostname or "local", *safe)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def verify(path: Path, expected: Expected, what: str) -> None:
    """Check the file against ``expected`` (size, then sha256; each only when known);
    ``FetchError`` saying what differs otherwise."""
    size = path.stat().st_size
    if expected.size is not None and size != expected.size:
        raise FetchError(f"{what}: {size:,} bytes, but the catalogue says {expected.size:,}; "
                         "the file is truncated or corrupted, or the publisher has changed it")
    if expected.sha256 is None:
        return
    digest = file_sha256(path)
    if digest != expected.sha256.lower():
        raise FetchError(f"{what}: sha256 is {digest}, but the catalogue says "
                         f"{expected.sha256}; the file is corrupted or the publisher has "
                         "changed it, so it was refused")


class Downloader:
    """Downloads into a cache directory (``<data_dir>/downloads``)."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        client: httpx.Client | None = None,
        progress: Progress | None = None,
        retries: int = 3,
        backoff: float = 1.0,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self._client = client
        self._own_client = client is None
        self.progress = progress
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self._sleep = sleep

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                follow_redirects=True,
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 20.0)),
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None and self._own_client:
            self._client.close()
            self._client = None

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def download(self, url: str, expected: Expected = Expected(),
                 label: str | None = None) -> Path:
        """The cached copy of ``url``, downloading it first if needed. Verified when the
        expected size or sha256 is known; ``FetchError`` if it cannot be got or is wrong."""
        dest = cache_path(self.cache_dir, url)
        label = label or dest.name
        if dest.is_file():
            try:
                verify(dest, expected, f"{label} (cached)")
                return dest
            except FetchError:
                dest.unlink()  # a stale or damaged cache entry: fetch it again
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                self._stream(url, part, label, expected.size)
                break
            except _Retryable as exc:
                last = exc
            except httpx.HTTPError as exc:  # network trouble: retry
                last = exc
        else:
            raise FetchError(f"{label}: could not download {url} after {self.retries + 1} "
                             f"attempts ({last}). Check the connection and try again; the "
                             "partial download is kept and resumed next time") from None
        try:
            verify(part, expected, f"{label} from {url}")
        except FetchError:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, dest)
        return dest

    def _stream(self, url: str, part: Path, label: str, size: int | None) -> None:
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self.client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and have:  # .part is already complete (or bad)
                if size is not None and have == size:
                    return
                part.unlink()
                raise _Retryable("the partial download did not match; starting again")
            if response.status_code in RETRY_STATUS:
                raise _Retryable(f"HTTP {response.status_code}")
            if response.status_code >= 400:
                raise FetchError(f"{label}: {url} answered HTTP {response.status_code} "
                                 f"{response.reason_phrase}. Check the address in the "
                                 "catalogue; the publisher may have moved the file")
            resumed = response.status_code == 206 and have > 0
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            total = (have + int(length)) if length and length.isdigit() else size
            got = have
            with self._task(label, total, have) as advance, \
                    open(part, "ab" if resumed else "wb") as fh:
                for chunk in response.iter_bytes():  # as it arrives: a drop keeps it
                    fh.write(chunk)
                    got += len(chunk)
                    advance(len(chunk))
                fh.flush()
                os.fsync(fh.fileno())
            if length and length.isdigit() and got != have + int(length):
                raise _Retryable(f"connection closed after {got:,} bytes")

    @contextmanager
    def _task(self, label: str, total: int | None, done: int) -> Iterator[Callable[[int], None]]:
        if self.progress is None:
            yield lambda n: None
            return
        task: TaskID = self.progress.add_task(f"download {label}", total=total, completed=done)
        try:
            yield lambda n: self.progress.advance(task, n) if self.progress else None
        finally:
            self.progress.remove_task(task)


class _Retryable(Exception):
    pass


def extract_members(
    archive: Path,
    members: Mapping[str, Path],
    expected: Mapping[str, Expected] | None = None,
) -> dict[str, Path | FetchError]:
    """Copy each ``member`` of the zip ``archive`` to its destination, and only those.

    Each copy goes to a ``.part`` file, is verified against ``expected`` (size, sha256) and
    then renamed. Returns, per member, its path or the ``FetchError`` that refused it.
    A destination already present and valid is kept as it is.
    """
    expected = expected or {}
    out: dict[str, Path | FetchError] = {}
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        error = FetchError(f"{archive.name}: is not a readable zip archive ({exc}); delete it "
                           "from the download cache and fetch again")
        return {m: error for m in members}
    with zf:
        names = set(zf.namelist())
        for member, dest in members.items():
            want = expected.get(member, Expected())
            if dest.is_file():
                try:
                    verify(dest, want, dest.name)
                    out[member] = dest
                    continue
                except FetchError:
                    dest.unlink()
            if member not in names:
                out[member] = FetchError(f"{member} is not in {archive.name}: the publisher "
                                         "has no such file for this force and month")
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            part = dest.with_name(dest.name + ".part")
            try:
                with zf.open(member) as src, open(part, "wb") as fh:
                    for block in iter(lambda: src.read(CHUNK), b""):  # noqa: B023
                        fh.write(block)
                verify(part, want, f"{member} in {archive.name}")
            except FetchError as exc:
                part.unlink(missing_ok=True)
                out[member] = exc
                continue
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                part.unlink(missing_ok=True)
                out[member] = FetchError(f"{member} in {archive.name} cannot be read ({exc}); "
                                         "the archive is damaged: delete it and fetch again")
                continue
            os.replace(part, dest)
            out[member] = dest
    return out
