"""The health endpoint for load balancers and monitoring: `/gezond/`.

It answers JSON with one word per part, and nothing else (no error text, host names or
versions: the page is public):

    {"database": "ok", "cache": "ok", "broker": "ok"}

- database: a `SELECT 1` on the default database;
- cache: a write and a read in the default cache (the database cache, see settings);
- broker: a connection to REDIS_URL that gives up within about a second; "not
  configured" when there is no REDIS_URL (tasks then run in process).

The status is 200 when the database and the cache work, and 503 otherwise. A broker that
is down does NOT make it 503: by design the site keeps working without Redis (a sign-up
is saved in PostgreSQL, its e-mail waits in the outbox and the sweep sends it once Redis
is back), so a load balancer must not take the web processes out of service for it.
Monitoring should alert on `"broker": "fail"` separately (docs/operations.md).
Failures are logged with their details, for the people who run the site.
"""

import logging
import secrets

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

OK = "ok"
FAIL = "fail"
NOT_CONFIGURED = "not configured"
# Seconds to wait for the broker; a load balancer polls every few seconds.
BROKER_TIMEOUT = 1.0


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("health: database check failed", exc_info=True)
        return FAIL
    return OK


def check_cache() -> str:
    key = "health:check"
    value = secrets.token_hex(8)
    try:
        cache.set(key, value, timeout=60)
        if cache.get(key) != value:
            logger.warning("health: cache did not return what was written")
            return FAIL
    except Exception:
        logger.warning("health: cache check failed", exc_info=True)
        return FAIL
    return OK


def check_broker() -> str:
    url = settings.REDIS_URL
    if not url:
        return NOT_CONFIGURED
    # Imported here: kombu is only needed when a broker is configured.
    from kombu import Connection

    try:
        with Connection(
            url,
            connect_timeout=BROKER_TIMEOUT,
            transport_options={
                "socket_connect_timeout": BROKER_TIMEOUT,
                "socket_timeout": BROKER_TIMEOUT,
            },
        ) as conn:
            conn.ensure_connection(
                max_retries=1,
                interval_start=0,
                interval_step=0,
                interval_max=0,
                timeout=BROKER_TIMEOUT,
            )
    except Exception:
        logger.warning("health: broker check failed", exc_info=True)
        return FAIL
    return OK


@never_cache
@require_safe
def health(request):
    """Database, cache and broker, each "ok" or "fail"; 503 when the site cannot serve."""
    report = {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
    healthy = report["database"] == OK and report["cache"] == OK
    return JsonResponse(report, status=200 if healthy else 503)
