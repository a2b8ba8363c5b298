"""The outbox: queued once, claimed once, sent once; retried, failed and swept as it should."""

import smtplib
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import OperationalError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from gesprekken import outbox, tasks
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import AanmeldingFactory
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
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
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
