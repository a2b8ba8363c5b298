"""The server-side map: projection, one path per gemeente, and its cache."""

import math

import pytest
from django.urls import reverse

from dekking import geo
from gemeenten.models import Gemeente, Import
from tests.dekking.conftest import polygon
from tests.dekking.pages import CoveragePage, classes, page
from tests.gemeenten.factories import GemeenteFactory


def numbers(path: str) -> list[tuple[float, float]]:
    """The points of a one-ring path "Mx y x y …Z"."""
    values = [float(v) for v in path.strip("MZ").split()]
    return list(zip(values[::2], values[1::2], strict=True))


def test_a_square_degree_is_narrower_than_high_at_dutch_latitudes():
    projected = geo.project({"GM0001": polygon(5.0, 52.0, 1.0)})

    left, top, right, bottom = projected.shapes["GM0001"].box
    assert (right - left) / (bottom - top) == pytest.approx(math.cos(math.radians(52.2)), 0.01)
    assert right - left == pytest.approx(geo.WIDTH - 2 * geo.MARGIN)


def test_north_is_up_and_east_is_right():
    projected = geo.project({"GM0001": polygon(5.0, 52.0), "GM0002": polygon(5.1, 52.1)})

    south_west = projected.shapes["GM0001"].box
    north_east = projected.shapes["GM0002"].box
    assert north_east[0] > south_west[0]
    assert north_east[1] < south_west[1]


def test_every_ring_becomes_a_closed_subpath_without_repeated_points():
    projected = geo.project(
        {
            "GM0001": {
                "type": "MultiPolygon",
                "coordinates": [
                    [[[5.0, 52.0], [5.1, 52.0], [5.1, 52.1], [5.0, 52.1], [5.0, 52.0]]],
                    [[[5.3, 52.3], [5.30001, 52.3], [5.4, 52.3], [5.4, 52.4], [5.3, 52.3]]],
                ],
            }
        }
    )

    path = projected.shapes["GM0001"].path
    assert path.count("M") == 2
    assert path.count("Z") == 2
    # The second island's almost-equal points round to one.
    second = numbers("M" + path.split("M")[2])
    assert len(second) == 4


def test_a_gemeente_without_a_boundary_is_left_off_the_map_but_not_the_table(client, world):
    Gemeente.objects.filter(code="GM0005").update(boundary=None)

    found = page(client.get(reverse("dekking:public")))

    assert "GM0005" not in classes(found)
    assert found.rows["GM0005"][0] == "Eemdal"


def test_the_map_is_projected_once_and_again_after_an_import(client, world):
    url = reverse("dekking:public")
    before = page(client.get(url)).paths["GM0001"]["d"]

    # Changed without an import (as no code path does): the cached shapes stay.
    Gemeente.objects.filter(code="GM0001").update(boundary=polygon(5.0, 52.0, 0.05))
    assert page(client.get(url)).paths["GM0001"]["d"] == before

    # An import records itself: every process projects the boundaries again.
    Import.objects.create(source="test")
    after = page(client.get(url)).paths["GM0001"]["d"]
    assert after != before


def test_a_new_gemeente_appears_after_the_import_that_brought_it(client, world):
    url = reverse("dekking:public")
    client.get(url)
    GemeenteFactory(
        code="GM0006", name="Fort", provincie=world.utrecht, boundary=polygon(5.2, 52.0)
    )
    Import.objects.create(source="test")

    assert classes(page(client.get(url)))["GM0006"] == "cov-none"


def test_the_province_filter_zooms_in(client, world):
    client.force_login(world.national)

    whole = client.get(reverse("dekking:national")).content.decode()
    zoomed = client.get(reverse("dekking:national"), {"provincie": "PV27"}).content.decode()

    assert 'class="coverage-map" viewBox="0 0 1000 ' in whole
    assert 'class="coverage-map" viewBox="0 0 1000 ' not in zoomed
    assert set(page_codes(zoomed)) == {"GM0003", "GM0005"}


def page_codes(html: str) -> list[str]:
    return list(CoveragePage(html).paths)


def test_the_title_and_label_are_escaped(db):
    GemeenteFactory(code="GM0001", boundary=polygon(5.0, 52.0))
    rows = [
        type("Row", (), {"code": "GM0001", "name": "<b>", "bucket": "none"})(),
    ]
    geo.clear_cache()
    html = str(geo.render_map(rows, title="Kaart", label=lambda row: f"{row.name} & co"))

    assert "&lt;b&gt; &amp; co" in html
    assert "<b>" not in html
