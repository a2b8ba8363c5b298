"""The coverage map: gemeente boundaries drawn on the server as inline SVG.

Boundaries are GeoJSON (WGS84) on Gemeente.boundary. They are projected with a simple
equirectangular projection around the Netherlands (longitude scaled by cos 52.2°, north
up), which is close enough at this size, and turned into SVG path data once. The path
strings change only when the geography is imported, so they are kept in this process and
keyed on the latest gemeenten.Import: a new import (which records an Import) makes every
process project again on its next request. No tiles, no JavaScript needed, nothing from
another host.
"""

import math
import threading
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from gemeenten.models import Gemeente, Import

# The width of the drawing in SVG units; the height follows from the country's shape.
WIDTH = 1000
MARGIN = 4
LON_SCALE = math.cos(math.radians(52.2))


@dataclass(frozen=True)
class Shape:
    path: str
    # Bounding box in SVG units: (left, top, right, bottom).
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class Geometry:
    shapes: dict[str, Shape]
    width: float
    height: float


_lock = threading.Lock()
_cached: dict = {}


def clear_cache() -> None:
    with _lock:
        _cached.clear()


def geometry() -> Geometry:
    """The projected shapes of all existing gemeenten with a boundary.

    One query (the latest Import) when the cache is fresh; one more to read the boundaries
    after an import, or on the first request of this process.
    """
    key = Import.objects.order_by("-pk").values_list("pk", flat=True).first()
    with _lock:
        if "geometry" in _cached and _cached.get("key") == key:
            return _cached["geometry"]
    boundaries = dict(
        Gemeente.objects.existing()
        .exclude(boundary__isnull=True)
        .values_list("code", "boundary")
        .order_by("code")
    )
    projected = project(boundaries)
    with _lock:
        _cached.update(key=key, geometry=projected)
    return projected


def _rings(geometry: dict):
    kind = (geometry or {}).get("type")
    if kind == "Polygon":
        yield from geometry["coordinates"]
    elif kind == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon


def project(boundaries: dict[str, dict]) -> Geometry:
    """Project GeoJSON polygons to SVG path data in a WIDTH-wide drawing."""
    points = [
        (lon * LON_SCALE, lat)
        for geometry in boundaries.values()
        for ring in _rings(geometry)
        for lon, lat, *_rest in ring
    ]
    if not points:
        return Geometry({}, WIDTH, WIDTH)
    west = min(x for x, _y in points)
    east = max(x for x, _y in points)
    south = min(y for _x, y in points)
    north = max(y for _x, y in points)
    scale = (WIDTH - 2 * MARGIN) / max(east - west, 1e-9)
    height = (north - south) * scale + 2 * MARGIN

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (
            round((lon * LON_SCALE - west) * scale + MARGIN, 1),
            round((north - lat) * scale + MARGIN, 1),
        )

    shapes = {}
    for code, geometry in boundaries.items():
        parts, xs, ys = [], [], []
        for ring in _rings(geometry):
            previous = None
            coordinates = []
            for lon, lat, *_rest in ring:
                point = xy(lon, lat)
                if point != previous:
                    coordinates.append(f"{point[0]:g} {point[1]:g}")
                    xs.append(point[0])
                    ys.append(point[1])
                    previous = point
            if len(coordinates) >= 3:
                parts.append("M" + " ".join(coordinates) + "Z")
        if parts:
            shapes[code] = Shape("".join(parts), (min(xs), min(ys), max(xs), max(ys)))
    return Geometry(shapes, WIDTH, round(height, 1))


def view_box(geo: Geometry, codes=None) -> str:
    """The viewBox around the given gemeenten (all when None), with a small margin."""
    boxes = [geo.shapes[code].box for code in (codes or geo.shapes) if code in geo.shapes]
    if codes is None or not boxes:
        return f"0 0 {geo.width:g} {geo.height:g}"
    left = min(box[0] for box in boxes)
    top = min(box[1] for box in boxes)
    right = max(box[2] for box in boxes)
    bottom = max(box[3] for box in boxes)
    pad = max(right - left, bottom - top) * 0.04 + 2
    return f"{left - pad:g} {top - pad:g} {right - left + 2 * pad:g} {bottom - top + 2 * pad:g}"


def render_map(rows, *, title: str, label, zoom: bool = False) -> SafeString:
    """The SVG map: one focusable path per gemeente row, class `cov-<bucket>`.

    `rows` have code, name and bucket; `label(row)` gives the text of the hover/focus label
    (the path's <title> and aria-label). With `zoom`, the view is fitted to the rows.
    Built here rather than in a template: 342 paths render in about a millisecond.
    """
    geo = geometry()
    drawn = [row for row in rows if row.code in geo.shapes]
    box = view_box(geo, [row.code for row in drawn] if zoom else None)
    paths = []
    for row in drawn:
        text = escape(label(row))
        paths.append(
            f'<path d="{geo.shapes[row.code].path}" class="cov-{row.bucket}" tabindex="0" '
            f'role="img" aria-label="{text}" data-code="{row.code}"><title>{text}</title></path>'
        )
    return format_html(
        '<svg class="coverage-map" viewBox="{}" xmlns="http://www.w3.org/2000/svg" '
        'role="group" aria-label="{}" preserveAspectRatio="xMidYMid meet">{}</svg>',
        box,
        title,
        mark_safe("".join(paths)),  # noqa: S308 (path data is numbers; text is escaped above)
    )
