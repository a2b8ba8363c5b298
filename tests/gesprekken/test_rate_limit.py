"""Rate limits on signing up, interest and re-sending links: per client address and per e-mail."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
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


def test_a_broken_cache_lets_residents_through(client, gesprekken, caplog):
    with mock.patch.object(cache, "incr", side_effect=RuntimeError("cache down")):
        for i in range(5):
            assert sign_up(client, gesprekken[i]).status_code == 302

    assert "rate limit counter unavailable" in caplog.text


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
