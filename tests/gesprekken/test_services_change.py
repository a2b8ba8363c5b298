"""Changing a gesprek tells everyone registered once per change; calling it off tells
them once."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from gesprekken import services
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, ThemaFactory

pytestmark = pytest.mark.django_db

S = Aanmelding.Status


@pytest.fixture
def gesprek():
    return GesprekFactory(max_participants=3, place="Buurthuis De Linde")


@pytest.fixture
def registered(gesprek):
    """One of each status: the first four are told about changes, the rest are not."""
    return [
        AanmeldingFactory(gesprek=gesprek, status=status)
        for status in (
            S.BEVESTIGD,
            S.ONBEVESTIGD,
            S.AANGEBODEN,
            S.WACHTLIJST,
            S.GEANNULEERD,
            S.VERLOPEN,
        )
    ]


def test_moving_the_time_raises_the_sequence_and_tells_everyone_registered(
    gesprek, registered, queued
):
    new_start = gesprek.starts_at + timedelta(days=1)

    services.change_gesprek(
        gesprek=gesprek, starts_at=new_start, ends_at=new_start + timedelta(hours=2)
    )

    assert gesprek.sequence == 1
    assert Gesprek.objects.get(pk=gesprek.pk).starts_at == new_start
    assert sorted(queued("gewijzigd")) == sorted(f"gewijzigd:{a.pk}:1" for a in registered[:4])


def test_the_change_mail_says_what_changed_but_never_the_video_link(gesprek, registered):
    services.change_gesprek(
        gesprek=gesprek,
        format=Gesprek.Format.ONLINE,
        place="",
        video_url="https://meet.example.org/geheim",
    )

    context = Bericht.objects.filter(kind="gewijzigd").first().context
    assert sorted(context["changes"]) == ["format", "place", "video_url"]
    assert context["previous"] == {"format": "tafel", "place": "Buurthuis De Linde"}
    assert context["sequence"] == 1
    assert "geheim" not in str(context)


def test_the_same_change_applied_twice_mails_once(gesprek, registered, queued):
    services.change_gesprek(gesprek=gesprek, place="Het Wijkcentrum")
    services.change_gesprek(gesprek=gesprek, place="Het Wijkcentrum")

    assert gesprek.sequence == 1
    assert len(queued("gewijzigd")) == 4


def test_a_second_change_mails_everyone_again(gesprek, registered, queued):
    services.change_gesprek(gesprek=gesprek, place="Het Wijkcentrum")
    services.change_gesprek(gesprek=gesprek, place="De Bibliotheek")

    assert gesprek.sequence == 2
    first = registered[0]
    assert [k for k in queued("gewijzigd") if k.startswith(f"gewijzigd:{first.pk}:")] == [
        f"gewijzigd:{first.pk}:1",
        f"gewijzigd:{first.pk}:2",
    ]


def test_changing_a_detail_residents_need_not_hear_about_sends_nothing(gesprek, registered, queued):
    services.change_gesprek(
        gesprek=gesprek, accessibility_notes="Rolstoeltoegankelijk", thema=ThemaFactory()
    )

    gesprek.refresh_from_db()
    assert gesprek.accessibility_notes == "Rolstoeltoegankelijk"
    assert gesprek.sequence == 0
    assert queued("gewijzigd") == []


def test_an_invalid_change_is_refused_and_changes_nothing(gesprek, registered, queued):
    with pytest.raises(ValidationError):
        services.change_gesprek(gesprek=gesprek, ends_at=gesprek.starts_at - timedelta(hours=1))

    assert Gesprek.objects.get(pk=gesprek.pk).sequence == 0
    assert queued() == []


def test_an_unknown_field_is_a_programming_error(gesprek):
    with pytest.raises(TypeError):
        services.change_gesprek(gesprek=gesprek, status=Gesprek.Status.AFGELAST)


def test_moving_the_start_earlier_shortens_holds_and_offers(gesprek, registered):
    now = timezone.now()
    held, offered = registered[1], registered[2]
    Aanmelding.objects.filter(pk=held.pk).update(hold_expires_at=now + timedelta(hours=1))
    Aanmelding.objects.filter(pk=offered.pk).update(offer_expires_at=now + timedelta(hours=24))
    new_start = now + timedelta(minutes=30)

    services.change_gesprek(
        gesprek=gesprek, starts_at=new_start, ends_at=new_start + timedelta(hours=1), now=now
    )

    held.refresh_from_db()
    offered.refresh_from_db()
    assert held.hold_expires_at == new_start
    assert offered.offer_expires_at == new_start


def test_more_seats_go_to_the_waiting_list_at_once(gesprek, registered):
    waiting = registered[3]

    services.change_gesprek(gesprek=gesprek, max_participants=4)

    waiting.refresh_from_db()
    assert waiting.status == S.AANGEBODEN


def test_fewer_seats_take_no_seat_away(gesprek, registered):
    services.change_gesprek(gesprek=gesprek, max_participants=1, min_participants=1)

    assert gesprek.aanmeldingen.holding_seat().count() == 3


def test_a_cancelled_gesprek_cannot_be_changed(gesprek):
    services.cancel_gesprek(gesprek=gesprek)

    with pytest.raises(services.GesprekClosed):
        services.change_gesprek(gesprek=gesprek, place="Elders")


# --- cancel_gesprek --------------------------------------------------------------------------


def test_calling_off_tells_everyone_registered_once(gesprek, registered, queued):
    services.cancel_gesprek(gesprek=gesprek)
    services.cancel_gesprek(gesprek=gesprek)

    assert Gesprek.objects.get(pk=gesprek.pk).status == Gesprek.Status.AFGELAST
    assert sorted(queued("afgelast")) == sorted(f"afgelast:{a.pk}" for a in registered[:4])


def test_after_calling_off_nobody_can_sign_up_and_no_seat_is_offered(gesprek, registered):
    services.cancel_gesprek(gesprek=gesprek)
    services.cancel(aanmelding=registered[0])

    assert Aanmelding.objects.get(pk=registered[3].pk).status == S.WACHTLIJST
    with pytest.raises(services.GesprekClosed):
        services.sign_up(
            gesprek=gesprek, name="Laat", email="laat@example.org", postcode="3511AB", language="nl"
        )


def test_a_gesprek_that_took_place_cannot_be_called_off(gesprek, registered, queued):
    Gesprek.objects.filter(pk=gesprek.pk).update(status=Gesprek.Status.GEHOUDEN)

    with pytest.raises(services.GesprekClosed):
        services.cancel_gesprek(gesprek=gesprek)

    assert queued() == []
