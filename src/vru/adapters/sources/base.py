"""What every source adapter is: a parser from one file format to the store's tidy tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pyarrow as pa

from vru.domain.problems import Problem


@dataclass(frozen=True)
class ReferenceData:
    """What the store already knows, for checking codes in a new file.

    ``complete`` names the lists that are complete for England and Wales (see ``knows``).
    ``area_codes`` maps an area level and vintage (``("lsoa", "2011")``, ``("ward", "2022")``,
    ``("lad", None)`` for any vintage) to the set of known codes. An empty mapping means no
    geography is loaded yet: adapters then check code *patterns* only and say so in ``meta``.
    ``area_names`` maps (level, normalised name) to a code, for files that name areas
    (boroughs) instead of coding them.
    """

    area_codes: Mapping[tuple[str, str | None], frozenset[str]] = field(default_factory=dict)
    complete: frozenset[tuple[str, str | None]] = frozenset()
    area_names: Mapping[tuple[str, str], str] = field(default_factory=dict)
    code_successors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def complete_lists(
        cls, area_codes: Mapping[tuple[str, str | None], frozenset[str]]
    ) -> ReferenceData:
        """Reference data whose every list is taken as complete (a whole country's codes)."""
        return cls(area_codes=area_codes, complete=frozenset(area_codes))

    def knows(self, level: str, vintage: str | None = None) -> bool:
        """True when the loaded list of codes for this level and vintage is complete for
        England and Wales, so a code not in it is an error. Partial lists (a London extract)
        are in ``area_codes`` for labelling, but a code missing from them is not an error."""
        return (level, vintage) in self.complete

    def codes(self, level: str, vintage: str | None = None) -> frozenset[str]:
        return self.area_codes.get((level, vintage), frozenset())


@dataclass
class Parsed:
    """An adapter's result for one file.

    ``tables`` maps dataset name to the valid rows (each with a ``source_row`` column giving
    its spreadsheet row). ``problems`` lists every invalid row; ``rows_read`` counts data
    rows in the file, so ``rows_read == stored + len(rejected rows)`` always holds.
    """

    tables: dict[str, pa.Table]
    rows_read: int
    problems: list[Problem] = field(default_factory=list)
    problem_count: int | None = None
    period_start: str | None = None
    period_end: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        """Distinct source rows with at least one problem."""
        return len({p.row for p in self.problems if p.row is not None})

    @property
    def rows_stored(self) -> int:
        """Source rows kept (a wide row becomes several stored records; it counts once)."""
        return self.rows_read - self.rows_rejected


class SourceAdapter(Protocol):
    """One public file format. ``parse`` reads a file and does no writing."""

    format: ClassVar[str]
    description: ClassVar[str]

    def parse(self, path: Path, ref: ReferenceData) -> Parsed: ...
