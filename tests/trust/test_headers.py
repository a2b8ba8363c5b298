"""Security headers and cookies under production settings.

The values come from buurtgesprek/settings.py evaluated with a production environment
(tests/trust/production.py), not from the test settings, so a default that is only safe
in tests cannot hide a production problem.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from tests.gesprekken.factories import GesprekFactory

from .production import HOST, production_settings

PRODUCTION_KEYS = [
    "DEBUG",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SECURE",
    "X_FRAME_OPTIONS",
    "CONTENT_SECURITY_POLICY",
]
YEAR = 365 * 24 * 3600


@pytest.fixture(scope="module")
def production():
    return production_settings()


@pytest.fixture
def as_production(settings, production):
    """The test settings with every security-relevant value taken from production."""
    for key in PRODUCTION_KEYS:
        setattr(settings, key, production[key])
    settings.ALLOWED_HOSTS = [HOST]
    return settings


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def _secure_get(client, path):
    return client.get(path, secure=True, HTTP_HOST=HOST)


def test_production_settings_are_strict(production):
    assert production["DEBUG"] is False
    assert production["SECURE_HSTS_SECONDS"] >= YEAR
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["LANGUAGE_COOKIE_SECURE"] is True
    assert production["X_FRAME_OPTIONS"] == "DENY"


@pytest.mark.django_db
def test_pages_send_hsts_nosniff_frame_denial_and_referrer_policy(client, as_production):
    response = _secure_get(client, "/privacy/")
    assert response.status_code == 200
    hsts = response["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= YEAR
    assert "includeSubDomains" in hsts
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin"}
    # The manage links carry a secret token: it must never travel to another site.
    assert response["Referrer-Policy"] != "unsafe-url"


@pytest.mark.django_db
def test_the_content_security_policy_allows_no_inline_or_foreign_script(client, as_production):
    directives = _csp(_secure_get(client, "/privacy/"))
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts == ["'self'"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]


@pytest.mark.django_db
def test_the_content_security_policy_lets_the_browser_load_nothing_from_elsewhere(
    client, as_production
):
    # The browser-side guarantee behind "no third-party requests": whatever a template
    # might link, the browser refuses to fetch it from another host.
    directives = _csp(_secure_get(client, "/privacy/"))
    for name, sources in directives.items():
        for source in sources:
            assert source in {"'self'", "'none'", "data:"}, (name, source)
    # data: only for images (bootstrap's inline SVG icons), never for scripts or styles.
    for name in ("script-src", "style-src", "connect-src", "font-src"):
        assert "data:" not in directives.get(name, [])


@pytest.mark.django_db
def test_cookies_are_secure_over_https(client, as_production, buurt):
    gesprek = GesprekFactory(buurt=buurt)
    response = _secure_get(client, reverse("gesprekken:detail", args=[gesprek.pk]))
    assert response.status_code == 200
    csrf = response.cookies[django_settings.CSRF_COOKIE_NAME]
    assert csrf["secure"]
    assert csrf["samesite"] == "Lax"


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(client, as_production):
    response = client.get("/privacy/", HTTP_HOST=HOST)
    assert response.status_code == 301
    assert response["Location"] == f"https://{HOST}/privacy/"


@pytest.mark.django_db
def test_a_tls_terminating_proxy_is_believed_through_x_forwarded_proto(client, as_production):
    response = client.get("/privacy/", HTTP_HOST=HOST, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


@pytest.mark.django_db
def test_error_pages_carry_the_headers_too(client, as_production):
    response = _secure_get(client, "/gesprek/999999/")
    assert response.status_code == 404
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response


def _template_files():
    folders = [Path(folder) for engine in django_settings.TEMPLATES for folder in engine["DIRS"]]
    for folder in folders:
        yield from sorted(folder.rglob("*.html"))
        yield from sorted(folder.rglob("*.txt"))


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_no_template_has_inline_script_that_the_policy_would_block():
    # With script-src 'self', inline code would silently not run in the browser.
    offenders = []
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, JAVASCRIPT_URL):
            for match in pattern.finditer(text):
                # JSON data blocks are data, not code, and allowed by the policy.
                if 'type="application/json"' in match.group(0):
                    continue
                offenders.append(f"{path.relative_to(path.parents[1])}: {match.group(0)}")
    assert offenders == []
