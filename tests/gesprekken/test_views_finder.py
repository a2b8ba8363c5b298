"""Finding a gesprek: the gemeente, buurt and postcode pages and the gesprek page."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from gesprekken.models import Aanmelding, Gesprek
from tests.gemeenten.factories import BuurtFactory, WijkFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, ThemaFactory

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
VIDEO_URL = "https://video.example.org/geheime-kamer-123"


def in_days(days: int, hour: int = 19) -> datetime:
    moment = timezone.localtime(timezone.now(), AMSTERDAM) + timedelta(days=days)
    return moment.replace(hour=hour, minute=30, second=0, microsecond=0)


def pks(response) -> list[int]:
    return [gesprek.pk for gesprek in response.context["gesprekken"]]


@pytest.fixture
def wijk_c(utrecht):
    return utrecht.buurten[0]  # Wijk C, in Wijk 06 Binnenstad, postcode 3511


@pytest.fixture
def nearby(utrecht):
    """One gesprek in the buurt, one elsewhere in its wijk, one elsewhere in the gemeente.

    The farther away, the sooner: the order on the page is by distance, not by date.
    """
    wijk_c, hooch_boulandt, oog_in_al = utrecht.buurten
    return {
        "buurt": GesprekFactory(buurt=wijk_c, starts_at=in_days(10)),
        "wijk": GesprekFactory(buurt=hooch_boulandt, starts_at=in_days(5)),
        "gemeente": GesprekFactory(buurt=oog_in_al, starts_at=in_days(2)),
    }


# --- Order: same buurt, then same wijk, then the rest of the gemeente ---------------------


def test_buurt_page_lists_its_own_gesprekken_first_then_its_wijk_then_the_gemeente(
    client, wijk_c, nearby
):
    response = client.get(wijk_c.get_absolute_url())

    assert response.status_code == 200
    assert pks(response) == [nearby["buurt"].pk, nearby["wijk"].pk, nearby["gemeente"].pk]
    text = response.text
    assert text.index("In je buurt") < text.index("In je wijk")
    assert text.index("In je wijk") < text.index("Elders in de gemeente")


def test_within_the_same_distance_the_soonest_comes_first(client, wijk_c):
    later = GesprekFactory(buurt=wijk_c, starts_at=in_days(9))
    sooner = GesprekFactory(buurt=wijk_c, starts_at=in_days(3))

    response = client.get(wijk_c.get_absolute_url())

    assert pks(response) == [sooner.pk, later.pk]


def test_postcode_page_lists_gesprekken_in_the_buurten_of_that_postcode_first(
    client, utrecht, nearby
):
    response = client.get(reverse("postcode"), {"postcode": "3533"})

    assert response.status_code == 200
    # 3533 is Oog in Al (Wijk 01 West): its gesprek first, the Binnenstad ones by date.
    assert pks(response) == [nearby["gemeente"].pk, nearby["wijk"].pk, nearby["buurt"].pk]
    assert "Gesprekken bij jou in de buurt" in response.text
    # From the postcode page the gesprek page gets the postcode filled in.
    assert f'href="{nearby["gemeente"].get_absolute_url()}?postcode=3533"' in response.text


def test_postcode_page_keeps_its_status_codes(client, utrecht):
    assert client.get(reverse("postcode"), {"postcode": "ABCD"}).status_code == 400
    assert client.get(reverse("postcode"), {"postcode": "9999"}).status_code == 404
    assert client.get(reverse("postcode")).status_code == 302


def test_gemeente_page_lists_its_gesprekken_by_date_and_keeps_its_wijken(client, utrecht, nearby):
    response = client.get(utrecht.gemeente.get_absolute_url())

    assert response.status_code == 200
    assert pks(response) == [nearby["gemeente"].pk, nearby["wijk"].pk, nearby["buurt"].pk]
    assert "Gesprekken die eraan komen" in response.text
    assert "Wijken en buurten" in response.text
    for buurt in utrecht.buurten:
        assert f'href="{buurt.get_absolute_url()}"' in response.text


def test_gesprekken_of_another_gemeente_are_not_listed(client, wijk_c):
    elsewhere = GesprekFactory()  # a buurt in a gemeente of its own

    response = client.get(wijk_c.get_absolute_url())

    assert elsewhere.pk not in pks(response)


# --- What is not shown --------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [Gesprek.Status.CONCEPT, Gesprek.Status.AFGELAST, Gesprek.Status.GEHOUDEN]
)
def test_drafts_cancelled_and_held_gesprekken_are_not_listed(client, utrecht, wijk_c, status):
    hidden = GesprekFactory(buurt=wijk_c, status=status)

    for url in [
        wijk_c.get_absolute_url(),
        utrecht.gemeente.get_absolute_url(),
        reverse("postcode") + "?postcode=3511",
    ]:
        assert hidden.pk not in pks(client.get(url)), url


def test_a_gesprek_that_has_started_is_not_listed(client, wijk_c):
    started = GesprekFactory(buurt=wijk_c, starts_at=timezone.now() - timedelta(minutes=5))

    assert started.pk not in pks(client.get(wijk_c.get_absolute_url()))


def test_a_draft_gesprek_page_is_not_found(client, wijk_c):
    draft = GesprekFactory(buurt=wijk_c, status=Gesprek.Status.CONCEPT)

    assert client.get(draft.get_absolute_url()).status_code == 404
    assert client.get(reverse("gesprekken:detail", args=[999999])).status_code == 404


# --- Seats left -----------------------------------------------------------------------------


def test_seats_left_counts_held_confirmed_offered_and_present_seats_only(client, wijk_c):
    gesprek = GesprekFactory(buurt=wijk_c, max_participants=8)
    for status in [
        Aanmelding.Status.BEVESTIGD,
        Aanmelding.Status.ONBEVESTIGD,
        Aanmelding.Status.AANGEBODEN,
        Aanmelding.Status.AANWEZIG,
        # These take no seat:
        Aanmelding.Status.WACHTLIJST,
        Aanmelding.Status.GEANNULEERD,
        Aanmelding.Status.VERLOPEN,
    ]:
        AanmeldingFactory(gesprek=gesprek, status=status)

    response = client.get(wijk_c.get_absolute_url())

    (listed,) = response.context["gesprekken"]
    assert listed.seats_left == 4
    assert "Nog 4 plekken vrij" in response.text
    detail = client.get(gesprek.get_absolute_url())
    assert "Nog 4 plekken vrij" in detail.text


def test_one_seat_left_is_singular(client, wijk_c):
    gesprek = GesprekFactory(buurt=wijk_c, max_participants=2)
    AanmeldingFactory(gesprek=gesprek)

    response = client.get(wijk_c.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    assert "1 seat left" in response.text


def test_a_full_gesprek_says_full_waiting_list(client, wijk_c):
    gesprek = GesprekFactory(buurt=wijk_c, max_participants=2)
    AanmeldingFactory.create_batch(2, gesprek=gesprek)

    assert "Vol — wachtlijst" in client.get(wijk_c.get_absolute_url()).text
    detail = client.get(gesprek.get_absolute_url())
    assert "Vol — wachtlijst" in detail.text
    assert "Zet me op de wachtlijst" in detail.text
    english = client.get(gesprek.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")
    assert "Full — waiting list" in english.text
    assert "Put me on the waiting list" in english.text


# --- What a resident needs to decide --------------------------------------------------------


@time_machine.travel(datetime(2026, 11, 20, 12, 0, tzinfo=AMSTERDAM), tick=False)
def test_the_time_is_shown_in_amsterdam_time_the_dutch_way(client, wijk_c):
    gesprek = GesprekFactory(
        buurt=wijk_c,
        starts_at=datetime(2026, 12, 5, 19, 30, tzinfo=AMSTERDAM),
        ends_at=datetime(2026, 12, 5, 21, 0, tzinfo=AMSTERDAM),
    )

    dutch = client.get(gesprek.get_absolute_url()).text
    english = client.get(gesprek.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").text

    assert "zaterdag 5 december, 19:30–21:00" in dutch
    assert 'datetime="2026-12-05T19:30+01:00"' in dutch
    assert "Saturday 5 December, 19:30–21:00" in english
    assert "zaterdag 5 december, 19:30–21:00" in client.get(wijk_c.get_absolute_url()).text


@time_machine.travel(datetime(2026, 12, 20, 12, 0, tzinfo=AMSTERDAM), tick=False)
def test_a_date_next_year_carries_the_year(client, wijk_c):
    gesprek = GesprekFactory(
        buurt=wijk_c,
        starts_at=datetime(2027, 1, 9, 10, 0, tzinfo=AMSTERDAM),
        ends_at=datetime(2027, 1, 9, 12, 0, tzinfo=AMSTERDAM),
    )

    assert "zaterdag 9 januari 2027, 10:00–12:00" in client.get(gesprek.get_absolute_url()).text


def test_the_listing_shows_format_place_theme_facilitator_and_accessibility(client, wijk_c):
    facilitator = get_user_model().objects.create_user(
        username="fatima", first_name="Fatima", last_name="El Amrani", email="f@example.org"
    )
    GesprekFactory(
        buurt=wijk_c,
        format=Gesprek.Format.WANDELING,
        place="Bij de Jacobikerk",
        thema=ThemaFactory(name="Wonen in de binnenstad"),
        facilitator=facilitator,
        accessibility_notes="Rolstoeltoegankelijke route, rustig tempo",
    )

    text = client.get(wijk_c.get_absolute_url()).text

    for expected in [
        "Wandeling door de buurt",
        "Bij de Jacobikerk",
        "Wonen in de binnenstad",
        "Fatima",
        "Rolstoeltoegankelijke route, rustig tempo",
    ]:
        assert expected in text
    # A first name only: the facilitator's surname and e-mail stay private.
    assert "El Amrani" not in text
    assert "f@example.org" not in text


def test_the_video_link_never_shows_on_public_pages(client, utrecht, wijk_c):
    online = GesprekFactory(buurt=wijk_c, format=Gesprek.Format.ONLINE, video_url=VIDEO_URL)
    AanmeldingFactory(gesprek=online)  # even with confirmed participants

    for url in [
        wijk_c.get_absolute_url(),
        utrecht.gemeente.get_absolute_url(),
        reverse("postcode") + "?postcode=3511",
        online.get_absolute_url(),
        reverse("gesprekken:signed_up", args=[online.pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "video.example.org" not in response.text, url
        assert "geheime-kamer" not in response.text, url
    assert "Online, via een videogesprek" in client.get(online.get_absolute_url()).text


def test_buurt_page_offers_the_interest_form_when_nothing_is_planned_nearby(client, wijk_c):
    response = client.get(wijk_c.get_absolute_url())

    assert "Wil je een gesprek in je straat?" in response.text
    assert (
        f'action="{reverse("gesprekken:interest", args=[wijk_c.code])}#interesse"' in response.text
    )


def test_buurt_page_still_offers_the_interest_form_when_something_is_planned(client, wijk_c):
    GesprekFactory(buurt=wijk_c)

    response = client.get(wijk_c.get_absolute_url())

    assert "Niets dat bij je past?" in response.text


def test_a_past_or_cancelled_gesprek_page_shows_no_sign_up_form(client, wijk_c):
    cancelled = GesprekFactory(buurt=wijk_c, status=Gesprek.Status.AFGELAST)
    held = GesprekFactory(
        buurt=wijk_c,
        status=Gesprek.Status.GEHOUDEN,
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() - timedelta(days=3) + timedelta(hours=2),
    )

    cancelled_page = client.get(cancelled.get_absolute_url())
    held_page = client.get(held.get_absolute_url())

    assert "Dit gesprek is afgelast." in cancelled_page.text
    assert "Dit gesprek is al geweest." in held_page.text
    for page in (cancelled_page, held_page):
        assert page.status_code == 200
        assert 'name="consent"' not in page.text


# --- Query counts: the same with 1 as with 20 gesprekken -------------------------------------


def many_gesprekken(utrecht, n: int) -> None:
    wijk_c, hooch_boulandt, oog_in_al = utrecht.buurten
    facilitator = get_user_model().objects.create_user(username="begeleider", first_name="Sam")
    thema = ThemaFactory(name="Samen leven")
    for i in range(n):
        gesprek = GesprekFactory(
            buurt=[wijk_c, hooch_boulandt, oog_in_al][i % 3],
            starts_at=in_days(i + 1),
            facilitator=facilitator,
            thema=thema,
        )
        AanmeldingFactory(gesprek=gesprek)


@pytest.mark.parametrize("n", [1, 20])
def test_buurt_page_query_count_does_not_grow_with_gesprekken(
    client, utrecht, wijk_c, n, django_assert_num_queries
):
    many_gesprekken(utrecht, n)

    with django_assert_num_queries(2):
        # 1. the buurt with its wijk, gemeente and provincie
        # 2. the upcoming gesprekken of the gemeente with buurt, wijk, theme and
        #    facilitator, seats left counted and nearness ranked in the same query
        response = client.get(wijk_c.get_absolute_url())

    assert len(response.context["gesprekken"]) == n


@pytest.mark.parametrize("n", [1, 20])
def test_gemeente_page_query_count_does_not_grow_with_gesprekken(
    client, utrecht, n, django_assert_num_queries
):
    many_gesprekken(utrecht, n)

    with django_assert_num_queries(4):
        # 1. the gemeente with its provincie
        # 2. the upcoming gesprekken with buurt, wijk, theme, facilitator and seats left
        # 3. its wijken
        # 4. the buurten of those wijken (one prefetch)
        response = client.get(utrecht.gemeente.get_absolute_url())

    assert len(response.context["gesprekken"]) == n


@pytest.mark.parametrize("n", [1, 20])
def test_postcode_page_query_count_does_not_grow_with_gesprekken(
    client, utrecht, n, django_assert_num_queries
):
    many_gesprekken(utrecht, n)

    with django_assert_num_queries(3):
        # 1. the gemeenten of the postcode
        # 2. the buurten of the postcode, with their wijk
        # 3. the upcoming gesprekken with buurt, wijk, theme, facilitator and seats left
        response = client.get(reverse("postcode"), {"postcode": "3511"})

    assert len(response.context["gesprekken"]) == n


@pytest.mark.parametrize("n", [1, 20])
def test_gesprek_page_query_count_does_not_grow_with_registrations(
    client, wijk_c, n, django_assert_num_queries
):
    gesprek = GesprekFactory(buurt=wijk_c, max_participants=30)
    AanmeldingFactory.create_batch(n, gesprek=gesprek)

    with django_assert_num_queries(3):
        # 1. the gesprek with buurt, wijk, gemeente, theme, facilitator and seats left
        # 2. the sectors of the optional "mixed table" section
        # 3. the conversation agreements
        # (4. the theme's statements, for a gesprek with a theme)
        response = client.get(gesprek.get_absolute_url())

    assert response.context["gesprek"].seats_left == 30 - n


def test_a_long_list_is_capped(client, utrecht, settings):
    wijk = WijkFactory(gemeente=utrecht.gemeente)
    buurt = BuurtFactory(wijk=wijk)
    GesprekFactory.create_batch(52, buurt=buurt)

    response = client.get(utrecht.gemeente.get_absolute_url())

    assert len(response.context["gesprekken"]) == 50
