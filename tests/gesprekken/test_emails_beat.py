"""Reminders and thank-you mails are found in the database by beat tasks, each sent once."""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core import mail

from buurtgesprek.celery import app as celery_app
from gesprekken import tasks
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

pytestmark = pytest.mark.django_db

S = Aanmelding.Status
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a beat task as the worker would: its queued mails go out after commit."""

    def run_task(task):
        with django_capture_on_commit_callbacks(execute=True):
            return task.delay().get()

    return run_task


def starting_in(hours, **fields):
    starts_at = NOW + timedelta(hours=hours)
    return GesprekFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), **fields)


def ended_ago(hours, **fields):
    ends_at = NOW - timedelta(hours=hours)
    return GesprekFactory(starts_at=ends_at - timedelta(hours=2), ends_at=ends_at, **fields)


def kinds_sent_to(aanmelding):
    return list(aanmelding.berichten.values_list("kind", flat=True))


# --- reminders ----------------------------------------------------------------------------------


def test_reminder_goes_to_confirmed_seats_of_gesprekken_starting_soon_once(run, settings):
    settings.GESPREKKEN_REMINDER_HOURS = 24
    soon = starting_in(23)
    confirmed = AanmeldingFactory(gesprek=soon, language="en")
    waiting = AanmeldingFactory(gesprek=soon, status=S.WACHTLIJST)
    unconfirmed = AanmeldingFactory(gesprek=soon, status=S.ONBEVESTIGD, confirmed_at=None)
    cancelled = AanmeldingFactory(gesprek=soon, status=S.GEANNULEERD)
    later = AanmeldingFactory(gesprek=starting_in(25))
    called_off = AanmeldingFactory(gesprek=starting_in(5, status=Gesprek.Status.AFGELAST))
    started = AanmeldingFactory(gesprek=starting_in(-1))

    assert run(tasks.send_due_reminders) == 1
    assert run(tasks.send_due_reminders) == 0

    assert kinds_sent_to(confirmed) == ["herinnering"]
    assert Bericht.objects.get().key == f"herinnering:{confirmed.pk}"
    for aanmelding in (waiting, unconfirmed, cancelled, later, called_off, started):
        assert kinds_sent_to(aanmelding) == []
    [message] = mail.outbox
    assert message.subject.startswith("Reminder: conversation on")
    assert message.to == [confirmed.email]


def test_reminder_time_is_configurable(run, settings):
    settings.GESPREKKEN_REMINDER_HOURS = 48
    aanmelding = AanmeldingFactory(gesprek=starting_in(47))

    assert run(tasks.send_due_reminders) == 1
    assert kinds_sent_to(aanmelding) == ["herinnering"]


def test_a_moved_gesprek_needs_no_clean_up_the_reminder_follows_the_new_time(run, settings):
    settings.GESPREKKEN_REMINDER_HOURS = 24
    gesprek = starting_in(23)
    aanmelding = AanmeldingFactory(gesprek=gesprek)
    gesprek.starts_at += timedelta(days=3)
    gesprek.ends_at += timedelta(days=3)
    gesprek.save()

    assert run(tasks.send_due_reminders) == 0

    gesprek.starts_at -= timedelta(days=3)
    gesprek.ends_at -= timedelta(days=3)
    gesprek.save()

    assert run(tasks.send_due_reminders) == 1
    assert kinds_sent_to(aanmelding) == ["herinnering"]


# --- thank you ----------------------------------------------------------------------------------


def test_thanks_go_to_who_came_or_was_confirmed_two_hours_after_the_end_once(run, settings):
    settings.GESPREKKEN_THANKS_AFTER_HOURS = 2
    gesprek = ended_ago(3)
    present = AanmeldingFactory(gesprek=gesprek, status=S.AANWEZIG)
    confirmed = AanmeldingFactory(gesprek=gesprek, status=S.BEVESTIGD)
    no_show = AanmeldingFactory(gesprek=gesprek, status=S.NIET_VERSCHENEN)
    cancelled = AanmeldingFactory(gesprek=gesprek, status=S.GEANNULEERD)
    waiting = AanmeldingFactory(gesprek=gesprek, status=S.WACHTLIJST)

    assert run(tasks.send_thanks) == 2
    assert run(tasks.send_thanks) == 0

    assert kinds_sent_to(present) == ["bedankt"]
    assert kinds_sent_to(confirmed) == ["bedankt"]
    for aanmelding in (no_show, cancelled, waiting):
        assert kinds_sent_to(aanmelding) == []
    assert len(mail.outbox) == 2


def test_thanks_wait_for_the_delay_and_skip_old_and_cancelled_gesprekken(run, settings):
    settings.GESPREKKEN_THANKS_AFTER_HOURS = 2
    just_ended = AanmeldingFactory(gesprek=ended_ago(1))
    long_ago = AanmeldingFactory(gesprek=ended_ago(24 * 8))
    called_off = AanmeldingFactory(gesprek=ended_ago(3, status=Gesprek.Status.AFGELAST))
    held = AanmeldingFactory(
        gesprek=ended_ago(3, status=Gesprek.Status.GEHOUDEN), status=S.AANWEZIG
    )

    assert run(tasks.send_thanks) == 1

    assert kinds_sent_to(held) == ["bedankt"]
    for aanmelding in (just_ended, long_ago, called_off):
        assert kinds_sent_to(aanmelding) == []


# --- holds and offers --------------------------------------------------------------------------


def test_expire_task_expires_a_hold_past_its_time(run):
    aanmelding = AanmeldingFactory(
        gesprek=starting_in(48),
        status=S.ONBEVESTIGD,
        confirmed_at=None,
        hold_expires_at=NOW - timedelta(minutes=1),
    )

    assert run(tasks.expire_holds_and_offers) == 1

    aanmelding.refresh_from_db()
    assert aanmelding.status == S.VERLOPEN


# --- the beat schedule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "every"),
    [
        ("gesprekken-sweep-outbox", timedelta(minutes=1)),
        ("gesprekken-expire-holds-and-offers", timedelta(minutes=1)),
        ("gesprekken-send-due-reminders", timedelta(minutes=5)),
        ("gesprekken-send-thanks", timedelta(minutes=15)),
    ],
)
def test_beat_runs_each_mail_task_often_enough(entry, every):
    schedule = settings.CELERY_BEAT_SCHEDULE[entry]

    assert schedule["task"] in celery_app.tasks
    assert schedule["schedule"] == every
