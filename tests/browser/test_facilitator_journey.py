"""A facilitator's journey in headless Chromium: plan a walk in a buurt of their gemeente,
find it in the workspace, and see a resident who signed up on the participant list.

The facilitator is logged in through the Django test client (the cast has a second
factor, so the staff decorators let them in) and the session cookie is handed to the
browser: logging in by form and TOTP is tested in tests/facilitators.
"""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from gesprekken import services
from gesprekken.models import Gesprek
from gesprekken.services import AMSTERDAM
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_cache"),
]


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )


def test_a_facilitator_plans_a_walk_and_sees_who_signs_up(
    page, live_server, cast, traffic, screenshot
):
    buurt = cast.buurten_a[1]
    day = (timezone.now().astimezone(AMSTERDAM) + timedelta(days=14)).date()
    log_in(page, live_server, cast.facilitator)

    # 1. Plan a walk: they serve one gemeente, so the form opens straight away.
    page.goto(reverse("werkruimte:plan"))
    expect(page.locator("h1")).to_be_visible()
    page.locator("#id_format_1").check()  # wandeling
    page.locator("#id_buurt").select_option(buurt.code)
    page.locator("#id_place").fill("Bij de molen aan de haven")
    page.locator("#id_route").fill("Langs de haven, terug over de dijk.\nBankjes onderweg.")
    page.locator("#id_date").fill(day.isoformat())
    page.locator("#id_start_time").fill("10:00")
    page.locator("#id_end_time").fill("11:30")
    page.locator("#id_max_participants").fill("8")
    page.locator("#id_co_facilitator").select_option(str(cast.co_facilitator.pk))
    screenshot(page, "plan")
    page.locator("button[name=action][value=publish]").click()

    # 2. The gesprek page: published, nobody yet.
    gesprek = Gesprek.objects.get()
    expect(page).to_have_url(f"{live_server.url}{reverse('werkruimte:gesprek', args=[gesprek.pk])}")
    expect(page.locator("h1")).to_contain_text(buurt.name)
    assert gesprek.status == Gesprek.Status.GEPLAND
    assert gesprek.format == Gesprek.Format.WANDELING
    assert gesprek.starts_at.astimezone(AMSTERDAM).strftime("%H:%M") == "10:00"
    assert gesprek.co_facilitator == cast.co_facilitator

    # 3. It is listed in the workspace.
    page.goto(reverse("werkruimte:home"))
    link = page.locator(f'main a[href="{reverse("werkruimte:gesprek", args=[gesprek.pk])}"]')
    expect(link).to_have_count(1)
    expect(link).to_contain_text(buurt.name)
    screenshot(page, "workspace")

    # 4. A resident signs up and confirms (their journey is its own test).
    aanmelding = services.sign_up(
        gesprek=gesprek,
        name="Fatima",
        email="fatima@example.org",
        phone="06 12345678",
        postcode="9101 AB",
        language="nl",
    )
    services.confirm(aanmelding=aanmelding)

    # 5. The participant list shows her, with her check-in code.
    link.click()
    table = page.locator("table.participants")
    expect(table).to_contain_text("Fatima")
    expect(table).to_contain_text("fatima@example.org")
    expect(table).to_contain_text(aanmelding.short_code)
    screenshot(page, "participants")
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone in the street
    expect(table).to_contain_text("Fatima")
    screenshot(page, "participants-phone")
    page.set_viewport_size({"width": 1280, "height": 720})

    # 6. The list for the day: no navigation, her name and code.
    page.goto(reverse("werkruimte:day_list", args=[gesprek.pk]))
    expect(page.locator("table")).to_contain_text("Fatima")
    expect(page.locator("header")).to_have_count(0)
    page.emulate_media(media="print")
    expect(page.locator(".no-print")).to_be_hidden()
    screenshot(page, "day-list-print")

    # Nothing came from another host, nothing failed.
    own = urlsplit(live_server.url).netloc
    assert {urlsplit(url).netloc for url in traffic["requests"]} == {own}
    assert [(s, u) for s, u in traffic["responses"] if s >= 400] == []
