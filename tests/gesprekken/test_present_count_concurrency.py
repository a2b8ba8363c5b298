"""Check-ins and a recount at the same moment, on real PostgreSQL connections: the count
stored on the gesprek (Gesprek.present) stays exactly the number of present registrations."""

import pytest

from gesprekken import services
from gesprekken.models import Gesprek
from tests.gesprekken.factories import AanmeldingFactory
from tests.gesprekken.test_concurrency import at_once, pool_for_every_thread  # noqa: F401
from tests.gesprekken.test_present_count import actual, check_in, stored

from .staff.running_helpers import gesprek_led_by

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12
ROUNDS = 3


def test_concurrent_check_ins_and_corrections_keep_the_count_exact(cast):
    for _round in range(ROUNDS):
        gesprek = gesprek_led_by(
            cast.facilitator,
            cast.buurt_a,
            co_facilitator=cast.co_facilitator,
            max_participants=THREADS,
        )
        people = AanmeldingFactory.create_batch(THREADS, gesprek=gesprek)
        # A third were marked present before; now they are corrected to absent, while the
        # rest are checked in, by both facilitators at once, some twice.
        for aanmelding in people[::3]:
            check_in(cast, aanmelding)

        def work(i, people=people):
            by = cast.facilitator if i % 2 else cast.co_facilitator
            present = i % 3 != 0
            check_in(cast, people[i], present=present, by=by)
            return check_in(cast, people[i], present=present, by=by).status

        results, _pids = at_once(THREADS, work)

        assert not [r for r in results if isinstance(r, BaseException)], results
        assert stored(gesprek) == actual(gesprek) == THREADS - len(people[::3])


def test_a_recount_during_check_ins_undoes_none_of_them(cast):
    gesprek = gesprek_led_by(cast.facilitator, cast.buurt_a, max_participants=THREADS)
    people = AanmeldingFactory.create_batch(THREADS - 1, gesprek=gesprek)
    Gesprek.objects.filter(pk=gesprek.pk).update(present=5)  # wrong, for the recount to fix

    def work(i):
        if i == 0:
            return services.recount_present([gesprek.pk])
        return check_in(cast, people[i - 1]).status

    results, _pids = at_once(THREADS, work)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert stored(gesprek) == actual(gesprek) == THREADS - 1
    assert services.recount_present() == 0
