"""Many residents at the same moment, on real PostgreSQL connections: the gesprek row lock
keeps capacity exact and the unique constraint keeps one registration per address.

Each thread opens its own connection before a barrier releases them all at once; every
scenario runs several rounds so that a race, if there were one, would show.
"""

import threading
from collections import Counter

import pytest
from django.db import connection

from gesprekken import services
from gesprekken.models import Aanmelding, Bericht
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = Aanmelding.Status
THREADS = 24
ROUNDS = 5


@pytest.fixture(autouse=True)
def pool_for_every_thread():
    """Let each thread hold its own pooled connection (settings default to 10 per process).

    The pool is created lazily from the shared settings dict, so resizing it means closing
    it and changing the options; the next connection builds a new pool.
    """
    options = connection.settings_dict["OPTIONS"]
    original = options.get("pool")
    if not original:
        yield
        return
    connection.close()
    connection.close_pool()
    options["pool"] = {**(original if isinstance(original, dict) else {}), "max_size": THREADS + 6}
    yield
    connection.close()
    connection.close_pool()
    options["pool"] = original


def at_once(count, work):
    """Run work(i) in `count` threads, each on its own open connection, released together.

    Returns (results, backend pids): a result is the return value or the exception raised.
    """
    barrier = threading.Barrier(count, timeout=30)
    results = [None] * count
    pids = [None] * count

    def run(i):
        try:
            connection.ensure_connection()
            pids[i] = connection.connection.info.backend_pid
            barrier.wait()
            results[i] = work(i)
        except BaseException as error:  # noqa: BLE001 - reported to the test
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, pids


def sign_up(gesprek, email, name="Buur"):
    return services.sign_up(
        gesprek=gesprek, name=name, email=email, postcode="3511AB", language="nl"
    )


def test_many_residents_racing_for_the_last_three_seats_get_exactly_three():
    for round_ in range(ROUNDS):
        gesprek = GesprekFactory(max_participants=10)
        AanmeldingFactory.create_batch(7, gesprek=gesprek)

        results, pids = at_once(
            THREADS, lambda i, g=gesprek, r=round_: sign_up(g, f"buur{r}-{i}@example.org")
        )

        assert len(set(pids)) == THREADS, "every thread had its own database connection"
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert Counter(r.status for r in results) == {
            S.ONBEVESTIGD: 3,
            S.WACHTLIJST: THREADS - 3,
        }, f"round {round_}"
        assert gesprek.aanmeldingen.holding_seat().count() == 10
        kinds = Counter(Bericht.objects.filter(gesprek=gesprek).values_list("kind", flat=True))
        assert kinds == {"bevestig_email": 3, "wachtlijst": THREADS - 3}


def test_a_double_submit_from_many_tabs_gives_one_registration():
    for round_ in range(ROUNDS):
        gesprek = GesprekFactory(max_participants=10)
        email = f"dubbel{round_}@example.org"

        results, _pids = at_once(THREADS, lambda i, g=gesprek, e=email: sign_up(g, e.upper()))

        registered = [r for r in results if isinstance(r, Aanmelding)]
        refused = [r for r in results if isinstance(r, services.AlreadySignedUp)]
        assert (len(registered), len(refused)) == (1, THREADS - 1), results
        assert gesprek.aanmeldingen.filter(email=email).count() == 1
        assert Bericht.objects.filter(gesprek=gesprek).count() == 1


def test_cancellations_and_sign_ups_at_once_never_overbook():
    for round_ in range(ROUNDS):
        gesprek = GesprekFactory(max_participants=8)
        seated = AanmeldingFactory.create_batch(8, gesprek=gesprek)
        waiting = AanmeldingFactory.create_batch(3, gesprek=gesprek, status=S.WACHTLIJST)
        leaving = seated[:6]

        def work(i, g=gesprek, leaving=leaving, r=round_):
            if i < len(leaving):
                return services.cancel(aanmelding=leaving[i])
            return sign_up(g, f"nieuw{r}-{i}@example.org")

        results, _pids = at_once(THREADS, work)

        assert [r for r in results if isinstance(r, BaseException)] == []
        # Six seats were freed and more people want them: every seat is taken again, and
        # those who were waiting first were offered one, whatever the order of events.
        assert gesprek.aanmeldingen.holding_seat().count() == 8
        assert {a.status for a in Aanmelding.objects.filter(pk__in=[w.pk for w in waiting])} == {
            S.AANGEBODEN
        }
