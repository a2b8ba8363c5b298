"""The coverage definitions, on the known world of conftest.py (numbers worked out there)."""

from datetime import date

import pytest

from dekking import queries
from dekking.queries import Bucket, Scope
from gesprekken.models import Gesprek
from tests.dekking.conftest import at, gesprek

Status = Gesprek.Status


def by_code(rows):
    return {row.code: row for row in rows}


def numbers(row):
    return (row.held, row.planned, row.buurten_held, row.buurten_planned, row.participants)


def test_every_existing_gemeente_has_its_numbers(world):
    coverage = queries.coverage(Scope(), world.now)

    rows = by_code(coverage.gemeenten)
    # Ended gemeenten are not listed (nor counted in any denominator).
    assert list(rows) == ["GM0001", "GM0002", "GM0003", "GM0005"]
    # (held, planned, buurten held, buurten with plans, participants)
    assert numbers(rows["GM0001"]) == (3, 1, 2, 1, 11)
    assert numbers(rows["GM0002"]) == (1, 1, 1, 1, 3)
    assert numbers(rows["GM0003"]) == (0, 1, 0, 1, 0)
    assert numbers(rows["GM0005"]) == (0, 0, 0, 0, 0)
    assert [rows[code].buurten for code in rows] == [4, 3, 1, 1]
    assert [row.parent_name for row in rows.values()] == [
        "Utrecht",
        "Utrecht",
        "Noord-Holland",
        "Noord-Holland",
    ]


def test_the_buckets_go_from_nothing_to_widely_reached(world):
    rows = by_code(queries.coverage(Scope(), world.now).gemeenten)

    assert rows["GM0001"].bucket == Bucket.WIDE  # 2 of 4 buurten: half
    assert rows["GM0002"].bucket == Bucket.HELD  # 1 of 3
    assert rows["GM0003"].bucket == Bucket.PLANNED
    assert rows["GM0005"].bucket == Bucket.NONE


def test_the_totals_count_existing_gemeenten_and_all_conversations(world):
    totals = queries.national_data(Scope(), world.now).coverage.totals

    assert (totals.gemeenten, totals.gemeenten_held, totals.gemeenten_planned) == (4, 2, 3)
    assert (totals.buurten, totals.buurten_held, totals.buurten_planned) == (9, 3, 3)
    # g11 in Dijkveld (ended since) still happened: 4 + 1 held, 6 + 14 participants.
    assert (totals.held, totals.planned, totals.participants) == (5, 3, 20)
    # Anna, Bram, Cees, the other Anna, Dirk, Eva, Fenna; not Gijs (nothing that counts).
    assert totals.facilitators == 7


def test_cancelled_drafts_and_no_shows_are_never_counted(world):
    rows = by_code(queries.coverage(Scope(), world.now).gemeenten)

    # Aadorp: g5 (cancelled, with 4 "present") and g7 (draft) add nothing, g4 ended with
    # nobody checked in, and no-shows and cancellations at g1 and g2 are not participants.
    assert rows["GM0001"].held == 3
    assert rows["GM0001"].participants == 6 + 3 + 2


def test_a_planned_gesprek_that_ended_with_people_present_counts_as_held(world):
    activity = queries.activity_by("buurt_id", Scope(), world.now)

    assert activity["BU00010102"].held == 1  # g3: no report yet, 2 present
    assert activity["BU00010102"].participants == 2
    assert "BU00010201" not in activity or activity["BU00010201"].held == 0  # g4


def test_ended_gemeenten_are_not_in_the_denominator(world):
    totals = queries.coverage(Scope(), world.now).totals

    assert totals.gemeenten == 4
    assert totals.buurten == 9  # without Dijkveld's buurt


def test_the_provinces_add_up_their_gemeenten(world):
    provincies = queries.coverage(Scope(), world.now).provincies

    assert [p.name for p in provincies] == ["Noord-Holland", "Utrecht"]
    noord_holland, utrecht = provincies
    assert (utrecht.gemeenten, utrecht.gemeenten_held, utrecht.gemeenten_planned) == (2, 2, 2)
    assert (utrecht.buurten, utrecht.buurten_held, utrecht.held, utrecht.planned) == (7, 3, 4, 2)
    assert utrecht.participants == 14
    assert (noord_holland.gemeenten, noord_holland.gemeenten_held) == (2, 0)
    assert (noord_holland.gemeenten_planned, noord_holland.buurten) == (1, 2)
    assert (noord_holland.held, noord_holland.planned, noord_holland.participants) == (0, 1, 0)


def test_participants_under_five_are_suppressed_for_publication(world):
    rows = by_code(queries.coverage(Scope(), world.now).gemeenten)

    assert rows["GM0001"].participants_published == 11
    assert rows["GM0002"].participants_published is None  # 3
    assert rows["GM0003"].participants_published == 0  # nothing to hide in a zero


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # Period: 1 to 12 March: g1, g2 and g11 (Dijkveld); nothing planned in it.
        (lambda w: Scope(start=date(2026, 3, 1), end=date(2026, 3, 12)), (3, 0, 15)),
        # From 16 March on: g3 held; g6, g9 and g10 planned.
        (lambda w: Scope(start=date(2026, 3, 16)), (1, 3, 2)),
        # Noord-Holland: g10 planned in Clinge, g11 held in Dijkveld (ended since).
        (lambda w: Scope(provincie="PV27"), (1, 1, 6)),
        (lambda w: Scope(format="wandeling"), (1, 0, 3)),
        # The theme a gesprek was planned with: g2, g8 held, g6 planned.
        (lambda w: Scope(thema=w.zorg.pk), (2, 1, 6)),
    ],
    ids=["period", "from", "province", "format", "theme"],
)
def test_the_filters_select_gesprekken(world, scope, expected):
    totals = queries.coverage(scope(world), world.now).totals

    assert (totals.held, totals.planned, totals.participants) == expected


def test_the_province_filter_limits_the_denominator(world):
    totals = queries.coverage(Scope(provincie="PV26"), world.now).totals

    assert (totals.gemeenten, totals.buurten, totals.held) == (2, 7, 4)


def test_the_trend_counts_held_gesprekken_and_participants_per_week(world):
    weeks = queries.weekly_trend(Scope(), world.now)

    assert len(weeks) == queries.TREND_WEEKS
    assert weeks[-1].start == date(2026, 3, 16)
    busy = {week.start: (week.held, week.participants) for week in weeks if week.held}
    assert busy == {
        date(2026, 2, 9): (1, 3),
        date(2026, 3, 2): (2, 12),  # g1 and g11 (Dijkveld)
        date(2026, 3, 9): (1, 3),
        date(2026, 3, 16): (1, 2),
    }


def test_the_trend_follows_the_period(world):
    weeks = queries.weekly_trend(Scope(start=date(2026, 3, 4), end=date(2026, 3, 12)), world.now)

    assert [(w.start, w.held, w.participants) for w in weeks] == [
        (date(2026, 3, 2), 0, 0),  # g1 and g11 are before the 4th
        (date(2026, 3, 9), 1, 3),
    ]


SCOPES = [
    Scope(),
    Scope(start=date(2026, 3, 4), end=date(2026, 3, 12)),
    Scope(start=date(2026, 3, 16)),
    Scope(provincie="PV26"),
    Scope(gemeente="GM0001"),
    Scope(format="wandeling"),
    # A period after today: no trend weeks at all.
    Scope(start=date(2027, 1, 1)),
]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda scope: repr(scope)[6:40])
@pytest.mark.parametrize("key", ["buurt__gemeente_id", "buurt_id"])
def test_the_dashboards_one_pass_gives_the_same_numbers(world, scope, key):
    # The dashboards read activity and trend in one query; the exports, the public page
    # and open data each on their own: the numbers must not depend on which.
    activity, weeks = queries.activity_and_trend(key, scope, world.now)

    assert activity == queries.activity_by(key, scope, world.now)
    assert queries.weekly_trend(scope, world.now, weeks) == queries.weekly_trend(scope, world.now)


def test_the_dashboards_one_pass_counts_what_the_definitions_say(world):
    activity, weeks = queries.activity_and_trend("buurt__gemeente_id", Scope(), world.now)

    # (held, planned, buurten held, buurten with plans, participants), as above.
    assert numbers(activity["GM0001"]) == (3, 1, 2, 1, 11)
    assert numbers(activity["GM0002"]) == (1, 1, 1, 1, 3)
    # Dijkveld has ended as a gemeente, but its conversation happened.
    assert sum(one.held for one in activity.values()) == 5
    busy = {
        week.start: (week.held, week.participants)
        for week in queries.weekly_trend(Scope(), world.now, weeks)
        if week.held
    }
    assert busy[date(2026, 3, 2)] == (2, 12)


def test_a_national_dashboard_reads_the_registrations_once(world, django_assert_num_queries):
    # gemeenten with their buurten, one pass for activity and trend, facilitators, two
    # for themes, one for demand.
    with django_assert_num_queries(6):
        data = queries.national_data(Scope(), world.now)

    assert data.coverage.totals.participants == 20
    assert sum(week.participants for week in data.trend) == 20


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        # Anna (g1, g2: once), Bram (co-led g2), Cees (g3), the other Anna (g6); not Gijs.
        (Scope(gemeente="GM0001"), 4),
        # The other Anna again (g8: she counts in each gemeente she works in) and Dirk.
        (Scope(gemeente="GM0002"), 2),
        (Scope(gemeente="GM0004"), 1),  # Fenna, in a gemeente that has ended since
        (Scope(gemeente="GM0005"), 0),
        (Scope(gemeente="GM0001", start=date(2026, 3, 1), end=date(2026, 3, 12)), 2),
        (Scope(gemeente="GM0001", format="online"), 1),  # g6
        (Scope(provincie="PV27"), 2),  # Eva and Fenna
        (Scope(), 7),
    ],
    ids=["aadorp", "beekdal", "ended", "nothing", "period", "format", "province", "all"],
)
def test_active_facilitators_are_counted_once_within_the_scope(world, scope, expected):
    assert queries.active_facilitators(scope, world.now) == expected


def test_a_municipal_dashboard_is_eight_queries(world, django_assert_num_queries):
    # gemeente_detail 3, facilitators, two for themes, demand, the facilitators' load.
    with django_assert_num_queries(8):
        data = queries.gemeente_data(Scope(gemeente="GM0001"), world.now)

    assert data.detail.totals.facilitators == 4
    assert [(load.label, load.total) for load in data.load] == [
        ("Anna", 2),
        ("Anna (2)", 1),
        ("Bram", 1),
        ("Cees", 1),
    ]


def test_themes_come_from_the_reports_most_first(world):
    themes = queries.themes_discussed(Scope(), world.now)

    assert [(t.name, t.verslagen, t.share) for t in themes] == [
        ("Wonen", 2, 0.5),
        ("Zorg", 2, 0.5),
        ("Klimaat", 1, 0.25),
    ]


def test_demand_without_supply_lists_the_worst_first(world):
    demand = queries.demand_without_supply(Scope(), world.now)

    # West has interest but g6 is planned there; Veld's was invited; Dijkveld ended;
    # the unconfirmed interest in Oost does not count.
    assert [(d.buurt_name, d.gemeente_name, d.interested) for d in demand] == [
        ("Oost", "Aadorp", 3),
        ("Molen", "Beekdal", 1),
    ]
    assert queries.demand_without_supply(Scope(provincie="PV27"), world.now) == []


def test_one_gemeente_per_wijk_and_buurt(world):
    detail = queries.gemeente_detail(Scope(gemeente="GM0001"), world.now)

    assert [w.name for w in detail.wijken] == ["Aadorp-Noord", "Aadorp-Zuid"]
    noord, zuid = detail.wijken
    assert (noord.buurten, noord.buurten_held, noord.held, noord.participants) == (2, 2, 3, 11)
    assert (zuid.buurten, zuid.buurten_held, zuid.buurten_planned, zuid.planned) == (2, 0, 1, 1)
    assert zuid.open_interest == 5  # Oost 3, West 2
    buurten = {b.name: (b.held, b.planned, b.participants, b.open_interest, b.bucket)
               for w in detail.wijken for b in w.children}  # fmt: skip
    assert buurten == {
        "Noord": (2, 0, 9, 0, Bucket.WIDE),
        "Zuid": (1, 0, 2, 0, Bucket.WIDE),
        "Oost": (0, 0, 0, 3, Bucket.NONE),
        "West": (0, 1, 0, 2, Bucket.PLANNED),
    }
    totals = detail.totals
    assert (totals.buurten, totals.buurten_held, totals.held, totals.planned) == (4, 2, 3, 1)
    assert totals.participants == 11


def test_facilitator_load_per_month_by_first_name(world):
    months, loads = queries.facilitator_load(Scope(gemeente="GM0001"), world.now)

    # By default the last five months and the next one.
    assert months == [
        date(2025, 10, 1),
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 4, 1),
    ]
    # Anna led g1 and g2; the other Anna leads g6 (a number tells them apart); Bram
    # co-led g2; Cees led g3. Gijs's (not held, cancelled, a draft) do not count.
    assert [(load.label, load.months, load.total) for load in loads] == [
        ("Anna", [0, 0, 0, 0, 0, 2, 0], 2),
        ("Anna (2)", [0, 0, 0, 0, 0, 1, 0], 1),
        ("Bram", [0, 0, 0, 0, 0, 1, 0], 1),
        ("Cees", [0, 0, 0, 0, 0, 1, 0], 1),
    ]


def test_facilitator_load_counts_a_gesprek_in_its_month_in_amsterdam(world):
    # 00:30 on 1 April in Amsterdam is still 31 March in UTC: April's.
    gesprek(world.west, at(date(2026, 4, 1), 0, 30), Status.GEPLAND, lead=world.dirk)
    # 23:30 on 31 March in Amsterdam: March's.
    gesprek(world.west, at(date(2026, 3, 31), 23, 30), Status.GEPLAND, lead=world.eva)

    _months, loads = queries.facilitator_load(Scope(gemeente="GM0001"), world.now)

    by_label = {load.label: load.months for load in loads}
    assert by_label["Dirk"] == [0, 0, 0, 0, 0, 0, 1]
    assert by_label["Eva"] == [0, 0, 0, 0, 0, 1, 0]


def test_facilitator_load_keeps_to_the_period(world):
    months, loads = queries.facilitator_load(
        Scope(gemeente="GM0001", start=date(2026, 3, 5), end=date(2026, 3, 31)), world.now
    )

    assert months == [date(2026, 3, 1)]
    # g1 (2 March) is before the period.
    assert [(load.label, load.total) for load in loads] == [
        ("Anna", 1),
        ("Anna (2)", 1),
        ("Bram", 1),
        ("Cees", 1),
    ]
