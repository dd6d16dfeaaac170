"""The cache of costly results: served while as new as the request, computed once at a time."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from vru.services.result_cache import Computed, ResultCache, now


def _computing(state: tuple[int, ...], value: str, calls: list[str]
               ) -> Callable[[], Computed[str]]:
    def compute() -> Computed[str]:
        calls.append(value)
        return Computed(state, now(), value)
    return compute


def test_an_entry_serves_its_state_and_requests_older_than_its_snapshot() -> None:
    cache = ResultCache()
    calls: list[str] = []
    asked = now()
    first = cache.get_or_compute(("k",), (1,), asked, _computing((1,), "v1", calls))
    assert first.value == "v1" and calls == ["v1"]
    # the same state, asked later: served
    assert cache.get_or_compute(("k",), (1,), now(), _computing((1,), "x", calls)).value == "v1"
    # another state, but the request arrived before the entry's snapshot: served (newer)
    assert cache.get_or_compute(("k",), (0,), asked, _computing((0,), "x", calls)).value == "v1"
    # another state, asked after the snapshot: computed again
    later = cache.get_or_compute(("k",), (2,), now(), _computing((2,), "v2", calls))
    assert later.value == "v2" and calls == ["v1", "v2"]
    assert cache.get(("k",)) == later and cache.computations == 2


def test_requests_arriving_during_a_computation_wait_for_it_and_share_it() -> None:
    cache = ResultCache()
    started = threading.Event()
    go_on = threading.Event()
    calls: list[int] = []
    results: list[str] = []

    def slow() -> Computed[str]:
        taken_at = now()
        calls.append(1)
        started.set()
        go_on.wait(10)
        return Computed((2,), taken_at, "fresh")

    def ask(asked_at: float) -> None:
        results.append(cache.get_or_compute(("k",), (2,), asked_at, slow).value)

    first = threading.Thread(target=ask, args=(now(),))
    first.start()
    started.wait(10)
    # these arrived after the computation's snapshot, but find the state it computes
    others = [threading.Thread(target=ask, args=(now(),)) for _ in range(6)]
    for t in others:
        t.start()
    go_on.set()
    for t in [first, *others]:
        t.join(10)
    assert results == ["fresh"] * 7
    assert len(calls) == 1


def test_keys_of_one_kind_are_bounded_and_kinds_are_separate() -> None:
    cache = ResultCache(per_kind=2)
    calls: list[str] = []
    for n in range(4):
        cache.get_or_compute(("a", n), (1,), now(), _computing((1,), f"a{n}", calls))
    cache.get_or_compute(("b",), (1,), now(), _computing((1,), "b", calls))
    assert cache.get(("a", 0)) is None and cache.get(("a", 1)) is None
    assert cache.get(("a", 3)) is not None and cache.get(("b",)) is not None
    assert len(cache) == 3
    cache.clear()
    assert len(cache) == 0


def test_a_failed_computation_leaves_nothing_behind() -> None:
    cache = ResultCache()

    def broken() -> Computed[str]:
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        cache.get_or_compute(("k",), (1,), now(), broken)
    assert cache.get(("k",)) is None and cache.computations == 0
    calls: list[str] = []
    assert cache.get_or_compute(("k",), (1,), now(), _computing((1,), "v", calls)).value == "v"
