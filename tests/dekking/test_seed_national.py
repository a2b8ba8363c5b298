"""`seed_demo --scale national`, on a slice: a few gemeenten and a few hundred gesprekken."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q

from dekking import queries
from dekking.seed_national import seed_national
from facilitators.models import Facilitator
from gemeenten.models import Gemeente
from gesprekken.models import Aanmelding, Gesprek, Interesse, Verslag
from tests.dekking.conftest import NOW
from tests.gemeenten.factories import (
    BuurtFactory,
    GemeenteFactory,
    ProvincieFactory,
    WijkFactory,
)

SIZE = 400


@pytest.fixture
def geography(db, frozen):
    """One city (GM0344, a demo gemeente) and a dozen villages, with inhabitants."""
    provincie = ProvincieFactory(code="PV26", name="Utrecht")
    sizes = {"GM0344": 370_000, **{f"GM{9001 + n:04d}": 6_000 + 3_000 * n for n in range(12)}}
    for code, inwoners in sizes.items():
        gemeente = GemeenteFactory(
            code=code, name=f"Gemeente {code}", provincie=provincie, inwoners=inwoners
        )
        wijk = WijkFactory(gemeente=gemeente)
        for number in range(12 if code == "GM0344" else 4):
            BuurtFactory(wijk=wijk, inwoners=500 + 250 * number, pc4="3511")
    ended = GemeenteFactory(code="GM8999", provincie=provincie, inwoners=50_000)
    Gemeente.objects.filter(pk=ended.pk).update(ended_on=NOW.date())
    BuurtFactory(wijk=WijkFactory(gemeente=ended))
    return sizes


def fingerprint():
    """What the seed wrote, independent of database ids."""
    gesprekken = list(
        Gesprek.objects.order_by("starts_at", "buurt_id", "status", "format").values_list(
            "buurt_id", "starts_at", "status", "format", "max_participants", "thema__name"
        )
    )
    statuses = Counter(Aanmelding.objects.values_list("status", flat=True))
    return gesprekken, statuses, Interesse.objects.count(), Verslag.objects.count()


def test_it_writes_the_size_asked_for_with_registrations_reports_and_interest(geography):
    result = seed_national(seed=7, gesprekken=SIZE)

    assert result.gesprekken == Gesprek.objects.count() == SIZE
    assert result.aanmeldingen == Aanmelding.objects.count()
    assert 7 * SIZE < result.aanmeldingen < 13 * SIZE
    assert result.verslagen == Verslag.objects.count()
    assert result.interesses == Interesse.objects.count() > 0
    assert result.facilitators == Facilitator.objects.count() > 0
    # Every held gesprek has a report with at least its planned theme.
    held = Gesprek.objects.filter(status=Gesprek.Status.GEHOUDEN)
    assert held.count() == result.verslagen
    assert not held.filter(verslag__themes__isnull=True).exists()
    # Nothing in an ended gemeente.
    assert not Gesprek.objects.filter(buurt__gemeente__ended_on__isnull=False).exists()


def test_more_happens_in_the_city_and_nothing_in_some_villages(geography):
    result = seed_national(seed=7, gesprekken=SIZE)

    per_gemeente = Counter(Gesprek.objects.values_list("buurt__gemeente_id", flat=True))
    assert per_gemeente["GM0344"] > SIZE / 2
    assert per_gemeente.most_common(1)[0][0] == "GM0344"
    empty = set(geography) - set(per_gemeente)
    assert empty == set(result.empty_gemeenten)
    assert empty, "some gemeenten should have no activity at all"


def test_no_gesprek_is_overbooked_and_each_address_signs_up_once(geography):
    seed_national(seed=7, gesprekken=SIZE)

    overbooked = Gesprek.objects.annotate(
        seats=Count("aanmeldingen", filter=Q(aanmeldingen__status__in=Aanmelding.SEAT_STATUSES))
    ).filter(seats__gt=F("max_participants"))
    assert not overbooked.exists()
    assert (
        Aanmelding.objects.values("gesprek_id", "email").annotate(n=Count("pk")).filter(n__gt=1)
    ).count() == 0


def test_the_same_seed_gives_the_same_data(geography):
    with transaction.atomic():
        seed_national(seed=11, gesprekken=120)
        first = fingerprint()
        transaction.set_rollback(True)
    with transaction.atomic():
        seed_national(seed=11, gesprekken=120)
        second = fingerprint()
        transaction.set_rollback(True)
    seed_national(seed=12, gesprekken=120)

    assert first == second
    assert fingerprint() != first


def test_running_it_again_changes_nothing(geography):
    seed_national(seed=7, gesprekken=100)

    assert seed_national(seed=7, gesprekken=100) is None
    assert Gesprek.objects.count() == 100


def test_the_dashboard_numbers_match_a_plain_count_of_the_seeded_data(geography):
    seed_national(seed=7, gesprekken=SIZE)

    totals = queries.coverage(queries.Scope(), NOW).totals

    present = Aanmelding.objects.filter(status=Aanmelding.Status.AANWEZIG)
    assert (
        totals.participants
        == present.filter(
            Q(gesprek__status=Gesprek.Status.GEHOUDEN)
            | Q(gesprek__status=Gesprek.Status.GEPLAND, gesprek__ends_at__lt=NOW)
        ).count()
    )
    assert (
        totals.planned
        == Gesprek.objects.filter(status=Gesprek.Status.GEPLAND, starts_at__gt=NOW).count()
    )
    assert totals.held >= Gesprek.objects.filter(status=Gesprek.Status.GEHOUDEN).count()


def test_the_command_seeds_a_slice_and_says_what_it_wrote(geography):
    out = StringIO()

    call_command("seed_demo", "--scale", "national", "--gesprekken", "60", stdout=out)

    assert "National activity: 60 gesprekken" in out.getvalue()
    # The small demo's gesprekken come on top of the national ones.
    assert Gesprek.objects.count() > 60
