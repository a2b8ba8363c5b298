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
from hypothesis import settings as hypothesis_settings

from buurtgesprek.celery import app as celery_app
from dekking import geo
from tests.gemeenten.factories import (
    BuurtFactory,
    GemeenteFactory,
    PostcodegebiedFactory,
    ProvincieFactory,
    WijkFactory,
)

CHROMIUM = "/usr/bin/chromium"

# In CI the property tests run the same examples every time (and keep no example
# database), so a landing is never decided by a lucky draw; locally they explore.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


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
def _default_language():
    # A request through LocaleMiddleware leaves its language active in the thread; every
    # test starts in the default language (Dutch), as a fresh process would.
    from django.conf import settings as django_settings  # noqa: PLC0415
    from django.utils import translation  # noqa: PLC0415

    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_lists():
    # The per-process memo of sectors and agreements (gesprekken.lists) must not carry rows
    # of a rolled-back test into the next one.
    from gesprekken import lists  # noqa: PLC0415 (app registry must be ready)

    lists.forget()
    yield
    lists.forget()


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
def _fresh_coverage(settings):
    """Coverage numbers computed per request and the map projected anew for every test.

    Both caches outlive a test: the map's lives in the process, and the database cache
    table is not emptied between transactional (browser) tests. Tests that are about
    caching turn it back on themselves.
    """
    settings.DEKKING_CACHE_SECONDS = 0
    geo.clear_cache()
    yield
    geo.clear_cache()


@pytest.fixture
def admin_user(db):
    """pytest-django's superuser, with the second factor the admin demands of staff."""
    from tests.facilitators.factories import UserFactory

    return UserFactory(username="admin", is_staff=True, is_superuser=True, totp=True)


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


# --- The staff cast (facilitators, coordinators) -------------------------------------


def _gemeente_with_buurten(code: str, name: str):
    gemeente = GemeenteFactory(code=code, name=name)
    wijk = WijkFactory(gemeente=gemeente, name=f"Wijk Centrum {name}")
    buurten = [
        BuurtFactory(wijk=wijk, name=f"Oude Haven {name}"),
        BuurtFactory(wijk=wijk, name=f"Nieuwe Markt {name}"),
    ]
    return gemeente, wijk, buurten


@pytest.fixture
def cast(db):
    """Everyone the staff tests need, around two gemeenten A and B.

    gemeente_a / gemeente_b (GM9101 Aadorp, GM9102 Beekdal), each with one wijk
    (wijk_a / wijk_b) and two buurten (buurten_a / buurten_b; buurt_a = buurten_a[0]).
    facilitator, co_facilitator: serve A. outsider_facilitator: serves B.
    coordinator: municipal coordinator of A. outsider_coordinator: of B.
    national: national coordinator (every gemeente, aggregates only).
    Every user has a verified e-mail address and a TOTP authenticator, so the staff
    decorators let them in; `cast.login(client, user)` logs one in (no second factor asked).
    Users are returned as User objects; the Facilitator profiles are `user.facilitator`.
    """
    from tests.facilitators.factories import FacilitatorFactory, RolFactory, UserFactory

    gemeente_a, wijk_a, buurten_a = _gemeente_with_buurten("GM9101", "Aadorp")
    gemeente_b, wijk_b, buurten_b = _gemeente_with_buurten("GM9102", "Beekdal")

    def facilitator(username, gemeente):
        return FacilitatorFactory(
            user=UserFactory(username=username, totp=True), gemeenten=[gemeente]
        ).user

    def coordinator(username, gemeente=None):
        user = UserFactory(username=username, totp=True)
        if gemeente is None:
            RolFactory(user=user, landelijk=True)
        else:
            RolFactory(user=user, gemeente=gemeente)
        return user

    def login(client, user):
        client.force_login(user)
        return client

    return SimpleNamespace(
        gemeente_a=gemeente_a,
        gemeente_b=gemeente_b,
        wijk_a=wijk_a,
        wijk_b=wijk_b,
        buurten_a=buurten_a,
        buurten_b=buurten_b,
        buurt_a=buurten_a[0],
        buurt_b=buurten_b[0],
        facilitator=facilitator("facilitator", gemeente_a),
        co_facilitator=facilitator("co_facilitator", gemeente_a),
        outsider_facilitator=facilitator("outsider_facilitator", gemeente_b),
        coordinator=coordinator("coordinator", gemeente_a),
        outsider_coordinator=coordinator("outsider_coordinator", gemeente_b),
        national=coordinator("national"),
        login=login,
    )
