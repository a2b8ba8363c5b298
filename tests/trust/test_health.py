"""/gezond/: database, cache and broker reported separately, without details.

The site works without Redis by design (sign-ups are saved in PostgreSQL and the outbox
sends their mail later), so a broker that is down is reported but keeps the status 200;
only a broken database or cache makes the endpoint 503 for the load balancer.
"""

import json
import os
import time

import pytest
from django.db import OperationalError, connections
from django.urls import reverse

from buurtgesprek import health

ALLOWED = {"ok", "fail", "not configured"}
# Something a real failure message might carry, which a public page must never show.
SECRET_DETAIL = "could not connect to server db-primary.internal:5432 (PostgreSQL 16.3)"


def _get(client):
    response = client.get(reverse("health"))
    return response, json.loads(response.content)


def test_health_is_at_gezond():
    assert reverse("health") == "/gezond/"


@pytest.mark.django_db
def test_health_reports_ok_for_database_and_cache_and_no_broker_when_none_is_configured(
    client, settings
):
    settings.REDIS_URL = ""
    response, body = _get(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert body == {"database": "ok", "cache": "ok", "broker": "not configured"}
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.redis
@pytest.mark.django_db
def test_health_reports_the_broker_ok_when_redis_answers(client, settings):
    settings.REDIS_URL = os.environ["REDIS_URL"]
    response, body = _get(client)
    assert response.status_code == 200
    assert body == {"database": "ok", "cache": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_an_unreachable_broker_is_reported_quickly_and_keeps_the_site_in_service(client, settings):
    # Nothing listens on port 1: the connection is refused.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    response, body = _get(client)
    assert time.monotonic() - started < 5
    assert body == {"database": "ok", "cache": "ok", "broker": "fail"}
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_broker_that_never_answers_times_out_within_seconds(settings):
    # A TCP server that accepts but never speaks: the check must not hang.
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        settings.REDIS_URL = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
        started = time.monotonic()
        assert health.check_broker() == "fail"
        assert time.monotonic() - started < 5
    finally:
        server.close()


@pytest.mark.django_db
def test_a_failing_database_gives_503_without_the_error_text(client, monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise OperationalError(SECRET_DETAIL)

    with monkeypatch.context() as patch:
        patch.setattr(connections["default"], "cursor", broken_cursor)
        response, body = _get(client)
    assert response.status_code == 503
    # The cache lives in the database, so it fails with it.
    assert body["database"] == "fail"
    assert body["cache"] == "fail"
    assert SECRET_DETAIL not in response.content.decode()
    assert "5432" not in response.content.decode()


@pytest.mark.django_db
def test_a_failing_cache_alone_gives_503(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(SECRET_DETAIL)

    monkeypatch.setattr(health.cache, "set", broken)
    response, body = _get(client)
    assert response.status_code == 503
    assert body["database"] == "ok"
    assert body["cache"] == "fail"


@pytest.mark.django_db
def test_the_answer_holds_three_words_and_nothing_else(client, settings):
    settings.REDIS_URL = "redis://user:hunter2@127.0.0.1:1/0"
    response, body = _get(client)
    assert set(body) == {"database", "cache", "broker"}
    assert set(body.values()) <= ALLOWED
    text = response.content.decode()
    for detail in ("hunter2", "127.0.0.1", "redis://", "Django", "PostgreSQL", "SQLite"):
        assert detail not in text


@pytest.mark.django_db
def test_health_stays_reachable_over_plain_http_when_https_is_enforced(client, settings):
    # Load balancers poll inside the network over http; every other page is redirected.
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/privacy/").status_code == 301
    assert client.get(reverse("health")).status_code == 200


@pytest.mark.django_db
def test_health_only_answers_get_and_head(client, settings):
    settings.REDIS_URL = ""
    assert client.post(reverse("health")).status_code == 405
    # A load balancer or uptime monitor may check with HEAD: the same status, no body.
    response = client.head(reverse("health"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
