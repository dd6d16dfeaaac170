"""Area boundaries: zipped shapefiles, GeoJSON and GeoPackage, one or more layers per file.

Publishers: ONS Open Geography Portal (``LSOA21CD``, ``MSOA21CD``, ``WD25CD``... fields) and
the GLA London Datastore's "Statistical GIS Boundary Files" (``GSS_CODE`` and ``NAME``),
both OGL v3 with OS data © Crown copyright.

How a layer is read:

- **ONS fields** (``LSOA11CD``, ``LSOA21CD``, ``MSOA21CD``, ``WD25CD``, ``LAD22CD``...): the
  finest code field is the feature's code, its ``...NM`` field its name; level and vintage
  come from the field name as in a lookup (``vru.adapters.sources.lookup``). Ward releases
  are named by ONS for the release year (``WD25``); the ward set they hold is named by the
  year it came into force, found from the loaded ward code history
  (``vru.domain.geography.ward_set_year``: London's WD25 wards are the May 2022 set,
  ``'2022'``). Without that history the release year is used, and ``meta`` says so. The
  ONS name (``WD25``) is kept in column ``ons_vintage``.
- **GLA fields** (``GSS_CODE``, ``NAME``): each feature's level comes from its code's prefix
  (E05 ward, E09 LAD: the City of London, merged into one feature in the "CityMerged" ward
  layers, is a LAD feature there). The vintage comes from a year in the file name
  (``London-wards-2018`` -> ``'2018'``) or, for the GLA's statistical GIS boundary files
  (``London_Borough_Excluding_MHW``, ``London_Ward_CityMerged``, built from OS Boundary-Line
  Oct 2013 for the 2011 Census), ``'2011'``: their wards are the 2002-2014 ward set that ONS
  calls ``WD11``. ``LB_GSS_CD`` / ``LAGSSCODE`` give each ward's LAD. (In the 2018
  ``London_Ward_CityMerged`` layer the GLA gave the merged City feature the code of one City
  ward, Castle Baynard E05009297; ``vru.adapters.store.geo`` therefore never mixes layers.)
- **No code field, one feature** (an outline such as ``greater_london_boundary_oobrien``):
  stored at level ``outline`` with the file's name as its code.

Geometry is stored in EPSG:27700 (British National Grid). A layer without a CRS, or whose
.prj describes British National Grid without an EPSG code, is set to EPSG:27700 (``meta``
says which); others are reprojected. Every feature is checked: a missing, empty or
non-polygon geometry is a problem located by feature number (the ``row`` of a problem is
the feature's number, counting from 1 through the file's layers in order); an invalid one
(a self-intersecting ring, common in generalised boundaries) is repaired with shapely's
``make_valid`` and listed in ``meta["repaired"]``. Codes are checked against their level's
pattern, and a code repeated within a layer is a problem.

Outputs: ``boundaries`` (code, name, level, vintage, layer, ons_vintage, geometry as WKB in
EPSG:27700, area_hectares, attributes as JSON, source), and the ``areas`` and ``area_links``
the layer's attributes state, so that a full set of codes (all 4,994 2021 LSOAs, not only
the 4,811 a best-fit lookup reaches) is known.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import duckdb
import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyogrio
import shapely

from vru.adapters.sources.base import Parsed, ReferenceData
from vru.adapters.sources.checks import Check, run_checks
from vru.adapters.sources.lookup import (
    COLUMN_RE,
    SchemeTables,
    counts_by,
    detect_scheme,
    lit,
    q,
)
from vru.domain import geography as geo
from vru.domain.problems import InputError, Problem

GLA_CODE, GLA_NAME = "GSS_CODE", "NAME"
GLA_PARENTS = (("LB_GSS_CD", "BOROUGH"), ("LAGSSCODE", "DISTRICT"))
# The GLA's "Statistical GIS Boundary Files for London" (OS Boundary-Line Oct 2013, the
# geography of the 2011 Census) name no year; their layers are these.
GLA_2011_LAYERS = frozenset({
    "london_borough_excluding_mhw", "london_borough_including_mhw", "london_ward",
    "london_ward_citymerged",
})
YEAR_RE = re.compile(r"(?<![0-9])(19[0-9]{2}|20[0-9]{2})(?![0-9])")
RECOGNISED_FIELDS = (
    "ONS code fields such as LSOA11CD, LSOA21CD, MSOA11CD, MSOA21CD, WD18CD, WD25CD, LAD22CD "
    "(with the matching ...NM name field); or the GLA's GSS_CODE and NAME; or no code field "
    "and a single feature (an outline)"
)
POLYGONAL = frozenset({"Polygon", "MultiPolygon"})

_BOUNDARY_SCHEMA = pa.schema([
    ("code", pa.string()), ("name", pa.string()), ("level", pa.string()),
    ("vintage", pa.string()), ("layer", pa.string()), ("ons_vintage", pa.string()),
    ("geometry", pa.binary()), ("area_hectares", pa.float64()), ("attributes", pa.string()),
    ("source", pa.string()), ("source_row", pa.int64()),
])


def _file_problem(file: str, message: str, action: str) -> InputError:
    return InputError([Problem(file, None, None, None, message, action)])


def _year_in(text: str) -> str | None:
    m = YEAR_RE.search(text.replace("_", " "))
    return m.group(1) if m else None


def _to_bng(gdf: gpd.GeoDataFrame, label: str) -> tuple[gpd.GeoDataFrame, str]:
    """The layer in EPSG:27700, and a note of how its CRS was decided."""
    crs = gdf.crs
    if crs is None:
        bounds = gdf.total_bounds if len(gdf) else np.array([0.0, 0.0, 0.0, 0.0])
        if np.all(np.isfinite(bounds)) and bounds[0] >= -1e4 and bounds[1] >= -1e4 \
                and bounds[2] <= 8e5 and bounds[3] <= 1.3e6:
            return gdf.set_crs(geo.EPSG_BNG), (
                "no CRS given; coordinates are British National Grid eastings/northings, "
                "so EPSG:27700 was set")
        raise _file_problem(label, "has no coordinate reference system (no .prj) and its "
                            "coordinates are not British National Grid eastings/northings",
                            "Add the .prj file that came with the shapefile")
    epsg = crs.to_epsg()
    if epsg == geo.EPSG_BNG:
        return gdf, "EPSG:27700"
    if epsg is None:
        if crs.to_epsg(min_confidence=25) == geo.EPSG_BNG or \
                "british national grid" in (crs.name or "").lower().replace("_", " "):
            return gdf.set_crs(geo.EPSG_BNG, allow_override=True), (
                f"the .prj describes {crs.name!r} without an EPSG code; set to EPSG:27700")
        raise _file_problem(label, f"has a coordinate reference system with no EPSG code "
                            f"that is not British National Grid ({crs.name!r})",
                            "Reproject the file to EPSG:27700 or EPSG:4326 and try again")
    if not crs.is_geographic and not crs.is_projected:
        raise _file_problem(label, f"has an unusable coordinate reference system ({crs})",
                            "Reproject the file to EPSG:27700 or EPSG:4326")
    return gdf.to_crs(geo.EPSG_BNG), f"EPSG:{epsg}, reprojected to EPSG:27700"


def _polygonal(geom: Any) -> Any:
    """The polygonal part of a repaired geometry (make_valid may add stray lines)."""
    if geom is None or geom.geom_type in POLYGONAL:
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in POLYGONAL]
    if not parts:
        return shapely.Polygon()
    merged = shapely.union_all(parts)
    return merged


def _attributes_json(df: Any, skip: set[str]) -> list[str]:
    cols = [c for c in df.columns if c != "geometry" and c not in skip]
    out = []
    for rec in df[cols].to_dict(orient="records"):
        clean = {k: (None if v is None or (isinstance(v, float) and np.isnan(v)) else
                     v.item() if hasattr(v, "item") else v) for k, v in rec.items()}
        out.append(json.dumps(clean, default=str, ensure_ascii=False))
    return out


@dataclass
class LayerPlan:
    """What a layer's fields say: its features' codes, names and levels, the checks to run
    on its attributes, and how to build areas and links from the valid features."""

    kind: str
    code_column: str | None
    codes: list[str]
    names: list[str | None]
    levels: list[str]
    vintage: str | None
    vintage_reason: str
    ons_vintage: str | None
    checks_relation: str
    checks: list[Check]
    tables: Callable[[duckdb.DuckDBPyConnection, str], tuple[pa.Table, pa.Table]]
    attribute_skip: set[str]


class Boundaries:
    format: ClassVar[str] = "boundaries"
    description: ClassVar[str] = (
        "Area boundaries (zipped shapefile, GeoJSON, GeoPackage): ONS or GLA layers")

    def parse(self, path: Path, ref: ReferenceData) -> Parsed:
        name = path.name
        try:
            layers = [str(row[0]) for row in pyogrio.list_layers(path)]
        except Exception as exc:  # GDAL raises many kinds
            raise _file_problem(name, f"cannot be read as a GIS file ({exc})",
                                "Give a zipped shapefile, a GeoJSON or a GeoPackage") from None
        if not layers:
            raise _file_problem(name, "holds no layers", "Check the download finished")
        boundary_tables: list[pa.Table] = []
        area_tables: list[pa.Table] = []
        link_tables: list[pa.Table] = []
        problems: list[Problem] = []
        meta_layers: list[dict[str, Any]] = []
        repaired: list[dict[str, Any]] = []
        offset = 0
        for layer in layers:
            label = name if len(layers) == 1 else f"{name} (layer {layer})"
            try:
                gdf = pyogrio.read_dataframe(path, layer=layer, on_invalid="ignore")
            except Exception as exc:
                raise _file_problem(label, f"cannot be read ({exc})",
                                    "Re-download the file") from None
            result = self._layer(path, layer, label, gdf, offset, ref)
            offset += len(gdf)
            boundary_tables.append(result["boundaries"])
            area_tables.append(result["areas"])
            link_tables.append(result["area_links"])
            problems += result["problems"]
            repaired += result["repaired"]
            meta_layers.append(result["meta"])
        boundaries = pa.concat_tables(boundary_tables)
        areas = pa.concat_tables(area_tables, promote_options="permissive")
        links = pa.concat_tables(link_tables, promote_options="permissive")
        problems.sort(key=lambda p: p.row or 0)
        return Parsed(
            tables={"boundaries": boundaries, "areas": areas, "area_links": links},
            rows_read=offset,
            problems=problems,
            meta={
                "layers": meta_layers,
                "crs": "EPSG:27700",
                "repaired": repaired,
                "repaired_count": len(repaired),
                "repair_method": "shapely.make_valid, keeping polygonal parts" if repaired
                else None,
                "features_by_level_vintage": counts_by(boundaries, "level", "vintage"),
                "row_numbers": "a problem's row is the feature number, counting from 1 "
                "through the file's layers in order",
            },
        )

    # -- one layer ---------------------------------------------------------------------

    def _layer(self, path: Path, layer: str, label: str, gdf: gpd.GeoDataFrame, offset: int,
               ref: ReferenceData) -> dict[str, Any]:
        n = len(gdf)
        if n == 0:
            raise _file_problem(label, "has no features", "Check the download finished")
        gdf, crs_note = _to_bng(gdf, label)
        field_names = [c for c in gdf.columns if c != "geometry"]
        text = pa.table(
            {c: pa.array(["" if v is None or (isinstance(v, float) and np.isnan(v))
                          else str(v).strip() for v in gdf[c].tolist()], pa.string())
             for c in field_names}
            | {"source_row": pa.array(range(offset + 1, offset + n + 1), pa.int64())})
        upper = {c.upper(): c for c in field_names}
        con = duckdb.connect()
        try:
            con.register("attrs", text)
            if GLA_CODE in upper:
                plan = self._gla(con, path, layer, label, upper)
            elif any((m := COLUMN_RE.match(c.upper())) and m["kind"] == "CD"
                     for c in field_names):
                plan = self._ons(con, path, label, field_names, ref)
            elif n == 1:
                plan = self._outline(path)
            else:
                raise InputError([Problem(label, None, None, None,
                                          "has no field of area codes this adapter recognises",
                                          f"Recognised fields: {RECOGNISED_FIELDS}")])
            problems = [
                p if p.row is None else replace(p, message=f"feature {p.row - offset}: "
                                                           f"{p.message}")
                for p in run_checks(con, plan.checks_relation, label, plan.checks)]
            problems += self._duplicates(plan, label, offset)
            fixed, geometry_problems, repaired = self._geometries(gdf, plan, label, layer,
                                                                  offset)
            problems += geometry_problems
            bad = sorted({p.row for p in problems if p.row is not None})
            con.register("bad", pa.table({"row": pa.array(bad, pa.int64())}))
            con.execute("CREATE OR REPLACE TEMP VIEW good AS SELECT * FROM attrs "
                        "WHERE source_row NOT IN (SELECT row FROM bad)")
            areas, links = plan.tables(con, "good")
        finally:
            con.close()
        bad_set = set(bad)
        keep = [i for i in range(n) if offset + i + 1 not in bad_set]
        kept = fixed[keep] if keep else np.empty(0, dtype=object)
        wkb = list(shapely.to_wkb(kept)) if keep else []
        area: Any = np.asarray(shapely.area(kept), dtype=float) / 10_000.0 if keep else []
        boundaries = pa.table({
            "code": pa.array([plan.codes[i] for i in keep], pa.string()),
            "name": pa.array([plan.names[i] for i in keep], pa.string()),
            "level": pa.array([plan.levels[i] for i in keep], pa.string()),
            "vintage": pa.array([plan.vintage] * len(keep), pa.string()),
            "layer": pa.array([layer] * len(keep), pa.string()),
            "ons_vintage": pa.array([plan.ons_vintage] * len(keep), pa.string()),
            "geometry": pa.array(wkb, pa.binary()),
            "area_hectares": pa.array(area, pa.float64()),
            "attributes": pa.array(_attributes_json(gdf.iloc[keep], plan.attribute_skip),
                                   pa.string()),
            "source": pa.array([path.name] * len(keep), pa.string()),
            "source_row": pa.array([offset + i + 1 for i in keep], pa.int64()),
        }, schema=_BOUNDARY_SCHEMA)
        return {
            "boundaries": boundaries, "areas": areas, "area_links": links,
            "problems": problems, "repaired": repaired,
            "meta": {"layer": layer, "features": n, "fields": plan.kind,
                     "code_field": plan.code_column, "vintage": plan.vintage,
                     "vintage_reason": plan.vintage_reason, "ons_vintage": plan.ons_vintage,
                     "crs": crs_note, "repaired": len(repaired)},
        }

    @staticmethod
    def _duplicates(plan: LayerPlan, label: str, offset: int) -> list[Problem]:
        problems = []
        first_at: dict[str, int] = {}
        for i, code in enumerate(plan.codes):
            if not code:
                continue
            if code in first_at:
                problems.append(Problem(
                    label, offset + i + 1, plan.code_column, code,
                    f"feature {i + 1} repeats the code of feature {first_at[code] + 1} in "
                    "this layer", "Keep one feature per code (merge its parts into one "
                    "multipolygon)"))
            else:
                first_at[code] = i
        return problems

    @staticmethod
    def _geometries(gdf: gpd.GeoDataFrame, plan: LayerPlan, label: str, layer: str,
                    offset: int) -> tuple[Any, list[Problem], list[dict[str, Any]]]:
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        n = len(geoms)
        problems: list[Problem] = []
        repaired: list[dict[str, Any]] = []
        fixed = np.empty(n, dtype=object)
        for i, g in enumerate(geoms):
            row, code = offset + i + 1, plan.codes[i] or None
            if g is None or shapely.is_empty(g):
                problems.append(Problem(
                    label, row, "geometry", code,
                    f"feature {i + 1} has no geometry (missing, empty or unreadable)",
                    "Re-download the file; every area needs its polygon"))
                continue
            if g.geom_type not in POLYGONAL:
                problems.append(Problem(
                    label, row, "geometry", code,
                    f"feature {i + 1} is a {g.geom_type}, not a polygon",
                    "Give area boundaries (polygons), not points or lines"))
                continue
            g = shapely.force_2d(g)
            if not shapely.is_valid(g):
                reason = shapely.is_valid_reason(g)
                g = _polygonal(shapely.make_valid(g))
                if shapely.is_empty(g):
                    problems.append(Problem(
                        label, row, "geometry", code,
                        f"feature {i + 1} has an invalid geometry ({reason}) that cannot be "
                        "repaired into a polygon", "Fix the polygon in a GIS and try again"))
                    continue
                repaired.append({"layer": layer, "feature": i + 1, "code": code,
                                 "reason": reason})
            fixed[i] = g
        return fixed, problems, repaired

    # -- field schemes -----------------------------------------------------------------

    def _layer_vintage(self, path: Path, layer: str, label: str) -> tuple[str, str]:
        year = _year_in(path.stem)
        if year:
            return year, f"the year in the file name {path.name!r}"
        if layer.lower() in GLA_2011_LAYERS or path.stem.lower() in GLA_2011_LAYERS:
            return "2011", ("a GLA statistical GIS boundary file (OS Boundary-Line Oct 2013, "
                            "the 2011 Census geography: the 2002-2014 ward set, ONS WD11)")
        year = _year_in(layer)
        if year:
            return year, f"the year in the layer name {layer!r}"
        raise _file_problem(label, "does not say which year's boundaries it holds (GSS_CODE "
                            "fields carry no year)",
                            "Put the year in the file name, e.g. London-wards-2018.zip")

    def _gla(self, con: duckdb.DuckDBPyConnection, path: Path, layer: str, label: str,
             upper: dict[str, str]) -> LayerPlan:
        code_col = upper[GLA_CODE]
        name_col = upper.get(GLA_NAME)
        vintage, reason = self._layer_vintage(path, layer, label)
        code = f"trim({q(code_col)})"
        level_case = "CASE " + " ".join(
            f"WHEN substr({code}, 1, 3) = {lit(p)} THEN {lit(lv)}"
            for p, lv in geo.PREFIX_LEVELS.items()) + " END"
        pattern_ok = "(" + " OR ".join(
            f"({level_case} = {lit(lv)} AND regexp_full_match({code}, '{pat}'))"
            for lv, pat in geo.CODE_PATTERNS.items()) + ")"
        checks = [
            Check(f"{code} = ''", code_col, "is empty: every feature needs its GSS code",
                  "Fill in the code"),
            Check(f"{code} <> '' AND NOT {pattern_ok}", code_col,
                  "is not a GSS code of a known level (e.g. E05 ward, E09 London borough)",
                  "Correct the code"),
        ]
        if name_col:
            checks.append(Check(f"{code} <> '' AND trim({q(name_col)}) = ''", name_col,
                                "is empty: every area needs a name", "Fill in the name"))
        parents = [(upper[c], upper.get(n)) for c, n in GLA_PARENTS if c in upper]
        lad = geo.CODE_PATTERNS["lad"]
        for pcol, _pname in parents:
            checks.append(Check(
                f"trim({q(pcol)}) <> '' AND NOT regexp_full_match(trim({q(pcol)}), '{lad}')",
                pcol, f"is not a local authority code ({geo.CODE_DESCRIPTIONS['lad']})",
                "Correct the code"))
        name_sql = f"nullif(trim({q(name_col)}), '')" if name_col else "NULL::VARCHAR"
        rows = con.execute(f"SELECT {code}, {name_sql}, coalesce({level_case}, '') "
                           "FROM attrs ORDER BY source_row").fetchall()
        source = lit(path.name)

        def tables(c: duckdb.DuckDBPyConnection, rel: str) -> tuple[pa.Table, pa.Table]:
            area_parts = [
                f"SELECT {code} AS code, {name_sql} AS name, {level_case} AS level, "
                f"source_row FROM {rel} WHERE {pattern_ok}"]
            link_parts = []
            for pcol, pname in parents:
                pname_sql = f"nullif(trim({q(pname)}), '')" if pname else "NULL::VARCHAR"
                pt = f"trim({q(pcol)})"
                area_parts.append(f"SELECT {pt}, {pname_sql}, 'lad', source_row FROM {rel} "
                                  f"WHERE regexp_full_match({pt}, '{lad}')")
                link_parts.append(
                    f"SELECT {code} AS child_code, {level_case} AS child_level, "
                    f"{pt} AS parent_code, source_row FROM {rel} "
                    f"WHERE {level_case} = 'ward' AND {pattern_ok} AND "
                    f"regexp_full_match({pt}, '{lad}')")
            areas = c.sql(f"""
                SELECT code, arg_min(name, source_row) FILTER (WHERE name IS NOT NULL) AS name,
                       level, {lit(vintage)} AS vintage, {source} AS source,
                       NULL::VARCHAR AS welsh_name, NULL::VARCHAR AS hcl_name,
                       min(source_row) AS source_row
                FROM ({' UNION ALL '.join(area_parts)}) GROUP BY code, level
                ORDER BY level, code""").to_arrow_table()
            if not link_parts:
                return areas, _empty_links()
            links = c.sql(f"""
                SELECT child_code, child_level, {lit(vintage)} AS child_vintage, parent_code,
                       'lad' AS parent_level, {lit(vintage)} AS parent_vintage,
                       'within' AS relation, {source} AS source, min(source_row) AS source_row
                FROM ({' UNION ALL '.join(link_parts)}) GROUP BY ALL
                ORDER BY child_code""").to_arrow_table()
            return areas, links

        return LayerPlan(
            kind="gla", code_column=code_col, codes=[r[0] for r in rows],
            names=[r[1] for r in rows], levels=[r[2] for r in rows], vintage=vintage,
            vintage_reason=reason, ons_vintage=None, checks_relation="attrs", checks=checks,
            tables=tables, attribute_skip={code_col} | ({name_col} if name_col else set()))

    def _ons(self, con: duckdb.DuckDBPyConnection, path: Path, label: str,
             field_names: list[str], ref: ReferenceData) -> LayerPlan:
        try:
            scheme = detect_scheme(field_names, label)
        except InputError as exc:
            raise InputError([replace(p, row=None) for p in exc.problems]) from None
        if scheme.unit is None:
            raise _file_problem(label, "has no single field of feature codes",
                                f"Recognised fields: {RECOGNISED_FIELDS}")
        unit = scheme.column(scheme.unit)
        m = COLUMN_RE.match(unit.column.upper())
        assert m is not None
        ons_vintage = f"{m['prefix']}{m['yy']}" if m["yy"] else None
        vintage = unit.vintage
        reason = f"the year in the field name {unit.column!r}"
        if unit.level == "ward" and m["yy"] and vintage is not None:
            codes = [r[0] for r in con.execute(
                f"SELECT DISTINCT trim({q(unit.column)}) FROM attrs "
                f"WHERE trim({q(unit.column)}) <> ''").fetchall()]
            known = {v: ref.codes("ward", v) for (lv, v) in ref.area_codes
                     if lv == "ward" and v is not None}
            vintage, reason = geo.ward_set_year(codes, known, vintage)
            if vintage != unit.vintage:
                scheme = detect_scheme(field_names, label, {unit.column: vintage})
                unit = scheme.column(unit.column)
        if vintage is None:
            raise _file_problem(label, f"field {unit.column!r} does not say which year's "
                                "codes it holds", f"Recognised fields: {RECOGNISED_FIELDS}")
        tables = SchemeTables(scheme, SchemeTables.non_empty_columns(con, "attrs", scheme),
                              repeat_check=False)
        tables.prepare(con, "attrs", "checked")
        name_sql = f"nullif(trim({q(unit.name_column)}), '')" if unit.name_column else "NULL"
        rows = con.execute(f"SELECT trim({q(unit.column)}), {name_sql} FROM attrs "
                           "ORDER BY source_row").fetchall()
        source = path.name

        def build(c: duckdb.DuckDBPyConnection, rel: str) -> tuple[pa.Table, pa.Table]:
            return (c.sql(tables.areas_sql(rel, source)).to_arrow_table(),
                    c.sql(tables.links_sql(rel, source)).to_arrow_table())

        return LayerPlan(
            kind="ons", code_column=unit.column, codes=[r[0] for r in rows],
            names=[r[1] for r in rows], levels=[unit.level] * len(rows), vintage=vintage,
            vintage_reason=reason, ons_vintage=ons_vintage, checks_relation="checked",
            checks=tables.checks(), tables=build,
            attribute_skip={unit.column} | ({unit.name_column} if unit.name_column else set()))

    @staticmethod
    def _outline(path: Path) -> LayerPlan:
        return LayerPlan(
            kind="outline", code_column=None, codes=[path.stem], names=[path.stem],
            levels=["outline"], vintage=None, vintage_reason="an outline with no code field",
            ons_vintage=None, checks_relation="attrs", checks=[],
            tables=lambda c, rel: (_empty_areas(), _empty_links()), attribute_skip=set())


def _empty_areas() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in (
        "code", "name", "level", "vintage", "source", "welsh_name", "hcl_name")}
        | {"source_row": pa.array([], pa.int64())})


def _empty_links() -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in (
        "child_code", "child_level", "child_vintage", "parent_code", "parent_level",
        "parent_vintage", "relation", "source")} | {"source_row": pa.array([], pa.int64())})
