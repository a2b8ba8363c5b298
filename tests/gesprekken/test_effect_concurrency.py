"""The effect survey submitted many times at once, on real PostgreSQL connections: the
unique digest stores one before-row, and the conditional UPDATE completes it once."""

import pytest

from gesprekken import effect
from gesprekken.models import Effectmeting
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.test_concurrency import at_once, pool_for_every_thread  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12


def test_one_before_row_and_one_after_answer_whatever_arrives_at_once():
    aanmelding = AanmeldingFactory(gesprek=GesprekFactory())
    gesprek, key = aanmelding.gesprek, effect.pairing_key(aanmelding)

    before, _pids = at_once(
        THREADS, lambda i: effect.record_before(gesprek, key, thermometer=i, trust=3)
    )

    assert sorted(before, key=str) == [False] * (THREADS - 1) + [True]
    row = Effectmeting.objects.get()
    assert row.before_thermometer == before.index(True)

    after, _pids = at_once(
        THREADS,
        lambda i: effect.record_after(gesprek, key, thermometer=i, trust=4, argument=5),
    )

    assert sorted(after, key=str) == [False] * (THREADS - 1) + [True]
    row.refresh_from_db()
    assert row.after_thermometer == after.index(True)
    assert row.pairing_digest is None
    assert Effectmeting.objects.count() == 1
