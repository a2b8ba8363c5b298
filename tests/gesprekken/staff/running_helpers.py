"""Helpers for the tests of running a gesprek (check-in, report, flyer, feed, digest).

One gesprek led by cast.facilitator: a table in buurt A on Sunday 11 October 2026,
19:30–21:00 in Amsterdam (17:30–19:00 UTC, summer time).
"""

from datetime import UTC, datetime, timedelta

from tests.gesprekken.factories import GesprekFactory, ThemaFactory

STARTS_AT = datetime(2026, 10, 11, 17, 30, tzinfo=UTC)
ENDS_AT = STARTS_AT + timedelta(hours=1, minutes=30)
# Half an hour before the start, on the day.
ON_THE_DAY = STARTS_AT - timedelta(minutes=30)
# The Thursday before.
BEFORE = datetime(2026, 10, 8, 9, 0, tzinfo=UTC)
AFTER = ENDS_AT + timedelta(hours=1)


def gesprek_led_by(user, buurt, **fields):
    values = {
        "buurt": buurt,
        "facilitator": user,
        "starts_at": STARTS_AT,
        "ends_at": ENDS_AT,
        "place": "Buurthuis De Pijl, Havenstraat 4",
        "street": "Havenstraat",
        "thema": ThemaFactory(name="Wonen en zorg"),
    }
    values.update(fields)
    return GesprekFactory(**values)


def run_task(task, capture):
    """Run a beat task as the worker would: its queued mails go out after commit.
    `capture` is pytest-django's django_capture_on_commit_callbacks."""
    with capture(execute=True):
        return task.delay().get()
