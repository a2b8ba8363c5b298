"""The outbox: queued once, claimed once, sent once; retried, failed and swept as it should."""

import logging
import smtplib
import socket
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from gesprekken import outbox, tasks
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import (
    AanmeldingFactory,
    GesprekFactory,
    ThemaFactory,
    reminder_for,
)
from tests.integration.smtp_sink import silent_server, smtp_sink

pytestmark = pytest.mark.django_db

B = Bericht.Status
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class ScriptedBackend(BaseEmailBackend):
    """Raises the scripted errors one send at a time, then delivers to mail.outbox."""

    script: list[BaseException] = []

    def send_messages(self, messages):
        if ScriptedBackend.script:
            raise ScriptedBackend.script.pop(0)
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def scripted(settings):
    settings.EMAIL_BACKEND = f"{__name__}.ScriptedBackend"
    ScriptedBackend.script = []
    yield ScriptedBackend.script
    ScriptedBackend.script = []


@pytest.fixture(autouse=True)
def frozen(time_machine):
    """The clock stands at T0 until a test moves it; rows are created at T0."""
    time_machine.move_to(T0, tick=False)
    return time_machine


def queue_confirmation(aanmelding=None, **kwargs):
    aanmelding = aanmelding or AanmeldingFactory()
    values = {
        "kind": "bevestigd",
        "key": f"bevestigd:{aanmelding.pk}",
        "to": aanmelding.email,
        "language": "nl",
        "aanmelding": aanmelding,
        "gesprek": aanmelding.gesprek,
        **kwargs,
    }
    return outbox.queue(**values)


def reload(bericht):
    bericht.refresh_from_db()
    return bericht


# --- queue ----------------------------------------------------------------------------------


def test_queue_twice_keeps_one_row():
    aanmelding = AanmeldingFactory()

    first = queue_confirmation(aanmelding)
    second = queue_confirmation(aanmelding)

    assert first is not None
    assert second is None
    assert Bericht.objects.count() == 1


def test_queued_mail_is_sent_once_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        bericht = queue_confirmation()
        assert mail.outbox == []  # nothing leaves before the commit

    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    bericht = reload(bericht)
    assert (bericht.status, bericht.attempts) == (B.SENT, 1)
    assert bericht.sent_at is not None
    assert mail.outbox[0].extra_headers["X-Buurtgesprek-Bericht"] == str(bericht.pk)


def test_nothing_is_queued_when_the_change_rolls_back(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        queue_confirmation()
        raise RuntimeError("the sign-up failed")

    assert callbacks == []
    assert Bericht.objects.count() == 0
    assert mail.outbox == []


# --- claim and deliver ----------------------------------------------------------------------


def test_deliver_twice_sends_one_mail():
    bericht = queue_confirmation()

    assert outbox.deliver(bericht.pk) == "sent"
    assert outbox.deliver(bericht.pk) == "skipped"

    assert len(mail.outbox) == 1
    assert reload(bericht).attempts == 1


def test_send_task_twice_sends_one_mail():
    bericht = queue_confirmation()

    tasks.send_bericht.delay(bericht.pk)
    tasks.send_bericht.delay(bericht.pk)

    assert len(mail.outbox) == 1


def test_claim_is_one_conditional_update_only_one_worker_wins():
    bericht = queue_confirmation()

    assert outbox.claim(bericht.pk, T0 + timedelta(days=1)) is True
    assert outbox.claim(bericht.pk, T0 + timedelta(days=1)) is False

    bericht = reload(bericht)
    assert (bericht.status, bericht.attempts) == (B.SENDING, 1)


def test_a_claim_held_by_another_worker_blocks_delivery(frozen):
    bericht = queue_confirmation()
    assert outbox.claim(bericht.pk, T0)  # another worker is sending it right now

    frozen.shift(timedelta(minutes=5))
    result = outbox.deliver(bericht.pk)

    assert result == "skipped"
    assert mail.outbox == []
    assert reload(bericht).status == B.SENDING


def test_a_mail_not_due_yet_is_not_sent(frozen):
    bericht = queue_confirmation()
    Bericht.objects.filter(pk=bericht.pk).update(next_attempt_at=T0 + timedelta(minutes=1))

    assert outbox.deliver(bericht.pk) == "skipped"
    assert mail.outbox == []


# --- temporary and permanent SMTP errors ------------------------------------------------------


def test_temporary_error_is_retried_later_with_backoff_and_then_succeeds(scripted, settings):
    settings.GESPREKKEN_MAIL_RETRY_BASE_SECONDS = 120
    scripted.append(smtplib.SMTPDataError(451, b"4.3.0 Try again later"))
    bericht = queue_confirmation()

    assert outbox.deliver(bericht.pk, now=T0) == "retry"
    bericht = reload(bericht)
    assert (bericht.status, bericht.attempts) == (B.PENDING, 1)
    assert bericht.next_attempt_at == T0 + timedelta(seconds=120)
    assert bericht.last_error == "SMTP 451 4.3.0 Try again later"
    assert bericht.claimed_at is None

    assert outbox.deliver(bericht.pk, now=T0 + timedelta(seconds=119)) == "skipped"
    assert outbox.deliver(bericht.pk, now=T0 + timedelta(seconds=120)) == "sent"

    bericht = reload(bericht)
    assert (bericht.status, bericht.attempts, bericht.last_error) == (B.SENT, 2, "")
    assert len(mail.outbox) == 1


def test_backoff_doubles_up_to_the_ceiling(settings):
    settings.GESPREKKEN_MAIL_RETRY_BASE_SECONDS = 120
    settings.GESPREKKEN_MAIL_RETRY_MAX_SECONDS = 3600

    waits = [outbox.backoff(attempts).total_seconds() for attempts in range(1, 8)]

    assert waits == [120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPDataError(451, b"4.3.0 Try again later"),
        smtplib.SMTPSenderRefused(421, b"4.7.0 Too busy", "noreply@buurtgesprek.nl"),
        smtplib.SMTPConnectError(421, b"Service not available"),
        smtplib.SMTPRecipientsRefused({"anna@example.org": (450, b"4.2.1 Mailbox busy")}),
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),  # our config
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        socket.gaierror(-2, "Name or service not known"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_temporary_errors_release_the_mail_for_a_retry(error, scripted):
    scripted.append(error)
    bericht = queue_confirmation()

    assert outbox.deliver(bericht.pk, now=T0) == "retry"

    bericht = reload(bericht)
    assert bericht.status == B.PENDING
    assert bericht.next_attempt_at > T0
    assert bericht.last_error


@pytest.mark.parametrize(
    ("error", "logged"),
    [
        (smtplib.SMTPDataError(550, b"5.1.1 No such user"), "SMTP 550 5.1.1 No such user"),
        (smtplib.SMTPSenderRefused(553, b"5.7.1 Not allowed", "x"), "SMTP 553 5.7.1 Not allowed"),
        (
            smtplib.SMTPRecipientsRefused({"anna@example.org": (550, b"5.1.1 Unknown")}),
            "SMTP 550 5.1.1 Unknown",
        ),
    ],
    ids=["data", "sender", "recipients"],
)
def test_permanent_error_marks_the_mail_failed_and_logs_it(error, logged, scripted, caplog):
    scripted.append(error)
    bericht = queue_confirmation()

    assert outbox.deliver(bericht.pk, now=T0) == "failed"

    bericht = reload(bericht)
    assert bericht.status == B.FAILED
    assert bericht.last_error == logged
    assert f"bericht {bericht.pk} (bevestigd) failed: {logged}" in caplog.text
    assert outbox.deliver(bericht.pk, now=T0 + timedelta(days=1)) == "skipped"
    assert mail.outbox == []


def test_gives_up_after_the_maximum_number_of_attempts(scripted, settings):
    settings.GESPREKKEN_MAIL_MAX_ATTEMPTS = 3
    scripted.extend(smtplib.SMTPDataError(451, b"busy") for _ in range(5))
    bericht = queue_confirmation()

    results = [outbox.deliver(bericht.pk, now=T0 + timedelta(days=day)) for day in range(4)]

    assert results == ["retry", "retry", "failed", "skipped"]
    bericht = reload(bericht)
    assert (bericht.status, bericht.attempts) == (B.FAILED, 3)
    assert bericht.last_error == "gave up after 3 attempts: SMTP 451 busy"


def test_a_recipient_with_a_line_break_fails_without_sending():
    bericht = queue_confirmation(to="anna@example.org\r\nBcc: victim@example.org")

    assert outbox.deliver(bericht.pk) == "failed"

    assert "BadHeaderError" in reload(bericht).last_error
    assert mail.outbox == []


def test_a_mail_that_cannot_be_rendered_fails_once_and_is_not_retried(caplog):
    bericht = queue_confirmation(kind="no_such_kind")

    assert outbox.deliver(bericht.pk) == "failed"

    assert reload(bericht).last_error.startswith("render: ValueError")
    assert "could not be rendered" in caplog.text


# --- real SMTP on loopback -------------------------------------------------------------------


def use_smtp(settings, port, timeout=5):
    settings.EMAIL_BACKEND = "buurtgesprek.mail.EmailBackend"  # what an smtp EMAIL_URL gets
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = timeout


def test_real_smtp_451_then_accept_and_550(settings):
    with smtp_sink() as (sink, port):
        use_smtp(settings, port)
        sink.answers += ["451 4.3.0 Greylisted, try again", "550 5.1.1 No such user"]
        later = queue_confirmation()
        refused = queue_confirmation()

        assert outbox.deliver(later.pk, now=T0) == "retry"
        assert outbox.deliver(refused.pk, now=T0) == "failed"
        assert outbox.deliver(later.pk, now=T0 + timedelta(hours=1)) == "sent"

        assert sink.bericht_ids() == [str(later.pk)]
    assert reload(refused).last_error == "SMTP 550 5.1.1 No such user"


def test_a_hanging_smtp_server_times_out_and_the_mail_is_kept_for_a_retry(settings):
    with silent_server() as port:
        use_smtp(settings, port, timeout=1)
        bericht = queue_confirmation()

        started = time.monotonic()
        result = outbox.deliver(bericht.pk, now=T0)
        took = time.monotonic() - started

    assert result == "retry"
    assert took < 5
    bericht = reload(bericht)
    assert bericht.status == B.PENDING
    assert "timed out" in bericht.last_error


def test_a_refused_connection_keeps_the_mail_for_a_retry(settings):
    with silent_server() as port:
        pass  # closed again: nothing listens on the port now
    use_smtp(settings, port)
    bericht = queue_confirmation()

    assert outbox.deliver(bericht.pk, now=T0) == "retry"
    assert "ConnectionRefusedError" in reload(bericht).last_error


# --- crashed workers and the sweep ---------------------------------------------------------------


def test_stale_claim_of_a_crashed_worker_is_swept_and_sent_once(frozen, settings):
    settings.GESPREKKEN_MAIL_STALE_SECONDS = 600
    bericht = queue_confirmation()
    assert outbox.claim(bericht.pk, T0)  # the worker dies before sending

    frozen.shift(timedelta(seconds=599))
    assert outbox.sweep() == 0
    assert mail.outbox == []

    frozen.shift(timedelta(seconds=2))
    assert outbox.sweep() == 1  # the eager task delivers at once

    bericht = reload(bericht)
    assert (bericht.status, bericht.attempts) == (B.SENT, 2)
    assert len(mail.outbox) == 1
    assert outbox.sweep() == 0


def test_a_mail_that_keeps_killing_workers_is_given_up(frozen, settings):
    settings.GESPREKKEN_MAIL_MAX_ATTEMPTS = 2
    settings.GESPREKKEN_MAIL_STALE_SECONDS = 600
    bericht = queue_confirmation()
    for _ in range(2):  # a worker takes it and dies, twice
        assert outbox.claim(bericht.pk, timezone.now())
        frozen.shift(timedelta(seconds=601))

    assert outbox.deliver(bericht.pk) == "failed"

    assert "without an answer" in reload(bericht).last_error
    assert mail.outbox == []


def test_sweep_sends_what_was_never_enqueued_because_redis_was_down(
    monkeypatch, django_capture_on_commit_callbacks, caplog
):
    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    with monkeypatch.context() as patched:
        patched.setattr(tasks.send_bericht, "delay", broker_down)
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            bericht = queue_confirmation()  # the sign-up commits; enqueueing fails quietly
        assert "the sweep will send it" in caplog.text
        assert mail.outbox == []
        assert reload(bericht).status == B.PENDING
        assert outbox.sweep() == 0  # still down: nothing lost, nothing raised

    assert outbox.sweep() == 1  # Redis is back

    assert len(mail.outbox) == 1
    assert reload(bericht).status == B.SENT


def test_sweep_picks_up_released_retries_once_they_are_due(frozen, scripted, settings):
    settings.GESPREKKEN_MAIL_RETRY_BASE_SECONDS = 60
    scripted.append(smtplib.SMTPDataError(451, b"later"))
    bericht = queue_confirmation()
    assert outbox.deliver(bericht.pk) == "retry"

    frozen.shift(timedelta(seconds=30))
    assert outbox.sweep() == 0
    frozen.shift(timedelta(seconds=30))
    assert outbox.sweep() == 1

    assert reload(bericht).status == B.SENT
    assert len(mail.outbox) == 1


def test_sweep_leaves_sent_failed_and_live_claims_alone(frozen):
    sent, failed, claimed = (queue_confirmation() for _ in range(3))
    Bericht.objects.filter(pk=sent.pk).update(status=B.SENT)
    Bericht.objects.filter(pk=failed.pk).update(status=B.FAILED)
    outbox.claim(claimed.pk, T0)

    assert outbox.sweep() == 0
    assert mail.outbox == []


def test_send_task_retries_a_database_hiccup(monkeypatch):
    bericht = queue_confirmation()
    real_deliver = outbox.deliver
    calls = []

    def flaky_deliver(pk):
        calls.append(pk)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return real_deliver(pk)

    monkeypatch.setattr(outbox, "deliver", flaky_deliver)

    # As a worker runs it (eager `delay` in tests re-raises instead of retrying).
    result = tasks.send_bericht.apply(args=[bericht.pk], throw=False)

    assert result.get() == "sent"
    assert calls == [bericht.pk, bericht.pk]
    assert len(mail.outbox) == 1


# --- overtaken by events -------------------------------------------------------------------------


def test_a_reminder_that_waited_past_a_cancellation_is_not_sent():
    aanmelding = AanmeldingFactory()
    bericht = queue_confirmation(aanmelding, kind="herinnering", key=f"herinnering:{aanmelding.pk}")
    aanmelding.gesprek.status = Gesprek.Status.AFGELAST
    aanmelding.gesprek.save()

    assert outbox.deliver(bericht.pk) == "obsolete"

    bericht = reload(bericht)
    assert bericht.status == B.FAILED
    assert bericht.last_error == "not sent: the gesprek is no longer coming up"
    assert mail.outbox == []


def test_an_offer_that_waited_past_its_deadline_is_not_sent(frozen):
    aanmelding = AanmeldingFactory(
        status=Aanmelding.Status.AANGEBODEN, offer_expires_at=T0 + timedelta(hours=1)
    )
    bericht = queue_confirmation(aanmelding, kind="plek_aangeboden", key="offer")

    frozen.shift(timedelta(hours=2))  # Redis was down all that time

    assert outbox.deliver(bericht.pk) == "obsolete"
    assert mail.outbox == []


def test_a_timely_offer_is_sent():
    aanmelding = AanmeldingFactory(
        status=Aanmelding.Status.AANGEBODEN, offer_expires_at=T0 + timedelta(hours=1)
    )
    bericht = queue_confirmation(aanmelding, kind="plek_aangeboden", key="offer")

    assert outbox.deliver(bericht.pk) == "sent"


# --- batches: many mails per task, one SMTP connection ------------------------------------------


class CountingBackend(BaseEmailBackend):
    """Delivers to mail.outbox, counts the connections opened, and raises scripted errors
    for the recipients named in `refuse` ({address: error})."""

    opened = 0
    refuse: dict = {}

    def open(self):
        CountingBackend.opened += 1
        return True

    def send_messages(self, messages):
        for message in messages:
            error = CountingBackend.refuse.get(message.to[0])
            if error is not None:
                raise error
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def counting(settings):
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened = 0
    CountingBackend.refuse = {}
    yield CountingBackend
    CountingBackend.refuse = {}


def unsaved(count, kind="herinnering"):
    """Bericht rows for `count` registrations, not yet inserted."""
    rows = []
    for _ in range(count):
        aanmelding = AanmeldingFactory()
        rows.append(
            Bericht(
                kind=kind,
                key=f"{kind}:{aanmelding.pk}",
                to=aanmelding.email,
                aanmelding=aanmelding,
                gesprek=aanmelding.gesprek,
            )
        )
    return rows


def test_queue_is_one_statement_and_says_whether_the_row_is_new(django_assert_num_queries):
    aanmelding = AanmeldingFactory()

    with django_assert_num_queries(1):
        first = queue_confirmation(aanmelding)
    # The second time the insert does nothing; one look-up confirms the key is there.
    with django_assert_num_queries(2):
        second = queue_confirmation(aanmelding)

    assert first.pk and Bericht.objects.get(key=first.key).pk == first.pk
    assert second is None


def test_queue_many_inserts_the_new_ones_and_sends_them_in_batches(
    counting, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(outbox, "BATCH_SIZE", 3)
    rows = unsaved(7)
    earlier = queue_confirmation(rows[0].aanmelding, key=rows[0].key)  # queued before

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        new = outbox.queue_many(rows + [rows[1]])  # one of them twice
        assert mail.outbox == []  # nothing leaves before the commit

    assert [b.key for b in new] == [b.key for b in rows[1:]]
    assert all(b.pk for b in new)
    assert len(callbacks) == 1
    # 6 new mails in batches of 3: two tasks, two connections.
    assert counting.opened == 2
    assert sorted(m.extra_headers["X-Buurtgesprek-Bericht"] for m in mail.outbox) == sorted(
        str(b.pk) for b in new
    )
    assert Bericht.objects.filter(status=B.SENT).count() == 6
    # The row queued before is left as it was (its own task sends it).
    earlier = reload(earlier)
    assert (earlier.kind, earlier.status, earlier.attempts) == ("bevestigd", B.PENDING, 0)


def test_queue_many_with_nothing_to_queue_does_nothing(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(0):
        assert outbox.queue_many([]) == []

    assert callbacks == []


def test_queue_many_rolls_back_with_the_change(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.queue_many(unsaved(3))
        raise RuntimeError("the beat task failed")

    assert callbacks == []
    assert not Bericht.objects.exists()


def test_queue_many_does_not_pass_off_a_refused_row_as_queued_before():
    [row] = unsaved(1)
    row.kind = None  # NOT NULL: the database refuses the row, it was not queued before

    with pytest.raises(IntegrityError):
        outbox.queue_many([row])


def test_a_batch_is_sent_over_one_connection_and_each_mail_marked_sent(counting):
    berichten = outbox.queue_many(unsaved(5))
    pks = [b.pk for b in berichten]

    outcomes = outbox.deliver_many(pks)

    assert outcomes == dict.fromkeys(pks, "sent")
    assert counting.opened == 1
    assert len(mail.outbox) == 5
    assert Bericht.objects.filter(pk__in=pks, status=B.SENT, attempts=1).count() == 5
    # Again: nothing is due, nothing is sent, no connection is opened.
    assert outbox.deliver_many(pks) == dict.fromkeys(pks, "skipped")
    assert counting.opened == 1


def test_a_batch_of_reminders_reads_the_database_once_and_marks_the_mails_together(
    counting, django_assert_num_queries
):
    """Claim, load (with each gesprek's buurt and theme), the agreements (kept a minute),
    then one mark for all the mails: no query per gesprek or per person."""
    gesprekken = [GesprekFactory(thema=ThemaFactory()) for _ in range(3)]
    berichten = outbox.queue_many(
        [
            reminder_for(AanmeldingFactory(gesprek=gesprek, language=language), save=False)
            for gesprek in gesprekken
            for language in ("nl", "en")
        ]
    )

    with django_assert_num_queries(3 + 1):
        outcomes = outbox.deliver_many([b.pk for b in berichten])

    assert set(outcomes.values()) == {"sent"}
    assert Bericht.objects.filter(status=B.SENT).count() == len(berichten) == 6
    for gesprek in gesprekken:
        assert sum(gesprek.thema.name in m.body for m in mail.outbox) == 2


def test_a_batch_takes_only_what_is_due_and_not_claimed_by_another_worker(counting, frozen):
    sent, later, claimed, due = (b.pk for b in outbox.queue_many(unsaved(4)))
    Bericht.objects.filter(pk=sent).update(status=B.SENT)
    Bericht.objects.filter(pk=later).update(next_attempt_at=T0 + timedelta(minutes=5))
    assert outbox.claim(claimed, T0)

    outcomes = outbox.deliver_many([sent, later, claimed, due, due, 10**9])

    assert outcomes == {
        sent: "skipped",
        later: "skipped",
        claimed: "skipped",
        due: "sent",
        10**9: "skipped",
    }
    assert [m.extra_headers["X-Buurtgesprek-Bericht"] for m in mail.outbox] == [str(due)]


def test_two_batches_racing_for_the_same_rows_send_each_mail_once(counting):
    pks = [b.pk for b in outbox.queue_many(unsaved(4))]

    first = outbox.claim_many(pks[:3], T0)
    second = outbox.claim_many(pks[1:], T0)

    assert first == pks[:3]
    assert second == [pks[3]]


def test_one_refused_mail_in_a_batch_fails_alone_and_the_rest_go_on(counting):
    berichten = outbox.queue_many(unsaved(3))
    refused = berichten[1]
    counting.refuse[refused.to] = smtplib.SMTPRecipientsRefused(
        {refused.to: (550, b"5.1.1 Unknown")}
    )

    outcomes = outbox.deliver_many([b.pk for b in berichten], now=T0)

    assert list(outcomes.values()) == ["sent", "failed", "sent"]
    assert counting.opened == 1  # the refusal did not cost the connection
    assert reload(refused).last_error == "SMTP 550 5.1.1 Unknown"


def test_a_batch_logs_one_line_of_counts_and_a_line_per_mail_only_for_trouble(counting, caplog):
    berichten = outbox.queue_many(unsaved(4))
    refused = berichten[2]
    counting.refuse[refused.to] = smtplib.SMTPRecipientsRefused(
        {refused.to: (550, b"5.1.1 Unknown")}
    )

    with caplog.at_level(logging.INFO, logger="gesprekken.outbox"):
        outbox.deliver_many([b.pk for b in berichten], now=T0)

    lines = [r.getMessage() for r in caplog.records if r.name == "gesprekken.outbox"]
    assert lines == [
        f"bericht {refused.pk} (herinnering) failed: SMTP 550 5.1.1 Unknown",
        f"outbox batch of 4, berichten {berichten[0].pk}-{berichten[-1].pk} (herinnering): "
        "1 failed, 3 sent",
    ]
    # Each mail sent is still there to see with LOG_LEVEL=DEBUG.
    caplog.clear()
    again = outbox.queue_many(unsaved(1))
    with caplog.at_level(logging.DEBUG, logger="gesprekken.outbox"):
        outbox.deliver_many([again[0].pk], now=T0)
    assert f"bericht {again[0].pk} (herinnering) sent" in caplog.text


def test_a_greylisted_mail_in_a_batch_is_retried_alone(counting, settings):
    settings.GESPREKKEN_MAIL_RETRY_BASE_SECONDS = 60
    berichten = outbox.queue_many(unsaved(3))
    counting.refuse[berichten[0].to] = smtplib.SMTPDataError(451, b"4.7.1 Greylisted")

    outcomes = outbox.deliver_many([b.pk for b in berichten], now=T0)

    assert list(outcomes.values()) == ["retry", "sent", "sent"]
    first = reload(berichten[0])
    assert (first.status, first.attempts) == (B.PENDING, 1)
    assert first.next_attempt_at == T0 + timedelta(seconds=60)


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        smtplib.SMTPSenderRefused(421, b"4.7.0 Closing connection", "noreply@buurtgesprek.nl"),
        smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),
        TimeoutError("timed out"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_when_the_server_goes_away_the_rest_of_the_batch_waits_untried(error, counting, settings):
    settings.GESPREKKEN_MAIL_RETRY_BASE_SECONDS = 60
    berichten = outbox.queue_many(unsaved(4))
    counting.refuse[berichten[1].to] = error

    outcomes = outbox.deliver_many([b.pk for b in berichten], now=T0)

    assert list(outcomes.values()) == ["sent", "retry", "later", "later"]
    tried = reload(berichten[1])
    assert (tried.status, tried.attempts) == (B.PENDING, 1)
    for untried in map(reload, berichten[2:]):
        # Not tried, so no attempt counted; they wait as long as the failed one.
        assert (untried.status, untried.attempts) == (B.PENDING, 0)
        assert untried.next_attempt_at == tried.next_attempt_at == T0 + timedelta(seconds=60)
        assert untried.claimed_at is None
        assert untried.last_error.startswith("not tried: ")
    assert len(mail.outbox) == 1


def test_an_unreachable_server_costs_one_attempt_of_one_mail(settings):
    with silent_server() as port:
        pass  # closed again: nothing listens on the port now
    use_smtp(settings, port)
    berichten = outbox.queue_many(unsaved(3))

    outcomes = outbox.deliver_many([b.pk for b in berichten], now=T0)

    assert list(outcomes.values()) == ["retry", "later", "later"]
    assert [reload(b).attempts for b in berichten] == [1, 0, 0]
    assert "ConnectionRefusedError" in reload(berichten[0]).last_error


def test_a_batch_out_of_time_hands_the_rest_back_and_enqueues_it(counting, monkeypatch):
    monkeypatch.setattr(outbox, "BATCH_SECONDS", 0)
    berichten = outbox.queue_many(unsaved(3))
    pks = [b.pk for b in berichten]
    handed_back = []
    monkeypatch.setattr(outbox, "enqueue_batches", handed_back.append)

    outcomes = outbox.deliver_many(pks)

    # One mail per batch at the least, so a slow server still makes progress.
    assert list(outcomes.values()) == ["sent", "later", "later"]
    assert handed_back == [pks[1:]]
    rest = Bericht.objects.filter(pk__in=pks[1:])
    assert {(b.status, b.attempts, b.claimed_at) for b in rest} == {(B.PENDING, 0, None)}
    # Due at once: the next batch (or the sweep) sends them.
    monkeypatch.setattr(outbox, "BATCH_SECONDS", 45)
    assert outbox.deliver_many(pks[1:]) == dict.fromkeys(pks[1:], "sent")


def test_a_batch_never_outlasts_half_the_stale_limit(counting, monkeypatch, settings):
    # Otherwise the sweep could hand the last mails of a slow batch to a second worker.
    settings.GESPREKKEN_MAIL_STALE_SECONDS = 2
    # Each mail takes the SMTP server 0.75 s, on the outbox's clock only (the database
    # driver keeps the real one).
    clock = [0.0]
    monkeypatch.setattr(outbox, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    send = outbox._Smtp.send

    def slow(self, message):
        send(self, message)
        clock[0] += 0.75

    monkeypatch.setattr(outbox._Smtp, "send", slow)
    monkeypatch.setattr(outbox, "enqueue_batches", lambda pks: None)
    berichten = outbox.queue_many(unsaved(3))

    outcomes = outbox.deliver_many([b.pk for b in berichten])

    assert list(outcomes.values()) == ["sent", "sent", "later"]


def test_the_sweep_enqueues_batches(counting, monkeypatch):
    monkeypatch.setattr(outbox, "BATCH_SIZE", 2)
    batches = []
    monkeypatch.setattr(tasks.send_berichten, "delay", batches.append)
    singles = []
    monkeypatch.setattr(tasks.send_bericht, "delay", singles.append)
    pks = [b.pk for b in outbox.queue_many(unsaved(5))]

    assert outbox.sweep() == 5

    assert batches == [pks[0:2], pks[2:4]]
    assert singles == [pks[4]]


def test_the_sweep_stops_at_the_first_batch_the_broker_refuses(monkeypatch, caplog):
    monkeypatch.setattr(outbox, "BATCH_SIZE", 2)
    sent = []

    def broker_down(pks):
        sent.append(pks)
        raise BrokerError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(tasks.send_berichten, "delay", broker_down)
    outbox.queue_many(unsaved(5))

    assert outbox.sweep() == 0
    assert len(sent) == 1  # not 500 rows' worth of one-second broker time-outs
    assert "the sweep will send them" in caplog.text


def test_the_batch_task_reports_its_outcomes(counting):
    berichten = outbox.queue_many(unsaved(3))
    Bericht.objects.filter(pk=berichten[0].pk).update(status=B.SENT)

    result = tasks.send_berichten.delay([b.pk for b in berichten]).get()

    assert result == {"skipped": 1, "sent": 2}


def test_beat_queues_reminders_in_chunks_each_sent_once(
    counting, monkeypatch, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(tasks, "QUEUE_CHUNK", 2)
    monkeypatch.setattr(outbox, "BATCH_SIZE", 2)
    starts_at = T0 + timedelta(hours=settings.GESPREKKEN_REMINDER_HOURS - 1)
    gesprek = GesprekFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2))
    seats = AanmeldingFactory.create_batch(5, gesprek=gesprek, language="en")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tasks.send_due_reminders() == 5
    assert tasks.send_due_reminders() == 0

    # Three transactions (2 + 2 + 1), each enqueued when it committed.
    assert len(callbacks) == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(a.email for a in seats)
    sent = Bericht.objects.filter(kind="herinnering", status=B.SENT)
    assert sorted(sent.values_list("aanmelding_id", flat=True)) == sorted(a.pk for a in seats)
    assert {b.language for b in sent} == {"en"}
    assert all(b.gesprek_id == gesprek.pk for b in sent)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_sent_mark_also_drops_a_stored_link(counting):
    # allauth's mail holds a reset link: once sent, only its subject is kept. (On PostgreSQL
    # this is the one-statement mark the workers use, outside any transaction.)
    bericht = Bericht.objects.create(
        key="allauth:1",
        kind="allauth",
        to="staf@example.org",
        context={"subject": "Wachtwoord", "body": "https://example.org/reset/geheim/"},
    )
    other = Bericht.objects.create(
        key="allauth:2", kind="bevestigd", to="x@example.org", context={"keep": "this"}
    )
    Bericht.objects.filter(pk=other.pk).update(status=B.SENDING, claimed_at=T0)

    assert outbox.deliver(bericht.pk) == "sent"
    outbox._mark_sent([other])

    bericht = reload(bericht)
    assert (bericht.status, bericht.context, bericht.last_error) == (
        B.SENT,
        {"subject": "Wachtwoord"},
        "",
    )
    assert bericht.sent_at is not None and bericht.claimed_at is None
    other = reload(other)
    assert (other.status, other.context, other.claimed_at) == (B.SENT, {"keep": "this"}, None)
    assert "geheim" in mail.outbox[0].body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sent_mark_does_not_change_the_connection_for_what_follows(counting):
    # It skips the wait for the disk as a transaction of its own (set_config(…, true)):
    # the worker's next statements are durable again.
    bericht = Bericht.objects.create(key="k", kind="bevestigd", to="x@example.org")

    assert outbox.deliver(bericht.pk) == "sent"

    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert reload(bericht).status == B.SENT


@pytest.mark.parametrize(
    "setting, value, mails, marks",
    [
        ("MARK_GROUP", 2, 5, 3),  # groups of 2 + 2 + 1
        ("MARK_SECONDS", 0, 3, 3),  # a slow server: no mark waits past MARK_SECONDS
    ],
)
def test_sent_mails_are_marked_in_groups(
    setting, value, mails, marks, counting, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(outbox, setting, value)
    pks = [b.pk for b in outbox.queue_many(unsaved(mails))]

    # Claim, load, the agreements, then the marks.
    with django_assert_num_queries(3 + marks):
        assert outbox.deliver_many(pks) == dict.fromkeys(pks, "sent")

    assert Bericht.objects.filter(pk__in=pks, status=B.SENT, claimed_at=None).count() == mails


def test_what_the_server_accepted_is_marked_when_the_batch_fails_on_the_database(
    counting, monkeypatch
):
    """A database error halfway (the task retries it) still marks the mails the SMTP server
    has; the rest stay claimed until the stale limit."""
    berichten = outbox.queue_many(unsaved(4))
    pks = [b.pk for b in berichten]
    checked = []

    def flaky(bericht, now):
        checked.append(bericht.pk)
        if len(checked) == 3:
            raise OperationalError("connection lost")
        return None

    monkeypatch.setattr(outbox.emails, "reason_not_to_send", flaky)

    with pytest.raises(OperationalError):
        outbox.deliver_many(pks)

    assert len(mail.outbox) == 2
    status = dict(Bericht.objects.filter(pk__in=pks).values_list("pk", "status"))
    assert status == {pks[0]: B.SENT, pks[1]: B.SENT, pks[2]: B.SENDING, pks[3]: B.SENDING}
    assert outbox.deliver_many(pks) == dict.fromkeys(pks, "skipped")
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_one_mark_for_several_stored_links_keeps_each_its_own_subject(counting):
    allauth = [
        Bericht.objects.create(
            key=f"allauth:{n}",
            kind="allauth",
            to=f"staf{n}@example.org",
            context={"subject": subject, "body": f"https://example.org/reset/geheim{n}/"},
        )
        for n, subject in enumerate(["Wachtwoord", "Bevestig je adres"])
    ]
    other = Bericht.objects.create(
        key="allauth-less", kind="bevestigd", to="x@example.org", context={"keep": "this"}
    )
    pks = [b.pk for b in [*allauth, other]]

    assert outbox.deliver_many(pks) == dict.fromkeys(pks, "sent")

    assert [reload(b).context for b in allauth] == [
        {"subject": "Wachtwoord"},
        {"subject": "Bevestig je adres"},
    ]
    assert reload(other).context == {"keep": "this"}
    assert {reload(b).status for b in [*allauth, other]} == {B.SENT}
