"""Results that are costly to compute (the register's aggregates), kept while what they
depend on is unchanged, and computed once however many requests ask at the same moment.

Each entry holds a value with the ``state`` of the records it was computed from (a small
tuple that changes whenever they do, read in the same database snapshot as the data) and
the moment (``time.monotonic()``) just before that snapshot was taken. A request that
arrived at ``asked_at`` and finds the records in ``state`` is served an entry when

* its state is ``state`` (nothing has changed since it was computed), or
* it was computed from a snapshot taken after ``asked_at``: every change committed before
  the request arrived is in it (a newer state than the one the request read is fine).

Otherwise the request computes it, one computation per key at a time. Requests for the same
key arriving meanwhile wait for that computation and are served by it if they arrived
before its snapshot was taken (or their state is its state); only a request that arrived
after the snapshot, with a change since, computes again. So the figures are never older
than the request, and after a change each key is computed once, not once per request.

Entries are kept per key (kind and parameters, not state): a newer computation replaces the
older one, and at most ``per_kind`` keys of each kind are kept (the least recently computed
go first), so parameters a client chooses cannot fill the memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Key = tuple[Hashable, ...]


@dataclass(frozen=True)
class Computed(Generic[T]):
    """A value, the state of the records it was computed from, and when (monotonic seconds,
    taken just before the snapshot it was read from)."""

    state: tuple[Any, ...]
    taken_at: float
    value: T

    def serves(self, state: tuple[Any, ...], asked_at: float) -> bool:
        return self.state == state or self.taken_at >= asked_at


def now() -> float:
    """The clock ``taken_at`` and ``asked_at`` are read from."""
    return time.monotonic()


class ResultCache:
    """Thread-safe cache of ``Computed`` values with one computation per key at a time."""

    def __init__(self, per_kind: int = 8) -> None:
        self.per_kind = per_kind
        self._lock = threading.Lock()
        self._entries: dict[Hashable, OrderedDict[Key, Computed[Any]]] = {}
        self._flights: dict[Key, threading.Lock] = {}
        #: computations run (for tests and benchmarks)
        self.computations = 0

    def get(self, key: Key) -> Computed[Any] | None:
        with self._lock:
            return self._entries.get(key[0], OrderedDict()).get(key)

    def get_or_compute(self, key: Key, state: tuple[Any, ...], asked_at: float,
                       compute: Callable[[], Computed[T]]) -> Computed[T]:
        """The entry for ``key`` that serves a request which arrived at ``asked_at`` and
        read ``state``; computed (``compute``) if there is none, once at a time per key."""
        entry = self.get(key)
        if entry is not None and entry.serves(state, asked_at):
            return entry
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            entry = self.get(key)  # computed while this request waited?
            if entry is not None and entry.serves(state, asked_at):
                return entry
            try:
                fresh = compute()
            except BaseException:
                with self._lock:  # keep no lock for a key that has no entry
                    if key not in self._entries.get(key[0], {}):
                        self._flights.pop(key, None)
                raise
            self._put(key, fresh)
            return fresh

    def _put(self, key: Key, entry: Computed[Any]) -> None:
        with self._lock:
            self.computations += 1
            kind = self._entries.setdefault(key[0], OrderedDict())
            held = kind.get(key)
            if held is not None and held.taken_at > entry.taken_at:
                return  # a newer computation got here first (another thread)
            kind[key] = entry
            kind.move_to_end(key)
            while len(kind) > self.per_kind:
                old, _ = kind.popitem(last=False)
                self._flights.pop(old, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return sum(len(kind) for kind in self._entries.values())
