"""Boundaries from the evidence store as GeoDataFrames: EPSG:27700 to measure, 4326 to map.

The ``boundaries`` dataset holds one row per feature of each imported layer, geometry as WKB
in EPSG:27700. Several layers can hold the same level and vintage (the GLA's 2018 wards come
as ``London_Ward`` and ``London_Ward_CityMerged``; a GeoJSON copy of a shapefile holds the
same areas). Layers are never mixed: ``load_boundaries`` returns one layer of one import,
the one asked for, or else the one with the most features (the latest import on a tie),
and says which in the frame's ``attrs``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import shapely

from vru.adapters.store.evidence_store import EvidenceStore, remember
from vru.domain.geography import EPSG_BNG, EPSG_WGS84, vintage_sort_key

COLUMNS = ["code", "name", "level", "vintage", "layer", "ons_vintage", "area_hectares",
           "source", "import_id"]


#: Layers already read, by store state and request: reading and parsing a layer's WKB costs
#: far more than copying the frame, and a report asks for the same layers many times.
_MEMO: dict[tuple[Any, ...], gpd.GeoDataFrame] = {}
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 12


class BoundariesNotLoaded(LookupError):
    """No boundaries of the level and vintage asked for are in the store."""


def boundary_layers(store: EvidenceStore) -> list[dict[str, Any]]:
    """Every stored layer: level, vintage, layer, source file, import, features."""
    if "boundaries" not in store.dataset_files():
        return []
    con = store.connect()
    try:
        rel = con.execute(
            "SELECT b.level, b.vintage, b.layer, b.source, b.import_id, count(*) AS features, "
            "any_value(i.imported_at) AS imported_at "
            "FROM boundaries b JOIN imports i USING (import_id) "
            "GROUP BY ALL ORDER BY b.level, b.vintage, features DESC, imported_at DESC, b.layer")
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()


def load_boundaries(
    store: EvidenceStore,
    level: str,
    vintage: str | None = None,
    *,
    layer: str | None = None,
    source: str | None = None,
    codes: Iterable[str] | None = None,
    crs: int = EPSG_BNG,
) -> gpd.GeoDataFrame:
    """One stored layer of ``level`` (and ``vintage``) as a GeoDataFrame in ``crs``
    (27700 or 4326), optionally only the features whose code is in ``codes``.

    Raises ``BoundariesNotLoaded`` naming what is loaded when nothing matches.
    """
    if crs not in (EPSG_BNG, EPSG_WGS84):
        raise ValueError(f"crs must be {EPSG_BNG} (to measure) or {EPSG_WGS84} (to map)")
    candidates = [
        layer_info for layer_info in boundary_layers(store)
        if layer_info["level"] == level
        and (vintage is None or layer_info["vintage"] == vintage)
        and (layer is None or layer_info["layer"] == layer)
        and (source is None or layer_info["source"] == source)
    ]
    if not candidates:
        loaded = sorted({f"{i['level']}/{i['vintage']} ({i['layer']})"
                         for i in boundary_layers(store)})
        raise BoundariesNotLoaded(
            f"no boundaries for level {level!r}" + (f", vintage {vintage!r}" if vintage else "")
            + (f", layer {layer!r}" if layer else "") + "; loaded: "
            + (", ".join(loaded) if loaded else "none (vru ingest boundaries FILE)"))
    # The newest vintage; in it, the layer with most features; on a tie, the latest import.
    chosen = max(candidates, key=lambda i: (vintage_sort_key(i["vintage"]), i["features"],
                                            i["imported_at"]))
    code_list = tuple(sorted(set(codes))) if codes is not None else None
    memo_key = (store.catalogue_path, store.state(), chosen["import_id"], chosen["layer"],
                level, code_list, crs)
    with _MEMO_LOCK:
        known = _MEMO.get(memo_key)
    if known is not None:
        return known.copy()
    con = store.connect()
    try:
        where = "import_id = ? AND layer = ? AND level = ?"
        params: list[Any] = [chosen["import_id"], chosen["layer"], level]
        if code_list is not None:
            where += " AND list_contains(?, code)"
            params.append(list(code_list))
        table = con.sql(
            f"SELECT {', '.join(COLUMNS)}, geometry FROM boundaries WHERE {where} "
            "ORDER BY code", params=params).to_arrow_table()
    finally:
        con.close()
    frame = table.drop(["geometry"]).to_pandas()
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    gdf = gpd.GeoDataFrame(frame, geometry=geoms, crs=EPSG_BNG)
    if crs != EPSG_BNG:
        gdf = gdf.to_crs(crs)
    gdf.attrs["layer"] = chosen["layer"]
    gdf.attrs["source"] = chosen["source"]
    gdf.attrs["import_id"] = chosen["import_id"]
    gdf.attrs["vintage"] = chosen["vintage"]
    with _MEMO_LOCK:
        remember(_MEMO, memo_key, gdf, keep=_MEMO_SIZE)
    return gdf.copy()
