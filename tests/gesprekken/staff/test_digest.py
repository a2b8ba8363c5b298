"""The daily digest: new sign-ups and cancellations per facilitator, at most once a day."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from facilitators.models import Facilitator
from gesprekken import tasks
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory

from .running_helpers import gesprek_led_by, run_task

S = Aanmelding.Status
# Thursday 8 October 2026, 07:30 in Amsterdam: when the beat sends the digests.
MORNING = datetime(2026, 10, 8, 5, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _morning(time_machine):
    time_machine.move_to(MORNING, tick=False)


@pytest.fixture(autouse=True)
def _english(cast):
    # Mails go out in the facilitator's language: English here, so the sentences hold.
    Facilitator.objects.update(languages=["en"])


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def send_digests():
        return run_task(tasks.send_digests, django_capture_on_commit_callbacks)

    return send_digests


@pytest.fixture
def gesprek(cast):
    return gesprek_led_by(cast.facilitator, cast.buurt_a, co_facilitator=cast.co_facilitator)


def signed_up(gesprek, at, **fields):
    return AanmeldingFactory(gesprek=gesprek, created_at=at, confirmed_at=at, **fields)


def cancelled(gesprek, at):
    return AanmeldingFactory(
        gesprek=gesprek, status=S.GEANNULEERD, created_at=at - timedelta(days=3), cancelled_at=at
    )


def test_the_digest_counts_sign_ups_and_cancellations_for_both_facilitators_once(
    cast, gesprek, send
):
    resident = signed_up(gesprek, MORNING - timedelta(hours=3), name="Resident Verborgen")
    signed_up(gesprek, MORNING - timedelta(hours=5))
    cancelled(gesprek, MORNING - timedelta(hours=2))
    signed_up(gesprek, MORNING - timedelta(days=2))  # before the first digest's day

    assert send() == 2
    assert send() == 0

    assert sorted(Bericht.objects.values_list("key", flat=True)) == sorted(
        [f"digest:{cast.facilitator.pk}:2026-10-08", f"digest:{cast.co_facilitator.pk}:2026-10-08"]
    )
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [cast.facilitator.email, cast.co_facilitator.email]
    )
    message = mail.outbox[0]
    html = message.alternatives[0].content
    for part in (message.body, html):
        assert "2 new sign-ups" in part
        assert "1 cancellation" in part
        assert "Now 3 of 10 seats taken, 0 on the waiting list." in part
        # Counts only: names and addresses stay in the workspace.
        assert resident.name not in part
        assert resident.email not in part
    assert "http://127.0.0.1:8000/werkruimte/" in message.body


def test_no_digest_when_nothing_happened(gesprek, send):
    signed_up(gesprek, MORNING - timedelta(days=2))

    assert send() == 0
    assert mail.outbox == []


def test_the_next_digest_covers_only_what_happened_since_the_last_one(
    cast, gesprek, send, time_machine
):
    signed_up(gesprek, MORNING - timedelta(hours=1))
    assert send() == 2

    # Later the same day: new news waits for tomorrow's digest.
    signed_up(gesprek, MORNING + timedelta(hours=4))
    time_machine.move_to(MORNING + timedelta(hours=10), tick=False)
    assert send() == 0

    time_machine.move_to(MORNING + timedelta(days=1), tick=False)
    cancelled(gesprek, MORNING + timedelta(hours=20))
    mail.outbox.clear()
    assert send() == 2

    digest = Bericht.objects.get(key=f"digest:{cast.facilitator.pk}:2026-10-09")
    assert digest.context["gesprekken"] == [{"id": gesprek.pk, "new": 1, "cancelled": 1}]
    assert digest.context["since"] == MORNING.isoformat()
    assert "1 new sign-up\n" in mail.outbox[0].body


def test_a_quiet_day_sends_nothing_and_the_next_digest_picks_up_from_the_last(
    cast, gesprek, send, time_machine
):
    signed_up(gesprek, MORNING - timedelta(hours=1))
    send()
    time_machine.move_to(MORNING + timedelta(days=1), tick=False)
    assert send() == 0

    signed_up(gesprek, MORNING + timedelta(days=1, hours=3))
    time_machine.move_to(MORNING + timedelta(days=2), tick=False)
    assert send() == 2

    digest = Bericht.objects.get(key=f"digest:{cast.facilitator.pk}:2026-10-10")
    assert digest.context["gesprekken"] == [{"id": gesprek.pk, "new": 1, "cancelled": 0}]


def test_each_facilitator_hears_only_about_their_own_gesprekken(cast, gesprek, send):
    elsewhere = gesprek_led_by(cast.outsider_facilitator, cast.buurt_b)
    signed_up(elsewhere, MORNING - timedelta(hours=1))

    assert send() == 1

    [message] = mail.outbox
    assert message.to == [cast.outsider_facilitator.email]
    digest = Bericht.objects.get()
    assert digest.context["gesprekken"] == [{"id": elsewhere.pk, "new": 1, "cancelled": 0}]


def test_a_called_off_gesprek_is_left_out(cast, send):
    called_off = gesprek_led_by(cast.facilitator, cast.buurt_a, status=Gesprek.Status.AFGELAST)
    cancelled(called_off, MORNING - timedelta(hours=1))

    assert send() == 0


def test_the_digest_is_in_the_facilitators_language(cast, gesprek, send):
    Facilitator.objects.filter(user=cast.co_facilitator).update(languages=["nl", "en"])
    signed_up(gesprek, MORNING - timedelta(hours=1))

    send()

    languages = dict(Bericht.objects.values_list("to", "language"))
    assert languages == {cast.facilitator.email: "en", cast.co_facilitator.email: "nl"}
