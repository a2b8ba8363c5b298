"""The outbox: every e-mail is a Bericht row written in the caller's transaction.

`queue` inserts the row (a second call with the same key is a no-op; one `INSERT … ON
CONFLICT DO NOTHING`) and enqueues `send_bericht` after commit; `queue_many` does the same
for many rows in one statement (the beat tasks' reminders and thank-yous) and enqueues
them in batches of BATCH_SIZE (`send_berichten`). `deliver_many` claims a batch with one
conditional UPDATE, then renders and sends each mail over one SMTP connection and records
each outcome: sent (in groups, below), released for a later retry (temporary SMTP or
connection trouble) or failed (permanent refusal, or too many attempts). `deliver` is
that for one row. `sweep` enqueues whatever is due again: rows that were never enqueued
because Redis was down, rows released for a retry, and rows claimed by a worker that died.

Exactly once, as far as SMTP allows: a row is sent only by the worker that claimed it,
and a claim is taken over only after GESPREKKEN_MAIL_STALE_SECONDS. A batch stops taking
mails well within that limit (BATCH_SECONDS, at most half of it) and hands the rest
back untried. The mails the SMTP server has accepted are marked sent together: one
statement once MARK_GROUP of them wait, or before the next mail once the first has waited
MARK_SECONDS, and at the end of the batch (also when it fails). The one window left is a
worker (or the database) dying between the SMTP server accepting mails and their mark
being stored: those mails, at most MARK_GROUP and at the usual pace a fifth of a second's
worth, go out a second time after the stale limit, which beats losing them.
"""

import logging
import smtplib
import time
from collections import Counter
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import BadHeaderError, get_connection
from django.db import IntegrityError, connections, router, transaction
from django.db.models import F, Q
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import timezone

from . import emails
from .models import Bericht

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500
# Mails per send task when many are due at once (reminders, thank-yous, the sweep): one
# claim, one load and one SMTP connection for all of them.
BATCH_SIZE = 50
# A batch takes no new mail after this many seconds (nor after half the stale limit);
# what is left goes back to the queue untried.
BATCH_SECONDS = 45
# Sent mails are marked in one statement per group: a mark per mail cost the database
# more than the rest of the batch together. A group is written when it holds MARK_GROUP
# mails or its first mail was accepted MARK_SECONDS ago, whichever comes first: about the
# marks PostgreSQL itself may lose in a crash (they commit without waiting for the disk,
# which it writes every wal_writer_delay, 0.2 s by default).
MARK_GROUP = BATCH_SIZE
MARK_SECONDS = 0.2


def _enqueue(pk: int) -> None:
    try:
        from .tasks import send_bericht

        send_bericht.delay(pk)
    except Exception:
        # Redis down: the row is saved, the sweep sends it later.
        logger.warning("could not enqueue bericht %s; the sweep will send it", pk, exc_info=True)


def enqueue_batches(pks: list[int]) -> int:
    """Enqueue `pks` as send tasks of up to BATCH_SIZE mails; returns how many mails were
    enqueued. Stops at the first broker failure: the sweep sends the rest later."""
    from .tasks import send_bericht, send_berichten

    enqueued = 0
    for start in range(0, len(pks), BATCH_SIZE):
        batch = pks[start : start + BATCH_SIZE]
        try:
            if len(batch) == 1:
                send_bericht.delay(batch[0])
            else:
                send_berichten.delay(batch)
        except Exception:
            logger.warning(
                "could not enqueue %s berichten; the sweep will send them",
                len(pks) - enqueued,
                exc_info=True,
            )
            break
        enqueued += len(batch)
    return enqueued


def _insert_new(berichten: list[Bericht]) -> list[Bericht]:
    """Insert the rows whose key is not taken yet, in one statement; return those (with
    their pk). `INSERT … ON CONFLICT DO NOTHING RETURNING id, key` (PostgreSQL; `INSERT OR
    IGNORE … RETURNING` on SQLite): no savepoint, no look-up first, and a concurrent
    transaction inserting the same key makes this one wait for it, then skip the row."""
    alias = router.db_for_write(Bericht)
    connection = connections[alias]
    unique = {}
    for bericht in berichten:
        unique.setdefault(bericht.key, bericht)
    if not unique:
        return []
    if not connection.features.can_return_rows_from_bulk_insert:
        return [b for b in unique.values() if _get_or_create(b)]
    meta = Bericht._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    query = InsertQuery(Bericht, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, list(unique.values()))
    compiler = query.get_compiler(using=alias)
    compiler.returning_fields = [meta.pk, meta.get_field("key")]
    [(sql, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = dict((key, pk) for pk, key in cursor.fetchall())
    new = []
    for key, bericht in unique.items():
        if key in inserted:
            bericht.pk = inserted[key]
            bericht._state.adding = False
            bericht._state.db = alias
            new.append(bericht)
    skipped = set(unique) - set(inserted)
    if skipped:
        # Skipped because the key exists, or for another conflict (SQLite's OR IGNORE skips
        # any): that must not pass for "queued before".
        found = set(Bericht.objects.filter(key__in=skipped).values_list("key", flat=True))
        if found != skipped:
            raise IntegrityError(f"berichten not inserted: {sorted(skipped - found)[:5]}")
    return new


def _get_or_create(bericht: Bericht) -> bool:
    """For a database without INSERT … RETURNING: the same in a savepoint."""
    try:
        with transaction.atomic():
            if Bericht.objects.filter(key=bericht.key).exists():
                return False
            bericht.save(force_insert=True)
            return True
    except IntegrityError:
        # A concurrent transaction queued the same key first.
        if Bericht.objects.filter(key=bericht.key).exists():
            return False
        raise


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
    bericht = Bericht(
        key=key,
        kind=kind,
        to=to,
        language=language,
        aanmelding=aanmelding,
        interesse=interesse,
        gesprek=gesprek,
        context=context or {},
    )
    if not _insert_new([bericht]):
        return None
    transaction.on_commit(lambda: _enqueue(bericht.pk))
    return bericht


def queue_many(berichten: list[Bericht]) -> list[Bericht]:
    """`queue` for many unsaved Bericht rows at once: one INSERT for all of them; after the
    caller commits, the new ones are enqueued in batches of BATCH_SIZE (`send_berichten`).
    Returns the rows that were new (rows whose key was queued before are left out)."""
    new = _insert_new(berichten)
    if new:
        pks = [bericht.pk for bericht in new]
        transaction.on_commit(lambda: enqueue_batches(pks))
    return new


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


_CLAIM = """
    UPDATE {table} SET status = %s, claimed_at = %s, attempts = attempts + 1
    WHERE id IN ({ids})
      AND ((status = %s AND next_attempt_at <= %s) OR (status = %s AND claimed_at < %s))
    RETURNING id
"""


def claim_many(pks: list[int], now: datetime) -> list[int]:
    """`claim` for a batch, in one UPDATE; returns the ids this call claimed."""
    if not pks:
        return []
    alias = router.db_for_write(Bericht)
    connection = connections[alias]
    if not connection.features.can_return_columns_from_insert:  # no UPDATE … RETURNING
        return [pk for pk in pks if claim(pk, now)]
    adapt = connection.ops.adapt_datetimefield_value
    S = Bericht.Status
    params = [S.SENDING, adapt(now), *pks, S.PENDING, adapt(now)]
    params += [S.SENDING, adapt(_stale_before(now))]
    with connection.cursor() as cursor:
        table = connection.ops.quote_name(Bericht._meta.db_table)
        cursor.execute(_CLAIM.format(table=table, ids=", ".join(["%s"] * len(pks))), params)
        return sorted(row[0] for row in cursor.fetchall())


# The mark goes without waiting for the disk (synchronous_commit off for this one
# transaction, through set_config in the statement itself): should PostgreSQL crash in
# the next fraction of a second, the rows stay claimed and are sent again after the stale
# limit, the same window as a worker dying before the mark.
_MARK_SENT = {
    "postgresql": """
        UPDATE {table} SET status = %s, sent_at = %s, claimed_at = NULL, last_error = '',
          context = CASE WHEN kind = %s
            THEN jsonb_build_object('subject', COALESCE(context -> 'subject', to_jsonb(''::text)))
            ELSE context END
        WHERE id = ANY(%s) AND status <> %s
          AND set_config('synchronous_commit', 'off', true) IS NOT NULL
    """,
}


def _mark_sent(berichten: list[Bericht]) -> None:
    """Record that the SMTP server has these mails, even if a claim went stale meanwhile.

    allauth's stored mail holds a reset or confirmation link: it keeps only its subject
    once sent.
    """
    if not berichten:
        return
    alias = router.db_for_write(Bericht)
    connection = connections[alias]
    pks = [bericht.pk for bericht in berichten]
    sql = _MARK_SENT.get(connection.vendor)
    if sql is None or connection.in_atomic_block:
        Bericht.objects.filter(pk__in=pks).exclude(status=Bericht.Status.SENT).update(
            status=Bericht.Status.SENT, sent_at=timezone.now(), claimed_at=None, last_error=""
        )
        for bericht in berichten:
            if bericht.kind == emails.ALLAUTH_KIND:
                kept = {"subject": (bericht.context or {}).get("subject", "")}
                Bericht.objects.filter(pk=bericht.pk, status=Bericht.Status.SENT).update(
                    context=kept
                )
        return
    params = [
        Bericht.Status.SENT,
        connection.ops.adapt_datetimefield_value(timezone.now()),
        emails.ALLAUTH_KIND,
        pks,
        Bericht.Status.SENT,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=connection.ops.quote_name(Bericht._meta.db_table)), params)


class _Marks:
    """Mails the SMTP server has accepted, marked sent in groups (MARK_GROUP, MARK_SECONDS)."""

    def __init__(self):
        self.pending: list[Bericht] = []
        self.since = 0.0

    def add(self, bericht: Bericht) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append(bericht)
        self.flush_if_due()

    def flush_if_due(self) -> None:
        if self.pending and (
            len(self.pending) >= MARK_GROUP or time.monotonic() - self.since >= MARK_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        berichten, self.pending = self.pending, []
        _mark_sent(berichten)


class _Smtp:
    """One SMTP connection for a batch, opened on the first mail, reopened after trouble."""

    def __init__(self):
        self.backend = None

    def send(self, message) -> None:
        if self.backend is None:
            backend = get_connection()
            backend.open()  # may raise: refused, timed out, authentication
            self.backend = backend
        try:
            self.backend.send_messages([message])
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as error:
            # The server refused this mail (RSET done): the connection serves the next,
            # unless it said it is closing (421).
            if getattr(error, "smtp_code", None) == 421:
                self.close()
            raise
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except Exception:  # a dead connection: nothing left to close politely
                logger.debug("closing the SMTP connection failed", exc_info=True)


def _connection_trouble(error: BaseException) -> bool:
    """The server is unreachable, gone or closing: the next mail would fare no better."""
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code == 421 or isinstance(error, smtplib.SMTPAuthenticationError)
    return isinstance(error, OSError)


def _hand_back(berichten: list[Bericht], retry_at: datetime, error: str = "") -> None:
    """Release claimed rows that were not tried: pending again at `retry_at`, and the
    attempt the claim counted is taken back."""
    for bericht in berichten:
        _ours(bericht).update(
            status=Bericht.Status.PENDING,
            next_attempt_at=retry_at,
            attempts=F("attempts") - 1,
            claimed_at=None,
            **({"last_error": error[:500]} if error else {}),
        )


def deliver(pk: int, *, now: datetime | None = None) -> str:
    """Claim, render and send one Bericht; returns what happened.

    "skipped" (someone else has it, or it is done or not due), "sent", "retry" (released
    with backoff after a temporary error), "failed" (permanent error or too many
    attempts; `last_error` says why, the admin shows it) or "obsolete" (overtaken by
    events while it waited, see emails.reason_not_to_send; recorded as failed with
    "not sent: …"). Database errors propagate so
    the task can retry them; SMTP errors never do.
    """
    return deliver_many([pk], now=now)[pk]


def deliver_many(pks: list[int], *, now: datetime | None = None) -> dict[int, str]:
    """`deliver` for a batch: one claim, one load, one SMTP connection; {pk: outcome}.

    Besides deliver's outcomes, "later": not tried because the batch ran out of time
    (BATCH_SECONDS) or the SMTP server became unreachable on an earlier mail; such a row
    is pending again, without an attempt counted, and enqueued again (time) or retried
    with the failed mail's backoff (server trouble).
    """
    now = now or timezone.now()
    outcomes = dict.fromkeys(pks, "skipped")
    claimed = claim_many(list(dict.fromkeys(pks)), now)
    if not claimed:
        return outcomes
    berichten = list(
        # A registration's mail names its gesprek itself (services and the beat tasks
        # queue it so): the gesprek is joined once, not through the registration too.
        Bericht.objects.select_related(
            "aanmelding", "interesse__buurt", "gesprek__buurt", "gesprek__thema"
        )
        .filter(pk__in=claimed)
        .order_by("pk")
    )
    budget = min(BATCH_SECONDS, settings.GESPREKKEN_MAIL_STALE_SECONDS / 2)
    started = time.monotonic()
    smtp = _Smtp()
    mails = emails.Batch(berichten)
    marks = _Marks()
    try:
        for index, bericht in enumerate(berichten):
            marks.flush_if_due()
            if index and time.monotonic() - started > budget:
                rest = berichten[index:]
                _hand_back(rest, timezone.now())
                outcomes.update(dict.fromkeys((b.pk for b in rest), "later"))
                enqueue_batches([b.pk for b in rest])
                break
            outcome, trouble = _deliver_claimed(bericht, now, smtp, mails, marks)
            outcomes[bericht.pk] = outcome
            if trouble is not None:
                rest = berichten[index + 1 :]
                retry_at = now + backoff(bericht.attempts)
                _hand_back(rest, retry_at, f"not tried: {trouble}")
                outcomes.update(dict.fromkeys((b.pk for b in rest), "later"))
                break
    finally:
        smtp.close()
        # Also when the batch fails: the SMTP server has these.
        marks.flush()
    # One line a batch (a mail sent is in its row: status and sent_at; what went wrong is
    # logged per mail): an evening's 100,000 reminders are 2,000 lines, not 100,000.
    logger.info(
        "outbox batch of %d, berichten %s-%s (%s): %s",
        len(outcomes),
        min(outcomes),
        max(outcomes),
        ", ".join(sorted({bericht.kind for bericht in berichten})),
        ", ".join(
            f"{count} {outcome}" for outcome, count in sorted(Counter(outcomes.values()).items())
        ),
    )
    return outcomes


def _deliver_claimed(
    bericht: Bericht, now: datetime, smtp: _Smtp, mails: emails.Batch, marks: _Marks
) -> tuple[str, str | None]:
    """Render (through the batch's `mails`) and send one claimed row, to be marked sent
    with the batch's `marks`; (outcome, the connection trouble that should stop the batch
    or None)."""
    pk = bericht.pk
    if bericht.attempts > settings.GESPREKKEN_MAIL_MAX_ATTEMPTS:
        # Claimed again and again without an outcome: the workers keep dying on it.
        _fail(bericht, f"gave up after {bericht.attempts - 1} attempts without an answer")
        return "failed", None
    obsolete = emails.reason_not_to_send(bericht, now)
    if obsolete:
        logger.info("bericht %s (%s) not sent: %s", pk, bericht.kind, obsolete)
        _ours(bericht).update(
            status=Bericht.Status.FAILED, last_error=f"not sent: {obsolete}", claimed_at=None
        )
        return "obsolete", None
    try:
        message = mails.render(bericht)
    except Exception as error:
        # A missing template or object: the same row would fail the same way next time.
        logger.exception("bericht %s (%s) could not be rendered", pk, bericht.kind)
        _fail(bericht, f"render: {_describe(error)}")
        return "failed", None
    try:
        smtp.send(message)
    except (BadHeaderError, ValueError) as error:
        _fail(bericht, _describe(error))
        return "failed", None
    except Exception as error:
        if is_temporary(error):
            outcome = _release(bericht, _describe(error), now)
            return outcome, _describe(error) if _connection_trouble(error) else None
        _fail(bericht, _describe(error))
        return "failed", None
    marks.add(bericht)
    logger.debug("bericht %s (%s) sent", pk, bericht.kind)
    return "sent", None


def sweep(now: datetime | None = None) -> int:
    """Enqueue every row that is due: never enqueued, released for a retry, or stale.

    Returns how many were enqueued. The task does the claiming, so enqueueing a row that a
    worker already has is harmless. Enqueues batches of BATCH_SIZE (send_berichten; one
    row alone goes as send_bericht); stops at the first enqueue failure (Redis still
    down) and at SWEEP_BATCH rows; the next sweep continues.
    """
    now = now or timezone.now()
    pks = list(
        Bericht.objects.filter(_due(now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    return enqueue_batches(pks)
