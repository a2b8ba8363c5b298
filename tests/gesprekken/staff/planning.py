"""Helpers for the workspace tests: a frozen clock before the 2026 autumn DST change,
plan-form data and the service fields of a valid plan."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A Thursday, ten days before the first gesprek of the test plans.
NOW = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)


def plan_fields(buurt, /, **overrides) -> dict:
    """Keyword arguments for services.plan_gesprek: a table on Sunday 11 October 2026."""
    fields = {
        "format": "tafel",
        "buurt": buurt,
        "street": "Havenstraat",
        "place": "Buurthuis De Pijl, Havenstraat 4",
        "route": "",
        "video_url": "",
        "starts_at": local(2026, 10, 11, 19, 30),
        "ends_at": local(2026, 10, 11, 21, 0),
        "min_participants": 4,
        "max_participants": 10,
        "co_facilitator": None,
        "thema": None,
        "language": "nl",
        "accessibility_notes": "",
    }
    fields.update(overrides)
    return fields


def plan_data(buurt, /, **overrides) -> dict[str, str]:
    """POST data of the plan form, for the same table; None drops a field."""
    data = {
        "format": "tafel",
        "buurt": buurt.code if buurt is not None else "",
        "street": "Havenstraat",
        "place": "Buurthuis De Pijl, Havenstraat 4",
        "route": "",
        "video_url": "",
        "date": "2026-10-11",
        "start_time": "19:30",
        "end_time": "21:00",
        "min_participants": "4",
        "max_participants": "10",
        "co_facilitator": "",
        "thema": "",
        "language": "nl",
        "accessibility_notes": "",
        "weeks": "1",
        "action": "publish",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
