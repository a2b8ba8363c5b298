"""A tiny counter in Django's cache (the database cache: it works while Redis is down).

Fixed windows: the first hit starts a window of `period` seconds; more than `limit`
hits in it are refused. Good enough to stop a script mailing strangers or filling the
waiting list; not meant as an exact meter. (django-ratelimit refuses the database
cache as non-atomic; we accept that imprecision to keep Redis out of the request path.)
"""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

# (hits, seconds) per scope; override in settings with GESPREKKEN_RATE_LIMITS.
DEFAULT_LIMITS = {
    "ip": (10, 3600),
    "email": (3, 3600),
    "resend_ip": (10, 3600),
}


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


def hit(*, scope: str, action: str, value: str) -> bool:
    """Count one attempt; True when it is within the limit, False when it is one too many.

    When the cache fails, let the attempt through (and log): a resident must never be
    turned away because the limiter is broken.
    """
    limits = {**DEFAULT_LIMITS, **getattr(settings, "GESPREKKEN_RATE_LIMITS", {})}
    limit, period = limits[scope]
    key = _key(scope, action, value.strip().lower())
    try:
        cache.add(key, 0, timeout=period)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period)
            count = 1
    except Exception:
        logger.exception("rate limit counter unavailable; letting the request through")
        return True
    return count <= limit
