"""'I want a conversation in my street': double opt-in, and one invitation when a gesprek
is planned in the buurt or its wijk."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gesprekken import services
from gesprekken.models import Bericht, Gesprek, Interesse
from tests.gemeenten.factories import BuurtFactory
from tests.gesprekken.factories import GesprekFactory, InteresseFactory

pytestmark = pytest.mark.django_db


def register(buurt, email="buur@example.org", **kwargs):
    return services.register_interest(
        buurt=buurt,
        street=kwargs.pop("street", "Lange Nieuwstraat"),
        email=email,
        language=kwargs.pop("language", "nl"),
        **kwargs,
    )


def invited(interesses):
    return [Interesse.objects.get(pk=i.pk).invited_at is not None for i in interesses]


# --- register and confirm -------------------------------------------------------------------


def test_register_interest_keeps_it_unconfirmed_and_asks_to_confirm(queued):
    now = timezone.now()
    buurt = BuurtFactory()

    interesse = register(buurt, email=" Buur@Example.org", language="en", now=now)

    assert (interesse.email, interesse.street, interesse.language) == (
        "buur@example.org",
        "Lange Nieuwstraat",
        "en",
    )
    assert interesse.consent_at == now
    assert interesse.confirmed_at is None
    bericht = Bericht.objects.get()
    assert (bericht.kind, bericht.interesse, bericht.to) == (
        "interesse_bevestigen",
        interesse,
        "buur@example.org",
    )


def test_registering_again_returns_the_same_interest_without_a_second_mail_at_once(queued):
    buurt = BuurtFactory()
    now = timezone.now()
    first = register(buurt, now=now)

    second = register(buurt, email="BUUR@example.org", now=now)

    assert second == first
    assert Interesse.objects.count() == 1
    assert len(queued("interesse_bevestigen")) == 1


def test_registering_again_later_resends_the_confirmation_once_per_window(settings, queued):
    settings.GESPREKKEN_RESEND_LINK_MINUTES = 15
    buurt = BuurtFactory()
    # On the hour, so +20 and +21 minutes fall in the same 15-minute window.
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    register(buurt, now=now)

    register(buurt, now=now + timedelta(minutes=20))
    register(buurt, now=now + timedelta(minutes=21))

    assert len(queued("interesse_bevestigen")) == 2


def test_registering_again_after_confirming_sends_nothing(queued):
    buurt = BuurtFactory()
    interesse = register(buurt)
    services.confirm_interest(interesse=interesse)

    register(buurt, now=timezone.now() + timedelta(days=1))

    assert len(queued("interesse_bevestigen")) == 1


def test_the_same_address_may_be_interested_in_two_buurten():
    register(BuurtFactory())
    register(BuurtFactory())

    assert Interesse.objects.count() == 2


def test_confirm_interest_sets_the_time_once():
    now = timezone.now()
    interesse = register(BuurtFactory())

    services.confirm_interest(interesse=interesse, now=now)
    services.confirm_interest(interesse=interesse, now=now + timedelta(hours=1))

    interesse.refresh_from_db()
    assert interesse.confirmed_at == now


def test_confirming_when_a_gesprek_is_already_planned_nearby_invites_at_once(queued):
    buurt = BuurtFactory()
    later = GesprekFactory(buurt=buurt, starts_at=timezone.now() + timedelta(days=20))
    sooner = GesprekFactory(buurt=buurt)
    interesse = register(buurt)

    services.confirm_interest(interesse=interesse)

    assert interesse.invited_to == sooner != later
    assert queued("uitnodiging") == [f"uitnodiging:{interesse.pk}"]


def test_get_interesse_by_token_needs_the_right_token():
    interesse = InteresseFactory()

    assert services.get_interesse_by_token(interesse.pk, interesse.token) == interesse
    assert services.get_interesse_by_token(interesse.pk, interesse.token[:-1]) is None
    assert services.get_interesse_by_token("x", interesse.token) is None


# --- invitations ------------------------------------------------------------------------------


def test_a_planned_gesprek_invites_the_confirmed_interested_in_its_buurt_and_wijk(queued):
    buurt = BuurtFactory()
    same_wijk = BuurtFactory(wijk=buurt.wijk)
    elsewhere = BuurtFactory()
    here = InteresseFactory(buurt=buurt, confirmed=True)
    nearby = InteresseFactory(buurt=same_wijk, confirmed=True)
    unconfirmed = InteresseFactory(buurt=buurt)
    far = InteresseFactory(buurt=elsewhere, confirmed=True)
    gesprek = GesprekFactory(buurt=buurt)

    assert services.invite_interested(gesprek=gesprek) == 2

    assert invited([here, nearby, unconfirmed, far]) == [True, True, False, False]
    assert Interesse.objects.get(pk=here.pk).invited_to == gesprek
    assert sorted(queued("uitnodiging")) == sorted(
        [f"uitnodiging:{here.pk}", f"uitnodiging:{nearby.pk}"]
    )


def test_interested_residents_are_invited_only_once(queued):
    buurt = BuurtFactory()
    InteresseFactory(buurt=buurt, confirmed=True)
    first = GesprekFactory(buurt=buurt)
    second = GesprekFactory(buurt=BuurtFactory(wijk=buurt.wijk))

    services.invite_interested(gesprek=first)
    services.invite_interested(gesprek=first)
    assert services.invite_interested(gesprek=second) == 0

    assert len(queued("uitnodiging")) == 1


def test_after_an_invitation_the_address_may_register_interest_again():
    buurt = BuurtFactory()
    old = InteresseFactory(buurt=buurt, email="buur@example.org", confirmed=True)
    services.invite_interested(gesprek=GesprekFactory(buurt=buurt))

    new = register(buurt)

    assert new != old


@pytest.mark.parametrize("status", [Gesprek.Status.CONCEPT, Gesprek.Status.AFGELAST])
def test_a_gesprek_that_is_not_planned_invites_nobody(status):
    interesse = InteresseFactory(confirmed=True)
    gesprek = GesprekFactory(buurt=interesse.buurt, status=status)

    assert services.invite_interested(gesprek=gesprek) == 0
    assert invited([interesse]) == [False]


def test_a_gesprek_in_the_past_invites_nobody():
    interesse = InteresseFactory(confirmed=True)
    gesprek = GesprekFactory(buurt=interesse.buurt)

    assert services.invite_interested(gesprek=gesprek, now=gesprek.starts_at) == 0


# --- publish ------------------------------------------------------------------------------------


def test_publishing_a_draft_plans_it_and_invites_the_interested(queued):
    interesse = InteresseFactory(confirmed=True)
    gesprek = GesprekFactory(buurt=interesse.buurt, status=Gesprek.Status.CONCEPT)

    services.publish(gesprek=gesprek)

    assert gesprek.status == Gesprek.Status.GEPLAND
    assert Gesprek.objects.get(pk=gesprek.pk).status == Gesprek.Status.GEPLAND
    assert queued("uitnodiging") == [f"uitnodiging:{interesse.pk}"]


def test_publishing_twice_invites_once(queued):
    interesse = InteresseFactory(confirmed=True)
    gesprek = GesprekFactory(buurt=interesse.buurt, status=Gesprek.Status.CONCEPT)

    services.publish(gesprek=gesprek)
    services.publish(gesprek=gesprek)

    assert len(queued("uitnodiging")) == 1


@pytest.mark.parametrize("status", [Gesprek.Status.AFGELAST, Gesprek.Status.GEHOUDEN])
def test_publishing_a_cancelled_or_held_gesprek_is_refused(status):
    gesprek = GesprekFactory(status=status)

    with pytest.raises(services.GesprekClosed):
        services.publish(gesprek=gesprek)


def test_publishing_a_draft_in_the_past_is_refused():
    gesprek = GesprekFactory(status=Gesprek.Status.CONCEPT)

    with pytest.raises(services.GesprekClosed):
        services.publish(gesprek=gesprek, now=gesprek.starts_at + timedelta(minutes=1))

    assert Gesprek.objects.get(pk=gesprek.pk).status == Gesprek.Status.CONCEPT
