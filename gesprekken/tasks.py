"""Celery tasks for gesprekken: thin, idempotent, arguments are ids.

Sending is owned by the outbox (gesprekken/outbox.py): a task only asks it to deliver one
row, and the row's state in the database decides whether anything is sent. Reminders and
thank-you mails are found in the database by beat tasks (settings.CELERY_BEAT_SCHEDULE),
so a moved or cancelled gesprek needs no task clean-up; their ledger keys make each one
go out once.
"""

import dataclasses
import logging
from collections import Counter
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import outbox
from .models import Aanmelding, Bericht, Gesprek

logger = logging.getLogger(__name__)

# The database went away for a moment (failover, pool exhausted): try the task again.
# SMTP trouble is not retried here; the outbox releases the row and the sweep resends it.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)
# Gesprekken that ended longer ago than this get no thank-you (e.g. after downtime).
THANKS_WINDOW = timedelta(days=7)

# Every task here ignores its result: nobody waits for one, and enqueueing then never
# touches the result backend, so a sign-up does not wait for Redis (the broker publish
# alone gives up within about a second; see CELERY_TASK_PUBLISH_RETRY_POLICY).

# Sending retries a database hiccup (backing off from 5 s to 5 min); SMTP errors are the
# outbox's to handle and never reach Celery.
SENDING = {
    "ignore_result": True,
    "autoretry_for": TRANSIENT_DB_ERRORS,
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "max_retries": 5,
}


@shared_task(**SENDING)
def send_bericht(bericht_id: int) -> str:
    """Deliver one queued e-mail unless it was sent, failed or is being sent elsewhere."""
    return outbox.deliver(bericht_id)


@shared_task(**SENDING)
def send_berichten(bericht_ids: list[int]) -> dict[str, int]:
    """Deliver a batch of queued e-mails over one SMTP connection (outbox.deliver_many);
    how many had each outcome. Rows sent, failed or taken by another worker are skipped,
    so a retry after a database error sends only what is still due."""
    outcomes = outbox.deliver_many([int(pk) for pk in bericht_ids])
    return dict(Counter(outcomes.values()))


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    """Enqueue due e-mails: never enqueued (Redis was down), to be retried, or stale claims."""
    return outbox.sweep()


# The beat tasks insert this many outbox rows per statement and transaction; each
# transaction's rows are enqueued (in outbox.BATCH_SIZE batches) as soon as it commits.
QUEUE_CHUNK = 1000


def _queue_once_each(kind: str, due) -> int:
    """Queue mail `kind` for every registration in `due`; the key `<kind>:<pk>` makes
    it once per person, however often beat finds them. Returns how many were new.

    One INSERT … ON CONFLICT DO NOTHING per QUEUE_CHUNK registrations, in a transaction
    of its own, so the workers start sending while the rest is still being queued."""
    queued = 0
    rows = due.values_list("pk", "email", "language", "gesprek_id")
    chunk: list[Bericht] = []

    def flush() -> int:
        with transaction.atomic():
            return len(outbox.queue_many(chunk))

    for pk, email, language, gesprek_id in rows.iterator(chunk_size=QUEUE_CHUNK):
        chunk.append(
            Bericht(
                kind=kind,
                key=f"{kind}:{pk}",
                to=email,
                language=language,
                aanmelding_id=pk,
                gesprek_id=gesprek_id,
            )
        )
        if len(chunk) == QUEUE_CHUNK:
            queued += flush()
            chunk = []
    if chunk:
        queued += flush()
    return queued


@shared_task(ignore_result=True)
def send_due_reminders() -> int:
    """Queue the reminder for every confirmed seat in a gesprek starting soon; once each.

    Soon: within settings.GESPREKKEN_REMINDER_HOURS. The key `herinnering:<aanmelding>` makes
    every later run (and a second beat) a no-op for people already reminded.
    """
    now = timezone.now()
    horizon = now + timedelta(hours=settings.GESPREKKEN_REMINDER_HOURS)
    due = Aanmelding.objects.filter(
        status=Aanmelding.Status.BEVESTIGD,
        gesprek__status=Gesprek.Status.GEPLAND,
        gesprek__starts_at__gt=now,
        gesprek__starts_at__lte=horizon,
    ).exclude(berichten__kind="herinnering")
    return _queue_once_each("herinnering", due)


@shared_task(ignore_result=True)
def send_thanks() -> int:
    """Queue the thank-you for everyone who came (or was confirmed) to a gesprek that ended.

    Ended: settings.GESPREKKEN_THANKS_AFTER_HOURS ago or longer, but less than a week ago.
    Key `bedankt:<aanmelding>`: once per person.
    """
    now = timezone.now()
    ended_before = now - timedelta(hours=settings.GESPREKKEN_THANKS_AFTER_HOURS)
    due = Aanmelding.objects.filter(
        status__in=[Aanmelding.Status.AANWEZIG, Aanmelding.Status.BEVESTIGD],
        gesprek__status__in=[Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN],
        gesprek__ends_at__lte=ended_before,
        gesprek__ends_at__gt=now - THANKS_WINDOW,
    ).exclude(berichten__kind="bedankt")
    return _queue_once_each("bedankt", due)


@shared_task(ignore_result=True)
def expire_holds_and_offers() -> int:
    """Expire unconfirmed holds and unclaimed offers; freed seats go to the waiting list."""
    # Imported late: the services import the outbox, and the outbox enqueues these tasks.
    from . import services

    return services.expire_holds_and_offers()


# --- mails to facilitators ----------------------------------------------------------------

# Report reminders: this many days after a gesprek ended, while its report is missing.
REPORT_REMINDER_DAYS = (2, 7)
# How long each reminder stays due (a beat that was down catches up, but not for ever).
REPORT_REMINDER_WINDOW = timedelta(days=7)
# The digest never looks further back than this, whatever happened to earlier digests.
DIGEST_LOOKBACK = timedelta(days=7)
# Gesprekken whose news goes into a digest: planned or held, not drafts or called off
# (the facilitator called it off themselves; every registration then "changes").
DIGEST_STATUSES = [Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN]


def staff_language(user) -> str:
    """The language of a mail to a facilitator: the site's, unless they speak only another
    one the site has (Facilitator.languages)."""
    profile = getattr(user, "facilitator", None)
    spoken = list(getattr(profile, "languages", None) or [])
    if not spoken or settings.LANGUAGE_CODE in spoken:
        return settings.LANGUAGE_CODE
    for code, _name in settings.LANGUAGES:
        if code in spoken:
            return code
    return settings.LANGUAGE_CODE


@shared_task(ignore_result=True)
def send_report_reminders() -> int:
    """Remind the facilitator of a gesprek that ended 2 and 7 days ago to write its report.

    Found in the database: planned or held, no Verslag, ended within a reminder's window.
    Each reminder goes once (key `verslag_herinnering:<gesprek>:<days>`); when the beat was
    down so long that both are due, only the later one is sent. Mails to the lead
    facilitator (the co-facilitator when there is none, or the lead's account is off).
    """
    now = timezone.now()
    first, last = min(REPORT_REMINDER_DAYS), max(REPORT_REMINDER_DAYS)
    due = Gesprek.objects.filter(
        status__in=[Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN],
        verslag__isnull=True,
        ends_at__lte=now - timedelta(days=first),
        ends_at__gt=now - timedelta(days=last) - REPORT_REMINDER_WINDOW,
    ).select_related("facilitator__facilitator", "co_facilitator__facilitator")
    queued = 0
    for gesprek in due.iterator():
        age = now - gesprek.ends_at
        stages = [
            days
            for days in REPORT_REMINDER_DAYS
            if timedelta(days=days) <= age < timedelta(days=days) + REPORT_REMINDER_WINDOW
        ]
        leads = [gesprek.facilitator, gesprek.co_facilitator]
        user = next((u for u in leads if u is not None and u.is_active and u.email), None)
        if not stages or user is None:
            continue
        days = max(stages)
        if outbox.queue(
            kind="verslag_herinnering",
            key=f"verslag_herinnering:{gesprek.pk}:{days}",
            to=user.email,
            language=staff_language(user),
            gesprek=gesprek,
            context={"user_id": user.pk, "days": days},
        ):
            queued += 1
    return queued


def _digest_rows(user, *, since, until) -> list[dict]:
    """Per gesprek `user` leads: sign-ups confirmed and registrations cancelled in
    [since, until); only gesprekken where something happened. One query."""
    window_new = Q(aanmeldingen__confirmed_at__gte=since, aanmeldingen__confirmed_at__lt=until)
    window_cancelled = Q(
        aanmeldingen__cancelled_at__gte=since, aanmeldingen__cancelled_at__lt=until
    )
    rows = (
        Gesprek.objects.led_by(user)
        .filter(status__in=DIGEST_STATUSES)
        .annotate(
            new=Count("aanmeldingen", filter=window_new),
            cancelled=Count("aanmeldingen", filter=window_cancelled),
        )
        .filter(Q(new__gt=0) | Q(cancelled__gt=0))
        .order_by("starts_at", "pk")
        .values("pk", "new", "cancelled")
    )
    return [{"id": row["pk"], "new": row["new"], "cancelled": row["cancelled"]} for row in rows]


@shared_task(ignore_result=True)
def send_digests() -> int:
    """Queue each facilitator's daily digest of new sign-ups and cancellations.

    Covers what happened since the previous digest (its `until`), at most DIGEST_LOOKBACK
    and at first the last day. At most one a day: key `digest:<user>:<date>` (Amsterdam
    date); nothing is queued when nothing happened, so a later run the same day can still
    send one. Counts only: names stay in the workspace.
    """
    now = timezone.now()
    today = timezone.localdate(now)
    horizon = now - DIGEST_LOOKBACK
    busy = Gesprek.objects.filter(status__in=DIGEST_STATUSES).filter(
        Q(aanmeldingen__confirmed_at__gte=horizon) | Q(aanmeldingen__cancelled_at__gte=horizon)
    )
    user_ids = set(busy.values_list("facilitator", flat=True)) | set(
        busy.values_list("co_facilitator", flat=True)
    )
    users = (
        get_user_model()
        .objects.filter(pk__in=user_ids - {None}, is_active=True)
        .exclude(email="")
        .select_related("facilitator")
        .order_by("pk")
    )
    queued = 0
    for user in users:
        key = f"digest:{user.pk}:{today.isoformat()}"
        if Bericht.objects.filter(key=key).exists():
            continue
        previous = (
            Bericht.objects.filter(kind="digest", key__startswith=f"digest:{user.pk}:")
            .order_by("-created_at", "-pk")
            .first()
        )
        since = parse_datetime((previous.context or {}).get("until", "")) if previous else None
        since = max(since or now - timedelta(days=1), horizon)
        rows = _digest_rows(user, since=since, until=now)
        if not rows:
            continue
        if outbox.queue(
            kind="digest",
            key=key,
            to=user.email,
            language=staff_language(user),
            context={
                "user_id": user.pk,
                "since": since.isoformat(),
                "until": now.isoformat(),
                "gesprekken": rows,
            },
        ):
            queued += 1
    return queued


@shared_task(ignore_result=True)
def purge_personal_data() -> dict:
    """The daily retention purge: anonymise registrations and delete interest records
    GESPREKKEN_RETENTION_DAYS after their gesprek (services.purge_personal_data)."""
    # Imported late, as above.
    from . import services

    result = services.purge_personal_data()
    logger.info(
        "retention purge: %s registrations anonymised, %s interests and %s account mails "
        "deleted, %s survey pairing keys destroyed, %s incidents and %s blocks deleted",
        result.anonymised,
        result.interests_deleted,
        result.account_mails_deleted,
        result.pairing_keys_destroyed,
        result.incidents_deleted,
        result.blocks_deleted,
    )
    return dataclasses.asdict(result)


@shared_task(ignore_result=True)
def recount_present() -> int:
    """The nightly check of Gesprek.present (the stored count of who came, which the
    dashboards read) against the registrations; puts right and logs what was off."""
    # Imported late, as above.
    from . import services

    fixed = services.recount_present()
    if fixed:
        logger.warning("present count: %s gesprekken were off and are now right", fixed)
    else:
        logger.info("present count: every gesprek was right")
    return fixed
