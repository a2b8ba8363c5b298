"""Dates the way residents read them: "zaterdag 5 december, 19:30–21:00", in Amsterdam time."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _local(value: datetime) -> datetime:
    return timezone.localtime(value, AMSTERDAM)


def _day(value: datetime) -> str:
    # Day and month names come from Django's own catalogue ("zaterdag", "december");
    # the year only when it is not this year.
    today = timezone.localtime(timezone.now(), AMSTERDAM).date()
    return date_format(value, "l j F" if value.year == today.year else "l j F Y")


@register.filter
def moment(value: datetime | None) -> str:
    """A single moment: "zaterdag 5 december, 19:30"."""
    if not value:
        return ""
    local = _local(value)
    return f"{_day(local)}, {local:%H:%M}"


@register.filter
def when(gesprek) -> str:
    """Start and end of a gesprek: "zaterdag 5 december, 19:30–21:00"."""
    start, end = _local(gesprek.starts_at), _local(gesprek.ends_at)
    if start.date() == end.date():
        return f"{_day(start)}, {start:%H:%M}–{end:%H:%M}"
    return f"{moment(gesprek.starts_at)} – {moment(gesprek.ends_at)}"


@register.filter
def iso(value: datetime) -> str:
    """For <time datetime="…">: ISO 8601 with the Amsterdam offset."""
    return _local(value).isoformat(timespec="minutes")
