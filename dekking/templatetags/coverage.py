from django import template
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from dekking.charts import share_bar as _share_bar

register = template.Library()


@register.simple_tag(takes_context=True)
def export_url(context, table: str) -> str:
    """This page's URL with its filters and ?export=<table>: the table as CSV."""
    query = context["request"].GET.copy()
    query["export"] = table
    return "?" + urlencode(sorted(query.lists()), doseq=True)


@register.simple_tag
def share_bar(part, whole, extra=0):
    return _share_bar(part, whole, extra)


@register.filter
def percent(part, whole) -> str:
    """part / whole as a whole percentage ("" when whole is 0)."""
    if not whole:
        return ""
    return f"{round(100 * part / whole)}%"


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")


@register.simple_tag(takes_context=True)
def gemeente_rows(context, rows, public=False) -> SafeString:
    """The rows of the gemeenten table (includes/gemeenten_table.html), written here rather
    than in the template, as the map is (geo.render_map): 342 rows of seven cells took
    the template engine some 20 ms a page, this about one. Counts are whole numbers,
    written as `localize off` writes them; every text is escaped.

    `public`: participants as published (suppressed below 5), no links to dashboards;
    otherwise `gemeente_url` from the context, the municipal dashboards' URL up to the
    code. `bucket_labels` from the context names each row's coverage."""
    labels = context["bucket_labels"]
    url = escape(context.get("gemeente_url", ""))
    fewer = escape(gettext("fewer than 5"))
    out = []
    for row in rows:
        code, name = escape(row.code), escape(row.name)
        if public:
            head = name
            participants = fewer if row.participants_published is None else row.participants
        else:
            head = f'<a href="{url}{code}/">{name}</a>'
            participants = row.participants
        out.append(
            f'<tr data-code="{code}"><th scope="row">{head}</th>'
            f"<td>{escape(row.parent_name)}</td>"
            f'<td class="text-end">{int(row.held)}</td>'
            f'<td class="text-end">{int(row.planned)}</td>'
            f'<td class="text-end">{int(row.buurten_held)} / {int(row.buurten)}</td>'
            f'<td class="text-end">{participants}</td>'
            f"<td>{escape(labels.get(row.bucket, ''))}</td></tr>"
        )
    return mark_safe("".join(out))  # noqa: S308 (every text above is escaped; the rest are ints)


@register.simple_tag
def wijk_rows(wijken) -> SafeString:
    """The rows of the municipal dashboard's table per wijk (gemeente.html), written here
    as gemeente_rows writes the national one: a hundred wijken with a bar each took the
    template engine 6.6 ms a page (GM0363), this well under one. Counts are whole numbers,
    as `localize off` writes them; every text is escaped."""
    out = []
    for wijk in wijken:
        code = escape(wijk.code)
        out.append(
            f'<tr data-code="{code}"><th scope="row"><a href="#{code}">{escape(wijk.name)}</a>'
            f'</th><td class="text-end">{int(wijk.buurten_held)} / {int(wijk.buurten)}</td>'
            f'<td class="bar-column">{_share_bar(wijk.buurten_held, wijk.buurten)}</td>'
            f'<td class="text-end">{int(wijk.held)}</td>'
            f'<td class="text-end">{int(wijk.planned)}</td>'
            f'<td class="text-end">{int(wijk.participants)}</td>'
            f'<td class="text-end">{int(wijk.open_interest)}</td></tr>'
        )
    return mark_safe("".join(out))  # noqa: S308 (every text above is escaped; the rest are ints)


@register.simple_tag(takes_context=True)
def buurt_groups(context, wijken) -> SafeString:
    """The municipal dashboard's table per buurt (gemeente.html): a <tbody> per wijk, its
    name as a row group header, then its buurten; written here rather than in the template
    (GM0363's 517 buurten took the template engine 12.5 ms a page, and its indentation
    made up half the page). `bucket_labels` from the context names each buurt's coverage.
    Counts are whole numbers; every text is escaped."""
    labels = context["bucket_labels"]
    out = []
    for wijk in wijken:
        out.append(
            f'<tbody id="{escape(wijk.code)}"><tr class="table-light">'
            f'<th scope="rowgroup" colspan="6">{escape(wijk.name)}</th></tr>'
        )
        for buurt in wijk.children:
            out.append(
                f'<tr data-code="{escape(buurt.code)}"><th scope="row">{escape(buurt.name)}</th>'
                f'<td class="text-end">{int(buurt.held)}</td>'
                f'<td class="text-end">{int(buurt.planned)}</td>'
                f'<td class="text-end">{int(buurt.participants)}</td>'
                f'<td class="text-end">{int(buurt.open_interest)}</td>'
                f"<td>{escape(labels.get(buurt.bucket, ''))}</td></tr>"
            )
        out.append("</tbody>")
    return mark_safe("".join(out))  # noqa: S308 (every text above is escaped; the rest are ints)
