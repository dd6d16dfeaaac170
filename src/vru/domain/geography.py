"""Geography: area levels, GSS code patterns, vintages, and pure functions over area links.

Every dataset is checked against geography, and every area (London, Leicestershire, ...) is
defined as data, so nothing here names a place.

**Levels.** ``lsoa`` and ``msoa`` (census statistical areas), ``ward`` (electoral wards),
``lad`` (local authority districts, i.e. London boroughs and the City, unitaries, districts),
``csp`` (community safety partnerships), ``utla`` (upper-tier local authorities), ``pfa``
(police force areas), ``cauth`` (combined authorities), ``region`` and ``country``.

**Codes.** ONS GSS codes: a letter for the nation, two digits for the entity type, six digits
(``E01000001``). ``CODE_PATTERNS`` gives the entity types allowed for each level. Codes ending
in ``99999999`` are ONS pseudo-codes ("no such area", e.g. the region of a Welsh LSOA); they
are treated as empty.

**Vintages.** A code list is for a point in time, named by a year as text:

- ``lsoa`` / ``msoa``: the census they were built for, ``'2011'`` or ``'2021'``;
- ``ward``: the year of the ONS release or ward set (``WD18CD`` -> ``'2018'``); a ward code
  that did not change is in several vintages. The GLA's ward file of the 2011 Census
  (OS Boundary-Line Oct 2013, the ward set used from 2002 until the 2014/2018 reviews) is
  ``'2011'``, as ONS names that set ``WD11``;
- ``lad`` / ``utla`` / ``cauth`` / ...: the year of the release (``LAD19CD`` -> ``'2019'``)
  or ``'active'`` for a lookup's "codes in force when it was published" columns
  (``LADCD_ACTIVE``);
- ``region`` / ``country``: ``None`` unless the column names a year (``RGN11CD``).

**Links** (dataset ``area_links``): ``child -> parent`` with a relation:

- ``within``: the child lies inside the parent (LSOA in LAD, ward in LAD, LAD in region);
- ``best_fit``: ONS's best-fit assignment of a small area to one area it does not nest in
  (2011 LSOA -> 2021 LSOA, LSOA or MSOA -> ward);
- ``successor``: the child's code was replaced by the parent's code (a LAD merged into a new
  one), with ``child_level == parent_level``.

The functions below take plain rows (mappings with the ``area_links`` columns) and return
plain data. A code that cannot be mapped is reported, never dropped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

LEVELS: tuple[str, ...] = (
    "lsoa", "msoa", "ward", "lad", "csp", "utla", "pfa", "cauth", "region", "country",
)
"""Levels from finest to coarsest (``LEVELS.index`` orders them)."""

LEVEL_NAMES: dict[str, str] = {
    "lsoa": "Lower layer super output area",
    "msoa": "Middle layer super output area",
    "ward": "Electoral ward",
    "lad": "Local authority district",
    "csp": "Community safety partnership",
    "utla": "Upper-tier local authority",
    "pfa": "Police force area",
    "cauth": "Combined authority",
    "region": "Region",
    "country": "Country",
}

# GSS entity types per level. E06/E08/E09 are both LADs and UTLAs (unitaries, metropolitan
# districts, London boroughs); E10 (counties) are UTLAs only.
CODE_PATTERNS: dict[str, str] = {
    "lsoa": r"[EW]01[0-9]{6}",
    "msoa": r"[EW]02[0-9]{6}",
    "ward": r"[EW]05[0-9]{6}",
    "lad": r"(E0[6789]|W06)[0-9]{6}",
    "csp": r"[EW]22[0-9]{6}",
    "utla": r"(E0[689]|E10|W06)[0-9]{6}",
    "pfa": r"[EW]23[0-9]{6}",
    "cauth": r"E47[0-9]{6}",
    "region": r"E12[0-9]{6}",
    "country": r"[EWSN]92[0-9]{6}",
}

CODE_DESCRIPTIONS: dict[str, str] = {
    "lsoa": "E01 or W01 followed by six digits",
    "msoa": "E02 or W02 followed by six digits",
    "ward": "E05 or W05 followed by six digits",
    "lad": "E06, E07, E08, E09 or W06 followed by six digits",
    "csp": "E22 or W22 followed by six digits",
    "utla": "E06, E08, E09, E10 or W06 followed by six digits",
    "pfa": "E23 or W23 followed by six digits",
    "cauth": "E47 followed by six digits",
    "region": "E12 followed by six digits",
    "country": "E92, W92, S92 or N92 followed by six digits",
}

# The level a code's entity type (its first three characters) says it is. Where a type
# serves two levels (E06 is a LAD and a UTLA) the finer level is given.
PREFIX_LEVELS: dict[str, str] = {
    "E01": "lsoa", "W01": "lsoa",
    "E02": "msoa", "W02": "msoa",
    "E05": "ward", "W05": "ward",
    "E06": "lad", "E07": "lad", "E08": "lad", "E09": "lad", "W06": "lad",
    "E10": "utla",
    "E22": "csp", "W22": "csp",
    "E23": "pfa", "W23": "pfa",
    "E47": "cauth",
    "E12": "region",
    "E92": "country", "W92": "country", "S92": "country", "N92": "country",
}

PSEUDO_CODE = r"[EWSNLMK][0-9]{2}9{6}|[EWSNLMK]9{8}"

CENSUS_LEVELS = frozenset({"lsoa", "msoa"})
ADMIN_LEVELS = frozenset({"lad", "csp", "utla", "pfa", "cauth"})
UNVERSIONED_LEVELS = frozenset({"region", "country"})

LSOA_VINTAGES: tuple[str, ...] = ("2011", "2021")
MSOA_VINTAGES: tuple[str, ...] = ("2011", "2021")
ACTIVE = "active"
"""The vintage of codes a lookup gives as in force when it was published."""

RELATIONS: tuple[str, ...] = ("within", "best_fit", "successor")

# (child level, parent level) pairs where a child always lies inside one parent, whatever
# the row it came from. Anything -> ward is missing: LSOAs and MSOAs do not nest in wards
# (ONS's lookups are best fit), and LSOA -> MSOA nests only within one census vintage.
NESTS: frozenset[tuple[str, str]] = frozenset(
    {("lsoa", "msoa")}
    | {(c, p) for c in ("lsoa", "msoa", "ward")
       for p in ("lad", "csp", "utla", "pfa", "cauth", "region", "country")}
    | {("lad", p) for p in ("csp", "utla", "pfa", "cauth", "region", "country")}
    | {("csp", p) for p in ("pfa", "region", "country")}
    | {("utla", p) for p in ("cauth", "region", "country")}
    | {("pfa", p) for p in ("region", "country")}
    | {("cauth", p) for p in ("region", "country")}
    | {("region", "country")}
)

# How many areas ONS publishes for each statistical geography in England and Wales (ONS
# Open Geography Portal: "LSOA (2011) EW" 34,753; "LSOA (2021) EW" 35,672; "MSOA (2011) EW"
# 7,201; "MSOA (2021) EW" 7,264). A loaded code list with at least this many codes is the
# complete national list, so a code missing from it is truly unknown; a shorter list (a
# London extract, or the 2021 LSOAs that happen to be some 2011 LSOA's best fit) is not, and
# codes are then checked by pattern only.
PUBLISHED_COUNTS_EW: dict[tuple[str, str], int] = {
    ("lsoa", "2011"): 34_753,
    ("lsoa", "2021"): 35_672,
    ("msoa", "2011"): 7_201,
    ("msoa", "2021"): 7_264,
}


def complete_code_lists(counts: dict[tuple[str, str | None], int]) -> frozenset[
        tuple[str, str | None]]:
    """Which loaded (level, vintage) code lists are complete for England and Wales.

    LSOA and MSOA lists are complete when they hold ONS's published number of areas. Local
    authority lists are complete when the complete 2011 LSOA list is loaded, because every
    national LSOA lookup names the LAD of every LSOA (every LAD contains LSOAs).
    """
    complete: set[tuple[str, str | None]] = {
        key for key, n in PUBLISHED_COUNTS_EW.items() if counts.get(key, 0) >= n
    }
    if ("lsoa", "2011") in complete:
        complete |= {key for key in counts if key[0] == "lad"}
    return frozenset(complete)


EPSG_BNG = 27700
"""British National Grid: boundaries are stored and measured in it (metres)."""
EPSG_WGS84 = 4326
"""Longitude/latitude: boundaries are drawn on web maps in it."""

_COMPILED = {level: re.compile(p) for level, p in CODE_PATTERNS.items()}
_PSEUDO = re.compile(PSEUDO_CODE)


def level_order(level: str) -> int:
    """Position of ``level`` from finest (0) to coarsest; ``ValueError`` if unknown."""
    if level not in LEVELS:
        raise ValueError(f"unknown area level {level!r}; known levels: {', '.join(LEVELS)}")
    return LEVELS.index(level)


def is_pseudo_code(code: str) -> bool:
    """An ONS pseudo-code such as ``W99999999``: no area at this level."""
    return bool(_PSEUDO.fullmatch(code.strip()))


def is_valid_code(code: str, level: str) -> bool:
    """Whether ``code`` has the GSS entity type and shape of a ``level`` code."""
    if level not in _COMPILED:
        raise ValueError(f"unknown area level {level!r}; known levels: {', '.join(LEVELS)}")
    return bool(_COMPILED[level].fullmatch(code))


def level_of_code(code: str) -> str | None:
    """The level a code's entity type names (``E09000001`` -> ``'lad'``), or None."""
    code = code.strip()
    level = PREFIX_LEVELS.get(code[:3])
    if level is None or not is_valid_code(code, level):
        return None
    return level


def vintage_from_year(two_digits: str) -> str:
    """``'11'`` -> ``'2011'``; ``'98'`` -> ``'1998'`` (ONS column names carry two digits)."""
    n = int(two_digits)
    return str(1900 + n if n >= 90 else 2000 + n)


def vintage_sort_key(vintage: str | None) -> tuple[int, str]:
    """Orders vintages oldest first: years, then ``'active'``; ``None`` first."""
    if vintage is None:
        return (0, "")
    if vintage.isdigit():
        return (1, vintage.zfill(4))
    return (2, vintage)


def link_relation(child_level: str, child_vintage: str | None, parent_level: str,
                  parent_vintage: str | None, *, child_is_row_unit: bool) -> str | None:
    """The relation two codes on one lookup row stand in, or None when the row says nothing
    about how they relate.

    ``child_is_row_unit``: the child column is what the file has one row per (the LSOA in an
    LSOA -> ward lookup). Such a row assigns its unit to every other code on it; other pairs
    on the row are linked only where one always nests in the other (ward -> LAD), because an
    LSOA -> ward lookup's MSOA column does not say which ward an MSOA is in.
    """
    ci, pi = level_order(child_level), level_order(parent_level)
    if ci > pi:
        return None
    if ci == pi:
        if child_vintage == parent_vintage:
            return None
        if child_level in ADMIN_LEVELS:
            # An authority's code changes when it is abolished or merged: old -> new.
            older = vintage_sort_key(child_vintage) < vintage_sort_key(parent_vintage)
            return "successor" if older else None
        return "best_fit" if child_is_row_unit else None
    census_cross = (child_level in CENSUS_LEVELS and parent_level in CENSUS_LEVELS
                    and child_vintage != parent_vintage)
    if child_is_row_unit:
        if parent_level == "ward" and child_level in CENSUS_LEVELS:
            return "best_fit"
        return "best_fit" if census_cross else "within"
    if census_cross or (child_level, parent_level) not in NESTS:
        return None
    return "within"


# -- working with area_links rows ------------------------------------------------------


@dataclass(frozen=True)
class AreaLink:
    """One ``area_links`` row."""

    child_code: str
    child_level: str
    child_vintage: str | None
    parent_code: str
    parent_level: str
    parent_vintage: str | None
    relation: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AreaLink:
        return cls(str(row["child_code"]), str(row["child_level"]), row.get("child_vintage"),
                   str(row["parent_code"]), str(row["parent_level"]),
                   row.get("parent_vintage"), str(row["relation"]))


def _links(rows: Iterable[Mapping[str, Any] | AreaLink]) -> list[AreaLink]:
    return [r if isinstance(r, AreaLink) else AreaLink.from_row(r) for r in rows]


def children_within(
    links: Iterable[Mapping[str, Any] | AreaLink],
    parent_codes: Iterable[str],
    child_level: str,
    *,
    relations: Iterable[str] = ("within",),
) -> dict[str | None, set[str]]:
    """Codes of ``child_level`` inside any of ``parent_codes``, by child vintage.

    Follows links transitively (LSOA -> LAD -> region), so an area defined by a region finds
    its LSOAs through its LADs. Only ``relations`` are followed: ``within`` by default, so an
    LSOA is counted in the LAD it lies in, not in the ward it best fits.
    """
    rels = set(relations)
    by_parent: dict[str, list[AreaLink]] = defaultdict(list)
    for link in _links(links):
        if link.relation in rels:
            by_parent[link.parent_code].append(link)
    found: dict[str | None, set[str]] = defaultdict(set)
    seen: set[str] = set()
    frontier = list(dict.fromkeys(parent_codes))
    while frontier:
        code = frontier.pop()
        if code in seen:
            continue
        seen.add(code)
        for link in by_parent.get(code, ()):
            if link.child_level == child_level:
                found[link.child_vintage].add(link.child_code)
            if level_order(link.child_level) > level_order(child_level):
                frontier.append(link.child_code)
    return dict(found)


def parents_of(
    links: Iterable[Mapping[str, Any] | AreaLink],
    child_codes: Iterable[str],
    parent_level: str,
    *,
    relations: Iterable[str] = ("within",),
) -> dict[str, set[str]]:
    """For each child code, the ``parent_level`` codes it is directly linked to."""
    rels = set(relations)
    wanted = set(child_codes)
    out: dict[str, set[str]] = {c: set() for c in wanted}
    for link in _links(links):
        if (link.relation in rels and link.child_code in wanted
                and link.parent_level == parent_level):
            out[link.child_code].add(link.parent_code)
    return out


def successor_map(links: Iterable[Mapping[str, Any] | AreaLink]) -> dict[str, str]:
    """Each replaced code -> the code now in force, following chains (A -> B -> C gives
    A -> C). A code replaced by two codes (a split) is left out: it has no single successor.
    """
    direct: dict[str, set[str]] = defaultdict(set)
    for link in _links(links):
        if link.relation == "successor":
            direct[link.child_code].add(link.parent_code)
    single = {c: next(iter(p)) for c, p in direct.items() if len(p) == 1}
    out: dict[str, str] = {}
    for code in single:
        seen = {code}
        current = single[code]
        while current in single and current not in seen:
            seen.add(current)
            current = single[current]
        out[code] = current
    return out


@dataclass
class CodeMapping:
    """The result of moving codes from one vintage to another.

    ``mapped`` gives each input code its target codes (one for a best fit or a successor,
    itself when the code is unchanged); ``unmapped`` lists, in input order, every code with
    no target, so a caller can report them.
    """

    level: str
    from_vintage: str | None
    to_vintage: str | None
    mapped: dict[str, list[str]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    how: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unmapped


def map_codes(
    codes: Iterable[str],
    links: Iterable[Mapping[str, Any] | AreaLink],
    level: str,
    from_vintage: str | None,
    to_vintage: str | None,
    *,
    target_codes: Iterable[str] | None = None,
) -> CodeMapping:
    """Move ``codes`` of ``level`` from ``from_vintage`` to ``to_vintage``.

    A code goes, in this order of preference: to itself when ``target_codes`` (the codes
    known in the target vintage) contains it; along a ``best_fit`` link between the two
    vintages; along ``successor`` links (following chains). Otherwise it is unmapped and
    listed. Duplicates in ``codes`` are mapped once.
    """
    link_list = _links(links)
    best: dict[str, list[str]] = defaultdict(list)
    for link in link_list:
        if (link.relation == "best_fit" and link.child_level == level
                and link.parent_level == level and link.child_vintage == from_vintage
                and link.parent_vintage == to_vintage):
            best[link.child_code].append(link.parent_code)
    succ = successor_map(link for link in link_list if link.child_level == level)
    targets = set(target_codes) if target_codes is not None else None
    result = CodeMapping(level, from_vintage, to_vintage)
    for code in dict.fromkeys(codes):
        if targets is not None and code in targets:
            result.mapped[code] = [code]
            result.how[code] = "unchanged"
        elif code in best:
            result.mapped[code] = sorted(set(best[code]))
            result.how[code] = "best_fit"
        elif code in succ and (targets is None or succ[code] in targets):
            result.mapped[code] = [succ[code]]
            result.how[code] = "successor"
        else:
            result.unmapped.append(code)
    return result


def ward_set_year(codes: Iterable[str], known: Mapping[str, Iterable[str]],
                  release_year: str) -> tuple[str, str]:
    """The year a ward set came into force, from the ward code history.

    ONS names ward releases by the year of the release (``WD25``: wards as at May 2025); the
    platform names a ward set by the year it came into force, which is the latest year any
    of its codes first appears in. ``known`` maps ward vintages (years) to the codes known in
    each (from the loaded lookups). When every code is known in some year up to the release,
    the result is the latest of the codes' first years (London's WD25 wards -> ``'2022'``,
    the May 2022 ward set); otherwise it is ``release_year``. Returns ``(year, reason)``.
    """
    first: dict[str, int] = {}
    for vintage, vcodes in known.items():
        if not vintage.isdigit() or int(vintage) > int(release_year):
            continue
        for c in vcodes:
            if c not in first or int(vintage) < first[c]:
                first[c] = int(vintage)
    wanted = list(dict.fromkeys(codes))
    missing = [c for c in wanted if c not in first]
    if not wanted or missing:
        why = (f"{len(missing)} of {len(wanted)} ward codes are not in the loaded ward code "
               "history, so the set is named by its release year" if wanted
               else "no ward codes")
        return release_year, why
    year = str(max(first[c] for c in wanted))
    return year, (f"every ward code is in the loaded ward code history; the newest first "
                  f"appears in {year}, so this is the ward set in force from {year}")


def codes_not_known(codes: Iterable[str], known: Iterable[str]) -> list[str]:
    """``codes`` missing from ``known``, in input order, each once."""
    known_set = set(known)
    return [c for c in dict.fromkeys(codes) if c not in known_set]


def vintages_sorted(vintages: Iterable[str | None]) -> list[str | None]:
    return sorted(set(vintages), key=vintage_sort_key)
