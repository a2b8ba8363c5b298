"""A tiny counter in the database cache's table (it works while Redis is down).

Fixed windows: the first hit starts a window of `period` seconds; more than `limit`
hits in it are refused. Good enough to stop a script mailing strangers or filling the
waiting list; not meant as an exact meter.

One statement per attempt, for all the limits it counts under (hit_all: per client
address and per e-mail address at sign-up): an upsert on the cache table (`INSERT … ON
CONFLICT (cache_key) DO UPDATE … RETURNING`, on PostgreSQL and on SQLite ≥ 3.35) that, for
each counter, starts the window, or counts one more in it, or starts a new one when it has
expired. Atomic, so concurrent hits never lose a count. The counter rows are ordinary
cache rows (key, value, expires) whose value is the count as decimal text rather than a
pickle: only this module reads them; Django's cache culls and clears them like any other
row. Django's own add/incr on the database cache took ten statements per hit, one of them
a COUNT(*) of the whole table (make bench, docs/performance.md); they remain the fallback
for another cache backend or database.
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
        SELECT hit.cache_key, '1', hit.expires
        FROM (VALUES {rows}) AS hit (cache_key, expires) {no_wait}
        ON CONFLICT (cache_key) DO UPDATE SET
          value = CASE WHEN {table}.expires > %s AND {table}.value ~ '^[0-9]{{1,9}}$'
                       THEN ({table}.value::integer + 1)::text ELSE '1' END,
          expires = CASE WHEN {table}.expires > %s AND {table}.value ~ '^[0-9]{{1,9}}$'
                         THEN {table}.expires ELSE EXCLUDED.expires END
        RETURNING cache_key, value
    """,
    "sqlite": """
        INSERT INTO {table} (cache_key, value, expires) VALUES {rows}
        ON CONFLICT (cache_key) DO UPDATE SET
          value = CASE WHEN {table}.expires > %s AND {counted}
                       THEN CAST(CAST({table}.value AS INTEGER) + 1 AS TEXT) ELSE '1' END,
          expires = CASE WHEN {table}.expires > %s AND {counted}
                         THEN {table}.expires ELSE excluded.expires END
        RETURNING cache_key, value
    """,
}
# One row of VALUES per hit: (key, end of a new window).
_ROW = {
    "postgresql": "(%s::varchar, %s::timestamp with time zone)",
    "sqlite": "(%s, '1', %s)",
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


def _count_in_table(backend: DatabaseCache, hits: dict[str, int]) -> dict[str, int] | None:
    """One more hit on each key of `hits` ({key: period}) in the cache table, in one
    statement; {key: the count in its window}. None when the database has no upsert we
    know (the caller then uses the cache API)."""
    alias = router.db_for_write(backend.cache_model_class)
    connection = connections[alias]
    sql = _UPSERT.get(connection.vendor)
    if sql is None:
        return None
    table = connection.ops.quote_name(backend._table)
    in_transaction = connection.in_atomic_block
    # In key order: two requests that count the same keys lock their rows in one order.
    keys = sorted(hits)
    sql = sql.format(
        table=table,
        rows=", ".join([_ROW[connection.vendor]] * len(keys)),
        counted=_SQLITE_COUNTED.format(table=table),
        no_wait="" if in_transaction else _NO_WAIT,
    )
    # Whole seconds, as Django's database cache writes them.
    now = timezone.now().replace(microsecond=0)
    adapt = connection.ops.adapt_datetimefield_value
    stored = {backend.make_and_validate_key(key): key for key in keys}
    params = []
    for key in keys:
        params += [backend.make_and_validate_key(key), adapt(now + timedelta(seconds=hits[key]))]
    params += [adapt(now), adapt(now)]
    # In autocommit the statement is its own transaction; inside someone's transaction a
    # savepoint keeps a failure here from breaking theirs.
    savepoint = transaction.atomic(using=alias) if in_transaction else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)
        counts = {stored[row[0]]: int(row[1]) for row in cursor.fetchall()}
        if 1 in counts.values() and random.random() < CLEANUP_SHARE:  # noqa: S311
            cursor.execute(
                f"DELETE FROM {table} WHERE expires <= %s AND cache_key LIKE %s",  # noqa: S608
                [adapt(now), backend.make_and_validate_key("ratelimit:") + "%"],
            )
    return counts


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
    return hit_all([(scope, action, value)])


def hit_all(hits: list[tuple[str, str, str]]) -> bool:
    """Count one attempt under several limits at once, each (scope, action, value): one
    statement for all of them. True when it is within every limit.

    Every limit counts the attempt, also when another one refuses it (as separate hits
    would); a broken counter lets the attempt through, as in hit().
    """
    limits = {**DEFAULT_LIMITS, **getattr(settings, "GESPREKKEN_RATE_LIMITS", {})}
    wanted = {
        _key(scope, action, value.strip().lower()): limits[scope] for scope, action, value in hits
    }
    try:
        backend = caches["default"]
        counts = None
        if isinstance(backend, DatabaseCache):
            counts = _count_in_table(backend, {key: period for key, (_l, period) in wanted.items()})
        if counts is None:
            counts = {key: _count_in_cache(key, period) for key, (_l, period) in wanted.items()}
    except Exception:
        logger.exception("rate limit counter unavailable; letting the request through")
        return True
    return all(counts[key] <= limit for key, (limit, _p) in wanted.items())
