"""A tiny counter in the database cache's table (it works while Redis is down).

Fixed windows: the first hit starts a window of `period` seconds; more than `limit`
hits in it are refused. Good enough to stop a script mailing strangers or filling the
waiting list; not meant as an exact meter.

One statement per hit: an upsert on the cache table (`INSERT … ON CONFLICT (cache_key)
DO UPDATE … RETURNING`, on PostgreSQL and on SQLite ≥ 3.35) that starts the window, or
counts one more in it, or starts a new one when it has expired. Atomic, so concurrent
hits never lose a count. The counter rows are ordinary cache rows (key, value, expires)
whose value is the count as decimal text rather than a pickle: only this module reads
them; Django's cache culls and clears them like any other row. Django's own add/incr on
the database cache took ten statements per hit, one of them a COUNT(*) of the whole
table (make bench, docs/performance.md); they remain the fallback for another cache
backend or database.
"""

import hashlib
import logging
import random
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# (hits, seconds) per scope; override in settings with GESPREKKEN_RATE_LIMITS.
DEFAULT_LIMITS = {
    "ip": (10, 3600),
    "email": (3, 3600),
    "resend_ip": (10, 3600),
}
# Now and then (this share of the windows started) a hit also deletes the counters whose
# window ended, so the table does not keep one row per address ever seen.
CLEANUP_SHARE = 0.01

# The count as decimal text, or anything else (an expired window, a row written by
# Django's cache) starts again at 1. On PostgreSQL the count's commit does not wait for
# the disk (synchronous_commit off for this statement's own transaction, through
# set_config): a count lost in a database crash costs nothing, a flush per hit costs
# milliseconds on every sign-up. Not inside someone's transaction: that would hold for
# their whole transaction (then the statement runs in a savepoint, their commit decides).
_NO_WAIT = "WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL"
_UPSERT = {
    "postgresql": """
        INSERT INTO {table} (cache_key, value, expires)
        SELECT %s, '1', %s {no_wait}
        ON CONFLICT (cache_key) DO UPDATE SET
          value = CASE WHEN {table}.expires > %s AND {table}.value ~ '^[0-9]{{1,9}}$'
                       THEN ({table}.value::integer + 1)::text ELSE '1' END,
          expires = CASE WHEN {table}.expires > %s AND {table}.value ~ '^[0-9]{{1,9}}$'
                         THEN {table}.expires ELSE EXCLUDED.expires END
        RETURNING value
    """,
    "sqlite": """
        INSERT INTO {table} (cache_key, value, expires) VALUES (%s, '1', %s)
        ON CONFLICT (cache_key) DO UPDATE SET
          value = CASE WHEN {table}.expires > %s AND {counted}
                       THEN CAST(CAST({table}.value AS INTEGER) + 1 AS TEXT) ELSE '1' END,
          expires = CASE WHEN {table}.expires > %s AND {counted}
                         THEN {table}.expires ELSE excluded.expires END
        RETURNING value
    """,
}
_SQLITE_COUNTED = (
    "({table}.value <> '' AND {table}.value NOT GLOB '*[^0-9]*' AND length({table}.value) <= 9)"
)


def client_ip(request) -> str:
    """REMOTE_ADDR, or the address the trusted proxies saw (GESPREKKEN_TRUSTED_PROXIES).

    Behind N proxies the client is the N-th address from the right of X-Forwarded-For;
    anything further left can be forged by the client.
    """
    proxies = settings.GESPREKKEN_TRUSTED_PROXIES
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def _key(scope: str, action: str, value: str) -> str:
    # Hashed: the cache table never holds e-mail addresses in the clear.
    digest = hashlib.sha256(f"{scope}:{value}".encode()).hexdigest()[:32]
    return f"ratelimit:{action}:{scope}:{digest}"


def _count_in_table(backend: DatabaseCache, key: str, period: int) -> int | None:
    """One more hit on `key` in the cache table; the count in the window. None when the
    database has no upsert we know (the caller then uses the cache API)."""
    alias = router.db_for_write(backend.cache_model_class)
    connection = connections[alias]
    sql = _UPSERT.get(connection.vendor)
    if sql is None:
        return None
    table = connection.ops.quote_name(backend._table)
    in_transaction = connection.in_atomic_block
    sql = sql.format(
        table=table,
        counted=_SQLITE_COUNTED.format(table=table),
        no_wait="" if in_transaction else _NO_WAIT,
    )
    # Whole seconds, as Django's database cache writes them.
    now = timezone.now().replace(microsecond=0)
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        backend.make_and_validate_key(key),
        adapt(now + timedelta(seconds=period)),
        adapt(now),
        adapt(now),
    ]
    # In autocommit the statement is its own transaction; inside someone's transaction a
    # savepoint keeps a failure here from breaking theirs.
    savepoint = transaction.atomic(using=alias) if in_transaction else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        count = int(cursor.fetchone()[0])
        if count == 1 and random.random() < CLEANUP_SHARE:  # noqa: S311 - not security
            cursor.execute(
                f"DELETE FROM {table} WHERE expires <= %s AND cache_key LIKE %s",  # noqa: S608
                [adapt(now), backend.make_and_validate_key("ratelimit:") + "%"],
            )
    return count


def _count_in_cache(key: str, period: int) -> int:
    """The same with Django's cache API (not atomic: two statements or more)."""
    cache.add(key, 0, timeout=period)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=period)
        return 1


def hit(*, scope: str, action: str, value: str) -> bool:
    """Count one attempt; True when it is within the limit, False when it is one too many.

    When the counter fails, let the attempt through (and log): a resident must never be
    turned away because the limiter is broken.
    """
    limits = {**DEFAULT_LIMITS, **getattr(settings, "GESPREKKEN_RATE_LIMITS", {})}
    limit, period = limits[scope]
    key = _key(scope, action, value.strip().lower())
    try:
        backend = caches["default"]
        count = None
        if isinstance(backend, DatabaseCache):
            count = _count_in_table(backend, key, period)
        if count is None:
            count = _count_in_cache(key, period)
    except Exception:
        logger.exception("rate limit counter unavailable; letting the request through")
        return True
    return count <= limit
