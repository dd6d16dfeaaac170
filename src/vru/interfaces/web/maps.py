"""A small map of a round's places as inline SVG, drawn on the server.

Why SVG and not a tiled web map: the public page then needs no tile server and makes no
request to a third party (nothing about its visitors leaves the site), works offline and
in print, and passes a strict Content-Security-Policy. Outlines are the places' simplified
boundaries stored with the round (WGS84), projected with an equirectangular projection
scaled by the cosine of the middle latitude (at London's size the distortion is under 1%).
Funded places are shaded by the amount they received (four classes, darker = more); eligible
places with nothing funded are hatched; the area's other local authorities are drawn in
light grey for context. The page lists the same numbers in a table, so the map is never the
only way to read them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 640
PALETTE = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")


@dataclass(frozen=True)
class MapPlace:
    code: str
    name: str
    geometry: Mapping[str, Any] | None
    amount: int


def _rings(geometry: Mapping[str, Any]) -> Iterable[Sequence[Sequence[float]]]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates") or []
    if kind == "Polygon":
        yield from coords
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon
    elif kind == "GeometryCollection":
        for g in geometry.get("geometries", []):
            yield from _rings(g)


def _bounds(geometries: Iterable[Mapping[str, Any]]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []
    for g in geometries:
        for ring in _rings(g):
            for x, y, *_ in ring:
                xs.append(x)
                ys.append(y)
    if not xs:
        return (0.0, 0.0, 1.0, 1.0)
    return min(xs), min(ys), max(xs), max(ys)


def _classes(amounts: Sequence[int]) -> list[int]:
    """Upper bounds of four equal-width classes of the funded amounts (rounded up to
    £1,000)."""
    top = max(amounts) if amounts else 0
    if top <= 0:
        return []
    step = math.ceil(top / 4 / 1000) * 1000
    return [step * (i + 1) for i in range(4)]


def _fill(amount: int, bounds: Sequence[int]) -> str:
    for colour, upper in zip(PALETTE, bounds, strict=False):
        if amount <= upper:
            return colour
    return PALETTE[-1]


@dataclass(frozen=True)
class SvgMap:
    svg: str
    legend: list[tuple[str, str]]


def svg_map(places: Sequence[MapPlace], background: Mapping[str, Any] | None, *,
            title: str, description: str) -> SvgMap | None:
    """The map, or None when no place has an outline."""
    drawn = [p for p in places if p.geometry]
    if not drawn:
        return None
    back = [f["geometry"] for f in (background or {}).get("features", [])
            if f.get("geometry")]
    x0, y0, x1, y1 = _bounds([*(p.geometry for p in drawn if p.geometry), *back])
    mid = math.radians((y0 + y1) / 2)
    kx = math.cos(mid)
    span_x = max((x1 - x0) * kx, 1e-9)
    span_y = max(y1 - y0, 1e-9)
    scale = (WIDTH - 20) / span_x
    height = int(span_y * scale) + 20

    def path(geometry: Mapping[str, Any]) -> str:
        parts = []
        for ring in _rings(geometry):
            pts = [f"{10 + (x - x0) * kx * scale:.1f},{10 + (y1 - y) * scale:.1f}"
                   for x, y, *_ in ring]
            if pts:
                parts.append("M" + "L".join(pts) + "Z")
        return "".join(parts)

    bounds = _classes([p.amount for p in drawn if p.amount > 0])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
           f'class="vru-map" role="img" aria-labelledby="map-title map-desc">',
           f'<title id="map-title">{_esc(title)}</title>',
           f'<desc id="map-desc">{_esc(description)}</desc>',
           '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
           'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
           '<line x1="0" y1="0" x2="0" y2="6" stroke="#505a5f" stroke-width="1.5"/>'
           '</pattern></defs>']
    for g in back:
        out.append(f'<path d="{path(g)}" fill="#f3f2f1" stroke="#b1b4b6" '
                   'stroke-width="0.8"/>')
    for p in drawn:
        fill = _fill(p.amount, bounds) if p.amount > 0 else "url(#hatch)"
        label = (f"{p.name}: £{p.amount:,} awarded" if p.amount > 0
                 else f"{p.name}: eligible, nothing awarded")
        out.append(f'<path d="{path(p.geometry or {})}" fill="{fill}" stroke="#0b0c0c" '
                   f'stroke-width="1"><title>{_esc(label)}</title></path>')
    out.append("</svg>")
    legend = []
    lower = 0
    for colour, upper in zip(PALETTE, bounds, strict=False):
        legend.append((colour, f"£{lower + 1:,} to £{upper:,}" if lower else
                       f"up to £{upper:,}"))
        lower = upper
    legend.append(("hatch", "eligible, nothing awarded"))
    return SvgMap("".join(out), legend)


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))
