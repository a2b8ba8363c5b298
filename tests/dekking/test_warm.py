"""Beat computes the unfiltered national numbers and the public ones ahead (dekking.tasks):
a visitor finds them in the cache and never waits for a pass over every registration."""

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from dekking import queries, tasks, views
from gesprekken import effect
from tests.facilitators.factories import RolFactory, UserFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory


@pytest.fixture
def caching(settings):
    settings.DEKKING_CACHE_SECONDS = 300
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def national(db):
    user = UserFactory(username="landelijk", totp=True)
    RolFactory(user=user, landelijk=True)
    return user


def _never(*_args, **_kwargs):
    raise AssertionError("computed on a visitor's request")


def test_after_warming_no_page_computes_its_numbers(client, caching, national, monkeypatch):
    gesprek = GesprekFactory(status="gehouden")
    AanmeldingFactory(gesprek=gesprek, status="aanwezig")

    assert tasks.warm_dashboards() == ["national", "national-effect", "public", "public-effect"]

    for name in ("national_data", "coverage"):
        monkeypatch.setattr(queries, name, _never)
    for name in ("national_summary", "open_data"):
        monkeypatch.setattr(effect, name, _never)
    client.force_login(national)
    assert client.get(reverse("dekking:national")).status_code == 200
    assert client.get(reverse("dekking:public")).status_code == 200
    response = client.get(reverse("dekking:open_data_json"))
    assert response.status_code == 200
    assert json.loads(response.content)["totals"]["participants"] is not None
    assert client.get(reverse("dekking:open_data_csv")).status_code == 200


def test_warming_replaces_what_the_cache_held(caching, db):
    stale = ("stale", None)
    views.cached("public", queries.Scope(), lambda: stale)
    assert views.public_coverage(None) == stale

    tasks.warm_dashboards()

    coverage, _computed_at = views.public_coverage(None)
    assert isinstance(coverage, queries.Coverage)


def test_without_a_cache_there_is_nothing_to_warm(settings, db):
    settings.DEKKING_CACHE_SECONDS = 0
    assert tasks.warm_dashboards() == []


def test_beat_runs_it_more_often_than_the_cache_expires(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["dekking-warm-dashboards"]
    assert entry["task"] == "dekking.tasks.warm_dashboards"
    assert entry["schedule"].total_seconds() < 300
