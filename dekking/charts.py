"""Small charts drawn on the server as inline SVG: no JavaScript, no chart library.

Colours and fonts come from static/dekking/dekking.css (classes only: the CSP allows no
inline styles). Every chart has a table with the same numbers next to it; the SVG itself
is one image with a title and a short description for screen readers.
"""

from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 640
PANEL = 110
GAP = 34
LEFT = 44
BOTTOM = 22


def _nice_max(value: int) -> int:
    """The axis maximum: value rounded up to 1, 2 or 5 × a power of ten."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def trend_chart(weeks, *, chart_id: str = "trend") -> SafeString:
    """Two bar panels over the same weeks: gesprekken held, and residents who took part."""
    if not weeks:
        return mark_safe("")  # noqa: S308 (empty)
    panels = [
        ("held", _("Conversations held per week"), [week.held for week in weeks]),
        (
            "participants",
            _("Residents who took part per week"),
            [week.participants for week in weeks],
        ),
    ]
    height = len(panels) * (PANEL + GAP) + BOTTOM
    plot_width = WIDTH - LEFT - 6
    step = plot_width / len(weeks)
    bar = max(step * 0.75, 1)
    parts = []
    for number, (kind, title, values) in enumerate(panels):
        top = number * (PANEL + GAP) + 18
        axis_max = _nice_max(max(values))
        parts.append(
            f'<text class="chart-title" x="{LEFT}" y="{top - 6}">{escape(title)}</text>'
            f'<line class="chart-axis" x1="{LEFT}" y1="{top + PANEL}" '
            f'x2="{WIDTH - 4}" y2="{top + PANEL}"/>'
            f'<text class="chart-tick" x="{LEFT - 4}" y="{top + 4}" text-anchor="end">'
            f"{axis_max}</text>"
            f'<text class="chart-tick" x="{LEFT - 4}" y="{top + PANEL}" text-anchor="end">0</text>'
        )
        for index, (week, value) in enumerate(zip(weeks, values, strict=True)):
            bar_height = round(PANEL * value / axis_max, 1)
            x = round(LEFT + index * step + (step - bar) / 2, 1)
            label = escape(
                _("Week of %(date)s: %(count)s")
                % {"date": date_format(week.start, "SHORT_DATE_FORMAT"), "count": value}
            )
            parts.append(
                f'<rect class="chart-bar chart-{kind}" x="{x}" y="{top + PANEL - bar_height}" '
                f'width="{round(bar, 1)}" height="{bar_height}"><title>{label}</title></rect>'
            )
    # A date under the first bar and then about every eighth week.
    every = max(1, len(weeks) // 6)
    base = height - 6
    for index in range(0, len(weeks), every):
        x = round(LEFT + index * step + step / 2, 1)
        parts.append(
            f'<text class="chart-tick" x="{x}" y="{base}" text-anchor="middle">'
            f"{escape(date_format(weeks[index].start, 'j M'))}</text>"
        )
    description = _(
        "From the week of %(first)s to the week of %(last)s: %(held)s conversations held, "
        "%(participants)s residents took part. The numbers per week are in the table."
    ) % {
        "first": date_format(weeks[0].start, "SHORT_DATE_FORMAT"),
        "last": date_format(weeks[-1].start, "SHORT_DATE_FORMAT"),
        "held": sum(week.held for week in weeks),
        "participants": sum(week.participants for week in weeks),
    }
    return format_html(
        '<svg class="trend-chart" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg" '
        'role="img" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        WIDTH,
        height,
        chart_id,
        chart_id,
        chart_id,
        _("Trend per week"),
        chart_id,
        description,
        mark_safe("".join(parts)),  # noqa: S308 (numbers, and text escaped above)
    )


def share_bar(part: int, whole: int, extra: int = 0) -> SafeString:
    """A small horizontal bar: `part` of `whole` (dark) and `extra` more (light).

    Decorative (aria-hidden): the numbers are in the table cell next to it.
    """
    if whole <= 0:
        part_width = extra_width = 0.0
    else:
        part_width = round(100 * part / whole, 1)
        extra_width = round(100 * min(extra, whole - part) / whole, 1)
    return format_html(
        '<svg class="share-bar" viewBox="0 0 100 10" preserveAspectRatio="none" '
        'aria-hidden="true" focusable="false">'
        '<rect class="share-bar-track" width="100" height="10"/>'
        '<rect class="share-bar-part" width="{}" height="10"/>'
        '<rect class="share-bar-extra" x="{}" width="{}" height="10"/></svg>',
        part_width,
        part_width,
        extra_width,
    )
