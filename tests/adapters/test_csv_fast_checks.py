"""The fast paths of the CSV checks give exactly what the plain definitions give.

``csvfile._check_lines`` finds blank lines, bare carriage returns and unbalanced quotes from
the positions of line feeds (numpy) and by searching for the few bytes that matter, instead
of running regular expressions and splitting every file into lines. Here it is compared,
on any bytes, with the plain definition it replaced (kept below as the reference). The Arrow
helpers that let SQL skip ``trim`` and build ``nullif(x, '')`` without copying are checked
against DuckDB's ``trim`` and Arrow's ``if_else``.
"""

from __future__ import annotations

import csv
import re

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vru.adapters.sources.checks import may_need_trim, null_if_empty
from vru.adapters.sources.csvfile import MAX_PROBLEMS, _check_lines
from vru.domain.problems import InputError, Problem

SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

_BLANK_LINE = re.compile(rb"\n(?=\r?\n)")
_BARE_CR = re.compile(rb"\r(?!\n)")


def reference_check_lines(name: str, data: bytes) -> None:
    """The plain definition: regular expressions over the bytes, and every line split."""
    problems: list[Problem] = []
    total = 0
    for m in _BLANK_LINE.finditer(data):
        total += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(
                name, data.count(b"\n", 0, m.start()) + 2, None, None,
                "is a blank line in the middle of the file (it would shift the numbers of "
                "every later row)", "Delete the blank line, or re-download the file"))
    for m in _BARE_CR.finditer(data):
        total += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(Problem(
                name, data.count(b"\n", 0, m.start()) + 1, None, None,
                "holds a carriage return (CR) that does not end a line: either a value holds "
                "a line break or the file uses old Mac line endings",
                "Remove line breaks inside values; save the file as 'CSV UTF-8'"))
    if b'"' in data:
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.count(b'"') % 2 == 0:
                continue
            try:
                list(csv.reader([line.rstrip(b"\r").decode("utf-8")], strict=True))
            except csv.Error:
                total += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(Problem(
                        name, number, None, line[:80].decode("utf-8", "replace"),
                        "has an unbalanced quote: a quoted value is not closed on its line "
                        "(or holds a line break, which is not supported)",
                        "Close the quote (a quote inside a quoted value is written twice, "
                        "\"\") and remove line breaks inside values, or re-download the file"))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise InputError(problems, total=total)


def outcome(check: object, data: bytes) -> tuple[list[Problem], int] | None:
    try:
        check("f.csv", data)  # type: ignore[operator]
    except InputError as exc:
        return exc.problems, exc.total
    return None


csv_like = st.lists(
    st.sampled_from([b"a", b"b,c", b",", b'"', b'""', b"\n", b"\r\n", b"\r", b" ", b"x,y\n",
                     b'"a,b"', b"\n\n", b"\n\r\n", b'"q', b"\xc3\xa9"]),
    max_size=60).map(b"".join)


@SETTINGS
@given(data=st.one_of(csv_like, st.binary(max_size=200)))
def test_check_lines_is_the_plain_definition(data: bytes) -> None:
    if not _is_utf8(data):  # _check_lines runs only on text that decoded as UTF-8
        data = data.decode("utf-8", "replace").encode("utf-8")
    assert outcome(_check_lines, data) == outcome(reference_check_lines, data)


def test_check_lines_counts_past_the_listed_problems() -> None:
    data = b"h\n" + b"a\n\n" * 30 + b'"x\n' * 5 + b"y\rz\n"
    assert outcome(_check_lines, data) == outcome(reference_check_lines, data)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


_DUCKDB = duckdb.connect()

texts = st.lists(st.text(alphabet=st.sampled_from(
    ["a", "b", " ", "\u00a0", "\u2003", "\t", "é", ",", "\u3000", "\u200b"]), max_size=4),
    min_size=1, max_size=8)


@SETTINGS
@given(values=texts, cut=st.integers(0, 3))
def test_may_need_trim_is_never_wrong_when_it_says_no(values: list[str], cut: int) -> None:
    array = pa.array(values, pa.string())
    if cut and len(values) > 2 * cut:
        array = array.slice(cut, len(values) - 2 * cut)  # a slice reads inside its buffers
    changed = _DUCKDB.execute("SELECT bool_or(trim(v) <> v) FROM (SELECT unnest(?) AS v)",
                          [array.to_pylist()]).fetchall()[0][0]
    if changed:
        assert may_need_trim(array)
        assert may_need_trim(pa.chunked_array([pa.array(["plain"]), array]))


def test_may_need_trim_says_no_for_plain_text() -> None:
    assert not may_need_trim(pa.array(["a", "", "b c", "", "d"]))
    assert not may_need_trim(pa.chunked_array([pa.array(["", ""]), pa.array(["x"])]))


@SETTINGS
@given(values=texts, cut=st.integers(0, 3))
def test_null_if_empty_is_nullif(values: list[str], cut: int) -> None:
    array = pa.array(values, pa.string())
    if cut and len(values) > 2 * cut:
        array = array.slice(cut, len(values) - 2 * cut)
    got = null_if_empty(pa.chunked_array([array, array]))
    got.validate(full=True)
    expected = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    assert got.to_pylist() == expected.to_pylist() * 2
    assert got.type == pa.string()
