"""The outbox: every e-mail is a Bericht row written in the caller's transaction.

`queue` inserts the row (a second call with the same key is a no-op) and enqueues
`send_bericht` after commit. `deliver` claims the row with a conditional UPDATE, renders
and sends it, and records the outcome: sent, released for a later retry (temporary SMTP
or connection trouble) or failed (permanent refusal, or too many attempts). `sweep`
enqueues whatever is due again: rows that were never enqueued because Redis was down,
rows released for a retry, and rows claimed by a worker that died.

Exactly once, as far as SMTP allows: a row is sent only by the worker that claimed it,
and a claim is taken over only after GESPREKKEN_MAIL_STALE_SECONDS. The one window left
is a worker dying between the SMTP server accepting the mail and the row being marked
sent; then the mail goes out a second time after the stale limit, which beats losing it.
"""

import logging
import smtplib
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import BadHeaderError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Bericht

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


def _enqueue(pk: int) -> None:
    try:
        from .tasks import send_bericht

        send_bericht.delay(pk)
    except Exception:
        # Redis down: the row is saved, the sweep sends it later.
        logger.warning("could not enqueue bericht %s; the sweep will send it", pk, exc_info=True)


def queue(
    *,
    kind: str,
    key: str,
    to: str,
    language: str,
    aanmelding=None,
    interesse=None,
    gesprek=None,
    context: dict | None = None,
) -> Bericht | None:
    """Insert the Bericht for `key` unless it exists; send it after the caller commits.

    Call it inside the transaction of the change that causes the mail, so the mail exists
    exactly when the change does. `kind` names the template folder (templates/emails/<kind>/),
    `context` holds extra non-secret, JSON-serialisable values for the template.
    Returns the new row, or None when a mail with this key was queued before.
    Never raises for a broker problem: enqueueing failures are logged and left to the sweep.
    """
    try:
        with transaction.atomic():
            bericht, created = Bericht.objects.get_or_create(
                key=key,
                defaults={
                    "kind": kind,
                    "to": to,
                    "language": language,
                    "aanmelding": aanmelding,
                    "interesse": interesse,
                    "gesprek": gesprek,
                    "context": context or {},
                },
            )
    except IntegrityError:
        # A concurrent transaction queued the same key first.
        if Bericht.objects.filter(key=key).exists():
            return None
        raise
    if not created:
        return None
    transaction.on_commit(lambda: _enqueue(bericht.pk))
    return bericht


def _stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.GESPREKKEN_MAIL_STALE_SECONDS)


def _due(now: datetime) -> Q:
    """Rows a worker may take: pending and due, or claimed by a worker that went silent."""
    return Q(status=Bericht.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Bericht.Status.SENDING, claimed_at__lt=_stale_before(now)
    )


def claim(pk: int, now: datetime) -> bool:
    """Take the row for sending with one conditional UPDATE; False when it is not ours.

    Not ours: already sent or failed, not due yet, or claimed by a live worker. Two workers
    racing for the same row both run the UPDATE; the database lets exactly one match.
    """
    claimed = Bericht.objects.filter(_due(now), pk=pk).update(
        status=Bericht.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    return claimed == 1


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after `attempts` tries: doubling, with a ceiling."""
    seconds = settings.GESPREKKEN_MAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.GESPREKKEN_MAIL_RETRY_MAX_SECONDS))


def _ours(bericht: Bericht):
    # Guard every write after the claim: if our claim went stale and another worker took
    # the row over, its outcome wins.
    return Bericht.objects.filter(
        pk=bericht.pk, status=Bericht.Status.SENDING, claimed_at=bericht.claimed_at
    )


def _fail(bericht: Bericht, error: str) -> None:
    logger.error("bericht %s (%s) failed: %s", bericht.pk, bericht.kind, error)
    _ours(bericht).update(status=Bericht.Status.FAILED, last_error=error[:500], claimed_at=None)


def _release(bericht: Bericht, error: str, now: datetime) -> str:
    if bericht.attempts >= settings.GESPREKKEN_MAIL_MAX_ATTEMPTS:
        _fail(bericht, f"gave up after {bericht.attempts} attempts: {error}")
        return "failed"
    retry_at = now + backoff(bericht.attempts)
    logger.warning(
        "bericht %s (%s) will be retried at %s: %s", bericht.pk, bericht.kind, retry_at, error
    )
    _ours(bericht).update(
        status=Bericht.Status.PENDING,
        next_attempt_at=retry_at,
        last_error=error[:500],
        claimed_at=None,
    )
    return "retry"


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        return f"SMTP {error.smtp_code} {message}".strip()
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"SMTP {code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
            for code, msg in error.recipients.values()
        )
    return f"{type(error).__name__}: {error}"


def is_temporary(error: BaseException) -> bool:
    """Whether trying again later may help: SMTP 4xx, a lost or refused connection, a timeout.

    A 5xx answer is permanent (the address or the message is refused), except an
    authentication failure, which is our configuration and should not fail every mail.
    """
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return not 500 <= error.smtp_code < 600
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(400 <= code < 500 for code, _ in error.recipients.values())
    # SMTPServerDisconnected, ConnectionError, TimeoutError (socket.timeout) and other
    # socket errors are all OSError.
    return isinstance(error, OSError)


def deliver(pk: int, *, now: datetime | None = None) -> str:
    """Claim, render and send one Bericht; returns what happened.

    "skipped" (someone else has it, or it is done or not due), "sent", "retry" (released
    with backoff after a temporary error), "failed" (permanent error or too many
    attempts; `last_error` says why, the admin shows it) or "obsolete" (overtaken by
    events while it waited, see emails.reason_not_to_send; recorded as failed with
    "not sent: …"). Database errors propagate so
    the task can retry them; SMTP errors never do.
    """
    from . import emails

    now = now or timezone.now()
    if not claim(pk, now):
        return "skipped"
    bericht = Bericht.objects.select_related(
        "aanmelding__gesprek__buurt", "interesse__buurt", "gesprek__buurt"
    ).get(pk=pk)
    if bericht.attempts > settings.GESPREKKEN_MAIL_MAX_ATTEMPTS:
        # Claimed again and again without an outcome: the workers keep dying on it.
        _fail(bericht, f"gave up after {bericht.attempts - 1} attempts without an answer")
        return "failed"
    obsolete = emails.reason_not_to_send(bericht, now)
    if obsolete:
        logger.info("bericht %s (%s) not sent: %s", pk, bericht.kind, obsolete)
        _ours(bericht).update(
            status=Bericht.Status.FAILED, last_error=f"not sent: {obsolete}", claimed_at=None
        )
        return "obsolete"
    try:
        message = emails.render(bericht)
    except Exception as error:
        # A missing template or object: the same row would fail the same way next time.
        logger.exception("bericht %s (%s) could not be rendered", pk, bericht.kind)
        _fail(bericht, f"render: {_describe(error)}")
        return "failed"
    try:
        message.send()
    except (BadHeaderError, ValueError) as error:
        _fail(bericht, _describe(error))
        return "failed"
    except Exception as error:
        if is_temporary(error):
            return _release(bericht, _describe(error), now)
        _fail(bericht, _describe(error))
        return "failed"
    # The SMTP server has the mail: record it even if our claim went stale meanwhile.
    Bericht.objects.filter(pk=pk).exclude(status=Bericht.Status.SENT).update(
        status=Bericht.Status.SENT, sent_at=timezone.now(), claimed_at=None, last_error=""
    )
    if bericht.kind == emails.ALLAUTH_KIND:
        # allauth's stored mail holds a reset or confirmation link: keep no copy once sent.
        Bericht.objects.filter(pk=pk, status=Bericht.Status.SENT).update(
            context={"subject": (bericht.context or {}).get("subject", "")}
        )
    logger.info("bericht %s (%s) sent", pk, bericht.kind)
    return "sent"


def sweep(now: datetime | None = None) -> int:
    """Enqueue every row that is due: never enqueued, released for a retry, or stale.

    Returns how many were enqueued. The task does the claiming, so enqueueing a row that a
    worker already has is harmless. Stops at the first enqueue failure (Redis still down)
    and at SWEEP_BATCH rows; the next sweep continues.
    """
    from .tasks import send_bericht

    now = now or timezone.now()
    pks = list(
        Bericht.objects.filter(_due(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    enqueued = 0
    for pk in pks:
        try:
            send_bericht.delay(pk)
        except Exception:
            logger.warning(
                "sweep could not enqueue bericht %s; trying again next sweep", pk, exc_info=True
            )
            break
        enqueued += 1
    return enqueued
