"""Many residents from two sides signing up at the same moment for a mixed table, on real
PostgreSQL connections: the gesprek row lock keeps capacity exact and the balance rule
true, and every sign-up ends as a seat, a reserve or a waiting-list entry.

How we know these tests can fail: we ran them with a throwaway pytest plugin that
monkeypatches services._lock_gesprek to a plain `Gesprek.objects.get(pk=pk)` (no
SELECT … FOR UPDATE). Both failed in their first round: the threads all counted the same
empty table before any of them had saved, so the first test seated all 24 at a table for
10, and the second broke the rule (15 agree among 21 seat holders, limit 12) besides
overbooking. With the lock they pass round after round.
"""

from collections import Counter

import pytest

from gesprekken import services
from gesprekken.balance import Table
from gesprekken.models import Aanmelding, Bericht, Sector, Standpunt, Stelling
from tests.gesprekken.factories import GesprekFactory, ThemaFactory
from tests.gesprekken.test_concurrency import (  # noqa: F401 - the autouse pool fixture
    THREADS,
    at_once,
    pool_for_every_thread,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = Aanmelding.Status
ROUNDS = 5
# What a sign-up may end as once the dust settles (a reserve may have been offered a seat).
SETTLED = {S.ONBEVESTIGD, S.AANGEBODEN, S.RESERVE, S.WACHTLIJST}


def mixed_gesprek(*, capacity):
    thema = ThemaFactory()
    stelling = Stelling.objects.create(thema=thema, text="Meer groen in de straat")
    gesprek = GesprekFactory(
        thema=thema, balance=True, balance_max_share=60, max_participants=capacity
    )
    return gesprek, stelling


def join(gesprek, stelling, email, side, sector=None):
    return services.sign_up(
        gesprek=gesprek,
        name="Buur",
        email=email,
        postcode="3511AB",
        language="nl",
        sector=sector,
        stance={stelling.pk: side},
        stance_consent=True,
    )


def check_the_table(gesprek, results, capacity):
    assert [r for r in results if isinstance(r, BaseException)] == []
    registrations = list(gesprek.aanmeldingen.all())
    assert len(registrations) == THREADS
    assert {a.status for a in registrations} <= SETTLED
    holders = [a for a in registrations if a.status in Aanmelding.SEAT_STATUSES]
    assert Table.of(gesprek).holds(), Counter(
        Standpunt.objects.filter(aanmelding__in=holders).values_list("side", flat=True)
    )
    # Two sides want in, so the seats fill up, and never beyond the capacity.
    assert len(holders) == capacity
    # Each got the mail of what they became first, once; a promoted reserve an offer too.
    kinds = Counter(Bericht.objects.filter(gesprek=gesprek).values_list("kind", flat=True))
    assert kinds["bevestig_email"] + kinds["reserve"] + kinds["wachtlijst"] == THREADS
    assert kinds["plek_aangeboden"] == Counter(a.status for a in registrations)[S.AANGEBODEN]
    return kinds["reserve"]


def test_two_sides_racing_for_a_mixed_table_keep_capacity_and_the_rule():
    sides = [Standpunt.Side.EENS, Standpunt.Side.ONEENS]
    reserves = 0
    for round_ in range(ROUNDS):
        gesprek, stelling = mixed_gesprek(capacity=10)

        results, pids = at_once(
            THREADS,
            lambda i, g=gesprek, s=stelling, r=round_: join(
                g, s, f"buur{r}-{i}@example.org", sides[i % 2]
            ),
        )

        assert len(set(pids)) == THREADS, "every thread had its own database connection"
        reserves += check_the_table(gesprek, results, capacity=10)
    # Alternating sides can, by the luck of arrival order, fill a table without ever
    # tipping it (e, o, e, o …); over five rounds some order always does tip it.
    assert reserves > 0, "the races never made a reserve: the test proves nothing"


def test_a_lopsided_crowd_with_sectors_keeps_the_rule_for_sector_and_side():
    zorg = Sector.objects.create(text="Zorg")
    horeca = Sector.objects.create(text="Horeca")
    for round_ in range(ROUNDS):
        gesprek, stelling = mixed_gesprek(capacity=8)

        def work(i, g=gesprek, s=stelling, r=round_):
            # Three in four agree; the sector alternates on its own rhythm.
            side = Standpunt.Side.ONEENS if i % 4 == 0 else Standpunt.Side.EENS
            sector = zorg if i % 3 else horeca
            return join(g, s, f"scheef{r}-{i}@example.org", side, sector)

        results, _pids = at_once(THREADS, work)

        assert [r for r in results if isinstance(r, BaseException)] == []
        assert Table.of(gesprek).holds()
        assert gesprek.aanmeldingen.holding_seat().count() <= 8
        assert {a.status for a in gesprek.aanmeldingen.all()} <= SETTLED
        assert gesprek.aanmeldingen.count() == THREADS
        # Eighteen who agree for at most four agreeing seats: the race must make reserves.
        assert gesprek.aanmeldingen.filter(status=S.RESERVE).exists() or (
            Bericht.objects.filter(gesprek=gesprek, kind="reserve").exists()
        ), "the race never made a reserve: the test proves nothing"
