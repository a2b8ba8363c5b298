"""Rate limits on signing up, interest and re-sending links: per client address and per e-mail."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gesprekken import ratelimit
from gesprekken.models import Aanmelding, Bericht, Interesse
from tests.gesprekken.factories import GesprekFactory
from tests.gesprekken.pages import Elements, cache_table, empty_cache, sign_up_data  # noqa: F401

pytestmark = pytest.mark.usefixtures("empty_cache")

TOO_MANY_NL = "Te veel pogingen vanaf dit adres of met dit e-mailadres."
TOO_MANY_EN = "Too many attempts from this address or e-mail."


@pytest.fixture
def gesprekken(utrecht):
    return GesprekFactory.create_batch(12, buurt=utrecht.buurten[0], max_participants=30)


def sign_up(client, gesprek, ip="192.0.2.1", **data):
    return client.post(
        reverse("gesprekken:sign_up", args=[gesprek.pk]), sign_up_data(**data), REMOTE_ADDR=ip
    )


def test_the_fourth_sign_up_with_one_address_within_an_hour_is_refused(client, gesprekken):
    for i, gesprek in enumerate(gesprekken[:3]):
        assert sign_up(client, gesprek, ip=f"192.0.2.{i}").status_code == 302

    response = sign_up(client, gesprekken[3], ip="192.0.2.99", name="Zoë Ğül 李")

    assert response.status_code == 429
    assert TOO_MANY_NL in response.text
    # What the resident typed stays in the form.
    elements = Elements(response.text)
    assert elements.find("input", name="name", value="Zoë Ğül 李")
    assert elements.find("input", name="email", value="fatima@example.org")
    assert Aanmelding.objects.count() == 3
    assert Bericht.objects.count() == 3


def test_the_limit_per_address_ignores_case_and_spaces(client, gesprekken):
    for i, email in enumerate(["a@example.org", "A@Example.org", " a@example.org "]):
        assert sign_up(client, gesprekken[i], ip=f"192.0.2.{i}", email=email).status_code == 302

    assert sign_up(client, gesprekken[3], email="A@EXAMPLE.ORG").status_code == 429


def test_the_eleventh_sign_up_from_one_client_address_within_an_hour_is_refused(client, gesprekken):
    for i, gesprek in enumerate(gesprekken[:10]):
        assert sign_up(client, gesprek, email=f"buur{i}@example.org").status_code == 302

    response = sign_up(client, gesprekken[10], email="nieuw@example.org")

    assert response.status_code == 429
    assert Aanmelding.objects.count() == 10
    # Someone else, elsewhere, is not affected.
    assert (
        sign_up(client, gesprekken[10], ip="198.51.100.7", email="ander@example.org").status_code
        == 302
    )


def test_the_message_speaks_english_too(client, gesprekken):
    for i in range(3):
        sign_up(client, gesprekken[i], ip=f"192.0.2.{i}")

    response = client.post(
        reverse("gesprekken:sign_up", args=[gesprekken[3].pk]),
        sign_up_data(),
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 429
    assert TOO_MANY_EN in response.text


def test_invalid_forms_do_not_use_up_the_limit(client, gesprekken):
    for _ in range(15):
        assert sign_up(client, gesprekken[0], email="not an address").status_code == 400

    assert sign_up(client, gesprekken[0]).status_code == 302


def test_the_limit_lifts_after_an_hour(client, gesprekken):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for i in range(3):
            sign_up(client, gesprekken[i], ip=f"192.0.2.{i}")
        assert sign_up(client, gesprekken[3]).status_code == 429

    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert sign_up(client, gesprekken[3]).status_code == 302


def test_interest_is_limited_per_address_too(client, utrecht):
    buurten = utrecht.buurten
    data = {"email": "buur@example.org", "consent": "on"}
    for i, buurt in enumerate(buurten):
        response = client.post(
            reverse("gesprekken:interest", args=[buurt.code]), data, REMOTE_ADDR=f"192.0.2.{i}"
        )
        assert response.status_code == 302

    response = client.post(reverse("gesprekken:interest", args=[buurten[0].code]), data)

    assert response.status_code == 429
    assert TOO_MANY_NL in response.text
    assert Interesse.objects.count() == 3


def test_resending_links_is_limited_per_client_address(client, db):
    for i in range(10):
        response = client.post(reverse("gesprekken:resend"), {"email": f"x{i}@example.org"})
        assert response.status_code == 302

    response = client.post(reverse("gesprekken:resend"), {"email": "y@example.org"})

    assert response.status_code == 429
    assert TOO_MANY_NL in response.text


def test_the_counts_live_in_the_database_cache(client, gesprekken):
    assert (
        django_settings.CACHES["default"]["BACKEND"]
        == "django.core.cache.backends.db.DatabaseCache"
    )

    sign_up(client, gesprekken[0])

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM buurtgesprek_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert len([key for key in keys if "ratelimit:sign_up" in key]) == 2
    # Hashed: no e-mail address or IP address in the cache table.
    assert not any("fatima" in key or "192.0.2" in key for key in keys)


def test_a_broken_counter_lets_residents_through(client, gesprekken, caplog):
    # The counter's table is gone (say, a restore without it): sign-ups still go through.
    with mock.patch.object(caches["default"], "_table", "buurtgesprek_no_such_table"):
        for i in range(5):
            assert sign_up(client, gesprekken[i]).status_code == 302

    assert "rate limit counter unavailable" in caplog.text
    # The failed count broke nothing else: every sign-up and its mail were saved.
    assert Aanmelding.objects.count() == 5
    assert Bericht.objects.count() == 5


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_with_another_cache_backend_the_limits_count_in_that_cache(client, gesprekken, settings):
    settings.CACHES = LOCMEM
    for i in range(3):
        assert sign_up(client, gesprekken[i], ip=f"192.0.2.{i}").status_code == 302

    assert sign_up(client, gesprekken[3]).status_code == 429
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM buurtgesprek_cache")
        assert cursor.fetchone()[0] == 0


def test_a_broken_cache_of_another_kind_lets_residents_through(
    client, gesprekken, settings, caplog
):
    settings.CACHES = LOCMEM
    with mock.patch.object(caches["default"], "incr", side_effect=RuntimeError("cache down")):
        for i in range(5):
            assert sign_up(client, gesprekken[i]).status_code == 302

    assert "rate limit counter unavailable" in caplog.text


def count_now(key_value="192.0.2.1", scope="ip"):
    """Hit once and read back the count stored for that key."""
    ratelimit.hit(scope=scope, action="test", value=key_value)
    key = caches["default"].make_and_validate_key(ratelimit._key(scope, "test", key_value))
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM buurtgesprek_cache WHERE cache_key = %s", [key])
        return cursor.fetchone()[0]


def test_each_hit_counts_one_more_in_its_window(db):
    assert [count_now() for _ in range(4)] == ["1", "2", "3", "4"]
    # Another address, another action or another scope has a count of its own.
    assert count_now("192.0.2.2") == "1"
    assert count_now(scope="resend_ip") == "1"


def test_a_new_window_starts_at_one(db, settings):
    settings.GESPREKKEN_RATE_LIMITS = {"ip": (2, 60)}
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        hits = [ratelimit.hit(scope="ip", action="test", value="192.0.2.1") for _ in range(3)]
    assert hits == [True, True, False]
    # Within the window it stays refused; a second after it ends it counts from one again.
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        assert ratelimit.hit(scope="ip", action="test", value="192.0.2.1") is False
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert count_now() == "1"


@pytest.mark.parametrize("stored", ["", "gAVLAy4=", "-5", "99999999999999", "1; DROP TABLE x"])
def test_a_row_that_is_no_count_starts_again_at_one(db, stored):
    # A row Django's cache wrote for the key (a pickle), or anything malformed.
    key = ratelimit._key("ip", "test", "192.0.2.1")
    caches["default"].set(key, "placeholder", 3600)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE buurtgesprek_cache SET value = %s WHERE cache_key = %s",
            [stored, caches["default"].make_and_validate_key(key)],
        )

    assert count_now() == "1"
    assert count_now() == "2"


@pytest.mark.django_db(transaction=True)
def test_a_hit_is_one_statement(monkeypatch):
    # Outside a transaction (as in a view): no savepoint, no COUNT(*), one upsert.
    monkeypatch.setattr(ratelimit, "CLEANUP_SHARE", 0)
    ratelimit.hit(scope="ip", action="test", value="192.0.2.1")
    with CaptureQueriesContext(connection) as queries:
        allowed = ratelimit.hit(scope="ip", action="test", value="192.0.2.1")

    assert allowed is True
    assert len(queries) == 1
    assert "ON CONFLICT" in queries[0]["sql"]


@pytest.mark.django_db(transaction=True)
def test_an_attempt_counts_under_all_its_limits_in_one_statement(monkeypatch, settings):
    monkeypatch.setattr(ratelimit, "CLEANUP_SHARE", 0)
    settings.GESPREKKEN_RATE_LIMITS = {"ip": (3, 3600), "email": (2, 3600)}
    attempt = [("ip", "test", "192.0.2.7"), ("email", "test", "Buur@Example.org ")]

    with CaptureQueriesContext(connection) as queries:
        assert ratelimit.hit_all(attempt) is True
    assert len(queries) == 1
    assert "ON CONFLICT" in queries[0]["sql"]

    # The e-mail limit (2) refuses the third attempt; the address limit still counted it.
    assert ratelimit.hit_all(attempt) is True
    assert ratelimit.hit_all(attempt) is False
    assert ratelimit.hit(scope="ip", action="test", value="192.0.2.7") is False
    assert ratelimit.hit(scope="email", action="test", value="other@example.org") is True
    assert ratelimit.hit(scope="ip", action="test", value="192.0.2.8") is True


def test_a_sign_up_counts_both_limits_in_one_statement(client, gesprekken, monkeypatch):
    monkeypatch.setattr(ratelimit, "CLEANUP_SHARE", 0)
    with CaptureQueriesContext(connection) as queries:
        response = sign_up(client, gesprekken[0])
    assert response.status_code == 302
    upserts = [q["sql"] for q in queries if "buurtgesprek_cache" in q["sql"]]
    assert len(upserts) == 1


def test_counters_whose_window_ended_are_cleaned_up_now_and_then(db, monkeypatch):
    monkeypatch.setattr(ratelimit, "CLEANUP_SHARE", 1)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for i in range(5):
            ratelimit.hit(scope="email", action="test", value=f"buur{i}@example.org")
    caches["default"].set("dekking:something", "kept", 10**6)

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        ratelimit.hit(scope="email", action="test", value="nieuw@example.org")

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM buurtgesprek_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert len(keys) == 2
    assert any("nieuw" not in key and "dekking:something" in key for key in keys)


def test_limits_can_be_set_in_settings(client, gesprekken, settings):
    settings.GESPREKKEN_RATE_LIMITS = {"email": (1, 60)}

    assert sign_up(client, gesprekken[0]).status_code == 302
    assert sign_up(client, gesprekken[1]).status_code == 429


# --- Which address is the client's --------------------------------------------------------------


def test_without_trusted_proxies_the_forwarded_header_is_ignored(rf, settings):
    settings.GESPREKKEN_TRUSTED_PROXIES = 0
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")

    assert ratelimit.client_ip(request) == "10.0.0.1"


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_claims(rf, settings):
    settings.GESPREKKEN_TRUSTED_PROXIES = 1
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5")

    assert ratelimit.client_ip(request) == "203.0.113.5"


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_a_hit_inside_a_transaction_leaves_its_durability_alone(db):
    # The count skips the wait for the disk only as a transaction of its own: inside
    # someone's transaction (here the test's) their commit must stay durable.
    assert synchronous_commit() == "on"
    ratelimit.hit(scope="ip", action="test", value="192.0.2.1")
    assert synchronous_commit() == "on"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_hit_on_its_own_does_not_change_the_connection_for_what_follows():
    assert ratelimit.hit(scope="ip", action="test", value="192.0.2.1") is True
    assert synchronous_commit() == "on"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_hits_never_lose_a_count(settings):
    threads, rounds, limit = 8, 5, 3
    settings.GESPREKKEN_RATE_LIMITS = {"ip": (limit, 3600)}
    for round_number in range(rounds):
        address = f"198.51.100.{round_number}"
        barrier = threading.Barrier(threads, timeout=30)
        allowed = []

        def hit_once(address=address, barrier=barrier, allowed=allowed):
            try:
                connection.ensure_connection()
                barrier.wait()
                allowed.append(ratelimit.hit(scope="ip", action="test", value=address))
            finally:
                connection.close()

        workers = [threading.Thread(target=hit_once) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        # Exactly `limit` got through, and every hit was counted: none lost, none twice.
        assert sorted(allowed) == [False] * (threads - limit) + [True] * limit
        key = caches["default"].make_and_validate_key(ratelimit._key("ip", "test", address))
        with connection.cursor() as cursor:
            cursor.execute("SELECT value FROM buurtgesprek_cache WHERE cache_key = %s", [key])
            assert cursor.fetchone()[0] == str(threads)
