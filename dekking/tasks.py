"""Keep the most opened coverage numbers computed ahead, so nobody waits for them.

The national dashboard without filters, the public coverage page and the open data read a
pass over every registration when computed (docs/performance.md); beat recomputes them
every DEKKING_WARM_MINUTES, less than DEKKING_CACHE_SECONDS, so a visitor always finds
them in the cache. Filtered views and municipal dashboards are computed on demand (and
cached) as before.
"""

import logging
import time

from celery import shared_task
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def warm_dashboards() -> list[str]:
    """Recompute and store the unfiltered national numbers and the public ones."""
    # Imported late: the views pull in templates and forms.
    from . import queries, views  # noqa: PLC0415

    if not settings.DEKKING_CACHE_SECONDS:
        return []
    now, scope = timezone.now(), queries.Scope()
    warmed = []
    for name, compute in (
        ("national", lambda: views.national_data(scope, now, refresh=True)),
        ("national-effect", lambda: views.national_effect(scope, refresh=True)),
        ("public", lambda: views.public_coverage(now, refresh=True)),
        ("public-effect", lambda: views.public_effect(refresh=True)),
    ):
        started = time.monotonic()
        compute()
        logger.info("warmed %s in %.0f ms", name, (time.monotonic() - started) * 1000)
        warmed.append(name)
    return warmed
