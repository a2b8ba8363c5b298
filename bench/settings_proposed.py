"""The bench settings plus the fixes proposed in docs/performance.md, to measure them:

    BENCH_SETTINGS=bench.settings_proposed python -m bench reminders

CELERY_DB_REUSE_MAX: Celery's Django fixup closes every database connection before and
after each task, and with the psycopg pool in a prefork child it closes the whole pool,
so every task opened a new PostgreSQL connection. With this it does so once per 100 tasks.
"""

from bench.settings import *  # noqa: F403

CELERY_DB_REUSE_MAX = 100
