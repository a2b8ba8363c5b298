"""A mixed table in headless Chromium: a resident signs up with a sector and their answer to
the theme's statement, is placed as a reserve because their side is full, and is offered the
seat when someone from the other side joins (the worked example of gesprekken.balance).

The page is read in English (the language cookie), so the sentences asserted here do not
depend on the Dutch catalogue.
"""

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import expect

from gesprekken import services
from gesprekken.models import (
    Aanmelding,
    Gespreksafspraak,
    Sector,
    Standpunt,
    Stelling,
    Thema,
)
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("empty_cache"),
]

STATEMENT = "The neighbourhood needs more benches."
AGREEMENT = "We let each other finish."


def seated(gesprek, side: str) -> Aanmelding:
    aanmelding = AanmeldingFactory(gesprek=gesprek)
    Standpunt.objects.create(
        aanmelding=aanmelding, answers={}, side=side, consent_at=aanmelding.consent_at
    )
    return aanmelding


def mails_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def test_a_reserve_gets_the_seat_when_someone_from_the_other_side_joins(
    page, live_server, utrecht, traffic, screenshot
):
    # Whether the migration's starting lists are still there depends on the transactional
    # tests that ran before: the test brings an agreement and a sector of its own.
    Gespreksafspraak.objects.create(text="We laten elkaar uitpraten.", text_en=AGREEMENT)
    Sector.objects.create(text="Buurtwinkel", text_en="Corner shop", order=1)
    thema = Thema.objects.create(name="Samen in de straat")
    stelling = Stelling.objects.create(
        thema=thema, text="Er moeten bankjes bij.", text_en=STATEMENT
    )
    gesprek = GesprekFactory(
        buurt=utrecht.buurten[0],
        thema=thema,
        place="Buurthuis De Pijl",
        balance=True,
        balance_max_share=60,
        min_participants=4,
        max_participants=10,
    )
    # Two who agree and one who disagrees hold seats: a third "agree" would be 3 of 4.
    for side in ["eens", "eens", "oneens"]:
        seated(gesprek, side)
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}]
    )

    # 1. The gesprek page: the agreements, and the optional section, closed.
    page.goto(gesprek.get_absolute_url())
    expect(page.locator("main")).to_contain_text(AGREEMENT)
    section = page.locator("details.mixed-table")
    expect(section).not_to_have_attribute("open", "")
    expect(page.get_by_text(STATEMENT)).to_be_hidden()

    # 2. Sign up, with a sector and "agree", and the separate consent for the answer.
    page.get_by_label("Your name").fill("Zoë")
    page.get_by_label("Your e-mail address").fill("zoe@example.org")
    page.get_by_label("Your postcode").fill("3511 AB")
    section.locator("summary").click()
    expect(page.get_by_text(STATEMENT)).to_be_visible()
    page.get_by_label("The sector you work or live in").select_option(label="Corner shop")
    page.locator(f"#id_stelling_{stelling.pk}").get_by_label("Agree", exact=True).check()
    page.get_by_label("Yes, you may use my answers").check()
    page.get_by_label("I accept the conversation agreements above.").check()
    screenshot(page, "form")
    page.locator("main form button[type=submit]").click()

    # 3. A reserve, told plainly why.
    expect(page.locator("h1")).to_have_text("Almost done: check your e-mail")
    expect(page.locator("main")).to_contain_text("You are a reserve for this conversation.")
    expect(page.locator("main")).to_contain_text("we want a mixed table")
    screenshot(page, "reserve")
    zoe = Aanmelding.objects.get(email="zoe@example.org")
    assert zoe.status == Aanmelding.Status.RESERVE
    assert zoe.sector.text == "Buurtwinkel"
    assert zoe.agreements_accepted_at is not None
    assert Standpunt.objects.get(aanmelding=zoe).side == Standpunt.Side.EENS
    (reserve_mail,) = mails_to("zoe@example.org")
    assert "reserve" in reserve_mail.body.lower()
    manage = re.search(r"https?://[^/\s]+(/aanmelding/\d+/[\w-]+/)\s", reserve_mail.body)
    assert manage, reserve_mail.body

    # 4. Someone who disagrees joins: 2 agree, 2 disagree; now Zoë makes 3 of 5 ≤ 3.
    other = services.sign_up(
        gesprek=gesprek,
        name="Bram",
        email="bram@example.org",
        postcode="3511 AC",
        language="en",
        stance={stelling.pk: "oneens"},
        stance_consent=True,
        agreements_accepted=True,
    )
    assert other.status == Aanmelding.Status.ONBEVESTIGD
    zoe.refresh_from_db()
    assert zoe.status == Aanmelding.Status.AANGEBODEN
    offers = [m for m in mails_to("zoe@example.org") if "/plek/" in m.body]
    assert len(offers) == 1, [m.subject for m in mails_to("zoe@example.org")]

    # 5. Zoë's personal page shows the offer; she claims the seat.
    page.goto(manage.group(1))
    expect(page.locator("main")).to_contain_text("a seat has become free for you")
    page.get_by_role("button", name="Claim my seat").click()
    expect(page.locator("main")).to_contain_text("Your seat is confirmed.")
    screenshot(page, "claimed")
    zoe.refresh_from_db()
    assert zoe.status == Aanmelding.Status.BEVESTIGD
    # Her answer was never shown back to her or anyone on these pages.
    expect(page.locator("main")).not_to_contain_text(STATEMENT)

    own = urlsplit(live_server.url).netloc
    assert {urlsplit(url).netloc for url in traffic["requests"]} == {own}
    assert [(s, u) for s, u in traffic["responses"] if s >= 400] == []
