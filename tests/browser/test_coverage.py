"""The coverage pages (dekking) in headless Chromium: the public map, the dashboards.

A dozen gemeenten with irregular, real-looking polygons over the Netherlands, in every
colour of the map. Time is not frozen here: the browser's cookies live in real time.
"""

import math
import random
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from gesprekken.models import Aanmelding, Gesprek
from tests.facilitators.factories import RolFactory, UserFactory
from tests.gemeenten.factories import (
    BuurtFactory,
    GemeenteFactory,
    ProvincieFactory,
    WijkFactory,
)
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GEMEENTEN = 12


def blob(rng: random.Random, lon: float, lat: float) -> dict:
    """An irregular 14-point polygon about 15 km across, like a simplified gemeente."""
    ring = []
    for step in range(14):
        angle = 2 * math.pi * step / 14
        radius = 0.09 * rng.uniform(0.7, 1.15)
        ring.append(
            [
                round(lon + radius * math.cos(angle) / 0.61, 3),
                round(lat + radius * math.sin(angle), 3),
            ]
        )
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def country(db):
    rng = random.Random(5)
    provincie = ProvincieFactory(code="PV26", name="Utrecht")
    now = timezone.now()
    gemeenten = []
    for number in range(GEMEENTEN):
        lon, lat = 4.3 + (number % 4) * 0.8, 51.6 + (number // 4) * 0.6
        gemeente = GemeenteFactory(
            code=f"GM{100 + number:04d}",
            name=f"Gemeente {chr(65 + number)}",
            provincie=provincie,
            boundary=blob(rng, lon, lat),
        )
        buurt = BuurtFactory(wijk=WijkFactory(gemeente=gemeente))
        gemeenten.append(gemeente)
        # A third held, a third planned, a third nothing.
        if number % 3 == 0:
            gesprek = GesprekFactory(
                buurt=buurt,
                starts_at=now - timedelta(days=number + 2),
                status=Gesprek.Status.GEHOUDEN,
            )
            for _ in range(6):
                AanmeldingFactory(gesprek=gesprek, status=Aanmelding.Status.AANWEZIG)
        elif number % 3 == 1:
            GesprekFactory(buurt=buurt, starts_at=now + timedelta(days=number + 2))
    national = UserFactory(username="landelijk", totp=True)
    RolFactory(user=national, landelijk=True)
    return gemeenten, national


def log_in(browser_page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    browser_page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def assert_only_own_host(traffic, live_server):
    own = urlsplit(live_server.url).netloc
    assert {urlsplit(url).netloc for url in traffic["requests"]} == {own}
    assert [(status, url) for status, url in traffic["responses"] if status >= 400] == []


def collect_errors(message, errors: list) -> None:
    # The browser asks for /favicon.ico by itself; the site has none (not this page's doing).
    if message.type == "error" and "favicon" not in message.location.get("url", ""):
        errors.append(message.text)


def assert_accessible(browser_page) -> None:
    """axe-core's WCAG 2.1 A/AA rules find nothing."""
    results = Axe().run(
        browser_page,
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}
        },
    )
    assert results.violations_count == 0, results.generate_snapshot()


def check_the_map(browser_page, gemeenten):
    shapes = browser_page.locator("svg.coverage-map path")
    expect(shapes).to_have_count(len(gemeenten))
    expect(browser_page.locator("svg.coverage-map path.cov-held-wide")).to_have_count(4)
    expect(browser_page.locator("svg.coverage-map path.cov-planned")).to_have_count(4)
    expect(browser_page.locator("svg.coverage-map path.cov-none")).to_have_count(4)
    label = browser_page.locator("#map-label")

    # Hovering a shape shows its numbers next to the map (and its <title> as tooltip).
    first = browser_page.locator('svg.coverage-map path[data-code="GM0100"]')
    first.hover()
    expect(label).to_contain_text("Gemeente A")
    expect(first.locator("title")).to_contain_text("Gemeente A")

    # So does keyboard focus: tab from one shape to the next.
    first.focus()
    browser_page.keyboard.press("Tab")
    second = browser_page.locator('svg.coverage-map path[data-code="GM0101"]')
    expect(second).to_be_focused()
    expect(label).to_contain_text("Gemeente B")
    expect(label).to_have_text(second.get_attribute("aria-label"))


def test_the_public_map_is_drawn_labelled_and_served_from_here(
    page,
    live_server,
    country,
    traffic,
    screenshot,
):
    gemeenten, _national = country
    errors = []
    page.on("console", lambda message: collect_errors(message, errors))

    page.goto("/dekking/publiek/")

    check_the_map(page, gemeenten)
    # The table under the map has the same gemeenten.
    expect(page.locator("#gemeenten-table tbody tr")).to_have_count(len(gemeenten))
    screenshot(page, "public")
    page.locator("#gemeenten-table summary").click()  # the table is checked open too
    assert_accessible(page)
    assert_only_own_host(traffic, live_server)
    assert any(url.endswith("/dekking/dekking.css") for url in traffic["requests"])
    assert any(url.endswith("/dekking/map.js") for url in traffic["requests"])
    # No CSP violations (inline styles or scripts) and no script errors.
    assert errors == []


def test_the_national_dashboard_shows_map_and_trend(
    page,
    live_server,
    country,
    traffic,
    screenshot,
):
    gemeenten, national = country
    errors = []
    page.on("console", lambda message: collect_errors(message, errors))
    log_in(page, live_server, national)

    page.goto("/dekking/")

    expect(page.locator(".tiles .tile")).to_have_count(6)
    check_the_map(page, gemeenten)
    expect(page.locator("svg.trend-chart")).to_be_visible()
    expect(page.locator("svg.trend-chart rect.chart-held")).to_have_count(26)
    screenshot(page)
    assert_accessible(page)

    # The filters work without JavaScript too: a plain GET form.
    page.locator("#id_vorm").select_option("wandeling")
    page.locator("form.coverage-filters button[type=submit]").click()
    expect(page).to_have_url(
        f"{live_server.url}/dekking/?start=&end=&provincie=&thema=&vorm=wandeling"
    )
    expect(page.locator("svg.coverage-map path.cov-held-wide")).to_have_count(0)
    assert_only_own_host(traffic, live_server)
    assert errors == []


def test_the_municipal_dashboard_is_accessible(page, live_server, country, traffic, screenshot):
    gemeenten, _national = country
    coordinator = UserFactory(username="coordinator", totp=True)
    RolFactory(user=coordinator, gemeente=gemeenten[0])
    log_in(page, live_server, coordinator)

    page.goto(f"/dekking/gemeente/{gemeenten[0].code}/")

    expect(page.locator(".tiles .tile")).to_have_count(7)
    expect(page.locator("table.buurten-table tbody tr[data-code]")).to_have_count(1)
    screenshot(page)
    assert_accessible(page)
    assert_only_own_host(traffic, live_server)
