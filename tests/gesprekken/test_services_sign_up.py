"""Signing up, confirming the e-mail address, cancelling, and the personal link."""

from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone, translation

from gesprekken import services
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

pytestmark = pytest.mark.django_db

S = Aanmelding.Status


def sign_up(gesprek, email="anna@example.org", **kwargs):
    values = {"name": "Anna", "postcode": "3511 ab", "language": "nl", **kwargs}
    return services.sign_up(gesprek=gesprek, email=email, **values)


def fill(gesprek, count, status=S.BEVESTIGD):
    return AanmeldingFactory.create_batch(count, gesprek=gesprek, status=status)


# --- sign_up ------------------------------------------------------------------------------


def test_sign_up_holds_a_free_seat_for_the_configured_time(settings):
    settings.GESPREKKEN_HOLD_MINUTES = 45
    now = timezone.now()
    gesprek = GesprekFactory(max_participants=2)

    aanmelding = sign_up(gesprek, now=now)

    assert aanmelding.status == S.ONBEVESTIGD
    assert aanmelding.hold_expires_at == now + timedelta(minutes=45)
    assert aanmelding.consent_at == now


def test_sign_up_hold_never_lasts_past_the_start():
    now = timezone.now()
    gesprek = GesprekFactory(starts_at=now + timedelta(minutes=10))

    aanmelding = sign_up(gesprek, now=now)

    assert aanmelding.hold_expires_at == gesprek.starts_at


def test_sign_up_queues_one_confirm_email_in_the_residents_language(queued):
    gesprek = GesprekFactory()

    aanmelding = sign_up(gesprek, language="en")

    bericht = Bericht.objects.get()
    assert bericht.kind == "bevestig_email"
    assert bericht.key == f"bevestig_email:{aanmelding.pk}"
    assert (bericht.to, bericht.language) == ("anna@example.org", "en")
    assert (bericht.aanmelding, bericht.gesprek) == (aanmelding, gesprek)


def test_sign_up_stores_email_lowercased_and_postcode_without_space():
    aanmelding = sign_up(
        GesprekFactory(), email="  Anna.de.Vries@Example.ORG ", postcode=" 3511 ab"
    )

    aanmelding.refresh_from_db()
    assert aanmelding.email == "anna.de.vries@example.org"
    assert aanmelding.postcode == "3511AB"


def test_sign_up_falls_back_to_dutch_for_an_unknown_language():
    assert sign_up(GesprekFactory(), language="xx").language == "nl"


def test_sign_up_puts_the_resident_on_the_waiting_list_when_full(queued):
    gesprek = GesprekFactory(max_participants=2)
    fill(gesprek, 2)

    aanmelding = sign_up(gesprek)

    assert aanmelding.status == S.WACHTLIJST
    assert aanmelding.hold_expires_at is None
    assert queued() == [f"wachtlijst:{aanmelding.pk}"]


@pytest.mark.parametrize("status", [S.ONBEVESTIGD, S.BEVESTIGD, S.AANGEBODEN, S.AANWEZIG])
def test_sign_up_counts_every_seat_taking_status_as_taken(status):
    gesprek = GesprekFactory(max_participants=1)
    fill(gesprek, 1, status=status)

    assert sign_up(gesprek).status == S.WACHTLIJST


@pytest.mark.parametrize("status", [S.GEANNULEERD, S.VERLOPEN])
def test_sign_up_does_not_count_cancelled_or_expired_as_taken(status):
    gesprek = GesprekFactory(max_participants=1)
    fill(gesprek, 3, status=status)

    assert sign_up(gesprek).status == S.ONBEVESTIGD


def test_sign_up_gives_the_last_seat_and_then_the_waiting_list():
    gesprek = GesprekFactory(max_participants=3)
    fill(gesprek, 2)

    first = sign_up(gesprek, email="first@example.org")
    second = sign_up(gesprek, email="second@example.org")

    assert (first.status, second.status) == (S.ONBEVESTIGD, S.WACHTLIJST)


@pytest.mark.parametrize("status", [S.ONBEVESTIGD, S.BEVESTIGD, S.WACHTLIJST, S.AANGEBODEN])
def test_sign_up_refuses_an_address_with_a_live_registration(status):
    gesprek = GesprekFactory()
    AanmeldingFactory(gesprek=gesprek, email="anna@example.org", status=status)

    with pytest.raises(services.AlreadySignedUp):
        sign_up(gesprek, email="ANNA@example.org ")

    assert gesprek.aanmeldingen.count() == 1


def test_sign_up_twice_in_a_row_is_a_friendly_error_not_a_second_seat():
    gesprek = GesprekFactory()
    sign_up(gesprek)

    with pytest.raises(services.AlreadySignedUp) as error:
        sign_up(gesprek)

    assert "al aangemeld" in str(error.value)
    assert gesprek.aanmeldingen.count() == 1
    assert Bericht.objects.count() == 1


def test_sign_up_turns_the_unique_constraint_into_already_signed_up(monkeypatch):
    # Simulate the race the lock normally prevents: the first count sees nothing, the
    # row exists anyway, so the database constraint is what stops the second seat; the
    # whole transaction is tried again and then says so.
    gesprek = GesprekFactory()
    AanmeldingFactory(gesprek=gesprek, email="anna@example.org")
    real_counts = services._sign_up_counts
    calls = []

    def blind_first_time(gesprek, email):
        mine, taken, queued = real_counts(gesprek, email)
        calls.append(mine)
        return (0 if len(calls) == 1 else mine), taken, queued

    monkeypatch.setattr(services, "_sign_up_counts", blind_first_time)

    with pytest.raises(services.AlreadySignedUp):
        sign_up(gesprek)

    assert calls == [1, 1]
    assert gesprek.aanmeldingen.count() == 1
    assert not Bericht.objects.exists()


def test_sign_up_draws_a_new_check_in_code_when_it_clashes(monkeypatch):
    gesprek = GesprekFactory()
    AanmeldingFactory(gesprek=gesprek, short_code="AAAAAA")
    codes = iter(["AAAAAA", "AAAAAA", "BBBBBB"])
    field = Aanmelding._meta.get_field("short_code")
    monkeypatch.setattr(field, "_get_default", lambda: next(codes))

    aanmelding = sign_up(gesprek)

    assert aanmelding.short_code == "BBBBBB"
    assert gesprek.aanmeldingen.count() == 2
    # One mail: the attempts that clashed were rolled back with their outbox rows.
    assert Bericht.objects.count() == 1


def test_sign_up_gives_up_after_three_clashes(monkeypatch):
    gesprek = GesprekFactory()
    AanmeldingFactory(gesprek=gesprek, short_code="AAAAAA")
    field = Aanmelding._meta.get_field("short_code")
    monkeypatch.setattr(field, "_get_default", lambda: "AAAAAA")

    with pytest.raises(IntegrityError):
        sign_up(gesprek)

    assert gesprek.aanmeldingen.count() == 1
    assert not Bericht.objects.exists()


def test_sign_up_is_possible_again_after_cancelling():
    gesprek = GesprekFactory()
    AanmeldingFactory(gesprek=gesprek, email="anna@example.org", status=S.GEANNULEERD)

    assert sign_up(gesprek).status == S.ONBEVESTIGD


def test_sign_up_with_the_same_address_for_another_gesprek_is_fine():
    sign_up(GesprekFactory())

    assert sign_up(GesprekFactory()).status == S.ONBEVESTIGD


@pytest.mark.parametrize(
    "status", [Gesprek.Status.CONCEPT, Gesprek.Status.AFGELAST, Gesprek.Status.GEHOUDEN]
)
def test_sign_up_refuses_a_gesprek_that_is_not_planned(status):
    gesprek = GesprekFactory(status=status)

    with pytest.raises(services.GesprekClosed):
        sign_up(gesprek)

    assert not Aanmelding.objects.exists()


def test_sign_up_refuses_once_the_gesprek_has_started():
    gesprek = GesprekFactory()

    with pytest.raises(services.GesprekClosed):
        sign_up(gesprek, now=gesprek.starts_at)


def test_sign_up_uses_the_stored_gesprek_not_a_stale_instance():
    gesprek = GesprekFactory()
    Gesprek.objects.filter(pk=gesprek.pk).update(status=Gesprek.Status.AFGELAST)

    with pytest.raises(services.GesprekClosed):
        sign_up(gesprek)


def test_sign_up_offers_free_seats_to_those_waiting_before_a_newcomer(queued):
    # Capacity was raised outside change_gesprek (e.g. in the database): seats are free
    # while people wait. They go first.
    gesprek = GesprekFactory(max_participants=1)
    fill(gesprek, 1)
    waiting = fill(gesprek, 1, status=S.WACHTLIJST)[0]
    Gesprek.objects.filter(pk=gesprek.pk).update(max_participants=2)

    newcomer = sign_up(gesprek)

    waiting.refresh_from_db()
    assert waiting.status == S.AANGEBODEN
    assert newcomer.status == S.WACHTLIJST


def test_service_errors_read_in_the_active_language():
    with translation.override("en"):
        assert str(services.GesprekClosed()) == "You can no longer sign up for this conversation."
    assert str(services.ServiceError("custom")) == "custom"


# --- confirm ------------------------------------------------------------------------------


def test_confirm_turns_the_held_seat_into_a_confirmed_one(queued):
    now = timezone.now()
    aanmelding = sign_up(GesprekFactory(), now=now)

    services.confirm(aanmelding=aanmelding, now=now + timedelta(minutes=5))

    aanmelding.refresh_from_db()
    assert aanmelding.status == S.BEVESTIGD
    assert aanmelding.confirmed_at == now + timedelta(minutes=5)
    assert aanmelding.hold_expires_at is None
    assert queued("bevestigd") == [f"bevestigd:{aanmelding.pk}"]


def test_confirm_updates_the_instance_the_caller_holds():
    aanmelding = sign_up(GesprekFactory())
    stale = Aanmelding.objects.get(pk=aanmelding.pk)

    returned = services.confirm(aanmelding=stale)

    assert returned is stale
    assert stale.status == S.BEVESTIGD


def test_confirm_twice_confirms_once_and_mails_once(queued):
    aanmelding = sign_up(GesprekFactory())

    services.confirm(aanmelding=aanmelding)
    first_confirmed_at = aanmelding.confirmed_at
    services.confirm(aanmelding=aanmelding, now=timezone.now() + timedelta(minutes=1))

    assert aanmelding.confirmed_at == first_confirmed_at
    assert len(queued("bevestigd")) == 1


def test_confirm_after_the_hold_expired_keeps_the_seat_when_one_is_free():
    now = timezone.now()
    gesprek = GesprekFactory(max_participants=2)
    aanmelding = sign_up(gesprek, now=now)
    later = now + timedelta(hours=3)
    services.expire_holds_and_offers(now=later)

    services.confirm(aanmelding=aanmelding, now=later)

    assert aanmelding.status == S.BEVESTIGD


def test_confirm_after_the_hold_expired_but_before_the_sweep_keeps_the_seat():
    now = timezone.now()
    gesprek = GesprekFactory(max_participants=1)
    aanmelding = sign_up(gesprek, now=now)
    sign_up(gesprek, email="waiting@example.org", now=now)

    services.confirm(aanmelding=aanmelding, now=now + timedelta(hours=3))

    assert aanmelding.status == S.BEVESTIGD


def test_confirm_after_the_seat_went_to_someone_else_puts_them_on_the_waiting_list(queued):
    now = timezone.now()
    gesprek = GesprekFactory(max_participants=1)
    late = sign_up(gesprek, now=now)
    later = now + timedelta(hours=2)
    services.expire_holds_and_offers(now=later)
    sign_up(gesprek, email="quick@example.org", now=later)

    services.confirm(aanmelding=late, now=later)

    assert late.status == S.WACHTLIJST
    assert queued("wachtlijst") == [f"wachtlijst:{late.pk}"]
    assert gesprek.aanmeldingen.holding_seat().count() == 1


def test_confirm_of_an_expired_hold_refuses_when_the_address_signed_up_again():
    now = timezone.now()
    gesprek = GesprekFactory()
    old = sign_up(gesprek, now=now)
    services.expire_holds_and_offers(now=now + timedelta(hours=2))
    sign_up(gesprek, now=now + timedelta(hours=2))

    with pytest.raises(services.AlreadySignedUp):
        services.confirm(aanmelding=old, now=now + timedelta(hours=2))

    old.refresh_from_db()
    assert old.status == S.VERLOPEN


def test_confirm_of_a_cancelled_registration_is_refused():
    aanmelding = AanmeldingFactory(status=S.GEANNULEERD)

    with pytest.raises(services.RegistrationCancelled):
        services.confirm(aanmelding=aanmelding)


def test_confirm_on_the_waiting_list_changes_nothing(queued):
    aanmelding = AanmeldingFactory(status=S.WACHTLIJST)

    services.confirm(aanmelding=aanmelding)

    assert aanmelding.status == S.WACHTLIJST
    assert queued() == []


def test_confirm_after_the_gesprek_was_called_off_is_refused():
    aanmelding = sign_up(GesprekFactory())
    services.cancel_gesprek(gesprek=aanmelding.gesprek)

    with pytest.raises(services.GesprekClosed):
        services.confirm(aanmelding=aanmelding)


# --- cancel -------------------------------------------------------------------------------


def test_cancel_records_the_time_and_frees_the_seat():
    now = timezone.now()
    gesprek = GesprekFactory(max_participants=1)
    aanmelding = fill(gesprek, 1)[0]

    services.cancel(aanmelding=aanmelding, now=now)

    assert (aanmelding.status, aanmelding.cancelled_at) == (S.GEANNULEERD, now)
    assert sign_up(gesprek).status == S.ONBEVESTIGD


def test_cancel_from_the_waiting_list_offers_nothing(queued):
    gesprek = GesprekFactory(max_participants=1)
    fill(gesprek, 1)
    first, second = fill(gesprek, 2, status=S.WACHTLIJST)

    services.cancel(aanmelding=first)

    second.refresh_from_db()
    assert second.status == S.WACHTLIJST
    assert queued() == []


def test_cancel_twice_is_harmless():
    aanmelding = AanmeldingFactory()
    services.cancel(aanmelding=aanmelding)
    cancelled_at = aanmelding.cancelled_at

    services.cancel(aanmelding=aanmelding, now=timezone.now() + timedelta(hours=1))

    assert aanmelding.cancelled_at == cancelled_at


def test_cancel_is_refused_once_the_gesprek_has_started():
    aanmelding = AanmeldingFactory()

    with pytest.raises(services.GesprekClosed):
        services.cancel(aanmelding=aanmelding, now=aanmelding.gesprek.starts_at)

    aanmelding.refresh_from_db()
    assert aanmelding.status == S.BEVESTIGD


# --- the personal link -----------------------------------------------------------------------


def test_get_aanmelding_by_token_finds_the_registration_with_the_right_token():
    aanmelding = AanmeldingFactory()

    assert services.get_aanmelding_by_token(str(aanmelding.pk), aanmelding.token) == aanmelding


@pytest.mark.parametrize("token", ["", None, "wrong", "x" * 43])
def test_get_aanmelding_by_token_refuses_a_wrong_token(token):
    aanmelding = AanmeldingFactory()

    assert services.get_aanmelding_by_token(aanmelding.pk, token) is None


@pytest.mark.parametrize("pk", ["abc", None, "999999", "1; DROP TABLE"])
def test_get_aanmelding_by_token_refuses_an_unknown_pk(pk):
    aanmelding = AanmeldingFactory()

    assert services.get_aanmelding_by_token(pk, aanmelding.token) is None


def test_tokens_are_long_and_differ_per_registration():
    first, second = AanmeldingFactory.create_batch(2)

    assert first.token != second.token
    assert len(first.token) >= 43


def test_resend_manage_link_queues_one_mail_per_live_registration(queued):
    now = timezone.now()
    mine = [
        AanmeldingFactory(email="anna@example.org"),
        AanmeldingFactory(email="anna@example.org", status=S.WACHTLIJST),
    ]
    AanmeldingFactory(email="anna@example.org", status=S.GEANNULEERD)
    AanmeldingFactory(email="anna@example.org", gesprek__status=Gesprek.Status.AFGELAST)
    AanmeldingFactory(email="someone.else@example.org")

    assert services.resend_manage_link(email=" Anna@Example.org", now=now) == 2

    assert {b.aanmelding for b in Bericht.objects.filter(kind="beheerlink")} == set(mine)


def test_resend_manage_link_can_be_limited_to_one_gesprek():
    mine = AanmeldingFactory(email="anna@example.org")
    AanmeldingFactory(email="anna@example.org")

    assert services.resend_manage_link(email="anna@example.org", gesprek=mine.gesprek) == 1


def test_resend_manage_link_sends_at_most_one_mail_per_registration_per_window(settings, queued):
    settings.GESPREKKEN_RESEND_LINK_MINUTES = 15
    AanmeldingFactory(email="anna@example.org")
    start = timezone.now().replace(minute=0, second=0, microsecond=0)

    for minutes in (0, 1, 14):
        services.resend_manage_link(
            email="anna@example.org", now=start + timedelta(minutes=minutes)
        )
    assert len(queued("beheerlink")) == 1

    services.resend_manage_link(email="anna@example.org", now=start + timedelta(minutes=15))
    assert len(queued("beheerlink")) == 2


def test_resend_manage_link_for_an_unknown_address_is_silent(queued):
    assert services.resend_manage_link(email="nobody@example.org") == 0
    assert queued() == []


def test_resend_manage_link_skips_gesprekken_that_have_ended():
    aanmelding = AanmeldingFactory(email="anna@example.org")

    sent = services.resend_manage_link(
        email="anna@example.org", now=aanmelding.gesprek.ends_at + timedelta(minutes=1)
    )

    assert sent == 0
