"""Staff accounts (allauth): no e-mail enumeration, rate-limited log-in, verification required.

- The log-in page, the password reset and the residents' "lost your link" give the same
  answer (status, redirect and page text, apart from the CSRF token) for an address we
  know and one we do not.
- Failed log-ins are rate-limited per address; the counter lives in the database cache,
  so it keeps counting while Redis is unreachable.
- An account whose e-mail address is not verified does not get in, so no staff page opens.
"""

import re

import pytest
import redis
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.facilitators.factories import PASSWORD, FacilitatorFactory, UserFactory
from tests.gesprekken.factories import AanmeldingFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401
from tests.integration.smtp_sink import free_port

KNOWN = "bekend@example.org"
UNKNOWN = "onbekend@example.org"
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


@pytest.fixture
def staff(cast, empty_cache):  # noqa: F811
    """A facilitator with a password, a verified address and an authenticator."""
    user = cast.facilitator
    user.email = KNOWN
    user.save(update_fields=["email"])
    user.emailaddress_set.update(email=KNOWN)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def page(response, address: str) -> str:
    """The page text without its CSRF token and with the address typed in blanked out."""
    return TOKEN.sub("", response.content.decode()).replace(address, "ADDRESS")


def answer(response, address: str):
    return response.status_code, response.get("Location"), page(response, address)


def post(url, data, *, follow=False):
    client = Client()
    response = client.post(url, data)
    followed = client.get(response["Location"]) if follow and response.status_code == 302 else None
    return response, followed


# --- The same answer for known and unknown addresses ---------------------------------------


def test_a_wrong_password_and_an_unknown_address_look_the_same(staff):
    url = reverse("account_login")
    known, _ = post(url, {"login": KNOWN, "password": "wrong-Password-1"})
    unknown, _ = post(url, {"login": UNKNOWN, "password": "wrong-Password-1"})

    assert known.status_code == 200
    assert answer(known, KNOWN) == answer(unknown, UNKNOWN)


def test_the_password_reset_answers_the_same_for_known_and_unknown(staff):
    url = reverse("account_reset_password")
    known, known_page = post(url, {"email": KNOWN}, follow=True)
    unknown, unknown_page = post(url, {"email": UNKNOWN}, follow=True)

    assert known.status_code == 302
    assert answer(known, KNOWN) == answer(unknown, UNKNOWN)
    assert answer(known_page, KNOWN) == answer(unknown_page, UNKNOWN)
    # Both get a mail (the unknown one says there is no account), so timing and
    # mailbox tell an outsider nothing either.
    assert sorted(m.to[0] for m in mail.outbox) == sorted([KNOWN, UNKNOWN])


def test_lost_your_link_answers_the_same_for_known_and_unknown(staff):
    AanmeldingFactory(email=KNOWN)
    url = reverse("gesprekken:resend")
    known, known_page = post(url, {"email": KNOWN}, follow=True)
    unknown, unknown_page = post(url, {"email": UNKNOWN}, follow=True)

    assert known.status_code == 302
    assert answer(known, KNOWN) == answer(unknown, UNKNOWN)
    assert answer(known_page, KNOWN) == answer(unknown_page, UNKNOWN)


# --- Rate limits, without Redis ------------------------------------------------------------


@pytest.fixture
def redis_down(settings, monkeypatch):
    """Redis unreachable: a dead port in the settings, and every Redis command fails."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = dead
    settings.CELERY_BROKER_URL = dead
    settings.CELERY_RESULT_BACKEND = dead

    def refuse(*args, **kwargs):
        raise redis.exceptions.ConnectionError("Redis is down (test)")

    monkeypatch.setattr(redis.Redis, "execute_command", refuse)


def test_the_rate_limits_count_in_the_database_cache():
    assert django_settings.CACHES["default"]["BACKEND"] == (
        "django.core.cache.backends.db.DatabaseCache"
    )


def test_failed_logins_are_rate_limited_while_redis_is_down(staff, redis_down):
    client = Client()
    url = reverse("account_login")
    for _ in range(5):
        response = client.post(url, {"login": KNOWN, "password": "wrong-Password-1"})
        assert response.status_code == 200
        assert "Too many" not in response.content.decode()

    # The sixth attempt is refused, even with the right password.
    response = client.post(url, {"login": KNOWN, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert "mfa" not in (response.get("Location") or "")
    text = response.content.decode()
    assert response.status_code in {200, 429}
    assert "Too many" in text or "Te veel" in text


def test_the_lockout_is_per_address_and_unknown_addresses_are_limited_alike(staff, redis_down):
    url = reverse("account_login")
    for _ in range(5):
        Client().post(url, {"login": UNKNOWN, "password": "wrong-Password-1"})
    refused = Client().post(url, {"login": UNKNOWN, "password": "wrong-Password-1"})
    text = refused.content.decode()
    assert "Too many" in text or "Te veel" in text

    # Another address from the same client is not locked out by it.
    fine = Client().post(url, {"login": KNOWN, "password": PASSWORD})
    assert fine.status_code == 302


# --- Mandatory e-mail verification ---------------------------------------------------------


def test_an_unverified_staff_account_cannot_log_in(cast, empty_cache):  # noqa: F811
    user = UserFactory(username="unverified", verified=False, totp=True, password=PASSWORD)
    FacilitatorFactory(user=user, gemeenten=[cast.gemeente_a])
    client = Client()

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    staff_page = client.get(reverse("werkruimte:home"))
    assert staff_page.status_code == 302
    assert staff_page["Location"].startswith(reverse("account_login"))
    # It sent a verification mail instead.
    assert [m.to for m in mail.outbox] == [[user.email]]


def test_a_verified_staff_account_gets_to_the_second_factor(staff):
    client = Client()
    response = client.post(reverse("account_login"), {"login": KNOWN, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")


def test_links_that_log_staff_in_or_reset_a_password_are_short_lived(settings):
    assert settings.ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS <= 1
    assert settings.PASSWORD_RESET_TIMEOUT <= 60 * 60
