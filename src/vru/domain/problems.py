"""Problems found in a user's input, located precisely enough to fix them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the spreadsheet row number as a user sees it in Excel or a text editor: the
    header is row 1, so the first data row is row 2. ``None`` means the problem concerns the
    whole file (empty, wrong encoding, missing columns).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    action: str

    def location(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return where

    def __str__(self) -> str:
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{self.location()}: {self.message}{value}. {self.action}"


class InputError(Exception):
    """An input was refused whole. Carries the first problems and how many there were."""

    def __init__(self, problems: Sequence[Problem], total: int | None = None) -> None:
        self.problems = list(problems)
        self.total = len(self.problems) if total is None else total
        super().__init__(self.summary())

    def __reduce__(self) -> tuple[type[InputError], tuple[list[Problem], int]]:
        # Pickle by the constructor's arguments (the default would pass only the message),
        # so a refusal crosses a process boundary intact.
        return (type(self), (self.problems, self.total))

    def summary(self, limit: int = 10) -> str:
        head = self.problems[0].file if self.problems else "input"
        lines = [f"{head}: refused, {self.total} problem(s); nothing was imported."]
        lines += [f"  - {p}" for p in self.problems[:limit]]
        if self.total > limit:
            lines.append(f"  ... and {self.total - limit} more.")
        return "\n".join(lines)
