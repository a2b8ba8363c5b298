"""The personal calendar feed: valid iCalendar, all my gesprekken, no residents, revocable."""

from datetime import timedelta

import icalendar
import pytest
from django.conf import settings
from django.urls import reverse

from gesprekken import ics, services
from gesprekken.models import Gesprek
from tests.gesprekken.factories import AanmeldingFactory

from .running_helpers import BEFORE, STARTS_AT, gesprek_led_by


@pytest.fixture(autouse=True)
def _before(time_machine):
    time_machine.move_to(BEFORE, tick=False)


@pytest.fixture(autouse=True)
def _english(client):
    # The pages in English, so the sentences asserted here do not depend on the catalogue.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def feed_url(user) -> str:
    return reverse("uitvoering:feed", args=[user.pk, user.facilitator.calendar_token])


def events(content: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_the_feed_is_valid_icalendar_with_every_gesprek_i_lead(cast, client):
    mine = gesprek_led_by(cast.facilitator, cast.buurt_a)
    co_led = gesprek_led_by(
        cast.co_facilitator,
        cast.buurt_a,
        co_facilitator=cast.facilitator,
        starts_at=STARTS_AT + timedelta(days=7),
        ends_at=STARTS_AT + timedelta(days=7, hours=2),
    )
    called_off = gesprek_led_by(cast.facilitator, cast.buurt_a, status=Gesprek.Status.AFGELAST)
    draft = gesprek_led_by(cast.facilitator, cast.buurt_a, status=Gesprek.Status.CONCEPT)
    not_mine = gesprek_led_by(cast.outsider_facilitator, cast.buurt_b)

    # No login: calendar apps fetch it with the token alone.
    response = client.get(feed_url(cast.facilitator))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.get_missing_tzids() == set()
    found = events(response.content)
    assert set(found) == {ics.uid_for(g) for g in (mine, co_led, called_off, draft)}
    assert ics.uid_for(not_mine) not in found
    event = found[ics.uid_for(mine)]
    assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert event.start == STARTS_AT
    assert event["LOCATION"] == "Buurthuis De Pijl, Havenstraat 4"
    assert found[ics.uid_for(called_off)]["STATUS"] == "CANCELLED"
    assert found[ics.uid_for(draft)]["STATUS"] == "TENTATIVE"


def test_the_feed_uses_the_same_uid_and_sequence_as_the_residents_file(cast, client):
    gesprek = gesprek_led_by(cast.facilitator, cast.buurt_a)
    services.change_gesprek(gesprek=gesprek, place="Bibliotheek, Markt 1")
    gesprek.refresh_from_db()

    [resident] = icalendar.Calendar.from_ical(ics.calendar_for(gesprek)).walk("VEVENT")
    feed = events(client.get(feed_url(cast.facilitator)).content)[ics.uid_for(gesprek)]

    assert feed["UID"] == resident["UID"]
    assert feed["SEQUENCE"] == resident["SEQUENCE"] == gesprek.sequence == 1
    assert feed["LOCATION"] == "Bibliotheek, Markt 1"


def test_the_feed_holds_no_residents_data(cast, client):
    gesprek = gesprek_led_by(cast.facilitator, cast.buurt_a)
    resident = AanmeldingFactory(
        gesprek=gesprek,
        name="Resident Verborgen",
        email="verborgen@example.org",
        phone="0612345678",
    )

    content = client.get(feed_url(cast.facilitator)).content.decode()

    for secret in (resident.name, resident.email, resident.phone, resident.token):
        assert secret not in content


def test_a_wrong_token_or_another_users_id_is_a_404(cast, client):
    gesprek_led_by(cast.facilitator, cast.buurt_a)
    token = cast.facilitator.facilitator.calendar_token

    wrong = reverse("uitvoering:feed", args=[cast.facilitator.pk, "x" * len(token)])
    swapped = reverse("uitvoering:feed", args=[cast.co_facilitator.pk, token])
    coordinator = reverse("uitvoering:feed", args=[cast.coordinator.pk, token])

    assert client.get(wrong).status_code == 404
    assert client.get(swapped).status_code == 404
    assert client.get(coordinator).status_code == 404


def test_revoking_makes_the_old_url_404_and_the_new_one_work(cast, client):
    gesprek_led_by(cast.facilitator, cast.buurt_a)
    old_url = feed_url(cast.facilitator)
    cast.login(client, cast.facilitator)

    page = client.get(reverse("uitvoering:calendar"))
    response = client.post(reverse("uitvoering:calendar_renew"), follow=True)

    assert f"http://testserver{old_url}" in page.text
    assert "webcal://testserver" in page.text
    cast.facilitator.facilitator.refresh_from_db()
    new_url = feed_url(cast.facilitator)
    assert new_url != old_url
    assert f"http://testserver{new_url}" in response.text
    assert "The old one no longer works" in response.text
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(new_url).status_code == 200


def test_renewing_needs_a_post(cast, client):
    old_url = feed_url(cast.facilitator)
    cast.login(client, cast.facilitator)

    assert client.get(reverse("uitvoering:calendar_renew")).status_code == 405
    assert client.get(old_url).status_code == 200


def test_a_deactivated_account_has_no_feed(cast, client):
    url = feed_url(cast.facilitator)
    cast.facilitator.is_active = False
    cast.facilitator.save()

    assert client.get(url).status_code == 404


def test_the_feed_runs_a_fixed_number_of_queries(cast, client, django_assert_num_queries):
    for week in range(6):
        gesprek_led_by(
            cast.facilitator,
            cast.buurt_a,
            starts_at=STARTS_AT + timedelta(weeks=week),
            ends_at=STARTS_AT + timedelta(weeks=week, hours=2),
        )
    url = feed_url(cast.facilitator)

    # 1 the facilitator with their user, 2 their gesprekken with buurt and theme.
    with django_assert_num_queries(2):
        client.get(url)
