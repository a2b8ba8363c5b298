"""Batches of mails (send_berichten) through real Celery workers to a real SMTP server.

Many mails per task over one SMTP connection (gesprekken.outbox.deliver_many) keep the
outbox's promise: every mail once, none lost, even with two workers taking overlapping
batches, and with a worker killed in the middle of a batch (then every claim it held is
taken over after the stale limit; only the mails accepted since the last mark of sent
mails, and the mail in flight, may go out twice).
"""

import os
import signal
import time
from collections import Counter

import pytest
from django.utils import timezone

from gesprekken import outbox
from gesprekken.models import Bericht
from gesprekken.tasks import send_berichten
from tests.integration.conftest import running_worker, wait_for
from tests.integration.smtp_sink import serving
from tests.integration.test_faults import (
    STALE_SECONDS,
    SlowSink,
    all_sent,
    unqueued_berichten,
)

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

B = Bericht.Status


@pytest.fixture(scope="module")
def sink():
    """A sink that takes 0.2 s over every message, so a batch is still going at the kill."""
    with serving(SlowSink()) as slow:
        yield slow


@pytest.fixture
def batch_env(worker_env, clean_sink):
    return {**worker_env, "GESPREKKEN_MAIL_STALE_SECONDS": str(STALE_SECONDS)}


def counts(sink) -> Counter:
    return Counter(int(pk) for pk in sink.bericht_ids())


def test_two_workers_with_overlapping_batches_send_each_mail_once(worker_env, clean_sink):
    pks = [b.pk for b in unqueued_berichten(12)]

    with running_worker(worker_env, "first"), running_worker(worker_env, "second"):
        results = [
            send_berichten.apply_async((batch,), ignore_result=False)
            for batch in (pks, list(reversed(pks)), pks[:6], pks[6:], pks[3:9])
        ]
        outcomes = Counter()
        for result in results:
            outcomes.update(result.get(timeout=90))
        time.sleep(1.0)  # room for a stray duplicate to show up

    assert outcomes["sent"] == len(pks)
    assert counts(clean_sink) == Counter({pk: 1 for pk in pks})
    assert Bericht.objects.filter(pk__in=pks, status=B.SENT, attempts=1).count() == len(pks)


def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_only_the_unmarked(
    batch_env, clean_sink, settings
):
    settings.GESPREKKEN_MAIL_STALE_SECONDS = STALE_SECONDS
    pks = [b.pk for b in unqueued_berichten(30)]

    with running_worker(batch_env, "doomed-batch", prefork=True) as doomed:
        send_berichten.delay(pks)
        wait_for(
            lambda: len(clean_sink.received) >= 10 and clean_sink.answering,
            timeout=60,
            interval=0.01,
            what="a third of the batch, and a mail handed over but not yet answered",
        )
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        delivered_before_restart = len(clean_sink.received)
        held = Bericht.objects.filter(pk__in=pks, status=B.SENDING).count()
        marked = Bericht.objects.filter(pk__in=pks, status=B.SENT).count()

    assert 0 < delivered_before_restart < len(pks)
    # Handed to the server, not marked sent: the mail in flight, and the one before it
    # when its mark was still waiting (a group is marked once its first mail waited
    # MARK_SECONDS, 0.2 s: one mail of this sink).
    unmarked = delivered_before_restart - marked
    assert 1 <= unmarked <= 2
    # The batch claimed every row it had not finished: they wait for the stale limit.
    assert held == len(pks) - Bericht.objects.filter(pk__in=pks, status=B.SENT).count()
    assert held > 1

    with running_worker(batch_env, "survivor-batch"):

        def sweep_until_all_sent():
            outbox.sweep(timezone.now())  # what beat's sweep_outbox does every minute
            return all_sent(pks)

        wait_for(sweep_until_all_sent, timeout=120, interval=1.0, what="every mail to be sent")
        time.sleep(1.5)

    sent = counts(clean_sink)
    duplicates = {pk: n for pk, n in sent.items() if n > 1}
    print(f"\nbatch kill after {delivered_before_restart}/{len(pks)}: duplicates={duplicates}")
    assert set(sent) == set(pks)
    # Only those can go out twice.
    assert set(duplicates) <= set(list(counts(clean_sink))[marked:delivered_before_restart])
    assert len(duplicates) <= unmarked
    assert all(n <= 2 for n in sent.values())
    assert not Bericht.objects.filter(pk__in=pks).exclude(status=B.SENT).exists()
