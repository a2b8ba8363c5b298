"""Journeys through the public pages in headless Chromium."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_only_own_host(traffic, live_server):
    own = urlsplit(live_server.url).netloc
    assert traffic["requests"], "the browser requested nothing"
    assert {urlsplit(url).netloc for url in traffic["requests"]} == {own}
    failed = [(status, url) for status, url in traffic["responses"] if status >= 400]
    assert failed == []


def test_a_resident_finds_their_gemeente_by_postcode_and_sees_its_wijken(
    page, live_server, utrecht, traffic, screenshot
):
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "nl")

    page.locator("#id_postcode").fill("3511 AB")
    page.locator("form.postcode-form button[type=submit]").click()

    expect(page).to_have_url(re.compile(r"/postcode/\?postcode=3511\+AB$"))
    expect(page.locator("h1")).to_contain_text("3511 AB")
    expect(page.locator("h1")).to_contain_text("Utrecht")
    expect(page.get_by_role("link", name="Wijk C")).to_be_visible()
    expect(page.get_by_role("link", name="Oog in Al")).to_have_count(0)
    screenshot(page, "postcode")

    page.locator(f'main a[href="{utrecht.gemeente.get_absolute_url()}"]').click()

    expect(page).to_have_url(f"{live_server.url}{utrecht.gemeente.get_absolute_url()}")
    expect(page.locator("h1")).to_have_text("Utrecht")
    wijken = page.locator("main section h3")
    expect(wijken).to_have_text(["Wijk 01 West", "Wijk 06 Binnenstad"])
    binnenstad = page.locator("section#WK034406")
    expect(binnenstad.get_by_role("link")).to_have_text(["Hooch Boulandt", "Wijk C"])
    screenshot(page)

    assert_only_own_host(traffic, live_server)
    # The page is styled by the platform's own stylesheets.
    assert any(url.endswith("/css/site.css") for url in traffic["requests"])
    assert any(url.endswith("/bootstrap.min.css") for url in traffic["requests"])


def test_a_malformed_postcode_is_explained_next_to_the_field(page, live_server, utrecht, traffic):
    page.goto("/")
    page.locator("#id_postcode").fill("351")
    page.locator("form.postcode-form button[type=submit]").click()

    field = page.locator("#id_postcode")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_postcode_error")).to_have_text(
        "Een postcode heeft 4 cijfers en 2 letters, bijvoorbeeld 3511 AB."
    )
    expect(field).to_have_value("351")
    assert (400, f"{live_server.url}/postcode/?postcode=351") in traffic["responses"]


def test_the_language_button_switches_the_page_to_english_and_back(
    page, live_server, utrecht, traffic, screenshot
):
    gemeente_url = utrecht.gemeente.get_absolute_url()
    page.goto(gemeente_url)
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", name="Wijken en buurten")).to_be_visible()

    page.get_by_role("button", name="English").click()

    # Back on the same page, now in English.
    expect(page).to_have_url(f"{live_server.url}{gemeente_url}")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Districts and neighbourhoods")).to_be_visible()
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Talk with your neighbours")
    expect(page.get_by_label("Your postcode")).to_be_visible()
    screenshot(page, "english")

    page.get_by_role("button", name="Nederlands").click()

    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.locator("h1")).to_have_text("Praat met je buren")
    assert_only_own_host(traffic, live_server)


def test_the_skip_link_is_the_first_tab_stop_and_jumps_to_the_content(page, live_server, db):
    page.goto("/")

    page.keyboard.press("Tab")

    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    expect(skip).to_have_text("Naar de inhoud")

    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/#main")
    expect(page.locator("main#main")).to_be_focused()
