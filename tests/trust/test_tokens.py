"""Personal links: tokens of at least 256 bits from `secrets`, compared in constant time."""

import base64
import hmac
import secrets

import pytest
from django.urls import reverse

from facilitators.services import pending_invitation
from gesprekken import services
from tests.facilitators.factories import FacilitatorFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory

MIN_BYTES = 32  # 256 bits


def _decoded_length(token: str) -> int:
    return len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


@pytest.fixture
def token_spy(monkeypatch):
    """Every call to secrets.token_urlsafe / token_bytes / token_hex, with its size."""
    calls = []

    def spy(name):
        real = getattr(secrets, name)

        def wrapper(nbytes=None):
            calls.append((name, nbytes))
            return real(nbytes)

        return wrapper

    for name in ("token_urlsafe", "token_bytes", "token_hex"):
        monkeypatch.setattr(secrets, name, spy(name))
    return calls


@pytest.fixture
def compare_spy(monkeypatch):
    """Records every constant-time comparison (Django's constant_time_compare ends in
    secrets.compare_digest; hmac.compare_digest is the same function under another name)."""
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(secrets, "compare_digest", spy)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def _compared(calls, token: str) -> bool:
    token_bytes = token.encode()
    return any(token_bytes in (a, b) or token in (a, b) for a, b in calls)


@pytest.mark.django_db
def test_a_registration_token_has_256_random_bits_from_secrets(utrecht, token_spy):
    gesprek = GesprekFactory(buurt=utrecht.buurten[0])
    aanmelding = services.sign_up(
        gesprek=gesprek, name="Ans", email="ans@example.org", postcode="3511AB", language="nl"
    )
    assert ("token_urlsafe", MIN_BYTES) in token_spy or any(
        n is not None and n >= MIN_BYTES for _, n in token_spy
    )
    assert _decoded_length(aanmelding.token) >= MIN_BYTES


@pytest.mark.django_db
def test_interest_calendar_and_invitation_tokens_have_256_bits(buurt):
    tokens = [
        InteresseFactory(buurt=buurt).token,
        FacilitatorFactory().calendar_token,
    ]
    from facilitators.models import Uitnodiging

    tokens.append(Uitnodiging._meta.get_field("token").default())
    for token in tokens:
        assert _decoded_length(token) >= MIN_BYTES


@pytest.mark.django_db
def test_tokens_never_repeat(buurt):
    gesprek = GesprekFactory(buurt=buurt)
    tokens = {AanmeldingFactory(gesprek=gesprek).token for _ in range(50)}
    assert len(tokens) == 50


@pytest.mark.django_db
def test_the_manage_link_is_checked_in_constant_time(client, compare_spy, buurt):
    aanmelding = AanmeldingFactory(gesprek=GesprekFactory(buurt=buurt))
    wrong = secrets.token_urlsafe(32)
    response = client.get(reverse("gesprekken:manage", args=[aanmelding.pk, wrong]))
    assert response.status_code == 404
    assert _compared(compare_spy, wrong)
    compare_spy.clear()
    assert services.get_aanmelding_by_token(aanmelding.pk, aanmelding.token) == aanmelding
    assert _compared(compare_spy, aanmelding.token)


@pytest.mark.django_db
def test_the_interest_link_is_checked_in_constant_time(compare_spy, buurt):
    interesse = InteresseFactory(buurt=buurt)
    wrong = secrets.token_urlsafe(32)
    assert services.get_interesse_by_token(interesse.pk, wrong) is None
    assert _compared(compare_spy, wrong)


@pytest.mark.django_db
def test_the_invitation_link_is_checked_in_constant_time(compare_spy):
    from facilitators.models import Uitnodiging
    from tests.facilitators.factories import UserFactory

    invitation = Uitnodiging.objects.create(
        email="nieuw@example.org", invited_by=UserFactory(), language="nl"
    )
    wrong = secrets.token_urlsafe(32)
    assert pending_invitation(invitation.pk, wrong) is None
    assert _compared(compare_spy, wrong)


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "x", "a" * 500, "../../etc/passwd", "%00"])
def test_malformed_tokens_are_simply_not_found(token, buurt):
    aanmelding = AanmeldingFactory(gesprek=GesprekFactory(buurt=buurt))
    assert services.get_aanmelding_by_token(aanmelding.pk, token) is None
    assert services.get_aanmelding_by_token("not-a-number", aanmelding.token) is None
