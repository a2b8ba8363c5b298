"""The personal manage page behind a secret link, and the links from the e-mails."""

import re
from datetime import timedelta

import icalendar
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gesprekken.models import Aanmelding, Bericht, Gesprek, Interesse
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory
from tests.gesprekken.pages import Elements, cache_table, empty_cache  # noqa: F401

pytestmark = pytest.mark.usefixtures("empty_cache")

Status = Aanmelding.Status
VIDEO_URL = "https://video.example.org/geheime-kamer-123"


@pytest.fixture
def gesprek(utrecht):
    return GesprekFactory(buurt=utrecht.buurten[0], max_participants=2)


def url(name: str, aanmelding: Aanmelding, token: str | None = None) -> str:
    return reverse(f"gesprekken:{name}", args=[aanmelding.pk, token or aanmelding.token])


# --- Access: the token is the key ---------------------------------------------------------------

TOKEN_PAGES = ["manage", "confirm", "claim", "cancel", "ics"]


@pytest.mark.parametrize("name", TOKEN_PAGES)
def test_a_wrong_token_is_not_found(client, gesprek, name):
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    assert client.get(url(name, aanmelding, token="x" * 43)).status_code == 404
    assert client.get(url(name, aanmelding, token=aanmelding.token[:-1])).status_code == 404


@pytest.mark.parametrize("name", TOKEN_PAGES)
def test_the_token_of_another_registration_is_not_found(client, gesprek, name):
    mine, theirs = AanmeldingFactory.create_batch(2, gesprek=gesprek)

    assert client.get(url(name, mine, token=theirs.token)).status_code == 404


@pytest.mark.parametrize("name", ["confirm", "claim", "cancel", "language"])
def test_a_wrong_token_cannot_change_anything(client, gesprek, name):
    aanmelding = AanmeldingFactory(gesprek=gesprek, status=Status.ONBEVESTIGD)

    response = client.post(url(name, aanmelding, token="x" * 43), {"language": "en"})

    assert response.status_code == 404
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.ONBEVESTIGD
    assert aanmelding.language == "nl"


def test_manage_pages_are_not_cached_or_indexed(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    response = client.get(url("manage", aanmelding))

    assert "no-store" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex">' in response.text


# --- What the page shows ---------------------------------------------------------------------


def test_manage_page_shows_the_gesprek_and_the_residents_details(client, gesprek):
    aanmelding = AanmeldingFactory(
        gesprek=gesprek, name="Zoë Ğül 李", phone="06 12345678", email="zoe@example.org"
    )

    response = client.get(url("manage", aanmelding))

    assert response.status_code == 200
    for text in [
        "Je aanmelding, Zoë Ğül 李",
        "Je plek is bevestigd. Tot dan!",
        "zoe@example.org",
        "06 12345678",
        gesprek.buurt.name,
        "Zet in mijn agenda (.ics)",
    ]:
        assert text in response.text
    assert f'href="{url("ics", aanmelding)}"' in response.text
    assert f'href="{url("cancel", aanmelding)}"' in response.text


def test_the_waiting_list_position_is_shown(client, gesprek):
    AanmeldingFactory.create_batch(2, gesprek=gesprek)
    now = timezone.now()
    first = AanmeldingFactory(
        gesprek=gesprek, status=Status.WACHTLIJST, created_at=now - timedelta(minutes=2)
    )
    second = AanmeldingFactory(
        gesprek=gesprek, status=Status.WACHTLIJST, created_at=now - timedelta(minutes=1)
    )
    AanmeldingFactory(
        gesprek=gesprek, status=Status.GEANNULEERD, created_at=now - timedelta(hours=1)
    )

    assert "Je bent nummer 1 op de wachtlijst" in client.get(url("manage", first)).text
    assert "Je bent nummer 2 op de wachtlijst" in client.get(url("manage", second)).text
    english = client.get(url("manage", second), HTTP_ACCEPT_LANGUAGE="en")
    assert "You are number 2 on the waiting list" in english.text


def test_the_video_link_shows_only_for_a_confirmed_seat(client, gesprek):
    Gesprek.objects.filter(pk=gesprek.pk).update(
        format=Gesprek.Format.ONLINE, video_url=VIDEO_URL, max_participants=10
    )
    confirmed = AanmeldingFactory(gesprek=gesprek, status=Status.BEVESTIGD)
    others = [
        AanmeldingFactory(gesprek=gesprek, status=status)
        for status in [Status.ONBEVESTIGD, Status.WACHTLIJST, Status.AANGEBODEN, Status.GEANNULEERD]
    ]

    assert VIDEO_URL in client.get(url("manage", confirmed)).text
    for aanmelding in others:
        assert "video.example.org" not in client.get(url("manage", aanmelding)).text
    Gesprek.objects.filter(pk=gesprek.pk).update(status=Gesprek.Status.AFGELAST)
    assert "video.example.org" not in client.get(url("manage", confirmed)).text


# --- Confirming: GET shows a button (mail scanners prefetch), POST confirms -----------------------


def test_opening_the_confirm_link_does_not_confirm(client, gesprek):
    aanmelding = AanmeldingFactory(
        gesprek=gesprek,
        status=Status.ONBEVESTIGD,
        hold_expires_at=timezone.now() + timedelta(hours=1),
    )

    response = client.get(url("confirm", aanmelding))

    assert response.status_code == 200
    assert "Bevestig mijn plek" in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.ONBEVESTIGD
    assert not Bericht.objects.exists()


def test_pressing_the_button_confirms_the_seat(client, gesprek):
    aanmelding = AanmeldingFactory(
        gesprek=gesprek,
        status=Status.ONBEVESTIGD,
        hold_expires_at=timezone.now() + timedelta(hours=1),
    )

    response = client.post(url("confirm", aanmelding), follow=True)

    assert response.redirect_chain == [(url("manage", aanmelding), 302)]
    assert "Dank je! Je plek is bevestigd." in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.BEVESTIGD
    assert Bericht.objects.get().kind == "bevestigd"


def test_confirming_twice_is_harmless(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek, status=Status.ONBEVESTIGD)
    aanmelding.hold_expires_at = timezone.now() + timedelta(hours=1)
    aanmelding.save()

    client.post(url("confirm", aanmelding))
    response = client.post(url("confirm", aanmelding))

    assert response.status_code == 302
    assert Bericht.objects.filter(kind="bevestigd").count() == 1
    # The link again, once confirmed, leads to the manage page.
    assert client.get(url("confirm", aanmelding)).url == url("manage", aanmelding)


def test_a_hold_that_ran_out_can_still_be_confirmed_when_a_seat_is_free(client, gesprek):
    aanmelding = AanmeldingFactory(
        gesprek=gesprek, status=Status.VERLOPEN, hold_expires_at=timezone.now() - timedelta(hours=1)
    )

    assert "Bevestig mijn plek" in client.get(url("manage", aanmelding)).text
    assert client.get(url("confirm", aanmelding)).status_code == 200

    response = client.post(url("confirm", aanmelding), follow=True)

    assert "Dank je! Je plek is bevestigd." in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.BEVESTIGD


def test_a_hold_that_ran_out_goes_to_the_waiting_list_when_full(client, gesprek):
    AanmeldingFactory.create_batch(2, gesprek=gesprek)
    aanmelding = AanmeldingFactory(
        gesprek=gesprek, status=Status.VERLOPEN, hold_expires_at=timezone.now() - timedelta(hours=1)
    )

    response = client.post(url("confirm", aanmelding), follow=True)

    assert "Je e-mailadres is bevestigd. Het gesprek is vol: je staat op de wachtlijst." in (
        response.text
    )
    assert "Je bent nummer 1 op de wachtlijst" in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.WACHTLIJST


def test_confirming_a_cancelled_registration_says_why(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek, status=Status.GEANNULEERD)

    response = client.post(url("confirm", aanmelding), follow=True)

    assert "Je hebt je aanmelding geannuleerd." in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.GEANNULEERD


# --- Cancelling: the freed seat goes to the waiting list ---------------------------------------


def test_opening_the_cancel_link_asks_first(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    response = client.get(url("cancel", aanmelding))

    assert response.status_code == 200
    assert "Ja, annuleer mijn aanmelding" in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.BEVESTIGD


def test_cancelling_frees_the_seat_for_the_first_on_the_waiting_list(client, gesprek):
    mine, _other = AanmeldingFactory.create_batch(2, gesprek=gesprek)
    waiting = AanmeldingFactory(gesprek=gesprek, status=Status.WACHTLIJST)

    response = client.post(url("cancel", mine), follow=True)

    assert "Je aanmelding is geannuleerd." in response.text
    assert "Je hebt je aanmelding geannuleerd." in response.text
    mine.refresh_from_db()
    waiting.refresh_from_db()
    assert mine.status == Status.GEANNULEERD
    assert waiting.status == Status.AANGEBODEN
    assert Bericht.objects.get().kind == "plek_aangeboden"
    # Nothing left to cancel.
    assert f'href="{url("cancel", mine)}"' not in response.text


def test_a_started_gesprek_cannot_be_cancelled_and_says_so(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)
    Gesprek.objects.filter(pk=gesprek.pk).update(starts_at=timezone.now() - timedelta(minutes=5))

    response = client.post(url("cancel", aanmelding), follow=True)

    assert response.status_code == 200
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.BEVESTIGD


# --- Claiming an offered seat ----------------------------------------------------------------


def test_an_offered_seat_is_claimed_with_the_button(client, gesprek):
    aanmelding = AanmeldingFactory(
        gesprek=gesprek,
        status=Status.AANGEBODEN,
        offer_expires_at=timezone.now() + timedelta(hours=5),
    )

    page = client.get(url("manage", aanmelding))
    assert "Goed nieuws: er is een plek vrij voor jou." in page.text
    assert client.get(url("claim", aanmelding)).status_code == 200
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.AANGEBODEN

    response = client.post(url("claim", aanmelding), follow=True)

    assert "Dank je! Je plek is bevestigd." in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.BEVESTIGD


def test_an_expired_offer_says_so(client, gesprek):
    aanmelding = AanmeldingFactory(
        gesprek=gesprek,
        status=Status.AANGEBODEN,
        offer_expires_at=timezone.now() - timedelta(minutes=1),
    )

    response = client.post(url("claim", aanmelding), follow=True)

    assert response.status_code == 200
    assert "alert-danger" in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.VERLOPEN


# --- Calendar and language ---------------------------------------------------------------------


def test_a_confirmed_seat_downloads_a_calendar_entry(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    response = client.get(url("ics", aanmelding))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    (event,) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["UID"]) == f"{gesprek.uid}@buurtgesprek"
    # The personal link never goes into a calendar.
    assert aanmelding.token not in response.content.decode()


@pytest.mark.parametrize("status", [Status.ONBEVESTIGD, Status.WACHTLIJST, Status.GEANNULEERD])
def test_no_calendar_entry_without_a_confirmed_seat(client, gesprek, status):
    aanmelding = AanmeldingFactory(gesprek=gesprek, status=status)

    assert client.get(url("ics", aanmelding)).status_code == 404


def test_changing_the_language_changes_the_mails_and_the_page(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    response = client.post(url("language", aanmelding), {"language": "en"})

    assert response.status_code == 302
    aanmelding.refresh_from_db()
    assert aanmelding.language == "en"
    assert response.cookies["django_language"].value == "en"
    page = client.get(response.url)
    assert '<html lang="en">' in page.text
    assert "We will e-mail you in the language you chose." in page.text


def test_an_unknown_language_is_refused_politely(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    response = client.post(url("language", aanmelding), {"language": "xx"}, follow=True)

    assert "Kies Nederlands of Engels." in response.text
    aanmelding.refresh_from_db()
    assert aanmelding.language == "nl"


def test_csrf_is_enforced_on_the_manage_forms(gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)
    client = Client(enforce_csrf_checks=True)

    for name in ["cancel", "confirm", "language"]:
        assert client.post(url(name, aanmelding), {"language": "en"}).status_code == 403
    aanmelding.refresh_from_db()
    assert aanmelding.status == Status.BEVESTIGD


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


# --- Lost your link? The same answer whether or not the address is known -------------------------


def test_resend_says_the_same_for_known_and_unknown_addresses(client, gesprek):
    AanmeldingFactory(gesprek=gesprek, email="bekend@example.org")

    known = client.post(reverse("gesprekken:resend"), {"email": "bekend@example.org"}, follow=True)
    unknown = client.post(
        reverse("gesprekken:resend"), {"email": "onbekend@example.org"}, follow=True
    )

    message = "Als je je met dit adres hebt aangemeld, hebben we je persoonlijke link"
    assert message in known.text
    assert message in unknown.text
    assert known.status_code == unknown.status_code == 200
    # Apart from the CSRF token, the pages are identical.
    assert without_csrf(known.text) == without_csrf(unknown.text)
    (bericht,) = Bericht.objects.all()
    assert (bericht.kind, bericht.to) == ("beheerlink", "bekend@example.org")


def test_the_resend_page_is_linked_from_the_check_your_mail_page(client, gesprek):
    response = client.get(reverse("gesprekken:signed_up", args=[gesprek.pk]))

    assert f'href="{reverse("gesprekken:resend")}"' in response.text


# --- Interest: double opt-in ------------------------------------------------------------------


def test_registering_interest_asks_to_confirm_by_mail(client, utrecht):
    buurt = utrecht.buurten[0]

    response = client.post(
        reverse("gesprekken:interest", args=[buurt.code]),
        {"street": "Oudegracht", "email": "buur@example.org", "consent": "on"},
        follow=True,
    )

    assert response.redirect_chain == [(buurt.get_absolute_url(), 302)]
    assert "Dank je! Kijk in je e-mail" in response.text
    interesse = Interesse.objects.get()
    assert (interesse.street, interesse.email, interesse.language) == (
        "Oudegracht",
        "buur@example.org",
        "nl",
    )
    assert Bericht.objects.get().kind == "interesse_bevestigen"


def test_the_interest_confirm_link_asks_first_then_confirms(client, utrecht):
    interesse = InteresseFactory(buurt=utrecht.buurten[0])
    confirm_url = reverse("gesprekken:interest_confirm", args=[interesse.pk, interesse.token])

    assert client.get(confirm_url).status_code == 200
    interesse.refresh_from_db()
    assert interesse.confirmed_at is None

    response = client.post(confirm_url, follow=True)

    assert "Bevestigd! We mailen je als er een gesprek gepland is." in response.text
    interesse.refresh_from_db()
    assert interesse.confirmed_at is not None


def test_the_interest_confirm_link_needs_the_right_token(client, utrecht):
    interesse = InteresseFactory(buurt=utrecht.buurten[0])
    other = InteresseFactory(buurt=utrecht.buurten[0])

    wrong = reverse("gesprekken:interest_confirm", args=[interesse.pk, other.token])

    assert client.get(wrong).status_code == 404
    assert client.post(wrong).status_code == 404


# --- Privacy statement ---------------------------------------------------------------------------


def test_the_privacy_statement_says_what_why_how_long_who_and_your_rights(client, db):
    response = client.get(reverse("gesprekken:privacy"))

    assert response.status_code == 200
    for heading in ["Wat we bewaren", "Waarom", "Wie het ziet", "Hoe lang", "Je rechten"]:
        assert heading in response.text
    assert "90 dagen na het gesprek" in response.text
    english = client.get(reverse("gesprekken:privacy"), HTTP_ACCEPT_LANGUAGE="en")
    assert "90 days after the conversation" in english.text
