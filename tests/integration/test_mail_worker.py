"""E-mail through a real Celery worker on Redis to a real SMTP server: exactly once, never lost."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone, translation
from django.utils.html import escape

from gesprekken import services
from gesprekken.emails import format_date
from gesprekken.models import Aanmelding, Bericht
from gesprekken.tasks import send_bericht, send_due_reminders, sweep_outbox
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.integration.conftest import running_worker, wait_for
from tests.integration.smtp_sink import free_port

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

B = Bericht.Status


def status_of(bericht_id):
    return Bericht.objects.get(pk=bericht_id).status


def settle():
    """Give a stray duplicate the time it would need to show up."""
    time.sleep(1.5)


def sign_up(email="anna@example.org"):
    gesprek = GesprekFactory(starts_at=timezone.now() + timedelta(days=7))
    return services.sign_up(
        gesprek=gesprek, name="Anna", email=email, postcode="3511AB", language="nl"
    )


def test_a_sign_up_produces_exactly_one_confirmation_mail(worker, clean_sink):
    aanmelding = sign_up()

    bericht = Bericht.objects.get(aanmelding=aanmelding, kind="bevestig_email")
    wait_for(lambda: status_of(bericht.pk) == B.SENT, what="the confirmation to be sent")
    settle()

    assert clean_sink.bericht_ids() == [str(bericht.pk)]
    [message] = clean_sink.received
    assert message["To"] == "anna@example.org"
    with translation.override("nl"):
        assert format_date(aanmelding.gesprek.starts_at) in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert f"/aanmelding/{aanmelding.pk}/{aanmelding.token}/bevestig/" in body


def test_the_send_task_twice_and_two_workers_still_send_one(worker, worker_env, clean_sink):
    aanmelding = AanmeldingFactory()
    # Written without enqueueing, so only the tasks below send it.
    bericht = Bericht.objects.create(
        key=f"bevestigd:{aanmelding.pk}",
        kind="bevestigd",
        to=aanmelding.email,
        aanmelding=aanmelding,
        gesprek=aanmelding.gesprek,
    )

    with running_worker(worker_env, "worker2"):
        results = [send_bericht.apply_async((bericht.pk,), ignore_result=False) for _ in range(10)]
        outcomes = sorted(result.get(timeout=60) for result in results)
    settle()

    assert outcomes == ["sent"] + ["skipped"] * 9
    assert clean_sink.bericht_ids() == [str(bericht.pk)]
    bericht.refresh_from_db()
    assert (bericht.status, bericht.attempts) == (B.SENT, 1)


def test_smtp_451_is_retried_and_delivered_later(worker, clean_sink):
    clean_sink.answers.append("451 4.3.0 Greylisted, please try again later")

    aanmelding = sign_up("greylisted@example.org")
    bericht = Bericht.objects.get(aanmelding=aanmelding)

    wait_for(
        lambda: Bericht.objects.filter(pk=bericht.pk, attempts=1, status=B.PENDING).exists(),
        what="the first attempt to be refused and released",
    )
    bericht.refresh_from_db()
    assert bericht.last_error.startswith("SMTP 451 4.3.0 Greylisted")
    assert clean_sink.received == []

    def sweep_until_sent():
        # What beat does every minute; the retry is due one second after the failure.
        sweep_outbox.apply_async(ignore_result=False).get(timeout=30)
        return status_of(bericht.pk) == B.SENT

    wait_for(sweep_until_sent, interval=0.5, what="the retry to be delivered")
    settle()

    assert clean_sink.refused == 1
    assert clean_sink.bericht_ids() == [str(bericht.pk)]
    bericht.refresh_from_db()
    assert (bericht.attempts, bericht.last_error) == (2, "")


def test_smtp_550_is_given_up_with_the_reason_kept(worker, clean_sink):
    clean_sink.answers.append("550 5.1.1 No such user here")

    aanmelding = sign_up("nobody@example.org")
    bericht = Bericht.objects.get(aanmelding=aanmelding)

    wait_for(lambda: status_of(bericht.pk) == B.FAILED, what="the mail to be marked failed")
    sweep_outbox.apply_async(ignore_result=False).get(timeout=30)
    settle()

    bericht.refresh_from_db()
    assert bericht.last_error == "SMTP 550 5.1.1 No such user here"
    assert bericht.attempts == 1
    assert clean_sink.received == []


def test_a_sign_up_while_redis_is_down_is_kept_and_mailed_after_the_sweep(
    worker, worker_env, clean_sink
):
    gesprek = GesprekFactory(starts_at=timezone.now() + timedelta(days=7))
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    # The web side, in its own process, with Redis unreachable.
    script = (
        "from gesprekken import services;"
        "from gesprekken.models import Gesprek;"
        f"a = services.sign_up(gesprek=Gesprek.objects.get(pk={gesprek.pk}), name='Bob',"
        " email='bob@example.org', postcode='3511AB', language='en');"
        "print('AANMELDING', a.pk)"
    )
    started = time.monotonic()
    web = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=settings.BASE_DIR,
        env={**worker_env, "REDIS_URL": dead_redis, "EMAIL_URL": "smtp://127.0.0.1:1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    took = time.monotonic() - started

    assert web.returncode == 0, web.stderr
    assert "could not enqueue bericht" in web.stderr  # logged, not raised
    assert took < 10  # a sign-up does not hang on a dead Redis
    aanmelding = Aanmelding.objects.get(pk=int(web.stdout.split("AANMELDING")[1]))
    bericht = Bericht.objects.get(aanmelding=aanmelding)
    settle()
    assert bericht.status == B.PENDING
    assert clean_sink.received == []

    # Redis is there again for the worker: beat's sweep finds the row.
    assert sweep_outbox.apply_async(ignore_result=False).get(timeout=30) >= 1
    wait_for(lambda: status_of(bericht.pk) == B.SENT, what="the swept mail to be sent")
    settle()

    assert clean_sink.bericht_ids() == [str(bericht.pk)]
    assert clean_sink.received[0]["To"] == "bob@example.org"


def test_the_reminders_of_a_table_arrive_once_each_and_whole(worker, clean_sink):
    """Beat's reminders go out in a batch; from the second seat of a gesprek and language
    on, each mail's bytes are written ahead (emails._Frozen). What the SMTP server gets
    reads back as each person's own mail."""
    starts_at = timezone.now() + timedelta(hours=settings.GESPREKKEN_REMINDER_HOURS - 1)
    gesprek = GesprekFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2))
    seats = [
        AanmeldingFactory(gesprek=gesprek, name=name, language=language)
        for name, language in [
            ("Anna", "nl"),
            ("Zoë Çelik", "nl"),
            ("<b>Piet</b> & Jan", "nl"),
            ("Sam", "en"),
            ("Noor", "en"),
        ]
    ]

    assert send_due_reminders() == len(seats)
    reminders = Bericht.objects.filter(kind="herinnering")
    wait_for(
        lambda: reminders.filter(status=B.SENT).count() == len(seats),
        what="every reminder to be sent",
    )
    settle()

    assert sorted(clean_sink.bericht_ids()) == sorted(str(b.pk) for b in reminders)
    by_address = {message["To"]: message for message in clean_sink.received}
    assert set(by_address) == {seat.email for seat in seats}
    assert len({message["Message-ID"] for message in clean_sink.received}) == len(seats)
    for seat in seats:
        message = by_address[seat.email]
        assert not message.defects
        assert message["Content-Language"] == seat.language
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        assert seat.name in plain
        assert escape(seat.name) in html
        link = f"/aanmelding/{seat.pk}/{seat.token}/"
        assert link in plain and link in html
        others = [other for other in seats if other is not seat]
        assert not any(f"/aanmelding/{other.pk}/" in plain + html for other in others)
