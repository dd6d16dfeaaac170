"""Use case: what an area (``--area london``) is, resolved through the loaded geography.

Areas are data: ``vru/reference/areas.toml`` ships London and Leicestershire, and a user's
``<data_dir>/areas.toml`` adds areas or replaces shipped ones with the same key. An area is
defined by its LAD codes; its wards (per ward vintage), MSOAs and LSOAs (per census) are the
codes the store's ``area_links`` place ``within`` those LADs. Nothing is dropped: LAD codes
the loaded geography does not know, codes since replaced, and a region whose LADs differ
from the definition are all reported.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa

from vru.adapters.store.evidence_store import EvidenceStore
from vru.domain import geography as geo
from vru.services.settings import resolve_data_dir

AREAS_FILE = "areas.toml"


@dataclass(frozen=True)
class AreaDefinition:
    key: str
    name: str
    lads: tuple[str, ...]
    police_forces: tuple[str, ...] = ()
    region: str | None = None
    description: str | None = None
    defined_in: str = "vru/reference/areas.toml"


class UnknownAreaError(KeyError):
    """An area name no definition has; the message lists the known ones."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(name)

    def __str__(self) -> str:
        return (f"unknown area {self.name!r}; known areas: {', '.join(self.known) or 'none'}. "
                f"Define your own in <data_dir>/{AREAS_FILE}")


class AreaDefinitionError(ValueError):
    """An areas.toml entry that cannot be used, with where and why."""


def _parse(text: str, origin: str) -> dict[str, AreaDefinition]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AreaDefinitionError(f"{origin}: not valid TOML ({exc})") from None
    out: dict[str, AreaDefinition] = {}
    for key, entry in data.items():
        where = f"{origin}, area [{key}]"
        if not isinstance(entry, dict):
            raise AreaDefinitionError(f"{where}: must be a table ([{key}] with name and lads)")
        unknown = set(entry) - {"name", "lads", "police_forces", "region", "description"}
        if unknown:
            raise AreaDefinitionError(f"{where}: unknown keys {sorted(unknown)}; allowed: "
                                      "name, description, lads, region, police_forces")
        lads = entry.get("lads")
        if not isinstance(lads, list) or not lads or not all(isinstance(c, str) for c in lads):
            raise AreaDefinitionError(f"{where}: 'lads' must be a non-empty list of LAD codes")
        bad = [c for c in lads if not geo.is_valid_code(c.strip(), "lad")]
        if bad:
            raise AreaDefinitionError(f"{where}: not LAD codes ({geo.CODE_DESCRIPTIONS['lad']}):"
                                      f" {', '.join(bad)}")
        region = entry.get("region")
        if region is not None and not (isinstance(region, str)
                                       and geo.is_valid_code(region, "region")):
            raise AreaDefinitionError(f"{where}: 'region' must be a region code "
                                      f"({geo.CODE_DESCRIPTIONS['region']})")
        forces = entry.get("police_forces", [])
        if not isinstance(forces, list) or not all(isinstance(f, str) for f in forces):
            raise AreaDefinitionError(f"{where}: 'police_forces' must be a list of force ids")
        out[key.lower()] = AreaDefinition(
            key=key.lower(), name=str(entry.get("name", key)),
            lads=tuple(dict.fromkeys(c.strip() for c in lads)),
            police_forces=tuple(forces), region=region,
            description=entry.get("description"), defined_in=origin)
    return out


def area_definitions(data_dir: Path | None = None) -> dict[str, AreaDefinition]:
    """Every known area: the shipped ones, then the user's ``<data_dir>/areas.toml``."""
    shipped = resources.files("vru").joinpath("reference", AREAS_FILE).read_text("utf-8")
    areas = _parse(shipped, "vru/reference/areas.toml")
    user = resolve_data_dir(data_dir) / AREAS_FILE
    if user.is_file():
        areas.update(_parse(user.read_text("utf-8"), str(user)))
    return dict(sorted(areas.items()))


def get_area(name: str, data_dir: Path | None = None) -> AreaDefinition:
    areas = area_definitions(data_dir)
    key = name.strip().lower()
    if key not in areas:
        raise UnknownAreaError(name, list(areas))
    return areas[key]


@dataclass
class ResolvedArea:
    """An area's codes, as far as the loaded geography knows them."""

    definition: AreaDefinition
    geography_loaded: bool
    lads: list[dict[str, Any]] = field(default_factory=list)
    unknown_lads: list[str] = field(default_factory=list)
    replaced_lads: dict[str, str] = field(default_factory=dict)
    wards: dict[str, list[str]] = field(default_factory=dict)
    msoas: dict[str, list[str]] = field(default_factory=dict)
    lsoas: dict[str, list[str]] = field(default_factory=dict)
    region_check: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def lad_codes(self) -> list[str]:
        return list(self.definition.lads)

    def codes(self, level: str, vintage: str | None = None) -> set[str]:
        """The area's codes at a level (every vintage unless one is given)."""
        if level == "lad":
            return set(self.definition.lads)
        by_vintage = {"ward": self.wards, "msoa": self.msoas, "lsoa": self.lsoas}[level]
        if vintage is not None:
            return set(by_vintage.get(vintage, []))
        return {c for codes in by_vintage.values() for c in codes}

    def all_codes(self) -> set[str]:
        return (set(self.definition.lads) | self.codes("ward") | self.codes("msoa")
                | self.codes("lsoa"))

    def to_dict(self, *, with_codes: bool = False) -> dict[str, Any]:
        def shape(by: dict[str, list[str]]) -> dict[str, Any]:
            return {v: (codes if with_codes else len(codes)) for v, codes in by.items()}

        d = self.definition
        return {
            "key": d.key, "name": d.name, "description": d.description,
            "defined_in": d.defined_in, "police_forces": list(d.police_forces),
            "region": d.region, "geography_loaded": self.geography_loaded,
            "lads": self.lads, "unknown_lads": self.unknown_lads,
            "replaced_lads": self.replaced_lads,
            "wards": shape(self.wards), "msoas": shape(self.msoas), "lsoas": shape(self.lsoas),
            "region_check": self.region_check, "notes": self.notes,
        }


def _rows(con: Any, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    rel = con.execute(sql, params or [])
    cols = [c[0] for c in rel.description]
    return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]


def resolve_area(store: EvidenceStore, area: AreaDefinition | str,
                 data_dir: Path | None = None) -> ResolvedArea:
    """The area's LADs, wards by vintage, MSOAs and LSOAs by census, from the store."""
    definition = area if isinstance(area, AreaDefinition) else get_area(
        area, data_dir if data_dir is not None else store.data_dir)
    datasets = store.dataset_files()
    if "areas" not in datasets or "area_links" not in datasets:
        return ResolvedArea(
            definition, geography_loaded=False,
            lads=[{"code": c, "name": None, "vintages": []} for c in definition.lads],
            unknown_lads=list(definition.lads),
            notes=["No geography is loaded, so the area's wards and LSOAs are unknown: "
                   "import the ONS lookups first (vru ingest lookup FILE...)."])
    lads = list(definition.lads)
    con = store.connect()
    try:
        con.register("area_lads", pa.table({"code": lads}))
        lad_rows = _rows(con, """
            SELECT code, level, vintage, name FROM areas
            WHERE level = 'lad' AND code IN (SELECT code FROM area_lads)""")
        links = _rows(con, """
            SELECT DISTINCT child_code, child_level, child_vintage, parent_code, parent_level,
                   parent_vintage, relation
            FROM area_links
            WHERE (parent_level = 'lad' AND parent_code IN (SELECT code FROM area_lads)
                   AND relation = 'within' AND child_level IN ('ward', 'msoa', 'lsoa'))
               OR (relation = 'successor' AND child_level = 'lad'
                   AND child_code IN (SELECT code FROM area_lads))""")
        region_links: list[dict[str, Any]] = []
        if definition.region:
            region_links = _rows(con, """
                SELECT DISTINCT child_code FROM area_links
                WHERE parent_code = ? AND child_level = 'lad' AND relation = 'within'""",
                                 [definition.region])
    finally:
        con.close()
    resolved = ResolvedArea(definition, geography_loaded=True)
    by_code: dict[str, list[dict[str, Any]]] = {}
    for r in lad_rows:
        by_code.setdefault(r["code"], []).append(r)
    for code in lads:
        rows = sorted(by_code.get(code, []), key=lambda r: geo.vintage_sort_key(r["vintage"]))
        name = next((r["name"] for r in reversed(rows) if r["name"]), None)
        vintages = geo.vintages_sorted(r["vintage"] for r in rows)
        resolved.lads.append({"code": code, "name": name, "vintages": vintages})
        if not rows:
            resolved.unknown_lads.append(code)
    if resolved.unknown_lads:
        resolved.notes.append(
            f"{len(resolved.unknown_lads)} LAD code(s) of the definition are in no loaded "
            f"lookup: {', '.join(resolved.unknown_lads)}. Check the codes, or load a lookup "
            "of their vintage.")
    resolved.replaced_lads = geo.successor_map(
        r for r in links if r["relation"] == "successor")
    for old, new in resolved.replaced_lads.items():
        resolved.notes.append(f"LAD {old} was replaced by {new}; the area keeps {old} as "
                              "defined (the new code may cover more than the area).")
    for level, target in (("ward", resolved.wards), ("msoa", resolved.msoas),
                          ("lsoa", resolved.lsoas)):
        found = geo.children_within(links, lads, level)
        for vintage in geo.vintages_sorted(found):
            target[str(vintage)] = sorted(found[vintage])
    if definition.region:
        region_lads = {r["child_code"] for r in region_links}
        if not region_lads:
            resolved.region_check = {
                "region": definition.region, "checked": False,
                "reason": "no loaded lookup links LADs to this region"}
        else:
            resolved.region_check = {
                "region": definition.region, "checked": True,
                "region_lads_not_in_definition": sorted(region_lads - set(lads)),
                "definition_lads_not_in_region": sorted(set(lads) - region_lads),
            }
            if region_lads != set(lads):
                resolved.notes.append(
                    f"The LADs linked to region {definition.region} differ from the "
                    "definition: see region_check.")
    lsoa21 = resolved.lsoas.get("2021", [])
    if lsoa21 and _best_fit_reach(store, lsoa21, "lsoa", "2021") == len(lsoa21):
        resolved.notes.append(
            "The 2021 LSOAs were found through a best-fit lookup from 2011 LSOAs, so 2021 "
            "LSOAs that are the smaller part of a split may be missing; load a full list of "
            "2021 LSOAs (a 2021 LSOA lookup or boundaries) to complete them.")
    for vintage, wards in resolved.wards.items():
        if wards and _best_fit_reach(store, wards, "ward", vintage) == len(wards):
            resolved.notes.append(
                f"The {vintage} wards were found through LSOA/MSOA -> ward best-fit lookups, "
                "so wards no small area best-fits to (small wards, such as most of the City "
                f"of London's) are missing; load a full {vintage} ward list (ward boundaries "
                "or a ward lookup) to complete them.")
    return resolved


def _best_fit_reach(store: EvidenceStore, codes: list[str], level: str,
                    vintage: str) -> int:
    """How many of ``codes`` (of ``level`` and ``vintage``) are reached by a best-fit link
    from a smaller area: a list made only of those may be incomplete."""
    con = store.connect()
    try:
        con.register("wanted", pa.table({"code": codes}))
        rows = con.execute("""
            SELECT count(DISTINCT parent_code) FROM area_links
            WHERE relation = 'best_fit' AND parent_level = ? AND parent_vintage = ?
              AND parent_code IN (SELECT code FROM wanted)""", [level, vintage]).fetchall()
    finally:
        con.close()
    return int(rows[0][0])
