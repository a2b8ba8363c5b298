"""The waiting list: freed seats offered in order, claimed within a window, or passed on;
unconfirmed holds expire and free their seat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gesprekken import services
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

pytestmark = pytest.mark.django_db

S = Aanmelding.Status


def full_gesprek_with_waiting_list(waiting=2, capacity=2, **kwargs):
    gesprek = GesprekFactory(max_participants=capacity, **kwargs)
    seated = AanmeldingFactory.create_batch(capacity, gesprek=gesprek)
    start = timezone.now() - timedelta(hours=1)
    # Distinct sign-up times: the line is ordered by them.
    line = [
        AanmeldingFactory(
            gesprek=gesprek, status=S.WACHTLIJST, created_at=start + timedelta(minutes=i)
        )
        for i in range(waiting)
    ]
    return gesprek, seated, line


def statuses(aanmeldingen):
    return [Aanmelding.objects.get(pk=a.pk).status for a in aanmeldingen]


# --- offer_next_seat ------------------------------------------------------------------------


def test_a_cancelled_seat_is_offered_to_the_first_in_line(queued, settings):
    settings.GESPREKKEN_OFFER_HOURS = 24
    now = timezone.now()
    gesprek, seated, (first, second) = full_gesprek_with_waiting_list()

    services.cancel(aanmelding=seated[0], now=now)

    first.refresh_from_db()
    assert first.status == S.AANGEBODEN
    assert first.offer_expires_at == now + timedelta(hours=24)
    assert statuses([second]) == [S.WACHTLIJST]
    assert queued("plek_aangeboden") == [f"plek_aangeboden:{first.pk}"]


def test_the_line_follows_sign_up_time_not_row_order():
    gesprek = GesprekFactory(max_participants=1)
    now = timezone.now()
    later = AanmeldingFactory(gesprek=gesprek, status=S.WACHTLIJST, created_at=now)
    earlier = AanmeldingFactory(
        gesprek=gesprek, status=S.WACHTLIJST, created_at=now - timedelta(hours=1)
    )

    services.offer_next_seat(gesprek=gesprek)

    assert statuses([earlier, later]) == [S.AANGEBODEN, S.WACHTLIJST]


def test_the_claim_window_never_runs_past_the_start():
    now = timezone.now()
    gesprek, seated, (first, _second) = full_gesprek_with_waiting_list(
        starts_at=now + timedelta(hours=3), ends_at=now + timedelta(hours=5)
    )

    services.cancel(aanmelding=seated[0], now=now)

    first.refresh_from_db()
    assert first.offer_expires_at == gesprek.starts_at


def test_offer_next_seat_offers_as_many_seats_as_are_free():
    gesprek, seated, line = full_gesprek_with_waiting_list(waiting=3, capacity=3)
    Aanmelding.objects.filter(pk__in=[seated[0].pk, seated[1].pk]).update(status=S.GEANNULEERD)

    offered = services.offer_next_seat(gesprek=gesprek)

    assert offered == line[:2]
    assert statuses(line) == [S.AANGEBODEN, S.AANGEBODEN, S.WACHTLIJST]


def test_offer_next_seat_offers_nothing_when_no_seat_is_free(queued):
    gesprek, _seated, line = full_gesprek_with_waiting_list()

    assert services.offer_next_seat(gesprek=gesprek) == []
    assert statuses(line) == [S.WACHTLIJST, S.WACHTLIJST]
    assert queued() == []


def test_offer_next_seat_with_nobody_waiting_leaves_the_seat_free():
    gesprek = GesprekFactory(max_participants=2)

    assert services.offer_next_seat(gesprek=gesprek) == []


@pytest.mark.parametrize("status", [Gesprek.Status.AFGELAST, Gesprek.Status.GEHOUDEN])
def test_offer_next_seat_offers_nothing_for_a_gesprek_that_is_not_planned(status):
    gesprek, seated, line = full_gesprek_with_waiting_list()
    Aanmelding.objects.filter(pk=seated[0].pk).update(status=S.GEANNULEERD)
    Gesprek.objects.filter(pk=gesprek.pk).update(status=status)

    assert services.offer_next_seat(gesprek=gesprek) == []


def test_offer_next_seat_offers_nothing_once_the_gesprek_has_started():
    gesprek, seated, line = full_gesprek_with_waiting_list()
    Aanmelding.objects.filter(pk=seated[0].pk).update(status=S.GEANNULEERD)

    assert services.offer_next_seat(gesprek=gesprek, now=gesprek.starts_at) == []


def test_an_offered_seat_counts_as_taken_for_newcomers():
    gesprek, seated, _line = full_gesprek_with_waiting_list(waiting=1)
    services.cancel(aanmelding=seated[0])

    newcomer = services.sign_up(
        gesprek=gesprek, name="Nieuw", email="nieuw@example.org", postcode="3511AB", language="nl"
    )

    assert newcomer.status == S.WACHTLIJST


# --- claim_offer ----------------------------------------------------------------------------


def test_claiming_an_offer_in_time_confirms_the_seat(queued):
    now = timezone.now()
    gesprek, seated, (first, _second) = full_gesprek_with_waiting_list()
    services.cancel(aanmelding=seated[0], now=now)

    services.claim_offer(aanmelding=first, now=now + timedelta(hours=23))

    assert first.status == S.BEVESTIGD
    assert first.confirmed_at == now + timedelta(hours=23)
    assert queued("bevestigd") == [f"bevestigd:{first.pk}"]


def test_claiming_twice_confirms_once(queued):
    gesprek, seated, (first, _second) = full_gesprek_with_waiting_list()
    services.cancel(aanmelding=seated[0])

    services.claim_offer(aanmelding=first)
    services.claim_offer(aanmelding=first)

    assert len(queued("bevestigd")) == 1


def test_the_confirm_link_also_claims_an_offered_seat():
    gesprek, seated, (first, _second) = full_gesprek_with_waiting_list()
    services.cancel(aanmelding=seated[0])

    services.confirm(aanmelding=first)

    assert first.status == S.BEVESTIGD


def test_claiming_too_late_refuses_and_passes_the_seat_on(queued):
    now = timezone.now()
    gesprek, seated, (first, second) = full_gesprek_with_waiting_list()
    services.cancel(aanmelding=seated[0], now=now)

    with pytest.raises(services.OfferExpired):
        services.claim_offer(aanmelding=first, now=now + timedelta(hours=24))

    # The expiry was committed even though the call raised.
    assert statuses([first, second]) == [S.VERLOPEN, S.AANGEBODEN]
    assert queued("plek_aangeboden") == [
        f"plek_aangeboden:{first.pk}",
        f"plek_aangeboden:{second.pk}",
    ]


def test_claiming_an_offer_that_already_expired_stays_refused():
    now = timezone.now()
    gesprek, seated, (first, _second) = full_gesprek_with_waiting_list()
    services.cancel(aanmelding=seated[0], now=now)
    services.expire_holds_and_offers(now=now + timedelta(days=1))

    with pytest.raises(services.OfferExpired):
        services.claim_offer(aanmelding=first, now=now + timedelta(days=1))


def test_claiming_without_an_offer_is_refused():
    gesprek, _seated, (first, _second) = full_gesprek_with_waiting_list()

    with pytest.raises(services.NoSeatOffered):
        services.claim_offer(aanmelding=first)

    assert statuses([first]) == [S.WACHTLIJST]


def test_claiming_after_the_gesprek_was_called_off_is_refused():
    gesprek, seated, (first, _second) = full_gesprek_with_waiting_list()
    services.cancel(aanmelding=seated[0])
    services.cancel_gesprek(gesprek=gesprek)

    with pytest.raises(services.GesprekClosed):
        services.claim_offer(aanmelding=first)

    assert statuses([first]) == [S.AANGEBODEN]


def test_cancelling_an_offered_seat_offers_it_to_the_next_in_line():
    gesprek, seated, (first, second) = full_gesprek_with_waiting_list()
    services.cancel(aanmelding=seated[0])

    services.cancel(aanmelding=first)

    assert statuses([first, second]) == [S.GEANNULEERD, S.AANGEBODEN]


# --- expire_holds_and_offers ------------------------------------------------------------------


def test_an_unconfirmed_hold_expires_and_its_seat_goes_to_the_waiting_list(settings):
    settings.GESPREKKEN_HOLD_MINUTES = 60
    now = timezone.now()
    gesprek = GesprekFactory(max_participants=1)
    held = services.sign_up(
        gesprek=gesprek, name="A", email="a@example.org", postcode="3511AB", language="nl", now=now
    )
    waiting = services.sign_up(
        gesprek=gesprek, name="B", email="b@example.org", postcode="3511AB", language="nl", now=now
    )

    assert services.expire_holds_and_offers(now=now + timedelta(minutes=59)) == 0
    assert statuses([held, waiting]) == [S.ONBEVESTIGD, S.WACHTLIJST]

    assert services.expire_holds_and_offers(now=now + timedelta(minutes=60)) == 1
    assert statuses([held, waiting]) == [S.VERLOPEN, S.AANGEBODEN]


def test_an_unclaimed_offer_passes_down_the_line_one_by_one():
    now = timezone.now()
    gesprek, seated, line = full_gesprek_with_waiting_list(waiting=3)
    services.cancel(aanmelding=seated[0], now=now)

    services.expire_holds_and_offers(now=now + timedelta(hours=24))
    assert statuses(line) == [S.VERLOPEN, S.AANGEBODEN, S.WACHTLIJST]

    services.expire_holds_and_offers(now=now + timedelta(hours=48))
    assert statuses(line) == [S.VERLOPEN, S.VERLOPEN, S.AANGEBODEN]


def test_expiry_counts_holds_and_offers_across_gesprekken():
    now = timezone.now()
    for _ in range(2):
        gesprek, seated, _line = full_gesprek_with_waiting_list(waiting=1)
        services.cancel(aanmelding=seated[0], now=now)
    AanmeldingFactory(status=S.ONBEVESTIGD, hold_expires_at=now)

    assert services.expire_holds_and_offers(now=now + timedelta(days=1)) == 3


def test_expiry_leaves_confirmed_and_waiting_registrations_alone():
    gesprek, seated, line = full_gesprek_with_waiting_list()

    assert services.expire_holds_and_offers(now=timezone.now() + timedelta(days=30)) == 0
    assert statuses(seated + line) == [S.BEVESTIGD] * 2 + [S.WACHTLIJST] * 2


def test_a_hold_expiring_at_the_start_offers_nothing():
    gesprek, seated, line = full_gesprek_with_waiting_list(waiting=1)
    Aanmelding.objects.filter(pk=seated[0].pk).update(
        status=S.ONBEVESTIGD, hold_expires_at=gesprek.starts_at
    )

    services.expire_holds_and_offers(now=gesprek.starts_at)

    assert statuses([seated[0], line[0]]) == [S.VERLOPEN, S.WACHTLIJST]
    assert not Bericht.objects.filter(kind="plek_aangeboden").exists()


def test_the_whole_waiting_list_story():
    # Full; someone cancels; the first in line lets the offer lapse; the second claims it.
    now = timezone.now()
    gesprek, seated, (first, second) = full_gesprek_with_waiting_list()

    services.cancel(aanmelding=seated[1], now=now)
    services.expire_holds_and_offers(now=now + timedelta(hours=25))
    services.claim_offer(aanmelding=second, now=now + timedelta(hours=26))

    assert statuses([*seated, first, second]) == [
        S.BEVESTIGD,
        S.GEANNULEERD,
        S.VERLOPEN,
        S.BEVESTIGD,
    ]
    assert gesprek.aanmeldingen.holding_seat().count() == gesprek.max_participants
