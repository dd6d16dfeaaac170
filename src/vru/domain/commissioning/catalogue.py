"""The intervention catalogue: approaches, their evidence ratings and where the ratings
come from.

An entry carries the headline **impact** rating of an approach on violence (``high``,
``moderate``, ``low``, ``unclear`` where the research is too thin to say, ``harmful`` where
it makes things worse), an **evidence quality** rating (1 = very low to 5 = very high
confidence, the scale the Youth Endowment Fund Toolkit uses), its source and whether the
ratings have been checked against that source. The catalogue is data
(``vru/reference/intervention_catalogue.toml`` seeds it; commissioning managers edit it),
not code.

The evidence criterion's points come from the impact rating (``EVIDENCE_POINTS``): high 4,
moderate 3, low 2, unclear 1, harmful 0, and an application proposing an approach rated
harmful is not eligible (``eligibility.InterventionNotHarmful``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,59}$")


class ImpactRating(StrEnum):
    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"
    UNCLEAR = "unclear"
    HARMFUL = "harmful"


EVIDENCE_POINTS: dict[ImpactRating, int] = {
    ImpactRating.HIGH: 4,
    ImpactRating.MODERATE: 3,
    ImpactRating.LOW: 2,
    ImpactRating.UNCLEAR: 1,
    ImpactRating.HARMFUL: 0,
}

IMPACT_WORDS: dict[ImpactRating, str] = {
    ImpactRating.HIGH: "a high impact on violence",
    ImpactRating.MODERATE: "a moderate impact on violence",
    ImpactRating.LOW: "a low impact on violence",
    ImpactRating.UNCLEAR: "an impact the research cannot yet tell",
    ImpactRating.HARMFUL: "evidence of harm (it can increase offending)",
}


class CatalogueError(ValueError):
    """A catalogue entry that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Intervention:
    """One approach in the catalogue."""

    key: str
    name: str
    description: str
    impact: ImpactRating
    evidence_quality: int | None
    source: str
    source_url: str
    checked: bool
    note: str = ""

    @property
    def evidence_points(self) -> int:
        return EVIDENCE_POINTS[self.impact]

    def plain(self) -> str:
        """One sentence for the public: what the evidence says."""
        quality = "" if self.evidence_quality is None else (
            f" (confidence in the research: {self.evidence_quality} out of 5)")
        checked = "" if self.checked else " This rating has not yet been checked against " \
                                          "its source."
        return (f"{self.name}: the {self.source} rates it as having "
                f"{IMPACT_WORDS[self.impact]}{quality}.{checked}")

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "description": self.description,
                "impact": self.impact.value, "evidence_quality": self.evidence_quality,
                "evidence_points": self.evidence_points, "source": self.source,
                "source_url": self.source_url, "checked": self.checked, "note": self.note}


def parse_intervention(data: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
                       ) -> Intervention:
    """An entry from a mapping (a TOML table or an API body), checked."""
    merged = {**(defaults or {}), **data}
    key = str(merged.get("key", "")).strip()
    if not KEY_PATTERN.match(key):
        raise CatalogueError(f"intervention key {key!r}: use 2 to 60 lower-case letters, "
                             "digits and hyphens, starting with a letter")
    name = str(merged.get("name", "")).strip()
    if not name:
        raise CatalogueError(f"intervention {key!r} needs a name")
    try:
        impact = ImpactRating(str(merged.get("impact", "")).strip().lower())
    except ValueError:
        raise CatalogueError(f"intervention {key!r}: impact must be one of "
                             f"{', '.join(r.value for r in ImpactRating)}") from None
    quality = merged.get("evidence_quality")
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)
                                or not 1 <= quality <= 5):
        raise CatalogueError(f"intervention {key!r}: evidence_quality is 1 to 5, or left out")
    source = str(merged.get("source", "")).strip()
    if not source:
        raise CatalogueError(f"intervention {key!r} needs a source for its rating")
    return Intervention(key, name, str(merged.get("description", "")).strip(), impact,
                        quality, source, str(merged.get("source_url", "")).strip(),
                        bool(merged.get("checked", False)), str(merged.get("note", "")).strip())


def parse_catalogue(data: Mapping[str, Any]) -> list[Intervention]:
    """The entries of a catalogue file (``[defaults]`` then ``[[intervention]]`` tables)."""
    defaults = data.get("defaults", {})
    entries = data.get("intervention", [])
    if not isinstance(entries, list) or not entries:
        raise CatalogueError("the catalogue has no [[intervention]] entries")
    out = [parse_intervention(e, defaults) for e in entries]
    keys = [e.key for e in out]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise CatalogueError(f"intervention keys used twice: {', '.join(dupes)}")
    return out


def edited(entry: Intervention, changes: Mapping[str, Any]) -> Intervention:
    """The entry with ``changes`` applied and checked again (the key cannot change)."""
    if "key" in changes and changes["key"] != entry.key:
        raise CatalogueError("an intervention's key cannot change")
    data = {**entry.as_dict(), **changes}
    data.pop("evidence_points", None)
    return parse_intervention(data)


def by_key(entries: Sequence[Intervention]) -> dict[str, Intervention]:
    return {e.key: e for e in entries}


__all__ = ["CatalogueError", "EVIDENCE_POINTS", "ImpactRating", "Intervention", "by_key",
           "edited", "parse_catalogue", "parse_intervention"]
