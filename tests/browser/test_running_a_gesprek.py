"""Running a gesprek in headless Chromium, on a phone-sized screen: download the flyer and
read its QR code, check people in by name and by code, then write the report.

The facilitator is logged in through the Django test client and the session cookie is
handed to the browser (logging in by form and TOTP is tested in tests/facilitators).
"""

import io

import pytest
import zxingcpp
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect
from pypdf import PdfReader

from gesprekken.models import Aanmelding, Gesprek, Verslag
from tests.gesprekken.factories import AanmeldingFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401
from tests.gesprekken.staff.running_helpers import ON_THE_DAY, STARTS_AT, gesprek_led_by

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_cache"),
]

PHONE = {"width": 390, "height": 844}
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def assert_accessible(page) -> None:
    """No WCAG 2.1 A or AA violation that axe-core can find on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    # After a click the next page may still be loading its stylesheet: axe then measures
    # the browser's default link colour (seen once under a full `make test`).
    page.wait_for_load_state("load")
    results = Axe().run(page, options=WCAG_21_AA)
    assert results.violations_count == 0, results.generate_report()


@pytest.fixture
def phone(chromium, live_server, cast):
    """A phone-sized page, logged in as the facilitator, the site in English."""
    client = Client()
    client.force_login(cast.facilitator)
    context = chromium.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-GB", accept_downloads=True
    )
    context.set_default_timeout(10_000)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )
    page = context.new_page()
    yield page
    context.close()


def test_a_facilitator_prints_the_flyer_checks_people_in_and_writes_the_report(
    phone, live_server, cast, time_machine, screenshot
):
    time_machine.move_to(ON_THE_DAY, tick=True)
    gesprek = gesprek_led_by(cast.facilitator, cast.buurt_a)
    anna = AanmeldingFactory(gesprek=gesprek, name="Anna de Vries")
    bram = AanmeldingFactory(gesprek=gesprek, name="Bram Jansen", short_code="K7M2QX")
    AanmeldingFactory(gesprek=gesprek, name="Carla Pietersen")

    # The flyer, from the gesprek's page: its QR code leads to the sign-up page.
    phone.goto(reverse("werkruimte:gesprek", args=[gesprek.pk]))
    with phone.expect_download() as download:
        phone.get_by_role("link", name="Flyer A5 (PDF)").click()
    pdf = PdfReader(io.BytesIO(download.value.path().read_bytes()))
    [image] = pdf.pages[0].images
    [qr] = zxingcpp.read_barcodes(image.image)
    assert qr.text == f"{settings.SITE_URL}/gesprek/{gesprek.pk}/"

    # Check-in by name: one tap on "Present" next to Anna.
    phone.get_by_role("link", name="Check-in").click()
    assert_accessible(phone)
    phone.get_by_role("button", name="Present: Anna de Vries").click()
    assert phone.get_by_role("status").inner_text().strip() == "Anna de Vries is checked in."
    # A wrong code says so (and the error summary gets the focus).
    phone.get_by_label("Check-in code").fill("ZZZZZZ")
    phone.get_by_role("button", name="Check in", exact=True).click()
    expect(phone.locator("#error-summary")).to_be_focused()
    assert_accessible(phone)
    # And by the code from Bram's confirmation e-mail, typed in lower case.
    phone.get_by_label("Check-in code").fill("k7m2qx")
    phone.get_by_role("button", name="Check in", exact=True).click()
    assert "Bram Jansen is checked in." in phone.get_by_role("status").inner_text()
    assert "2 people present" in phone.locator("main").inner_text()
    screenshot(phone, "check-in")
    statuses = dict(gesprek.aanmeldingen.values_list("pk", "status"))
    assert statuses[anna.pk] == statuses[bram.pk] == Aanmelding.Status.AANWEZIG

    # The report after the gesprek: attendance comes from the check-in.
    time_machine.move_to(STARTS_AT + (STARTS_AT - ON_THE_DAY) * 4, tick=True)
    phone.get_by_role("link", name="Write the report").click()
    attendance = phone.get_by_label("How many people came?")
    assert attendance.input_value() == "2"
    attendance.fill("3")
    outcome = phone.get_by_label("What did the neighbours come up with?")
    # A phone number in the text: the report asks for a check first.
    outcome.fill("A clean-up day in spring. Call Fatima on 06-12345678.")
    phone.get_by_role("button", name="Save the report").click()
    assert "Is there personal data in the report?" in phone.locator("#error-summary").inner_text()
    assert_accessible(phone)
    assert not Verslag.objects.exists()
    outcome.fill("A clean-up day in spring, and a bench by the playground.")
    phone.get_by_role("button", name="Save the report").click()

    assert "Thank you! The report is saved." in phone.get_by_role("status").inner_text()
    assert phone.url == live_server.url + reverse("werkruimte:gesprek", args=[gesprek.pk])
    verslag = Verslag.objects.get(gesprek=gesprek)
    assert verslag.attendance == 3
    assert Gesprek.objects.get(pk=gesprek.pk).status == Gesprek.Status.GEHOUDEN


def test_the_calendar_link_page_is_accessible_and_revokes(phone, cast):
    old_token = cast.facilitator.facilitator.calendar_token
    phone.goto(reverse("uitvoering:calendar"))
    assert old_token in phone.get_by_label("Your personal link").input_value()
    assert_accessible(phone)

    phone.get_by_role("button", name="Revoke and make a new link").click()

    cast.facilitator.facilitator.refresh_from_db()
    new_token = cast.facilitator.facilitator.calendar_token
    assert new_token != old_token
    assert new_token in phone.get_by_label("Your personal link").input_value()
