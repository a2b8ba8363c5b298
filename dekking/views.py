"""Coverage pages: the national and municipal dashboards, the public map and open data.

Coordinators see aggregates only; nothing here shows a resident. The national dashboard is
for national coordinators, a municipal one for whoever coordinates that gemeente (national
coordinators too); anyone else gets 404. The public page and open data need no login and
suppress small numbers of participants.

The section "Effect of the conversations" (national and municipal dashboards) and the effect
columns of the open data come from gesprekken/effect.py: aggregates of the anonymous
before/after survey, shown only where at least 5 people answered both times.

The numbers are computed by dekking/queries.py in a fixed number of queries, and kept in
Django's cache for DEKKING_CACHE_SECONDS (default 300) per page and filter: at national
scale a computation reads the whole activity table, and five minutes' delay is fine for
coverage figures. With 0 nothing is cached.
"""

import functools
import hashlib
import logging

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from facilitators.access import coordinated_gemeenten
from facilitators.decorators import coordinator_required
from gesprekken import effect

from . import exports, geo, queries
from .charts import trend_chart
from .forms import CoverageFilterForm

logger = logging.getLogger(__name__)


def grouped(number: int) -> str:
    """14.574 / 14,574: an integer with the language's thousands separator, as humanize's
    intcomma gives it, in a fraction of the time (a dashboard's map labels have 1,700)."""
    language = get_language() or settings.LANGUAGE_CODE
    return f"{number:,}".replace(",", _thousands_separator(language))


@functools.cache
def _thousands_separator(language: str) -> str:
    return formats.get_format("THOUSAND_SEPARATOR", language, use_l10n=True)


# 2: the open data carry the effect of the conversations.
CACHE_VERSION = 2


def cached(name: str, scope: queries.Scope, compute, *, refresh: bool = False):
    """compute(), or its result from the cache when it was computed recently.

    A cache hit costs one query (the database cache); a miss runs compute() and stores it.
    `refresh` computes and stores it whatever the cache holds (dekking.tasks.warm_dashboards).
    """
    seconds = settings.DEKKING_CACHE_SECONDS
    if not seconds:
        return compute()
    key = f"dekking:{CACHE_VERSION}:{name}:{hashlib.sha256(repr(scope).encode()).hexdigest()[:32]}"
    value = None
    try:
        if not refresh:
            value = cache.get(key)
    except Exception:  # a broken cache must not take the dashboards down
        logger.exception("Reading the coverage cache failed")
        value = None
    if value is None:
        value = compute()
        try:
            cache.set(key, value, seconds)
        except Exception:
            logger.exception("Writing the coverage cache failed")
    return value


def staff_label(row) -> str:
    return _(
        "%(name)s: %(held)s held, %(planned)s planned, %(reached)s of %(buurten)s "
        "neighbourhoods reached, %(participants)s participants"
    ) % {
        "name": row.name,
        "held": grouped(row.held),
        "planned": grouped(row.planned),
        "reached": grouped(row.buurten_held),
        "buurten": grouped(row.buurten),
        "participants": grouped(row.participants),
    }


def public_label(row) -> str:
    participants = row.participants_published
    return _(
        "%(name)s: %(held)s held, %(planned)s planned, %(reached)s of %(buurten)s "
        "neighbourhoods reached, %(participants)s participants"
    ) % {
        "name": row.name,
        "held": grouped(row.held),
        "planned": grouped(row.planned),
        "reached": grouped(row.buurten_held),
        "buurten": grouped(row.buurten),
        "participants": _("fewer than 5") if participants is None else grouped(participants),
    }


def bucket_labels() -> dict[str, str]:
    return {
        queries.Bucket.NONE: _("Nothing held or planned"),
        queries.Bucket.PLANNED: _("Planned, not held yet"),
        queries.Bucket.HELD: _("Held in fewer than half of its neighbourhoods"),
        queries.Bucket.WIDE: _("Held in half of its neighbourhoods or more"),
    }


def legend(rows) -> list[tuple[str, str, int]]:
    """(bucket, label, how many rows) for the map's legend."""
    counts = {bucket: 0 for bucket in queries.Bucket.ORDER}
    for row in rows:
        counts[row.bucket] += 1
    labels = bucket_labels()
    return [(bucket, labels[bucket], counts[bucket]) for bucket in queries.Bucket.ORDER]


def buurt_labels() -> dict[str, str]:
    held = _("Held")
    return {
        queries.Bucket.NONE: _("Nothing held or planned"),
        queries.Bucket.PLANNED: _("Planned, not held yet"),
        queries.Bucket.HELD: held,
        queries.Bucket.WIDE: held,
    }


def _of(whole: int, planned: int | None = None) -> str:
    text = _("of %(whole)s") % {"whole": grouped(whole)}
    if planned is not None:
        text += "; " + _("%(planned)s with plans") % {"planned": grouped(planned)}
    return text


def national_tiles(totals: queries.Totals) -> list[dict]:
    return [
        {
            "label": _("Municipalities reached"),
            "value": totals.gemeenten_held,
            "detail": _of(totals.gemeenten, totals.gemeenten_planned),
        },
        {
            "label": _("Neighbourhoods reached"),
            "value": totals.buurten_held,
            "detail": _of(totals.buurten, totals.buurten_planned),
        },
        {"label": _("Residents who took part"), "value": totals.participants},
        {"label": _("Conversations held"), "value": totals.held},
        {"label": _("Conversations planned"), "value": totals.planned},
        {"label": _("Facilitators active"), "value": totals.facilitators},
    ]


def gemeente_tiles(data: queries.GemeenteData) -> list[dict]:
    totals, wijken = data.detail.totals, data.detail.wijken
    return [
        {
            "label": _("Districts reached"),
            "value": sum(1 for wijk in wijken if wijk.held),
            "detail": _of(len(wijken)),
        },
        {
            "label": _("Neighbourhoods reached"),
            "value": totals.buurten_held,
            "detail": _of(totals.buurten, totals.buurten_planned),
        },
        {"label": _("Residents who took part"), "value": totals.participants},
        {"label": _("Conversations held"), "value": totals.held},
        {"label": _("Conversations planned"), "value": totals.planned},
        {"label": _("Facilitators active"), "value": totals.facilitators},
        {
            "label": _("Residents waiting for a conversation"),
            "value": sum(wijk.open_interest for wijk in wijken),
        },
    ]


@require_safe
@coordinator_required
def national(request):
    """The national dashboard: tiles, map, provinces, trend, themes, demand; CSV exports."""
    if not request.staff_roles.is_national:
        raise Http404
    form = CoverageFilterForm(request.GET or None)
    scope, now = form.scope(), timezone.now()
    if export := request.GET.get("export"):
        if form.errors:
            return invalid_filters()
        return national_export(export, scope, now)
    data = national_data(scope, now)
    context = national_context(form, scope, data)
    summary = national_effect(scope)
    context["effect"] = effect_context(
        summary,
        [
            ("provincies", _("Per province"), _("Province"), summary.provincies),
            ("themas", _("Per theme"), _("Theme"), summary.themas),
            ("formats", _("Per format"), _("Format"), summary.formats),
        ],
    )
    return render(request, "dekking/national.html", context)


def national_data(scope: queries.Scope, now, *, refresh: bool = False) -> queries.NationalData:
    return cached("national", scope, lambda: queries.national_data(scope, now), refresh=refresh)


def national_effect(scope: queries.Scope, *, refresh: bool = False):
    return cached(
        "national-effect",
        scope,
        lambda: effect.national_summary(scope.gesprek_q("gesprek__")),
        refresh=refresh,
    )


def national_context(form, scope: queries.Scope, data: queries.NationalData) -> dict:
    coverage = data.coverage
    return {
        "form": form,
        "scope": scope,
        "data": data,
        "totals": coverage.totals,
        "tiles": national_tiles(coverage.totals),
        "legend": legend(coverage.gemeenten),
        "bucket_labels": bucket_labels(),
        "provincies": [(p, p.participants) for p in coverage.provincies],
        # The municipal dashboards' URL up to the code: one reverse() instead of 342.
        "gemeente_url": reverse("dekking:gemeente", args=["GM0000"]).removesuffix("GM0000/"),
        "map": geo.render_map(
            coverage.gemeenten,
            title=_("Map of the municipalities by coverage"),
            label=staff_label,
            zoom=bool(scope.provincie),
        ),
        "trend_chart": trend_chart(data.trend),
    }


def invalid_filters() -> HttpResponseBadRequest:
    """400 for an export with a filter that does not validate. The page shows the error and
    leaves the field out; a file cannot say so, and would quietly cover another scope."""
    return HttpResponseBadRequest(
        _("No CSV made: a filter is not valid. Correct the filters and try again."),
        content_type="text/plain; charset=utf-8",
    )


def national_export(export: str, scope: queries.Scope, now):
    suffix = exports.scope_suffix(scope)
    if export == "themes":
        table = exports.themes_table(queries.themes_discussed(scope, now))
    elif export == "demand":
        table = exports.demand_table(queries.demand_without_supply(scope, now))
    elif export in ("gemeenten", "provincies", "trend"):
        data = national_data(scope, now)
        table = {
            "gemeenten": lambda: exports.gemeenten_table(data.coverage.gemeenten),
            "provincies": lambda: exports.provincies_table(data.coverage.provincies),
            "trend": lambda: exports.trend_table(data.trend),
        }[export]()
    else:
        raise Http404
    return exports.csv_response(f"dekking-{export}{suffix}.csv", *table)


@require_safe
@coordinator_required
def mine(request):
    """The gemeenten I coordinate, each linking to its dashboard (straight there if one)."""
    gemeenten = list(coordinated_gemeenten(request.user).order_by("name"))
    if len(gemeenten) == 1:
        return redirect("dekking:gemeente", code=gemeenten[0].code)
    return render(
        request,
        "dekking/mine.html",
        {"gemeenten": gemeenten, "is_national": request.staff_roles.is_national},
    )


@require_safe
@coordinator_required
def gemeente(request, code):
    """One gemeente's dashboard, per wijk and buurt, for its coordinators (404 for others)."""
    gemeente = get_object_or_404(
        coordinated_gemeenten(request.user).select_related("provincie"), code=code
    )
    form = CoverageFilterForm(request.GET or None, with_provincie=False)
    scope, now = form.scope(gemeente=gemeente.code), timezone.now()
    if export := request.GET.get("export"):
        if form.errors:
            return invalid_filters()
        return gemeente_export(export, gemeente, scope, now)
    data = cached("gemeente", scope, lambda: queries.gemeente_data(scope, now))
    context = {
        "gemeente": gemeente,
        "form": form,
        "data": data,
        "totals": data.detail.totals,
        "tiles": gemeente_tiles(data),
        "bucket_labels": buurt_labels(),
        "trend_chart": trend_chart(data.trend),
        "is_national": request.staff_roles.is_national,
    }
    summary = cached(
        "gemeente-effect", scope, lambda: effect.gemeente_summary(scope.gesprek_q("gesprek__"))
    )
    context["effect"] = effect_context(
        summary,
        [
            ("themas", _("Per theme"), _("Theme"), summary.themas),
            ("formats", _("Per format"), _("Format"), summary.formats),
        ],
    )
    return render(request, "dekking/gemeente.html", context)


def gemeente_export(export: str, gemeente, scope: queries.Scope, now):
    name = f"dekking-{gemeente.code}-{export}{exports.scope_suffix(scope)}.csv"
    if export == "themes":
        return exports.csv_response(
            name, *exports.themes_table(queries.themes_discussed(scope, now))
        )
    if export == "demand":
        return exports.csv_response(
            name, *exports.demand_table(queries.demand_without_supply(scope, now))
        )
    if export not in ("wijken", "buurten", "trend", "load"):
        raise Http404
    data = cached("gemeente", scope, lambda: queries.gemeente_data(scope, now))
    table = {
        "wijken": lambda: exports.wijken_table(data.detail.wijken),
        "buurten": lambda: exports.buurten_table(data.detail.wijken),
        "trend": lambda: exports.trend_table(data.trend),
        "load": lambda: exports.load_table(data.months, data.load),
    }[export]()
    return exports.csv_response(name, *table)


# --- The effect of the conversations -------------------------------------------------------


def signed(value: float, decimals: int) -> str:
    """+4,2 / −0,35 / 0,0: a change with its sign, in the active language's notation."""
    rounded = round(value, decimals)
    text = formats.number_format(abs(rounded), decimal_pos=decimals)
    if rounded > 0:
        return "+" + text
    if rounded < 0:
        return "\u2212" + text
    return text


def effect_figures(figures: effect.Effect) -> dict:
    """What a template shows of one Effect: formatted numbers, or why there are none."""
    if not figures.shown:
        return {"shown": False, "protected": figures.protected}
    return {
        "shown": True,
        "n": figures.n,
        "thermometer": signed(figures.thermometer.mean, 1),
        "thermometer_low": signed(figures.thermometer.low, 1),
        "thermometer_high": signed(figures.thermometer.high, 1),
        "trust": signed(figures.trust.mean, 2),
        "trust_low": signed(figures.trust.low, 2),
        "trust_high": signed(figures.trust.high, 2),
        "argument": f"{round(100 * figures.argument_share)}%",
    }


def effect_context(summary: effect.Summary, tables) -> dict:
    """The section "Effect of the conversations": the total and tables of its parts.

    `tables`: (id, heading, column label, groups) for each table.
    """
    return {
        "total": effect_figures(summary.total),
        "min_answers": effect.MIN_ANSWERS,
        "tables": [
            {
                "id": table_id,
                "heading": heading,
                "column": column,
                "rows": [(group.key, group.name, effect_figures(group.effect)) for group in groups],
            }
            for table_id, heading, column, groups in tables
        ],
    }


def public_coverage(now, *, refresh: bool = False):
    """(coverage over all time, when it was computed): the public page and open data."""
    return cached(
        "public",
        queries.Scope(),
        lambda: (queries.coverage(queries.Scope(), now), now),
        refresh=refresh,
    )


@require_safe
def public(request):
    """The public coverage page: "conversations in N of 342 gemeenten", map, provinces."""
    coverage, computed_at = public_coverage(timezone.now())
    return render(request, "dekking/public.html", public_context(coverage, computed_at))


def public_context(coverage: queries.Coverage, computed_at) -> dict:
    return {
        "coverage": coverage,
        "computed_at": computed_at,
        "totals": coverage.totals,
        "legend": legend(coverage.gemeenten),
        "bucket_labels": bucket_labels(),
        "published": exports.open_data_totals(coverage, exports.open_data_rows(coverage)),
        # Province participants add up the published (unsuppressed) numbers only.
        "provincies": [
            (provincie, sum(row.participants_published or 0 for row in provincie.children))
            for provincie in coverage.provincies
        ],
        "map": geo.render_map(
            coverage.gemeenten,
            title=_("Map of the municipalities by coverage"),
            label=public_label,
        ),
    }


def public_effect(*, refresh: bool = False):
    """The effect as published (all time, protected per province and gemeente)."""
    return cached("public-effect", queries.Scope(), effect.open_data, refresh=refresh)


@require_safe
def open_data_json(request):
    coverage, computed_at = public_coverage(timezone.now())
    return exports.open_data_json(coverage, public_effect(), generated_at=computed_at)


@require_safe
def open_data_csv(request):
    coverage, _computed_at = public_coverage(timezone.now())
    return exports.open_data_csv(coverage, public_effect())
