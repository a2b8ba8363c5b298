"""Dashboards at national scale: three pages against one hand-written SQL query each.

Runs only when the coverage app (dekking) is there: dekking.queries, the URL names
dekking:national, dekking:gemeente and dekking:open_data_json, and `seed_demo --scale
national`; otherwise it prints {"part": "dashboard", "skipped": …}.

On a database of its own (DATABASE_URL's name + "_national"): the geography and
`seed_demo --scale national` (about 100,000 gesprekken and a million registrations) are
written once; the seed's own marker row says it is there, and var/bench/national-seed.json
records when it was written. Then, with the Django test client logged in as the demo
national coordinator, each page is requested 20 times (after two warm-up requests) and the
median server time and the query count are printed:

- the national dashboard, the municipal dashboard of the largest gemeente (inhabitants) and
  the open-data JSON;
- each uncached (DEKKING_CACHE_SECONDS=0: what the first visitor after five minutes waits)
  and cached (the default: what everyone else gets);
- against one hand-written SQL query computing the same headline numbers (national totals,
  the gemeente's totals, the per-gemeente rows of the open data), median of 20. The query's
  numbers are checked against dekking.queries', so the comparison is of equal work.
"""

import contextlib
import importlib.util
import json
import statistics
import time
from datetime import UTC, datetime

from bench import common

PART = "dashboard"
RUNS = 20
TARGET_NATIONAL_MS = 200
TARGET_NATIONAL_RATIO = 2.0
TARGET_OPEN_DATA_MS = 100
MARKER_FILE = common.VAR / "national-seed.json"

# A gesprek counts as held: GEHOUDEN, or GEPLAND, ended, with someone checked in
# (dekking.queries.held_q); planned: GEPLAND and starting after now.
GESPREKKEN = """
    SELECT ge.id, ge.buurt_id, b.gemeente_id, gm.ended_on IS NULL AS existing,
           (ge.status = 'gehouden' OR (ge.status = 'gepland' AND ge.ends_at < %(now)s
              AND EXISTS (SELECT 1 FROM gesprekken_aanmelding a
                          WHERE a.gesprek_id = ge.id AND a.status = 'aanwezig'))) AS held,
           (ge.status = 'gepland' AND ge.starts_at > %(now)s) AS planned
    FROM gesprekken_gesprek ge
    JOIN gemeenten_buurt b ON b.code = ge.buurt_id
    JOIN gemeenten_gemeente gm ON gm.code = b.gemeente_id
    WHERE ge.status IN ('gepland', 'gehouden') {where}
"""
PARTICIPANTS = """
    SELECT count(*) FROM gesprekken_aanmelding a
    JOIN gesprekken_gesprek ge ON ge.id = a.gesprek_id
    {join}
    WHERE a.status = 'aanwezig'
      AND (ge.status = 'gehouden' OR (ge.status = 'gepland' AND ge.ends_at < %(now)s)) {where}
"""
_NATIONAL = """
    WITH g AS ({gesprekken})
    SELECT
      (SELECT count(*) FROM gemeenten_gemeente WHERE ended_on IS NULL) AS gemeenten,
      count(DISTINCT gemeente_id) FILTER (WHERE held AND existing) AS gemeenten_held,
      count(DISTINCT gemeente_id) FILTER (WHERE planned AND existing) AS gemeenten_planned,
      (SELECT count(*) FROM gemeenten_buurt b JOIN gemeenten_gemeente gm
         ON gm.code = b.gemeente_id WHERE gm.ended_on IS NULL) AS buurten,
      count(DISTINCT buurt_id) FILTER (WHERE held AND existing) AS buurten_held,
      count(DISTINCT buurt_id) FILTER (WHERE planned AND existing) AS buurten_planned,
      count(*) FILTER (WHERE held) AS held,
      count(*) FILTER (WHERE planned) AS planned,
      ({participants}) AS participants
    FROM g
"""
NATIONAL_SQL = _NATIONAL.format(
    gesprekken=GESPREKKEN.format(where=""), participants=PARTICIPANTS.format(join="", where="")
)
GEMEENTE_PARTICIPANTS = PARTICIPANTS.format(
    join="JOIN gemeenten_buurt pb ON pb.code = ge.buurt_id",
    where="AND pb.gemeente_id = %(code)s",
)
_GEMEENTE = """
    WITH g AS ({gesprekken})
    SELECT
      (SELECT count(*) FROM gemeenten_buurt WHERE gemeente_id = %(code)s) AS buurten,
      count(DISTINCT buurt_id) FILTER (WHERE held) AS buurten_held,
      count(DISTINCT buurt_id) FILTER (WHERE planned) AS buurten_planned,
      count(*) FILTER (WHERE held) AS held,
      count(*) FILTER (WHERE planned) AS planned,
      ({participants}) AS participants
    FROM g
"""
GEMEENTE_SQL = _GEMEENTE.format(
    gesprekken=GESPREKKEN.format(where="AND b.gemeente_id = %(code)s"),
    participants=GEMEENTE_PARTICIPANTS,
)
_OPEN_DATA = """
    WITH g AS ({gesprekken}),
    per_gemeente AS (
      SELECT gemeente_id,
             count(*) FILTER (WHERE held) AS held,
             count(*) FILTER (WHERE planned) AS planned,
             count(DISTINCT buurt_id) FILTER (WHERE held) AS buurten_held
      FROM g GROUP BY gemeente_id
    ),
    participants AS (
      SELECT b.gemeente_id, count(*) AS n FROM gesprekken_aanmelding a
      JOIN gesprekken_gesprek ge ON ge.id = a.gesprek_id
      JOIN gemeenten_buurt b ON b.code = ge.buurt_id
      WHERE a.status = 'aanwezig'
        AND (ge.status = 'gehouden' OR (ge.status = 'gepland' AND ge.ends_at < %(now)s))
      GROUP BY b.gemeente_id
    ),
    buurten AS (SELECT gemeente_id, count(*) AS n FROM gemeenten_buurt GROUP BY gemeente_id)
    SELECT gm.code, gm.name, gm.provincie_id, p.name,
           coalesce(pg.held, 0), coalesce(pg.planned, 0), coalesce(pg.buurten_held, 0),
           coalesce(bu.n, 0), coalesce(pa.n, 0)
    FROM gemeenten_gemeente gm
    JOIN gemeenten_provincie p ON p.code = gm.provincie_id
    LEFT JOIN per_gemeente pg ON pg.gemeente_id = gm.code
    LEFT JOIN participants pa ON pa.gemeente_id = gm.code
    LEFT JOIN buurten bu ON bu.gemeente_id = gm.code
    WHERE gm.ended_on IS NULL
    ORDER BY gm.name, gm.code
"""
OPEN_DATA_SQL = _OPEN_DATA.format(gesprekken=GESPREKKEN.format(where=""))
TOTALS = [
    "gemeenten",
    "gemeenten_held",
    "gemeenten_planned",
    "buurten",
    "buurten_held",
    "buurten_planned",
    "held",
    "planned",
    "participants",
]
GEMEENTE_TOTALS = ["buurten", "buurten_held", "buurten_planned", "held", "planned", "participants"]


def missing_dekking() -> str:
    """Why the dashboard part cannot run yet (empty when it can)."""
    for module in ("dekking.queries", "dekking.seed_national"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    from django.urls import NoReverseMatch, reverse

    for name, args in (
        ("dekking:national", []),
        ("dekking:gemeente", ["GM0363"]),
        ("dekking:open_data_json", []),
    ):
        try:
            reverse(name, args=args)
        except NoReverseMatch:
            return f"URL {name} does not exist yet"
    return ""


@contextlib.contextmanager
def column_defaults_while_seeding():
    """Database defaults for NOT NULL columns the national seed may not name, while it runs.

    The seed writes with COPY and a fixed column list; a field added to a model later
    (e.g. Gesprek.balance) has its default only in Python, so COPY would write NULL. For the
    bench database only, each such column gets its model default in the database while the
    seed runs, and loses it afterwards: the seed then writes what the model would.
    """
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    from gesprekken.models import Aanmelding, Gesprek, Interesse, Verslag

    quote = connection.ops.quote_name
    added = []
    with connection.cursor() as cursor:
        for model in (Gesprek, Aanmelding, Verslag, Interesse):
            for field in model._meta.concrete_fields:
                if field.null or field.primary_key or field.db_default is not NOT_PROVIDED:
                    continue
                if field.has_default() and callable(field.default):
                    continue
                # The model default, or "" for a text field without one (blank=True).
                default = field.get_default()
                if default is None:
                    continue
                table = quote(model._meta.db_table)
                value = field.get_db_prep_save(default, connection)
                column = quote(field.column)
                cursor.execute(
                    f"ALTER TABLE {table} ALTER COLUMN {column} SET DEFAULT {_literal(value)}"
                )
                added.append((table, quote(field.column)))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for table, column in added:
                cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")


def _seeded_models() -> list:
    from gemeenten.models import Buurt, Gemeente
    from gesprekken.models import Aanmelding, Gesprek, Interesse, Verslag

    return [Gemeente, Buurt, Gesprek, Aanmelding, Verslag, Verslag.themes.through, Interesse]


def _literal(value) -> str:
    """A constant as SQL: the model defaults are booleans, numbers and strings."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def seed_once() -> dict:
    """`seed_demo --scale national` unless its marker row says it ran on this database."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from dekking.seed_national import MARKER_USERNAME

    if get_user_model().objects.filter(username=MARKER_USERNAME).exists():
        return {"seeded": "cached", **_marker()}
    common.log("seed_demo --scale national (once; a few minutes)")
    started = time.monotonic()
    with column_defaults_while_seeding():
        call_command("seed_demo", scale="national", verbosity=0, stdout=_Discard())
    # Fresh statistics and visibility map: plans (and index-only scans) as in a database
    # that autovacuum has seen, not as right after a bulk load.
    common.vacuum_analyze(*(model._meta.db_table for model in _seeded_models()))
    seconds = round(time.monotonic() - started, 1)
    marker = {
        "database": connection.settings_dict["NAME"],
        "seeded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": seconds,
    }
    MARKER_FILE.write_text(json.dumps(marker))
    return {"seeded": "now", **marker}


class _Discard:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass


def _marker() -> dict:
    try:
        return json.loads(MARKER_FILE.read_text())
    except (OSError, ValueError):
        return {}


def sizes() -> dict:
    from gesprekken.models import Aanmelding, Gesprek

    return {"gesprekken": Gesprek.objects.count(), "aanmeldingen": Aanmelding.objects.count()}


def time_page(client, url: str) -> dict:
    """Median (and p95) server time of `url` over RUNS requests, and its query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    return {
        "median_ms": common.ms(statistics.median(times)),
        "p95_ms": common.ms(common.percentile(times, 0.95)),
        "queries": len(queries),
        "sql_ms": common.ms(sum(float(q["time"]) for q in queries.captured_queries)),
        "slowest_queries": [[common.ms(float(q["time"])), q["sql"][:90]] for q in slowest],
        "bytes": len(response.content),
    }


def time_sql(sql: str, params: dict) -> tuple[dict, list]:
    from django.db import connection

    times, rows = [], []
    with connection.cursor() as cursor:
        for _ in range(2 + RUNS):
            started = time.perf_counter()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            times.append(time.perf_counter() - started)
    return {"median_ms": common.ms(statistics.median(times[2:]))}, rows


def main() -> None:
    common.prepare_env(db_suffix="_national", STAFF_MFA_REQUIRED="0")
    common.setup_django()
    reason = missing_dekking()
    if reason:
        common.emit(PART, "dashboard", skipped=reason)
        return
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings
    from django.urls import reverse
    from django.utils import timezone

    from dekking import queries
    from dekking.management.commands.seed_demo import NATIONAL
    from gemeenten.models import Gemeente

    common.ensure_geography()
    seeded = seed_once()
    common.emit(PART, "seed", **seeded, **sizes())

    largest = Gemeente.objects.existing().exclude(inwoners=None).order_by("-inwoners").first()
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(get_user_model().objects.get(username=NATIONAL))
    now = timezone.now()

    raw_national, rows = time_sql(NATIONAL_SQL, {"now": now})
    expected = queries.coverage(queries.Scope(), now).totals
    raw_national["matches_dekking"] = list(rows[0]) == [getattr(expected, f) for f in TOTALS]
    raw_gemeente, rows = time_sql(GEMEENTE_SQL, {"now": now, "code": largest.code})
    detail = queries.gemeente_detail(queries.Scope(gemeente=largest.code), now).totals
    raw_gemeente["matches_dekking"] = list(rows[0]) == [getattr(detail, f) for f in GEMEENTE_TOTALS]
    raw_open, rows = time_sql(OPEN_DATA_SQL, {"now": now})
    coverage = queries.coverage(queries.Scope(), now)
    raw_open["matches_dekking"] = [(r[0], r[4], r[5], r[6], r[7], r[8]) for r in rows] == [
        (g.code, g.held, g.planned, g.buurten_held, g.buurten, g.participants)
        for g in coverage.gemeenten
    ]
    raw = {"national": raw_national, "gemeente": raw_gemeente, "open_data": raw_open}
    for name, figure in raw.items():
        common.emit(PART, f"sql_{name}", **figure)

    pages = {
        "national": reverse("dekking:national"),
        "gemeente": reverse("dekking:gemeente", args=[largest.code]),
        "open_data": reverse("dekking:open_data_json"),
    }
    for cache, seconds in (("uncached", 0), ("cached", 300)):
        with override_settings(DEKKING_CACHE_SECONDS=seconds):
            if cache == "cached":
                common.truncate("buurtgesprek_cache")
            for name, url in pages.items():
                common.log(f"{name} ({cache}): {RUNS} requests")
                figure = time_page(client, url)
                figure["vs_sql"] = common.ratio(figure["median_ms"], raw[name]["median_ms"])
                extra = {"gemeente": largest.code} if name == "gemeente" else {}
                common.emit(PART, name, cache=cache, url=url, **extra, **figure)


def summarise(figures: list[dict]) -> list[str]:
    lines = []
    by = {(f["figure"], f.get("cache")): f for f in figures}
    for figure in figures:
        if figure.get("skipped"):
            return [f"skipped: {figure['skipped']}"]
    seed = by.get(("seed", None))
    if seed:
        lines.append(
            f"data: {seed['gesprekken']:,} gesprekken, {seed['aanmeldingen']:,} aanmeldingen "
            f"(seed {seed['seeded']})"
        )
    targets = {
        "national": f"≤ {TARGET_NATIONAL_MS} ms and ≤ {TARGET_NATIONAL_RATIO:g}× SQL",
        "open_data": f"≤ {TARGET_OPEN_DATA_MS} ms",
        "gemeente": "",
    }
    for name in ("national", "gemeente", "open_data"):
        sql = by.get((f"sql_{name}", None), {})
        for cache in ("uncached", "cached"):
            page = by.get((name, cache))
            if not page:
                continue
            verdict = ""
            if name == "national":
                ok = (
                    page["median_ms"] <= TARGET_NATIONAL_MS
                    and (page["vs_sql"] or 99) <= TARGET_NATIONAL_RATIO
                )
                verdict = f" (target {targets[name]}: {'ok' if ok else 'MISSED'})"
            elif name == "open_data":
                ok = page["median_ms"] <= TARGET_OPEN_DATA_MS
                verdict = f" (target {targets[name]}: {'ok' if ok else 'MISSED'})"
            lines.append(
                f"{name} {cache}: {page['median_ms']} ms, {page['queries']} queries; "
                f"SQL {sql.get('median_ms')} ms; ratio {page['vs_sql']}{verdict}"
            )
    return lines


if __name__ == "__main__":
    main()
