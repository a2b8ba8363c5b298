"""Every number on the pages, exports and open data, on the known world of conftest.py."""

import json

import pytest
from django.urls import reverse

from dekking import exports
from dekking.queries import TREND_WEEKS
from tests.dekking.conftest import FACILITATOR_LAST_NAME, PARTICIPANT_EMAIL, PARTICIPANT_NAME
from tests.dekking.pages import classes, csv_rows, page, text

NATIONAL = reverse("dekking:national")
PUBLIC = reverse("dekking:public")
AADORP = reverse("dekking:gemeente", args=["GM0001"])
WIDE = "Held in half of its neighbourhoods or more"
# No effect survey answers in this world: 0 pairs, no figures (tests/dekking/test_effect.py).
EFFECT_COLUMNS = exports.EFFECT_FIELDS + [f"province_{name}" for name in exports.EFFECT_FIELDS]
NO_EFFECT_FIGURES = {name: None for name in exports.EFFECT_FIELDS if name != "effect_n"}
NO_EFFECT = {
    "effect_n": 0,
    **NO_EFFECT_FIGURES,
    "province_effect_n": 0,
    **{f"province_{name}": None for name in NO_EFFECT_FIGURES},
}
NO_EFFECT_CELLS = ["0" if value == 0 else "" for value in NO_EFFECT.values()]


@pytest.fixture
def national_client(client, world):
    client.force_login(world.national)
    return client


@pytest.fixture
def coordinator_client(client, world):
    client.force_login(world.coordinator)
    return client


# --- National dashboard -----------------------------------------------------------------


def test_the_national_tiles(national_client):
    tiles = page(national_client.get(NATIONAL)).tiles

    assert tiles == {
        "Municipalities reached": "2",
        "Neighbourhoods reached": "3",
        "Residents who took part": "20",
        "Conversations held": "5",
        "Conversations planned": "3",
        "Facilitators active": "7",
    }


def test_the_national_tiles_say_of_how_many(national_client):
    html = national_client.get(NATIONAL).content.decode()

    assert "of 4; 3 with plans" in html
    assert "of 9; 3 with plans" in html
    assert "Conversations held in 2 of 4 municipalities." in html


def test_the_map_colours_every_existing_gemeente_by_coverage(national_client):
    found = page(national_client.get(NATIONAL))

    assert classes(found) == {
        "GM0001": "cov-held-wide",
        "GM0002": "cov-held",
        "GM0003": "cov-planned",
        "GM0005": "cov-none",
    }
    assert found.titles["GM0001"] == (
        "Aadorp: 3 held, 1 planned, 2 of 4 neighbourhoods reached, 11 participants"
    )
    assert found.paths["GM0001"]["aria-label"] == found.titles["GM0001"]
    assert {attrs["tabindex"] for attrs in found.paths.values()} == {"0"}
    assert {attrs["role"] for attrs in found.paths.values()} == {"img"}
    # Clinge is two islands: two closed rings in one path.
    assert found.paths["GM0003"]["d"].count("M") == 2
    assert found.paths["GM0003"]["d"].count("Z") == 2


def test_the_map_legend_counts_the_gemeenten_per_colour(national_client):
    html = text(national_client.get(NATIONAL))

    assert 'Nothing held or planned <span class="text-body-secondary">(1)</span>' in html
    assert f'{WIDE} <span class="text-body-secondary">(1)</span>' in html


def test_the_gemeenten_table_has_the_same_numbers_as_the_map(national_client):
    rows = page(national_client.get(NATIONAL)).rows

    assert rows["GM0001"] == ["Aadorp", "Utrecht", "3", "1", "2 / 4", "11", WIDE]
    assert rows["GM0002"] == [
        "Beekdal",
        "Utrecht",
        "1",
        "1",
        "1 / 3",
        "3",
        "Held in fewer than half of its neighbourhoods",
    ]
    assert rows["GM0003"] == [
        "Clinge",
        "Noord-Holland",
        "0",
        "1",
        "0 / 1",
        "0",
        "Planned, not held yet",
    ]
    assert rows["GM0005"][-1] == "Nothing held or planned"
    assert "GM0004" not in rows


def test_the_province_table(national_client):
    rows = page(national_client.get(NATIONAL)).rows

    # Province, gemeenten reached, (bar), buurten reached, held, planned, participants.
    assert rows["PV26"] == ["Utrecht", "2 / 2", "", "3 / 7", "4", "2", "14"]
    assert rows["PV27"] == ["Noord-Holland", "0 / 2", "", "0 / 2", "0", "1", "0"]


def test_the_trend_themes_and_demand_are_on_the_page(national_client):
    html = text(national_client.get(NATIONAL))

    assert "Trend per week" in html
    assert 'class="trend-chart"' in html
    assert html.count('class="chart-bar chart-held"') == TREND_WEEKS
    assert '<th scope="row">Wonen</th> <td class="text-end">2</td>' in html
    assert '<th scope="row">Oost</th> <td>Aadorp-Zuid</td> <td>Aadorp</td>' in html


def test_the_filters_narrow_every_number(national_client, world):
    response = national_client.get(
        NATIONAL, {"start": "2026-03-01", "end": "2026-03-12", "provincie": "PV26"}
    )
    found = page(response)

    assert found.tiles["Conversations held"] == "2"  # g1, g2
    assert found.tiles["Conversations planned"] == "0"
    assert found.tiles["Residents who took part"] == "9"
    assert set(found.paths) == {"GM0001", "GM0002"}
    assert found.rows["GM0002"][2:6] == ["0", "0", "0 / 3", "0"]
    # A province zooms the map to its gemeenten.
    assert 'viewBox="0 0 1000' not in response.content.decode()


def test_an_impossible_period_is_explained_and_ignored(national_client):
    response = national_client.get(NATIONAL, {"start": "2026-03-12", "end": "2026-03-01"})

    assert "The end date is before the start date." in response.content.decode()
    assert page(response).tiles["Conversations held"] == "1"  # from 12 March: g3


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "gemeenten",
            [
                ["GM0001", "Aadorp", "Utrecht", "3", "1", "2", "1", "4", "11"],
                ["GM0002", "Beekdal", "Utrecht", "1", "1", "1", "1", "3", "3"],
                ["GM0003", "Clinge", "Noord-Holland", "0", "1", "0", "1", "1", "0"],
                ["GM0005", "Eemdal", "Noord-Holland", "0", "0", "0", "0", "1", "0"],
            ],
        ),
        (
            "provincies",
            [
                ["Noord-Holland", "0", "1", "2", "0", "2", "0", "1", "0"],
                ["Utrecht", "2", "2", "2", "3", "7", "4", "2", "14"],
            ],
        ),
        (
            "themes",
            [["Wonen", "2", "50.0"], ["Zorg", "2", "50.0"], ["Klimaat", "1", "25.0"]],
        ),
        (
            "demand",
            [
                ["BU00010201", "Oost", "Aadorp-Zuid", "Aadorp", "3", "2026-03-15"],
                ["BU00020103", "Molen", "Beekdal-Centrum", "Beekdal", "1", "2026-02-06"],
            ],
        ),
    ],
)
def test_every_national_table_exports_as_csv(national_client, table, expected):
    rows = csv_rows(national_client.get(NATIONAL, {"export": table}))

    assert rows[1:] == expected
    assert len(rows[0]) == len(expected[0])


def test_the_trend_exports_every_week(national_client):
    rows = csv_rows(national_client.get(NATIONAL, {"export": "trend"}))

    assert rows[0] == ["Week starting", "Conversations held", "Residents who took part"]
    assert len(rows) == 1 + TREND_WEEKS
    assert [row for row in rows[1:] if row[1] != "0"] == [
        ["2026-02-09", "1", "3"],
        ["2026-03-02", "2", "12"],
        ["2026-03-09", "1", "3"],
        ["2026-03-16", "1", "2"],
    ]


def test_an_export_keeps_the_filters(national_client):
    response = national_client.get(NATIONAL, {"export": "gemeenten", "provincie": "PV27"})

    assert [row[0] for row in csv_rows(response)[1:]] == ["GM0003", "GM0005"]


def test_an_unknown_export_is_not_found(national_client):
    assert national_client.get(NATIONAL, {"export": "aanmeldingen"}).status_code == 404


# --- Municipal dashboard -------------------------------------------------------------------


def test_the_municipal_tiles(coordinator_client):
    tiles = page(coordinator_client.get(AADORP)).tiles

    assert tiles == {
        "Districts reached": "1",
        "Neighbourhoods reached": "2",
        "Residents who took part": "11",
        "Conversations held": "3",
        "Conversations planned": "1",
        "Facilitators active": "4",
        "Residents waiting for a conversation": "5",
    }


def test_the_municipal_tables_per_wijk_and_buurt(coordinator_client):
    rows = page(coordinator_client.get(AADORP)).rows

    # District, buurten reached, (bar), held, planned, participants, open interest.
    assert rows["WK000101"] == ["Aadorp-Noord", "2 / 2", "", "3", "0", "11", "0"]
    assert rows["WK000102"] == ["Aadorp-Zuid", "0 / 2", "", "0", "1", "0", "5"]
    # Buurt, held, planned, participants, open interest, coverage.
    assert rows["BU00010101"] == ["Noord", "2", "0", "9", "0", "Held"]
    assert rows["BU00010102"] == ["Zuid", "1", "0", "2", "0", "Held"]
    assert rows["BU00010201"] == ["Oost", "0", "0", "0", "3", "Nothing held or planned"]
    assert rows["BU00010202"] == ["West", "0", "1", "0", "2", "Planned, not held yet"]
    assert not any(code.startswith(("BU0002", "WK0002")) for code in rows)


def test_the_municipal_facilitator_load_uses_first_names_only(coordinator_client):
    response = coordinator_client.get(AADORP)
    html = text(response)

    assert '<th scope="row">Anna (2)</th>' in html
    assert FACILITATOR_LAST_NAME not in html
    assert "anna@example.org" not in html


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            "wijken",
            [
                ["WK000101", "Aadorp-Noord", "2", "0", "2", "3", "0", "11", "0"],
                ["WK000102", "Aadorp-Zuid", "0", "1", "2", "0", "1", "0", "5"],
            ],
        ),
        (
            "buurten",
            [
                ["BU00010101", "Noord", "Aadorp-Noord", "2", "0", "9", "0"],
                ["BU00010102", "Zuid", "Aadorp-Noord", "1", "0", "2", "0"],
                ["BU00010201", "Oost", "Aadorp-Zuid", "0", "0", "0", "3"],
                ["BU00010202", "West", "Aadorp-Zuid", "0", "1", "0", "2"],
            ],
        ),
        (
            "load",
            [
                ["Anna", "0", "0", "0", "0", "0", "2", "0", "2"],
                ["Anna (2)", "0", "0", "0", "0", "0", "1", "0", "1"],
                ["Bram", "0", "0", "0", "0", "0", "1", "0", "1"],
                ["Cees", "0", "0", "0", "0", "0", "1", "0", "1"],
            ],
        ),
        ("themes", [["Wonen", "2", "100.0"], ["Zorg", "1", "50.0"]]),
        ("demand", [["BU00010201", "Oost", "Aadorp-Zuid", "Aadorp", "3", "2026-03-15"]]),
    ],
)
def test_every_municipal_table_exports_as_csv(coordinator_client, table, expected):
    rows = csv_rows(coordinator_client.get(AADORP, {"export": table}))

    assert rows[1:] == expected


def test_the_municipal_load_export_names_the_months(coordinator_client):
    header = csv_rows(coordinator_client.get(AADORP, {"export": "load"}))[0]

    assert header == [
        "Facilitator (first name)",
        "2025-10",
        "2025-11",
        "2025-12",
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-04",
        "Total",
    ]


# --- Public page and open data -------------------------------------------------------------


def test_the_public_page_says_how_many_gemeenten_are_reached(client, world):
    response = client.get(PUBLIC)
    found = page(response)

    assert "Conversations in 2 of 4 municipalities" in response.content.decode()
    assert "4 conversations held, in 3 of 9 neighbourhoods." in response.content.decode()
    assert classes(found)["GM0002"] == "cov-held"
    assert found.titles["GM0002"] == (
        "Beekdal: 1 held, 1 planned, 1 of 3 neighbourhoods reached, fewer than 5 participants"
    )
    assert found.rows["GM0002"][5] == "fewer than 5"
    assert found.rows["GM0001"][5] == "11"
    # Province totals add the published numbers only: Beekdal's 3 stay hidden.
    assert found.rows["PV26"][-1] == "11"
    # No links to the staff dashboards.
    assert reverse("dekking:gemeente", args=["GM0001"]) not in response.content.decode()


def test_the_open_data_json(client, world):
    response = client.get(reverse("dekking:open_data_json"))

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    data = json.loads(response.content)
    assert data["licence"] == "CC BY 4.0"
    assert data["suppressed_below"] == 5
    assert data["generated_at"].startswith("2026-03-18T11:00:00")
    assert data["totals"] == {
        "gemeenten": 4,
        "gemeenten_reached": 2,
        "gemeenten_planned": 3,
        "buurten": 9,
        "buurten_reached": 3,
        "gesprekken_held": 4,
        "gesprekken_planned": 3,
        "participants": 11,
    }
    assert data["effect"] == {"effect_n": 0, **NO_EFFECT_FIGURES}
    assert data["gemeenten"] == [
        {
            "code": "GM0001",
            "name": "Aadorp",
            "province_code": "PV26",
            "province": "Utrecht",
            "gesprekken_held": 3,
            "gesprekken_planned": 1,
            "buurten_reached": 2,
            "buurten_total": 4,
            "participants": 11,
            **NO_EFFECT,
        },
        {
            "code": "GM0002",
            "name": "Beekdal",
            "province_code": "PV26",
            "province": "Utrecht",
            "gesprekken_held": 1,
            "gesprekken_planned": 1,
            "buurten_reached": 1,
            "buurten_total": 3,
            "participants": None,
            **NO_EFFECT,
        },
        {
            "code": "GM0003",
            "name": "Clinge",
            "province_code": "PV27",
            "province": "Noord-Holland",
            "gesprekken_held": 0,
            "gesprekken_planned": 1,
            "buurten_reached": 0,
            "buurten_total": 1,
            "participants": 0,
            **NO_EFFECT,
        },
        {
            "code": "GM0005",
            "name": "Eemdal",
            "province_code": "PV27",
            "province": "Noord-Holland",
            "gesprekken_held": 0,
            "gesprekken_planned": 0,
            "buurten_reached": 0,
            "buurten_total": 1,
            "participants": 0,
            **NO_EFFECT,
        },
    ]


def test_the_open_data_csv(client, world):
    response = client.get(reverse("dekking:open_data_csv"))

    assert response["Access-Control-Allow-Origin"] == "*"
    assert not response.content.startswith("\ufeff".encode())
    assert csv_rows(response) == [
        [
            "code",
            "name",
            "province_code",
            "province",
            "gesprekken_held",
            "gesprekken_planned",
            "buurten_reached",
            "buurten_total",
            "participants",
            *EFFECT_COLUMNS,
        ],
        ["GM0001", "Aadorp", "PV26", "Utrecht", "3", "1", "2", "4", "11", *NO_EFFECT_CELLS],
        ["GM0002", "Beekdal", "PV26", "Utrecht", "1", "1", "1", "3", "", *NO_EFFECT_CELLS],
        ["GM0003", "Clinge", "PV27", "Noord-Holland", "0", "1", "0", "1", "0", *NO_EFFECT_CELLS],
        ["GM0005", "Eemdal", "PV27", "Noord-Holland", "0", "0", "0", "1", "0", *NO_EFFECT_CELLS],
    ]


# --- No personal data ------------------------------------------------------------------------

PUBLIC_URLS = [
    PUBLIC,
    reverse("dekking:open_data_json"),
    reverse("dekking:open_data_csv"),
]
STAFF_URLS = [
    NATIONAL,
    *[f"{NATIONAL}?export={t}" for t in ("gemeenten", "provincies", "trend", "themes", "demand")],
    AADORP,
    *[f"{AADORP}?export={t}" for t in ("wijken", "buurten", "trend", "themes", "demand", "load")],
]


@pytest.mark.parametrize("url", PUBLIC_URLS + STAFF_URLS)
def test_no_page_or_export_shows_a_resident_or_a_facilitators_full_name(client, world, url):
    client.force_login(world.national)
    response = client.get(url)

    assert response.status_code == 200
    content = response.content.decode()
    for secret in (
        PARTICIPANT_NAME,
        "Zwanenburg",
        PARTICIPANT_EMAIL,
        "@example.org",
        FACILITATOR_LAST_NAME,
        world.g1.aanmeldingen.first().token,
    ):
        assert secret not in content


@pytest.mark.parametrize("url", PUBLIC_URLS)
def test_the_public_pages_need_no_login(client, world, url):
    assert client.get(url).status_code == 200
