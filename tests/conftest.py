"""Shared fixtures and the rules for tests that need real services.

Tests marked `postgres`, `redis` or `browser` need PostgreSQL, a Celery worker on Redis
or headless Chromium. Locally they skip with a reason when the service is not
configured; in CI (`BUURTGESPREK_REQUIRE_SERVICES=1`, set by .ci/run) that skip is a
failure, so a missing install step shows up red instead of quietly green.
"""

import os
import shutil
from types import SimpleNamespace

import pytest
from celery._state import _set_task_join_will_block
from django.conf import settings as django_settings

from buurtgesprek.celery import app as celery_app
from tests.gemeenten.factories import (
    BuurtFactory,
    GemeenteFactory,
    PostcodegebiedFactory,
    ProvincieFactory,
    WijkFactory,
)

CHROMIUM = "/usr/bin/chromium"


def require(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("BUURTGESPREK_REQUIRE_SERVICES"):
        pytest.fail(f"required service missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def uses_postgres() -> bool:
    return django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres"):
        require(uses_postgres(), "needs PostgreSQL: set DATABASE_URL=postgres://...")
    if item.get_closest_marker("redis"):
        require(bool(os.environ.get("REDIS_URL")), "needs Redis: set REDIS_URL=redis://...")
    if item.get_closest_marker("browser"):
        require(
            os.path.exists(CHROMIUM) or bool(shutil.which("chromium")),
            "needs Chromium: apt-get install chromium",
        )


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Pages render without a collectstatic manifest in tests.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Unit tests run tasks in process; integration tests opt out with the `redis` marker."""
    if request.node.get_closest_marker("redis"):
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous
    # Eager tasks run in several threads at once (the concurrency tests) race on Celery's
    # process-global "joining would block" flag and can leave it set, which would make a
    # later test's `result.get()` refuse to wait. Workers never run eagerly, so reset it.
    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _locmem_email(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def utrecht(db):
    """A slice of the real CBS data: gemeente Utrecht, its Binnenstad and postcode 3511."""
    provincie = ProvincieFactory(code="PV26", name="Utrecht")
    gemeente = GemeenteFactory(code="GM0344", name="Utrecht", provincie=provincie)
    binnenstad = WijkFactory(code="WK034406", name="Wijk 06 Binnenstad", gemeente=gemeente)
    west = WijkFactory(code="WK034401", name="Wijk 01 West", gemeente=gemeente)
    buurten = [
        BuurtFactory(code="BU03440621", name="Wijk C", wijk=binnenstad, pc4="3511"),
        BuurtFactory(code="BU03440628", name="Hooch Boulandt", wijk=binnenstad, pc4="3511"),
        BuurtFactory(code="BU03440112", name="Oog in Al", wijk=west, pc4="3533"),
    ]
    PostcodegebiedFactory(pc4="3511", gemeente=gemeente)
    PostcodegebiedFactory(pc4="3533", gemeente=gemeente)
    return SimpleNamespace(
        provincie=provincie, gemeente=gemeente, wijken=[west, binnenstad], buurten=buurten
    )
