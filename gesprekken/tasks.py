"""Celery tasks for gesprekken: thin, idempotent, arguments are ids.

Sending is owned by the outbox (gesprekken/outbox.py): a task only asks it to deliver one
row, and the row's state in the database decides whether anything is sent. Reminders and
thank-you mails are found in the database by beat tasks (settings.CELERY_BEAT_SCHEDULE),
so a moved or cancelled gesprek needs no task clean-up; their ledger keys make each one
go out once.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from . import outbox
from .models import Aanmelding, Gesprek

logger = logging.getLogger(__name__)

# The database went away for a moment (failover, pool exhausted): try the task again.
# SMTP trouble is not retried here; the outbox releases the row and the sweep resends it.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# Gesprekken that ended longer ago than this get no thank-you (e.g. after downtime).
THANKS_WINDOW = timedelta(days=7)

# Every task here ignores its result: nobody waits for one, and enqueueing then never
# touches the result backend, so a sign-up does not wait for Redis (the broker publish
# alone gives up within about a second; see CELERY_TASK_PUBLISH_RETRY_POLICY).


@shared_task(
    ignore_result=True,
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def send_bericht(bericht_id: int) -> str:
    """Deliver one queued e-mail unless it was sent, failed or is being sent elsewhere."""
    return outbox.deliver(bericht_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Enqueue due e-mails: never enqueued (Redis was down), to be retried, or stale claims."""
    return outbox.sweep()


@shared_task(ignore_result=True)
def send_due_reminders() -> int:
    """Queue the reminder for every confirmed seat in a gesprek starting soon; once each.

    Soon: within settings.GESPREKKEN_REMINDER_HOURS. The key `herinnering:<aanmelding>` makes
    every later run (and a second beat) a no-op for people already reminded.
    """
    now = timezone.now()
    horizon = now + timedelta(hours=settings.GESPREKKEN_REMINDER_HOURS)
    due = (
        Aanmelding.objects.filter(
            status=Aanmelding.Status.BEVESTIGD,
            gesprek__status=Gesprek.Status.GEPLAND,
            gesprek__starts_at__gt=now,
            gesprek__starts_at__lte=horizon,
        )
        .exclude(berichten__kind="herinnering")
        .select_related("gesprek")
    )
    queued = 0
    for aanmelding in due.iterator():
        if outbox.queue(
            kind="herinnering",
            key=f"herinnering:{aanmelding.pk}",
            to=aanmelding.email,
            language=aanmelding.language,
            aanmelding=aanmelding,
            gesprek=aanmelding.gesprek,
        ):
            queued += 1
    return queued


@shared_task(ignore_result=True)
def send_thanks() -> int:
    """Queue the thank-you for everyone who came (or was confirmed) to a gesprek that ended.

    Ended: settings.GESPREKKEN_THANKS_AFTER_HOURS ago or longer, but less than a week ago.
    Key `bedankt:<aanmelding>`: once per person.
    """
    now = timezone.now()
    ended_before = now - timedelta(hours=settings.GESPREKKEN_THANKS_AFTER_HOURS)
    due = (
        Aanmelding.objects.filter(
            status__in=[Aanmelding.Status.AANWEZIG, Aanmelding.Status.BEVESTIGD],
            gesprek__status__in=[Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN],
            gesprek__ends_at__lte=ended_before,
            gesprek__ends_at__gt=now - THANKS_WINDOW,
        )
        .exclude(berichten__kind="bedankt")
        .select_related("gesprek")
    )
    queued = 0
    for aanmelding in due.iterator():
        if outbox.queue(
            kind="bedankt",
            key=f"bedankt:{aanmelding.pk}",
            to=aanmelding.email,
            language=aanmelding.language,
            aanmelding=aanmelding,
            gesprek=aanmelding.gesprek,
        ):
            queued += 1
    return queued


@shared_task(ignore_result=True)
def expire_holds_and_offers() -> int:
    """Expire unconfirmed holds and unclaimed offers; freed seats go to the waiting list."""
    # Imported late: the services import the outbox, and the outbox enqueues these tasks.
    from . import services

    return services.expire_holds_and_offers()
