"""Geography import: the whole country from GEBIEDEN_DIR into an empty database, twice.

Runs `manage.py import_gebieden` (in process, timed around call_command) on a database of
its own (DATABASE_URL's name + "_import"), emptied first: every table but the migration
history, content types and permissions is truncated, so the first run is a fresh install's
and the second run is the yearly re-import over existing data (nothing changed).
"""

import os
import time

from bench import common

PART = "import"
TARGET_SECONDS = 15
KEEP = {"django_migrations", "django_content_type", "auth_permission"}


def empty_database() -> None:
    from django.db import connection

    tables = [t for t in connection.introspection.table_names() if t not in KEEP]
    common.truncate(*(connection.ops.quote_name(t) for t in tables))


def counts() -> dict:
    from gemeenten.models import Buurt, Gemeente, Postcodegebied, Provincie, Wijk

    return {
        "provincies": Provincie.objects.count(),
        "gemeenten": Gemeente.objects.count(),
        "wijken": Wijk.objects.count(),
        "buurten": Buurt.objects.count(),
        "postcodegebieden": Postcodegebied.objects.count(),
    }


def main() -> None:
    common.prepare_env(db_suffix="_import")
    common.setup_django()
    from django.conf import settings
    from django.core.management import call_command

    if not settings.GEBIEDEN_DIR or not os.path.isdir(settings.GEBIEDEN_DIR):
        common.emit(PART, "import", skipped="GEBIEDEN_DIR is not set or not a directory")
        return
    empty_database()
    for run in ("first", "second"):
        started = time.monotonic()
        call_command("import_gebieden", verbosity=0)
        seconds = time.monotonic() - started
        common.emit(
            PART,
            "import",
            run=run,
            seconds=round(seconds, 2),
            target_seconds=TARGET_SECONDS,
            directory=str(settings.GEBIEDEN_DIR),
            **counts(),
        )


def summarise(figures: list[dict]) -> list[str]:
    lines = []
    for figure in figures:
        if figure.get("skipped"):
            lines.append(f"skipped: {figure['skipped']}")
        elif figure.get("figure") == "import":
            mark = "ok" if figure["seconds"] < TARGET_SECONDS else "MISSED"
            lines.append(
                f"{figure['run']} run: {figure['seconds']} s (target < {TARGET_SECONDS} s: "
                f"{mark}); {figure['gemeenten']} gemeenten, {figure['buurten']:,} buurten"
            )
    return lines


if __name__ == "__main__":
    main()
