"""Calendar files: valid, in Amsterdam wall time on DST days, stable UID, rising SEQUENCE."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.utils import translation

from gesprekken import ics
from gesprekken.models import Aanmelding, Gesprek
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
S = Aanmelding.Status


def parse(content: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(content)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def gesprek_at(local_start: datetime, hours: float = 2, **fields) -> Gesprek:
    starts_at = local_start.replace(tzinfo=AMSTERDAM).astimezone(UTC)
    return GesprekFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), **fields)


def test_calendar_parses_back_with_one_event_and_amsterdam_timezone():
    gesprek = gesprek_at(datetime(2026, 12, 5, 19, 30), place="Buurthuis De Linde")

    calendar, event = parse(ics.calendar_for(gesprek))

    assert calendar["VERSION"] == "2.0"
    assert calendar["METHOD"] == "PUBLISH"
    assert event["DTSTART"].params["TZID"] == "Europe/Amsterdam"
    assert event["DTEND"].params["TZID"] == "Europe/Amsterdam"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Amsterdam"]
    assert calendar.get_missing_tzids() == set()
    assert event.start == datetime(2026, 12, 5, 19, 30, tzinfo=AMSTERDAM)
    assert event.end == datetime(2026, 12, 5, 21, 30, tzinfo=AMSTERDAM)
    assert event["LOCATION"] == "Buurthuis De Linde"
    assert event["STATUS"] == "CONFIRMED"
    assert "DTSTAMP" in event


@pytest.mark.parametrize(
    ("local_start", "offset_hours"),
    [
        # 29 March 2026: 02:00 CET becomes 03:00 CEST.
        (datetime(2026, 3, 29, 0, 30), 1),
        (datetime(2026, 3, 29, 10, 0), 2),
        (datetime(2026, 3, 29, 19, 30), 2),
        # 25 October 2026: 03:00 CEST becomes 02:00 CET.
        (datetime(2026, 10, 25, 0, 30), 2),
        (datetime(2026, 10, 25, 10, 0), 1),
        (datetime(2026, 10, 25, 19, 30), 1),
    ],
)
def test_wall_time_is_right_on_the_dst_change_days(local_start, offset_hours):
    gesprek = gesprek_at(local_start)

    content = ics.calendar_for(gesprek)
    _, event = parse(content)

    assert f"DTSTART;TZID=Europe/Amsterdam:{local_start:%Y%m%dT%H%M%S}".encode() in content
    assert event.start.replace(tzinfo=None) == local_start
    assert event.start.utcoffset() == timedelta(hours=offset_hours)
    assert event.start == gesprek.starts_at  # the same instant as stored in UTC


def test_an_event_across_the_spring_change_keeps_its_real_length():
    # 01:30 CET to 03:30 CEST is one hour of real time.
    gesprek = gesprek_at(datetime(2026, 3, 29, 1, 30), hours=1)

    _, event = parse(ics.calendar_for(gesprek))

    assert (event.start.hour, event.end.hour) == (1, 3)
    assert event.end.astimezone(UTC) - event.start.astimezone(UTC) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("wall_time", "offset_hours"),
    [
        (datetime(2026, 3, 29, 1, 59), 1),
        (datetime(2026, 3, 29, 3, 0), 2),
        (datetime(2026, 10, 25, 1, 59), 2),
        (datetime(2026, 10, 25, 3, 0), 1),
    ],
)
def test_vtimezone_alone_gives_the_right_offsets_for_clients_without_a_tz_database(
    wall_time, offset_hours
):
    calendar, _ = parse(ics.calendar_for(gesprek_at(datetime(2026, 6, 1, 10, 0))))

    [vtimezone] = calendar.walk("VTIMEZONE")
    # Built from the VTIMEZONE's own rules, not looked up by name.
    tz = vtimezone.to_tz(lookup_tzid=False)

    assert wall_time.replace(tzinfo=tz).utcoffset() == timedelta(hours=offset_hours)


def test_uid_is_stable_and_sequence_rises_when_the_gesprek_changes():
    gesprek = gesprek_at(datetime(2026, 12, 5, 19, 30))
    _, before = parse(ics.calendar_for(gesprek))

    gesprek.starts_at += timedelta(days=1)
    gesprek.ends_at += timedelta(days=1)
    gesprek.place = "Bibliotheek"
    gesprek.sequence += 1
    gesprek.save()
    _, after = parse(ics.calendar_for(gesprek))

    assert before["UID"] == after["UID"] == f"{gesprek.uid}@buurtgesprek"
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.start == before.start + timedelta(days=1)


def test_cancelled_gesprek_gives_a_cancel_with_the_same_uid_and_a_higher_sequence():
    gesprek = gesprek_at(datetime(2026, 12, 5, 19, 30), sequence=2)
    _, published = parse(ics.calendar_for(gesprek))

    gesprek.status = Gesprek.Status.AFGELAST
    gesprek.save()
    calendar, cancelled = parse(ics.calendar_for(gesprek))

    assert calendar["METHOD"] == "CANCEL"
    assert cancelled["STATUS"] == "CANCELLED"
    assert cancelled["UID"] == published["UID"]
    assert int(cancelled["SEQUENCE"]) > int(published["SEQUENCE"])
    assert "ORGANIZER" in cancelled  # iTIP requires it on a CANCEL


def test_calendar_never_holds_the_personal_token_or_manage_link():
    aanmelding = AanmeldingFactory(gesprek=gesprek_at(datetime(2026, 12, 5, 19, 30)))

    content = ics.calendar_for(aanmelding.gesprek, aanmelding=aanmelding)
    unfolded = content.replace(b"\r\n ", b"")

    assert aanmelding.token.encode() not in unfolded
    assert b"/aanmelding/" not in unfolded
    assert f"/gesprek/{aanmelding.gesprek.pk}/".encode() in unfolded


def test_video_link_only_for_a_confirmed_seat():
    gesprek = GesprekFactory(format=Gesprek.Format.ONLINE, video_url="https://meet.example.org/x")
    confirmed = AanmeldingFactory(gesprek=gesprek, status=S.BEVESTIGD)
    waiting = AanmeldingFactory(gesprek=gesprek, status=S.WACHTLIJST, confirmed_at=None)

    def description(**kwargs):
        _, event = parse(ics.calendar_for(gesprek, **kwargs))
        return str(event["DESCRIPTION"]), str(event["LOCATION"])

    text, location = description(aanmelding=confirmed)
    assert "https://meet.example.org/x" in text
    assert "meet.example.org" not in location
    for kwargs in ({"aanmelding": waiting}, {}, {"aanmelding": confirmed, "cancel": True}):
        text, location = description(**kwargs)
        assert "meet.example.org" not in text
        assert "meet.example.org" not in location


@pytest.mark.parametrize(
    ("language", "summary", "location"),
    [
        ("nl", "Buurtgesprek in Wijk C", "Online videogesprek"),
        ("en", "Neighbourhood conversation in Wijk C", "Online video call"),
    ],
)
def test_summary_and_online_location_are_in_the_active_language(language, summary, location):
    gesprek = GesprekFactory(format=Gesprek.Format.ONLINE, buurt__name="Wijk C")

    with translation.override(language):
        _, event = parse(ics.calendar_for(gesprek))

    assert event["SUMMARY"] == summary
    assert event["LOCATION"] == location


def test_text_with_commas_semicolons_and_line_breaks_survives_the_round_trip():
    gesprek = GesprekFactory(
        place="Lindelaan 4; achterom, 2e deur", route="Start bij de kerk\nDan links"
    )

    _, event = parse(ics.calendar_for(gesprek))

    assert event["LOCATION"] == "Lindelaan 4; achterom, 2e deur"
    assert "Start bij de kerk\nDan links" in event["DESCRIPTION"]
