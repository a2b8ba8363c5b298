"""Every coverage page and export runs the same queries with 10 or 1,000 gesprekken."""

import random
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from gesprekken.models import Aanmelding, Effectmeting, Gesprek, Interesse, Verslag
from tests.dekking.conftest import polygon
from tests.facilitators.factories import RolFactory, UserFactory
from tests.gemeenten.factories import BuurtFactory, GemeenteFactory, WijkFactory
from tests.gesprekken.factories import ThemaFactory

SIZES = [10, 1000]
Status = Gesprek.Status


@pytest.fixture(params=SIZES, ids=lambda size: f"{size}-gesprekken")
def activity(request, db, frozen):
    """`size` gesprekken of every kind over two gemeenten, with registrations, reports,
    themes and interest, written with bulk_create."""
    size = request.param
    rng = random.Random(size)
    gemeenten = [
        GemeenteFactory(code="GM0001", name="Aadorp", boundary=polygon(5.0, 52.0)),
        GemeenteFactory(code="GM0002", name="Beekdal", boundary=polygon(5.1, 52.0)),
    ]
    buurten = [
        BuurtFactory(wijk=WijkFactory(gemeente=gemeente)) for gemeente in gemeenten for _ in "ab"
    ]
    themes = [ThemaFactory(name=name) for name in ("Wonen", "Zorg")]
    leads = [UserFactory(first_name=name) for name in ("Anna", "Bram", "Cees")]
    now = timezone.now()
    gesprekken = []
    for number in range(size):
        starts_at = now + timedelta(days=rng.randint(-120, 30), hours=number % 5)
        gesprekken.append(
            Gesprek(
                format=rng.choice(Gesprek.Format.values),
                buurt=rng.choice(buurten),
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=2),
                status=rng.choice([Status.GEPLAND, Status.GEHOUDEN, Status.AFGELAST]),
                facilitator=rng.choice(leads),
                co_facilitator=rng.choice([None, *leads]),
                thema=rng.choice(themes),
            )
        )
    gesprekken = Gesprek.objects.bulk_create(gesprekken)
    Aanmelding.objects.bulk_create(
        Aanmelding(
            gesprek=gesprek,
            name=f"Bewoner {gesprek.pk}-{seat}",
            email=f"bewoner{gesprek.pk}-{seat}@example.org",
            postcode="3511AB",
            status=rng.choice(Aanmelding.Status.values),
            consent_at=now,
        )
        for gesprek in gesprekken
        for seat in range(3)
    )
    verslagen = Verslag.objects.bulk_create(
        Verslag(gesprek=gesprek, attendance=3, outcome="Samen koken.")
        for gesprek in gesprekken
        if gesprek.status == Status.GEHOUDEN
    )
    Verslag.themes.through.objects.bulk_create(
        Verslag.themes.through(verslag=verslag, thema=theme)
        for verslag in verslagen
        for theme in themes
    )
    Interesse.objects.bulk_create(
        Interesse(
            buurt=rng.choice(buurten),
            email=f"buur{number}@example.org",
            consent_at=now,
            confirmed_at=now,
        )
        for number in range(size // 5 + 1)
    )
    # Effect survey answers: two pairs and one before-answer (still keyed) per gesprek.
    Effectmeting.objects.bulk_create(
        Effectmeting(
            gesprek=gesprek,
            pairing_digest=f"{gesprek.pk:064d}" if seat == 2 else None,
            before_thermometer=rng.randint(0, 100),
            before_trust=rng.randint(1, 5),
            after_thermometer=None if seat == 2 else rng.randint(0, 100),
            after_trust=None if seat == 2 else rng.randint(1, 5),
            after_argument=None if seat == 2 else rng.randint(1, 5),
        )
        for gesprek in gesprekken
        for seat in range(3)
    )
    national = UserFactory(username="landelijk", totp=True)
    RolFactory(user=national, landelijk=True)
    assert Gesprek.objects.count() == size
    return national


def test_the_national_dashboard(client, activity, django_assert_num_queries):
    client.force_login(activity)
    # 1 session, 2 user, 3 staff roles, 4 provinces and 5 themes for the filter form,
    # 6 gemeenten with their number of buurten, 7 gesprekken and participants per gemeente
    # and per week (one pass), 8 themes in reports, 9 number of reports, 10 demand without
    # supply, 11 active facilitators, 12 latest geography import (map cache key),
    # 13 boundaries (first map in this process), 14-17 effect of the conversations: total,
    # per province, per theme, per format.
    with django_assert_num_queries(17):
        response = client.get(reverse("dekking:national"), {"provincie": "", "vorm": ""})
    assert response.status_code == 200


def test_the_national_dashboard_filtered(client, activity, django_assert_num_queries):
    client.force_login(activity)
    client.get(reverse("dekking:national"))  # the map's boundaries are read once
    query = {"start": "2026-01-01", "end": "2026-03-31", "provincie": "PV26", "vorm": "tafel"}
    # As above, without the boundaries (cached in this process): 16.
    with django_assert_num_queries(16):
        response = client.get(reverse("dekking:national"), query)
    assert response.status_code == 200


def test_the_municipal_dashboard(client, activity, django_assert_num_queries):
    client.force_login(activity)
    # 1 session, 2 user, 3 staff roles, 4 national role (coordinated_gemeenten), 5 the
    # gemeente, 6 themes for the filter form, 7 load as lead and co-lead, 8 gesprekken
    # and participants per buurt and per week (one pass), 9 buurten, 10 open interest per
    # buurt, 11 themes in reports, 12 number of reports, 13 demand without supply,
    # 14 active facilitators, 15-17 effect of the conversations: total, per theme, per format.
    with django_assert_num_queries(17):
        response = client.get(reverse("dekking:gemeente", args=["GM0001"]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("export", "count"),
    [
        # 1-3 session, user, roles; 4-5 filter choices; 6-11 as the dashboard.
        ("gemeenten", 11),
        ("provincies", 11),
        ("trend", 11),
        # 6 themes in reports, 7 number of reports.
        ("themes", 7),
        # 6 demand without supply.
        ("demand", 6),
    ],
)
def test_the_national_exports(client, activity, django_assert_num_queries, export, count):
    client.force_login(activity)
    with django_assert_num_queries(count):
        response = client.get(reverse("dekking:national"), {"export": export})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("export", "count"),
    [
        # 1-6 session, user, roles, national role, gemeente, theme choices; 7-14 as the page.
        ("wijken", 14),
        ("buurten", 14),
        ("trend", 14),
        ("load", 14),
        # 7 themes in reports, 8 number of reports.
        ("themes", 8),
        # 7 demand without supply.
        ("demand", 7),
    ],
)
def test_the_municipal_exports(client, activity, django_assert_num_queries, export, count):
    client.force_login(activity)
    url = reverse("dekking:gemeente", args=["GM0001"])
    with django_assert_num_queries(count):
        response = client.get(url, {"export": export})
    assert response.status_code == 200


def test_the_public_page(client, activity, django_assert_num_queries):
    # 1 gemeenten with their number of buurten, 2 gesprekken and participants per
    # gemeente, 3 latest geography import, 4 boundaries (first map in this process).
    with django_assert_num_queries(4):
        response = client.get(reverse("dekking:public"))
    assert response.status_code == 200


@pytest.mark.parametrize("name", ["dekking:open_data_json", "dekking:open_data_csv"])
def test_the_open_data(client, activity, django_assert_num_queries, name):
    # 1 gemeenten with their number of buurten, 2 gesprekken and participants per
    # gemeente, 3-5 effect of the conversations: national, per province, per gemeente.
    with django_assert_num_queries(5):
        response = client.get(reverse(name))
    assert response.status_code == 200


def test_a_cached_dashboard_reads_its_numbers_in_one_query(
    client, activity, settings, django_assert_num_queries
):
    settings.DEKKING_CACHE_SECONDS = 300
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.force_login(activity)
    client.get(reverse("dekking:national"))
    # 1 session, 2 user, 3 staff roles, 4-5 filter choices, 6 latest geography import; the
    # numbers come from the cache (a database cache would add one query).
    with django_assert_num_queries(6):
        response = client.get(reverse("dekking:national"))
    assert response.status_code == 200
