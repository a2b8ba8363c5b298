"""Coverage numbers: what was held and planned where, in a fixed number of queries.

Definitions (also in docs/open-data.md, and tested in tests/dekking/):

- A gesprek is **held** when its status is GEHOUDEN (the facilitator wrote the report), or
  when it is still GEPLAND, has ended, and at least one resident was checked in as
  AANWEZIG (the report is not written yet, but the conversation took place).
- A gesprek is **planned** when its status is GEPLAND and it starts after `now`.
- Drafts (CONCEPT) and cancelled gesprekken (AFGELAST) never count; neither does a gesprek
  that ended without anyone checked in and without a report.
- **Participants** are AANWEZIG registrations at held gesprekken: a resident who came
  twice counts twice; no-shows, cancellations and waiting lists never count.
- A gemeente or buurt is **reached** when it has at least one held gesprek, and
  **planned** when it has at least one planned gesprek.
- Only existing gemeenten (ended_on empty) and their buurten are in the denominators and in
  the per-gemeente tables; national totals of gesprekken and participants also include
  what happened in gemeenten that ended since (a merger does not undo a conversation).
- The period (start/end, dates in Europe/Amsterdam, both inclusive) selects gesprekken by
  their start.

Every function aggregates in SQL down to one row per gemeente, buurt, week, month or
theme; the roll-ups of those rows (provinces, national tiles, wijken) are done in Python
over at most a few hundred rows, so the query count never depends on the amount of
activity. Each function says how many queries it runs.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, DateField, Exists, Min, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from gemeenten.models import Buurt, Gemeente
from gesprekken.models import Aanmelding, Gesprek, Interesse, Verslag

GStatus = Gesprek.Status
# Open-data rule: a number of participants from 1 to 4 is not published.
SUPPRESS_BELOW = 5
# A gemeente is "widely reached" when at least this share of its buurten was reached.
WIDE_SHARE = 0.5
# The trend shows at most this many weeks; without a period, the last TREND_WEEKS weeks.
TREND_WEEKS = 26
MAX_TREND_WEEKS = 104
# Facilitator load: at most this many months.
MAX_LOAD_MONTHS = 12


class Bucket:
    """The map's colour classes, from nothing to widely reached."""

    NONE = "none"
    PLANNED = "planned"
    HELD = "held"
    WIDE = "held-wide"
    ORDER = [NONE, PLANNED, HELD, WIDE]


@dataclass(frozen=True)
class Scope:
    """Which gesprekken count: a period, a province or one gemeente, a theme, a format."""

    start: date | None = None
    end: date | None = None
    provincie: str | None = None
    gemeente: str | None = None
    thema: int | None = None
    format: str | None = None

    def gesprek_q(self, prefix: str = "") -> Q:
        """The filter on Gesprek, reached through `prefix` (e.g. "gesprek__")."""
        q = Q()
        if self.start:
            q &= Q(**{f"{prefix}starts_at__gte": _local_midnight(self.start)})
        if self.end:
            q &= Q(**{f"{prefix}starts_at__lt": _local_midnight(self.end + timedelta(days=1))})
        if self.provincie:
            q &= Q(**{f"{prefix}buurt__gemeente__provincie_id": self.provincie})
        if self.gemeente:
            q &= Q(**{f"{prefix}buurt__gemeente_id": self.gemeente})
        if self.thema:
            q &= Q(**{f"{prefix}thema_id": self.thema})
        if self.format:
            q &= Q(**{f"{prefix}format": self.format})
        return q

    def gemeente_q(self, prefix: str = "") -> Q:
        """The filter on the geography only (for denominators and demand)."""
        q = Q(**{f"{prefix}ended_on__isnull": True})
        if self.provincie:
            q &= Q(**{f"{prefix}provincie_id": self.provincie})
        if self.gemeente:
            q &= Q(**{f"{prefix}code": self.gemeente})
        return q


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def held_q(now: datetime, prefix: str = "", *, registrations: bool = False) -> Q:
    """Q for a held gesprek (see the module docstring), on Gesprek through `prefix`.

    Someone came: Gesprek.present, the stored count of AANWEZIG registrations; or, with
    `registrations`, an EXISTS over them (the same answer; see active_facilitators)."""
    if registrations:
        someone_came = Exists(
            Aanmelding.objects.filter(
                gesprek=OuterRef(f"{prefix}pk"), status=Aanmelding.Status.AANWEZIG
            )
        )
        return Q(**{f"{prefix}status": GStatus.GEHOUDEN}) | (
            Q(**{f"{prefix}status": GStatus.GEPLAND, f"{prefix}ends_at__lt": now}) & Q(someone_came)
        )
    return Q(**{f"{prefix}status": GStatus.GEHOUDEN}) | Q(
        **{
            f"{prefix}status": GStatus.GEPLAND,
            f"{prefix}ends_at__lt": now,
            f"{prefix}present__gt": 0,
        }
    )


def planned_q(now: datetime, prefix: str = "") -> Q:
    return Q(**{f"{prefix}status": GStatus.GEPLAND, f"{prefix}starts_at__gt": now})


# --- Activity per area ------------------------------------------------------------------


@dataclass
class Activity:
    held: int = 0
    planned: int = 0
    buurten_held: int = 0
    buurten_planned: int = 0
    participants: int = 0


# Per gesprek in scope (planned or held), its column values and how many residents were
# checked in: Gesprek.present, the count gesprekken.services keeps under the gesprek's
# lock, so no registration is read at all. `{gesprekken}` is the ORM's SQL for the
# gesprekken in scope (so the scope's filters are written once, in Scope.gesprek_q).
# NOT MATERIALIZED (PostgreSQL ≥ 12, SQLite ≥ 3.35): the dashboards read r twice, and a
# materialised r spilled to disk and worked out the week of every gesprek; inlined, each
# reader scans the gesprekken itself and only the trend's rows get a week (national data:
# 182 → 117 ms).
_PER_GESPREK = """
    WITH r AS NOT MATERIALIZED (
        SELECT g.*,
            CASE WHEN g.status = %s OR (g.status = %s AND g.ends_at < %s AND g.present > 0)
                 THEN 1 ELSE 0 END AS held,
            CASE WHEN g.status = %s AND g.starts_at > %s THEN 1 ELSE 0 END AS planned,
            CASE WHEN g.status = %s OR (g.status = %s AND g.ends_at < %s)
                 THEN g.present ELSE 0 END AS participants
        FROM ({gesprekken}) g
    )
"""


def _counted(
    scope: Scope, gesprekken: QuerySet, now: datetime, select: str, select_params=()
) -> list[tuple]:
    """Run `select` (FROM r) after the WITH clause above for `gesprekken` (a values()
    queryset with id, status, starts_at, ends_at, buurt_id, present, in `scope`); sums
    come back as int."""
    from django.db import connection

    sql, params = gesprekken.query.sql_with_params()
    at = connection.ops.adapt_datetimefield_value(now)
    held, planned = GStatus.GEHOUDEN, GStatus.GEPLAND
    params = [
        *(held, planned, at),
        *(planned, at),
        *(held, planned, at),
        *params,
        *select_params,
    ]
    # Constant SQL around the ORM's own (parametrised) SQL: nothing from a request.
    query = _PER_GESPREK.format(gesprekken=sql) + select  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return [tuple(int(v) if isinstance(v, Decimal) else v for v in row) for row in cursor]


# Per buurt first, then per key: buurten reached without COUNT(DISTINCT …), which would
# make the database sort every gesprek instead of hashing them; and the gemeente of a
# few thousand buurten is looked up, not that of every gesprek.
_PER_BUURT = """
    , by_buurt AS (
        SELECT buurt_id, SUM(held) AS held, SUM(planned) AS planned,
            MAX(held) AS buurt_held, MAX(planned) AS buurt_planned,
            SUM(participants) AS participants
        FROM r GROUP BY buurt_id
    ),
    per_buurt AS (SELECT {group_key} AS group_key, by_buurt.* FROM by_buurt {join})
"""
# What activity_by may group by: (the key's column, the join it needs).
_KEYS = {
    "buurt_id": ("by_buurt.buurt_id", ""),
    "buurt__gemeente_id": ("b.gemeente_id", "JOIN gemeenten_buurt b ON b.code = by_buurt.buurt_id"),
}


def _per_buurt(key: str) -> str:
    group_key, join = _KEYS[key]
    return _PER_BUURT.format(group_key=group_key, join=join)


_BY_KEY = """
    SELECT group_key, SUM(held), SUM(planned), SUM(buurt_held), SUM(buurt_planned),
        SUM(participants)
    FROM per_buurt GROUP BY group_key
"""
# Held gesprekken and participants per week of those starting in [%s, %s).
_BY_WEEK = """
    SELECT week, SUM(held), SUM(participants) FROM r
    WHERE held = 1 AND starts_at >= %s AND starts_at < %s GROUP BY week
"""
# Both from one pass (the dashboards): rows ("key", key, None, …) and ("week", None, week, …).
_BY_KEY_AND_WEEK = """
    SELECT 'key', group_key, NULL, SUM(held), SUM(planned), SUM(buurt_held),
        SUM(buurt_planned), SUM(participants)
    FROM per_buurt GROUP BY group_key
    UNION ALL
    SELECT 'week', NULL, week, SUM(held), 0, 0, 0, SUM(participants) FROM r
    WHERE held = 1 AND starts_at >= %s AND starts_at < %s GROUP BY week
"""


def _in_scope(scope: Scope, **extra) -> QuerySet:
    """Planned or held gesprekken in the scope: what a per-gesprek row needs."""
    return (
        Gesprek.objects.filter(scope.gesprek_q())
        .filter(status__in=[GStatus.GEPLAND, GStatus.GEHOUDEN])
        .values("id", "status", "starts_at", "ends_at", "buurt_id", "present", **extra)
        .order_by()
    )


def activity_by(key: str, scope: Scope, now: datetime) -> dict[str, Activity]:
    """Held/planned gesprekken, buurten reached and participants per `key`.

    `key` is a Gesprek path: "buurt__gemeente_id" or "buurt_id". One query over the
    gesprekken (their stored `present`), grouped by key.
    """
    rows = _counted(scope, _in_scope(scope), now, _per_buurt(key) + _BY_KEY)
    return {code: Activity(*numbers) for code, *numbers in rows}


def activity_and_trend(key: str, scope: Scope, now: datetime) -> tuple[dict, list]:
    """activity_by(key) and weekly_trend's rows from one pass over the gesprekken (the
    trend's weeks lie within the scope). One query."""
    gesprekken = _in_scope(scope, week=TruncWeek("starts_at"))
    window = _trend_window(scope, now)
    rows = _counted(
        scope,
        gesprekken,
        now,
        _per_buurt(key) + _BY_KEY_AND_WEEK,
        _window_params(window) if window else _empty_window(now),
    )
    activity = {code: Activity(*numbers) for kind, code, _w, *numbers in rows if kind == "key"}
    weeks = [(week, n[0], n[4]) for kind, _c, week, *n in rows if kind == "week"]
    return activity, weeks


@dataclass
class AreaRow:
    """One gemeente, wijk or buurt with its numbers."""

    code: str
    name: str
    buurten: int = 1
    held: int = 0
    planned: int = 0
    buurten_held: int = 0
    buurten_planned: int = 0
    participants: int = 0
    # Gemeenten: the province; buurten: the wijk; wijken: their buurt rows.
    parent_code: str = ""
    parent_name: str = ""
    inwoners: int | None = None
    open_interest: int = 0
    children: list = field(default_factory=list)
    # Provinces: their gemeenten, and how many of those were reached / have plans.
    gemeenten: int = 0
    gemeenten_held: int = 0
    gemeenten_planned: int = 0

    def add(self, activity: Activity) -> None:
        self.held += activity.held
        self.planned += activity.planned
        self.buurten_held += activity.buurten_held
        self.buurten_planned += activity.buurten_planned
        self.participants += activity.participants

    @property
    def bucket(self) -> str:
        if self.held:
            wide = self.buurten and self.buurten_held / self.buurten >= WIDE_SHARE
            return Bucket.WIDE if wide else Bucket.HELD
        return Bucket.PLANNED if self.planned else Bucket.NONE

    @property
    def participants_published(self) -> int | None:
        """The participants as published: None for 1 to 4 (suppressed)."""
        return None if 0 < self.participants < SUPPRESS_BELOW else self.participants


@dataclass
class Totals:
    gemeenten: int = 0
    gemeenten_held: int = 0
    gemeenten_planned: int = 0
    buurten: int = 0
    buurten_held: int = 0
    buurten_planned: int = 0
    held: int = 0
    planned: int = 0
    participants: int = 0
    facilitators: int | None = None


@dataclass
class Coverage:
    """The national picture: per gemeente and per province, and the totals."""

    gemeenten: list[AreaRow]
    provincies: list[AreaRow]
    totals: Totals


def coverage(scope: Scope, now: datetime, activity: dict | None = None) -> Coverage:
    """Per existing gemeente (in the scope's province), per province, and totals.

    Two queries: the gemeenten with their number of buurten, then activity_by gemeente
    (unless `activity` comes from activity_and_trend). Gesprekken and participants in
    gemeenten that have ended count in the totals only.
    """
    gemeenten = (
        Gemeente.objects.filter(scope.gemeente_q())
        .annotate(n_buurten=Count("buurten"))
        .values("code", "name", "provincie_id", "provincie__name", "inwoners", "n_buurten")
        .order_by("name", "code")
    )
    if activity is None:
        activity = activity_by("buurt__gemeente_id", scope, now)
    activity = dict(activity)
    rows, provincies = [], {}
    totals = Totals()
    for gemeente in gemeenten:
        row = AreaRow(
            code=gemeente["code"],
            name=gemeente["name"],
            buurten=gemeente["n_buurten"],
            parent_code=gemeente["provincie_id"],
            parent_name=gemeente["provincie__name"],
            inwoners=gemeente["inwoners"],
        )
        row.add(activity.pop(row.code, Activity()))
        rows.append(row)
        provincie = provincies.setdefault(
            row.parent_code, AreaRow(code=row.parent_code, name=row.parent_name, buurten=0)
        )
        provincie.children.append(row)
        for total in (totals, provincie):
            total.buurten += row.buurten
            total.buurten_held += row.buurten_held
            total.buurten_planned += row.buurten_planned
            total.held += row.held
            total.planned += row.planned
            total.participants += row.participants
        for total in (totals, provincie):
            total.gemeenten += 1
            total.gemeenten_held += row.held > 0
            total.gemeenten_planned += row.planned > 0
    # What is left happened in gemeenten that have ended (or lie outside the province
    # filter, which the gesprek filter already excluded).
    for rest in activity.values():
        totals.held += rest.held
        totals.planned += rest.planned
        totals.participants += rest.participants
    return Coverage(
        gemeenten=rows,
        provincies=sorted(provincies.values(), key=lambda p: p.name),
        totals=totals,
    )


def active_facilitators(scope: Scope, now: datetime) -> int:
    """People who led or co-led a held or planned gesprek in the scope. One query.

    "Held" through the registrations, not Gesprek.present: with the cheap column filter
    PostgreSQL hashes all gesprekken once per role (90 ms on the national data) instead of
    looking up each person's first gesprek by index (6 ms), and the EXISTS over the
    registrations is rarely reached (a GEHOUDEN gesprek is held without it).

    For one gemeente the other way round: its gesprekken's leads and co-leads, counted
    once. Per person, the lookup would go through all of someone's gesprekken elsewhere
    to find none here (GM0363 on the national data: 52 ms against 10 ms)."""
    counted = Gesprek.objects.filter(scope.gesprek_q()).filter(
        held_q(now, registrations=True) | planned_q(now)
    )
    if scope.gemeente:
        counted = counted.order_by()  # no ORDER BY inside a UNION
        leads = counted.filter(facilitator__isnull=False).values_list("facilitator_id")
        co_leads = counted.filter(co_facilitator__isnull=False).values_list("co_facilitator_id")
        return leads.union(co_leads).count()
    return (
        get_user_model()
        .objects.filter(
            Q(Exists(counted.filter(facilitator=OuterRef("pk"))))
            | Q(Exists(counted.filter(co_facilitator=OuterRef("pk"))))
        )
        .count()
    )


# --- Trend ----------------------------------------------------------------------------------


@dataclass
class Week:
    start: date
    held: int = 0
    participants: int = 0


def trend_weeks(scope: Scope, now: datetime) -> list[date]:
    """The Mondays of the weeks the trend shows: the period's (up to now), at most
    MAX_TREND_WEEKS, by default the last TREND_WEEKS."""
    today = timezone.localdate(now)
    last = min(scope.end or today, today)
    first = scope.start or last - timedelta(weeks=TREND_WEEKS - 1)
    last_monday = last - timedelta(days=last.weekday())
    first_monday = max(
        first - timedelta(days=first.weekday()),
        last_monday - timedelta(weeks=MAX_TREND_WEEKS - 1),
    )
    weeks = []
    monday = first_monday
    while monday <= last_monday:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return weeks


def _trend_window(scope: Scope, now: datetime) -> Scope | None:
    """The scope narrowed to the trend's weeks (None when there are none)."""
    mondays = trend_weeks(scope, now)
    if not mondays:
        return None
    return Scope(
        start=max(mondays[0], scope.start or mondays[0]),
        end=min(mondays[-1] + timedelta(days=6), scope.end or date.max),
        provincie=scope.provincie,
        gemeente=scope.gemeente,
        thema=scope.thema,
        format=scope.format,
    )


def _window_params(window: Scope) -> tuple:
    from django.db import connection

    adapt = connection.ops.adapt_datetimefield_value
    start = _local_midnight(window.start)
    end = _local_midnight(window.end + timedelta(days=1))
    return adapt(start), adapt(end)


def _empty_window(now: datetime) -> tuple:
    from django.db import connection

    return (connection.ops.adapt_datetimefield_value(now),) * 2


def weekly_trend(scope: Scope, now: datetime, rows: list | None = None) -> list[Week]:
    """Held gesprekken and participants per week (Monday to Sunday, Amsterdam). One query,
    none with `rows` from activity_and_trend."""
    mondays = trend_weeks(scope, now)
    if not mondays:
        return []
    if rows is None:
        window = _trend_window(scope, now)
        gesprekken = _in_scope(window, week=TruncWeek("starts_at"))
        rows = _counted(window, gesprekken, now, _BY_WEEK, _window_params(window))
    weeks = {monday: Week(monday) for monday in mondays}
    for start, held, participants in rows:
        week = weeks.get(_week_start(start))
        if week:
            week.held = held
            week.participants = participants
    return list(weeks.values())


def _week_start(value) -> date:
    """A week truncated in SQL, read without the ORM: the Monday. The database gives the
    local (Amsterdam) midnight without a zone: a datetime (PostgreSQL) or text (SQLite)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return _as_date(value)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


# --- Themes and demand -------------------------------------------------------------------


@dataclass
class ThemeCount:
    name: str
    verslagen: int
    share: float = 0.0


def themes_discussed(scope: Scope, now: datetime, limit: int | None = None) -> list[ThemeCount]:
    """The themes ticked in the reports of held gesprekken in the scope, most first.

    `share` is the part of those reports that ticked the theme. Two queries: the
    themes with their counts, and the number of reports.
    """
    Through = Verslag.themes.through
    # Every report is of a held gesprek: save_report makes it GEHOUDEN, and a GEHOUDEN
    # gesprek can be neither changed nor called off. So no status test is needed, and
    # without filters these queries do not join the gesprekken at all.
    in_scope = scope.gesprek_q("verslag__gesprek__")
    counts = (
        Through.objects.filter(in_scope)
        .values("thema__name")
        .annotate(n=Count("*"))
        .order_by("-n", "thema__name")
    )
    if limit:
        counts = counts[:limit]
    reports = Verslag.objects.filter(scope.gesprek_q("gesprek__")).count()
    return [
        ThemeCount(row["thema__name"], row["n"], row["n"] / reports if reports else 0.0)
        for row in counts
    ]


@dataclass
class Demand:
    buurt_code: str
    buurt_name: str
    wijk_name: str
    gemeente_code: str
    gemeente_name: str
    interested: int
    waiting_since: datetime


def open_interest() -> QuerySet[Interesse]:
    """Confirmed interest that was not yet invited to a gesprek: demand still waiting."""
    return Interesse.objects.filter(confirmed_at__isnull=False, invited_at__isnull=True)


def demand_without_supply(scope: Scope, now: datetime, limit: int | None = None) -> list[Demand]:
    """Buurten with open interest and no planned gesprek, most interest first, then the
    longest waiting. Demand is the situation now: the period, theme and format do not
    apply, the province or gemeente does. One query."""
    # NOT IN over the buurten with a planned gesprek: PostgreSQL hashes those once, where
    # NOT EXISTS had it sort every planned gesprek for a merge (38–40 → 32–35 ms nationally).
    planned = Gesprek.objects.filter(planned_q(now)).values("buurt_id")
    rows = (
        open_interest()
        .filter(scope.gemeente_q("buurt__gemeente__"))
        .exclude(buurt_id__in=planned)
        .values(
            "buurt_id",
            "buurt__name",
            "buurt__wijk__name",
            "buurt__gemeente_id",
            "buurt__gemeente__name",
        )
        .annotate(n=Count("pk"), since=Min("confirmed_at"))
        .order_by("-n", "since", "buurt_id")
    )
    if limit:
        rows = rows[:limit]
    return [
        Demand(
            buurt_code=row["buurt_id"],
            buurt_name=row["buurt__name"],
            wijk_name=row["buurt__wijk__name"],
            gemeente_code=row["buurt__gemeente_id"],
            gemeente_name=row["buurt__gemeente__name"],
            interested=row["n"],
            waiting_since=row["since"],
        )
        for row in rows
    ]


# --- One gemeente: wijken, buurten, facilitators -----------------------------------------


@dataclass
class GemeenteDetail:
    wijken: list[AreaRow]
    totals: Totals


def gemeente_detail(scope: Scope, now: datetime, activity: dict | None = None) -> GemeenteDetail:
    """Per wijk and buurt of scope.gemeente, with open interest per buurt. Three queries:
    the buurten, activity_by buurt (unless `activity` comes from activity_and_trend), open
    interest by buurt."""
    buurten = (
        Buurt.objects.filter(gemeente_id=scope.gemeente)
        .values("code", "name", "wijk_id", "wijk__name", "inwoners")
        .order_by("wijk_id", "name", "code")
    )
    if activity is None:
        activity = activity_by("buurt_id", scope, now)
    interest = dict(
        open_interest()
        .filter(buurt__gemeente_id=scope.gemeente)
        .values("buurt_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("buurt_id", "n")
    )
    wijken: dict[str, AreaRow] = {}
    totals = Totals(gemeenten=1)
    for buurt in buurten:
        row = AreaRow(
            code=buurt["code"],
            name=buurt["name"],
            parent_code=buurt["wijk_id"],
            parent_name=buurt["wijk__name"],
            inwoners=buurt["inwoners"],
            open_interest=interest.get(buurt["code"], 0),
        )
        row.add(activity.get(row.code, Activity()))
        # For one buurt, "buurten held" is whether it was reached.
        row.buurten_held, row.buurten_planned = int(row.held > 0), int(row.planned > 0)
        wijk = wijken.setdefault(
            row.parent_code, AreaRow(code=row.parent_code, name=row.parent_name, buurten=0)
        )
        wijk.children.append(row)
        for total in (wijk, totals):
            total.buurten += 1
            total.buurten_held += row.buurten_held
            total.buurten_planned += row.buurten_planned
            total.held += row.held
            total.planned += row.planned
            total.participants += row.participants
        wijk.open_interest += row.open_interest
    totals.gemeenten_held = int(totals.held > 0)
    totals.gemeenten_planned = int(totals.planned > 0)
    return GemeenteDetail(wijken=sorted(wijken.values(), key=lambda w: w.code), totals=totals)


@dataclass
class FacilitatorLoad:
    label: str
    months: list[int]

    @property
    def total(self) -> int:
        return sum(self.months)


def load_months(scope: Scope, now: datetime) -> list[date]:
    """The first days of the months the load table shows: the period's, at most
    MAX_LOAD_MONTHS; by default the last five months and the next one."""
    today = timezone.localdate(now)
    this_month = today.replace(day=1)
    first = (scope.start or _add_months(this_month, -5)).replace(day=1)
    last = (scope.end or _add_months(this_month, 1)).replace(day=1)
    first = max(first, _add_months(last, -(MAX_LOAD_MONTHS - 1)))
    months = []
    while first <= last:
        months.append(first)
        first = _add_months(first, 1)
    return months


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def facilitator_load(scope: Scope, now: datetime) -> tuple[list[date], list[FacilitatorLoad]]:
    """Held and planned gesprekken per facilitator (led or co-led) per month, by first name
    only. One query, grouped by lead, co-lead and month (one pass over the gesprekken where
    a query per role took two: GM0363 on the national data 59 → 18 ms)."""
    months = load_months(scope, now)
    if not months:
        return [], []
    window = Scope(
        start=max(months[0], scope.start or months[0]),
        end=min(_add_months(months[-1], 1) - timedelta(days=1), scope.end or date.max),
        gemeente=scope.gemeente,
        provincie=scope.provincie,
        thema=scope.thema,
        format=scope.format,
    )
    # Held through the registrations, as in active_facilitators: with Gesprek.present the
    # filter looks so cheap that PostgreSQL scans every gesprek instead of taking the
    # gemeente's buurten by index (GM0363: 40 ms against 16 ms).
    counted = (
        Gesprek.objects.filter(window.gesprek_q())
        .filter(held_q(now, registrations=True) | planned_q(now))
        .annotate(month=TruncMonth("starts_at", output_field=DateField()))
    )
    index = {month: number for number, month in enumerate(months)}
    roles = ("facilitator", "co_facilitator")
    rows = (
        counted.filter(Q(facilitator__isnull=False) | Q(co_facilitator__isnull=False))
        .values(*(f"{role}{field}" for role in roles for field in ("_id", "__first_name")), "month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    people: dict[int, dict] = {}
    for row in rows:
        position = index.get(_as_date(row["month"]).replace(day=1))
        for role in roles:
            if row[f"{role}_id"] is None:
                continue
            person = people.setdefault(
                row[f"{role}_id"],
                {"name": row[f"{role}__first_name"], "months": [0] * len(months)},
            )
            if position is not None:
                person["months"][position] += row["n"]
    # First names only; two people with the same first name get a number.
    seen: dict[str, int] = defaultdict(int)
    loads = []
    for _pk, person in sorted(people.items(), key=lambda item: (item[1]["name"], item[0])):
        name = person["name"] or "?"
        seen[name] += 1
        label = name if seen[name] == 1 else f"{name} ({seen[name]})"
        loads.append(FacilitatorLoad(label, person["months"]))
    loads.sort(key=lambda load: (-load.total, load.label))
    return months, loads


# --- Whole pages --------------------------------------------------------------------------

DEMAND_LIMIT = 20
THEMES_LIMIT = 10


@dataclass
class NationalData:
    coverage: Coverage
    trend: list[Week]
    themes: list[ThemeCount]
    demand: list[Demand]


def national_data(scope: Scope, now: datetime) -> NationalData:
    """Everything the national dashboard shows. Six queries: the gemeenten, their activity
    and the trend in one pass (activity_and_trend), active_facilitators (1),
    themes_discussed (2), demand_without_supply (1); themes and demand limited to the top
    rows."""
    activity, weeks = activity_and_trend("buurt__gemeente_id", scope, now)
    result = NationalData(
        coverage=coverage(scope, now, activity),
        trend=weekly_trend(scope, now, weeks),
        themes=themes_discussed(scope, now, THEMES_LIMIT),
        demand=demand_without_supply(scope, now, DEMAND_LIMIT),
    )
    result.coverage.totals.facilitators = active_facilitators(scope, now)
    return result


@dataclass
class GemeenteData:
    detail: GemeenteDetail
    trend: list[Week]
    themes: list[ThemeCount]
    demand: list[Demand]
    months: list[date]
    load: list[FacilitatorLoad]


def gemeente_data(scope: Scope, now: datetime) -> GemeenteData:
    """Everything a municipal dashboard shows for scope.gemeente. Eight queries:
    gemeente_detail (3, its activity and the trend in one pass: activity_and_trend),
    active_facilitators (1), themes_discussed (2), demand_without_supply (1),
    facilitator_load (1)."""
    months, load = facilitator_load(scope, now)
    activity, weeks = activity_and_trend("buurt_id", scope, now)
    result = GemeenteData(
        detail=gemeente_detail(scope, now, activity),
        trend=weekly_trend(scope, now, weeks),
        themes=themes_discussed(scope, now, THEMES_LIMIT),
        demand=demand_without_supply(scope, now, DEMAND_LIMIT),
        months=months,
        load=load,
    )
    result.detail.totals.facilitators = active_facilitators(scope, now)
    return result
