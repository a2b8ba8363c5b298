"""A resident's whole journey in headless Chromium: postcode → gesprek → sign up → e-mail
link → seat confirmed → cancel, after which the freed seat goes to the waiting list."""

import gzip
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from gesprekken import services
from gesprekken.models import Aanmelding
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_cache"),
]

PAGE_BUDGET = 150 * 1024


def transferred_bytes(responses) -> tuple[int, int]:
    """(bytes as served in production, bytes uncompressed) for the responses of one page.

    The test server sends everything uncompressed. In production WhiteNoise serves the
    static files pre-compressed (gzip, or smaller brotli) to every browser, while the
    HTML itself goes out as is (no GZipMiddleware). So: HTML raw, assets gzipped.
    """
    served = raw = 0
    for response in responses:
        body = response.body()
        raw += len(body)
        is_static = "/static/" in urlsplit(response.url).path
        served += len(gzip.compress(body, compresslevel=9)) if is_static else len(body)
    return served, raw


def test_a_resident_signs_up_confirms_by_mail_and_cancels(
    page, live_server, utrecht, traffic, screenshot
):
    wijk_c = utrecht.buurten[0]
    gesprek = GesprekFactory(buurt=wijk_c, place="Buurthuis De Pijl", max_participants=2)
    AanmeldingFactory(gesprek=gesprek)  # one seat taken, one free

    # 1. Home: the postcode.
    page.goto("/")
    page.locator("#id_postcode").fill("3511 AB")
    page.locator("form.postcode-form button[type=submit]").click()
    expect(page.locator("h1")).to_contain_text("3511 AB")

    # 2. The postcode page lists the gesprek in the buurt; open it and weigh the page.
    link = page.locator(f'main a[href^="{gesprek.get_absolute_url()}"]')
    expect(link).to_have_count(1)
    responses = []

    def collect(response):
        responses.append(response)

    page.on("response", collect)
    link.click()
    page.wait_for_load_state("load")
    page.remove_listener("response", collect)
    expect(page.locator("h1")).to_contain_text("Wijk C")
    expect(page.locator("main")).to_contain_text("Nog 1 plek vrij")
    expect(page.locator("main")).to_contain_text("Buurthuis De Pijl")
    served, raw = transferred_bytes(responses)
    assert served < PAGE_BUDGET, f"gesprek page: {served} bytes served ({raw} uncompressed)"

    # 3. Sign up: the postcode came along from the search.
    expect(page.locator("#id_postcode")).to_have_value("3511 AB")
    page.get_by_label("Je naam").fill("Zoë Ğül 李")
    page.get_by_label("Je e-mailadres").fill("zoe@example.org")
    page.get_by_label("Ik heb de privacyverklaring gelezen.").check()
    screenshot(page, "form")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Bijna klaar: kijk in je e-mail")
    assert Aanmelding.objects.get(email="zoe@example.org").status == "onbevestigd"

    # 4. The link from the e-mail: a button, because mail scanners open links too.
    (message,) = [m for m in mail.outbox if m.to == ["zoe@example.org"]]
    confirm_path = re.search(r"https?://[^/\s]+(/aanmelding/\d+/[\w-]+/bevestig/)", message.body)
    assert confirm_path, message.body
    page.goto(confirm_path.group(1))
    assert Aanmelding.objects.get(email="zoe@example.org").status == "onbevestigd"
    page.get_by_role("button", name="Bevestig mijn plek").click()

    # 5. The manage page: the seat is confirmed.
    expect(page.locator("main")).to_contain_text("Dank je! Je plek is bevestigd.")
    expect(page.locator("main")).to_contain_text("Je plek is bevestigd. Tot dan!")
    expect(page.get_by_role("link", name="Zet in mijn agenda (.ics)")).to_be_visible()
    assert Aanmelding.objects.get(email="zoe@example.org").status == "bevestigd"
    screenshot(page, "confirmed")

    # Meanwhile a neighbour finds the gesprek full and joins the waiting list.
    neighbour = services.sign_up(
        gesprek=gesprek, name="Bram", email="bram@example.org", postcode="3511 AC", language="nl"
    )
    assert neighbour.status == Aanmelding.Status.WACHTLIJST

    # 6. Cancel from the manage page, after a question.
    page.get_by_role("link", name="Annuleer mijn aanmelding").click()
    expect(page.locator("h1")).to_have_text("Wil je je aanmelding annuleren?")
    page.get_by_role("button", name="Ja, annuleer mijn aanmelding").click()
    expect(page.locator("main")).to_contain_text("Je aanmelding is geannuleerd.")
    screenshot(page, "cancelled")

    assert Aanmelding.objects.get(email="zoe@example.org").status == "geannuleerd"
    neighbour.refresh_from_db()
    assert neighbour.status == Aanmelding.Status.AANGEBODEN
    assert any(m.to == ["bram@example.org"] and "/plek/" in m.body for m in mail.outbox)

    # Nothing came from another host, nothing failed.
    own = urlsplit(live_server.url).netloc
    assert {urlsplit(url).netloc for url in traffic["requests"]} == {own}
    assert [(s, u) for s, u in traffic["responses"] if s >= 400] == []
