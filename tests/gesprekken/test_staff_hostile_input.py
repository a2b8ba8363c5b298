"""Hostile input on the workspace: far-future dates, a NUL in a buurt code, ids beyond any
row and markup in the report get a clear form error (400) or a 404, never a 500.

The planning horizon (services.PLAN_HORIZON): seen from NOW (Thursday 1 October 2026),
the last day a gesprek can be planned is Saturday 30 September 2028.
"""

from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from gesprekken import emails, ics, services
from gesprekken.models import Bericht, Gesprek, Verslag
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

from .staff.planning import AMSTERDAM, NOW, local, plan_data, plan_fields
from .staff.running_helpers import AFTER, gesprek_led_by

PLAN = reverse("werkruimte:plan")
LATEST = date(2028, 9, 30)
# Beyond any row's id (a signed 64-bit integer), and the probe's number.
TOO_BIG = [str(2**63), str(-(2**63) - 1), "99999999999999999999"]
HUGE_USER_PKS = [2**63, 99999999999999999999]


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def speak(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def in_language(language: str, message: str, **params) -> str:
    """`message` as the page shows it in `language` (Dutch once the catalogue has it)."""
    with translation.override(language):
        formatted = {
            key: date_format(value, "DATE_FORMAT") if isinstance(value, date) else value
            for key, value in params.items()
        }
        return translation.gettext(message) % formatted


HORIZON = "Choose a date from today up to %(latest)s."
SERIES = (
    "With %(weeks)s weeks in a row, the last conversation would be after %(latest)s, "
    "and you cannot plan further ahead. Start on %(first)s at the latest, or choose "
    "fewer weeks."
)


def date_errors(response) -> list[str]:
    assert response.status_code == 400
    assert b'id="error-summary"' in response.content
    return response.context["form"].errors["date"]


# --- 1. the planning horizon ---------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "9998-06-01", "2028-10-01"])
@pytest.mark.parametrize("weeks", ["1", "2", "4"])
def test_a_plan_past_the_horizon_is_a_form_error_on_the_date(client, cast, day, weeks):
    cast.login(speak(client, "en"), cast.facilitator)

    response = client.post(PLAN, plan_data(cast.buurt_a, date=day, weeks=weeks))

    assert date_errors(response) == [
        f"Choose a date from today up to {date_format(LATEST, 'DATE_FORMAT')}."
    ]
    assert not Gesprek.objects.exists()


def test_the_horizon_is_told_in_dutch(client, cast):
    cast.login(speak(client, "nl"), cast.facilitator)

    response = client.post(PLAN, plan_data(cast.buurt_a, date="9999-12-31", weeks="4"))

    assert date_errors(response) == ["Kies een datum van vandaag tot en met 30 september 2028."]
    assert '<html lang="nl"' in response.text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_series_running_past_the_horizon_names_the_last_possible_start(client, cast, language):
    cast.login(speak(client, language), cast.facilitator)
    # Four Sundays from 17 September 2028: the last (8 October) is past the horizon.
    response = client.post(PLAN, plan_data(cast.buurt_a, date="2028-09-17", weeks="4"))

    first = LATEST - timedelta(weeks=3)
    assert date_errors(response) == [
        in_language(language, SERIES, weeks=4, latest=LATEST, first=first)
    ]
    assert not Gesprek.objects.exists()
    if language == "en":
        assert "Start on Sept. 9, 2028 at the latest" in response.text


@pytest.mark.parametrize("day", ["0001-01-01", "2026-09-30"])
def test_a_plan_in_the_past_is_still_told_that_the_moment_has_passed(client, cast, day):
    cast.login(speak(client, "en"), cast.facilitator)

    response = client.post(PLAN, plan_data(cast.buurt_a, date=day, start_time="00:00"))

    assert date_errors(response) == [
        "This moment has passed. Choose a date and time in the future."
    ]
    assert not Gesprek.objects.exists()


def test_a_plan_on_the_last_day_of_the_horizon_is_published(client, cast):
    cast.login(client, cast.facilitator)

    response = client.post(PLAN, plan_data(cast.buurt_a, date=LATEST.isoformat()))

    gesprek = Gesprek.objects.get()
    assert response.status_code == 302
    assert gesprek.status == Gesprek.Status.GEPLAND
    assert gesprek.starts_at == local(2028, 9, 30, 19, 30)


def test_a_weekly_series_ending_on_the_last_day_of_the_horizon_is_planned(client, cast):
    cast.login(client, cast.facilitator)
    first = LATEST - timedelta(weeks=3)

    response = client.post(PLAN, plan_data(cast.buurt_a, date=first.isoformat(), weeks="4"))

    assert response.status_code == 302
    starts = [
        g.starts_at.astimezone(AMSTERDAM).date() for g in Gesprek.objects.order_by("starts_at")
    ]
    assert starts == [first + timedelta(weeks=week) for week in range(4)]


def test_a_short_series_soon_is_still_planned(client, cast):
    cast.login(client, cast.facilitator)

    response = client.post(PLAN, plan_data(cast.buurt_a, weeks="2"))

    assert response.status_code == 302
    assert Gesprek.objects.count() == 2


def test_the_service_keeps_the_horizon_for_callers_without_the_form(cast):
    # The form checks first; the use case checks again, before it counts any weeks on.
    fields = plan_fields(
        cast.buurt_a, starts_at=local(9999, 12, 31, 19, 30), ends_at=local(9999, 12, 31, 21, 0)
    )
    for weeks in (1, 2, 8):
        with pytest.raises(ValidationError) as caught:
            services.plan_series(
                facilitator_user=cast.facilitator, weeks=weeks, publish=True, **fields
            )
        assert list(caught.value.message_dict) == ["starts_at"]
    assert not Gesprek.objects.exists()


@pytest.fixture
def planned(cast):
    return gesprek_led_by(
        cast.facilitator,
        cast.buurt_a,
        starts_at=datetime(2026, 10, 11, 17, 30, tzinfo=UTC),
        ends_at=datetime(2026, 10, 11, 19, 0, tzinfo=UTC),
        thema=None,
    )


def edit_data(cast, **overrides):
    data = plan_data(cast.buurt_a, **overrides)
    for field in ("buurt", "weeks", "action"):
        data.pop(field)
    return data


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("day", ["9999-12-31", "2028-10-01"])
def test_moving_a_gesprek_past_the_horizon_is_a_form_error_on_the_date(
    client, cast, planned, language, day
):
    cast.login(speak(client, language), cast.facilitator)

    response = client.post(reverse("werkruimte:edit", args=[planned.pk]), edit_data(cast, date=day))

    assert date_errors(response) == [in_language(language, HORIZON, latest=LATEST)]
    planned.refresh_from_db()
    assert planned.starts_at == datetime(2026, 10, 11, 17, 30, tzinfo=UTC)


def test_a_gesprek_moved_within_the_horizon_is_saved(client, cast, planned):
    cast.login(client, cast.facilitator)

    response = client.post(
        reverse("werkruimte:edit", args=[planned.pk]), edit_data(cast, date=LATEST.isoformat())
    )

    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.starts_at == local(2028, 9, 30, 19, 30)


# A row written before the horizon existed (or around the services), far in the future.
FAR = datetime(9998, 6, 1, 17, 30, tzinfo=UTC)
# The latest gesprek the form could make before the horizon: on 31 December 9999, ending
# at 23:59 in Amsterdam (22:59 UTC).
LAST_POSSIBLE = datetime(9999, 12, 31, 22, 0, tzinfo=UTC)
LENGTH = timedelta(minutes=59)


@pytest.fixture
def far(cast):
    return gesprek_led_by(
        cast.facilitator, cast.buurt_a, starts_at=FAR, ends_at=FAR + timedelta(hours=2)
    )


def test_an_old_far_future_row_keeps_its_date_when_only_the_place_changes(client, cast, far):
    cast.login(client, cast.facilitator)
    data = edit_data(cast, date="9998-06-01", start_time="19:30", end_time="21:30")

    response = client.post(
        reverse("werkruimte:edit", args=[far.pk]), {**data, "place": "Buurthuis Elders"}
    )

    assert response.status_code == 302
    far.refresh_from_db()
    assert (far.place, far.starts_at) == ("Buurthuis Elders", FAR)


def feed(client, user):
    url = reverse("uitvoering:feed", args=[user.pk, user.facilitator.calendar_token])
    response = client.get(url)
    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.get_missing_tzids() == set()
    return {str(event["UID"]) for event in calendar.walk("VEVENT")}


@pytest.mark.parametrize("starts_at", [FAR, LAST_POSSIBLE])
def test_a_far_future_row_does_not_break_the_facilitators_feed(client, cast, starts_at):
    soon = gesprek_led_by(cast.facilitator, cast.buurt_a)
    far = gesprek_led_by(
        cast.facilitator,
        cast.buurt_a,
        starts_at=starts_at,
        ends_at=starts_at + LENGTH,
    )

    assert feed(client, cast.facilitator) == {ics.uid_for(soon), ics.uid_for(far)}


@pytest.mark.parametrize("starts_at", [FAR, LAST_POSSIBLE])
def test_a_far_future_row_does_not_break_the_residents_calendar_file(client, db, starts_at):
    gesprek = GesprekFactory(starts_at=starts_at, ends_at=starts_at + LENGTH)
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    response = client.get(reverse("gesprekken:ics", args=[aanmelding.pk, aanmelding.token]))

    assert response.status_code == 200
    calendar = icalendar.Calendar.from_ical(response.content)
    assert calendar.get_missing_tzids() == set()
    [event] = calendar.walk("VEVENT")
    assert event.start == starts_at


def test_calling_off_a_far_future_row_renders_its_mail(cast, far):
    aanmelding = AanmeldingFactory(gesprek=far)

    services.cancel_gesprek(gesprek=far)

    bericht = Bericht.objects.get(kind="afgelast", aanmelding=aanmelding)
    message = emails.render(bericht)
    [calendar] = [
        part
        for part in message.attachments
        if not isinstance(part, tuple) and part.get_content_type() == "text/calendar"
    ]
    assert calendar.get_param("method") == "CANCEL"
    assert b"DTSTART;TZID=Europe/Amsterdam:99980601T193000" in calendar.get_payload(decode=True)


# --- 2. a buurt code that cannot be one ----------------------------------------------------


@pytest.mark.parametrize(
    "code", ["", "BU", "bu91010000", "BU9101000", "BU91010000x", "BU9101\u00000000", "x" * 5000]
)
def test_a_buurt_that_is_no_buurt_code_is_a_404(client, cast, code):
    cast.login(client, cast.facilitator)
    assert client.get(PLAN, {"buurt": code}).status_code == 404


def test_a_served_buurt_code_still_prefills_the_plan(client, cast):
    cast.login(client, cast.facilitator)
    response = client.get(PLAN, {"buurt": cast.buurt_a.code})
    assert response.status_code == 200
    assert response.context["form"]["buurt"].value() == cast.buurt_a.code


@pytest.mark.postgres
def test_a_nul_in_the_buurt_or_the_search_never_reaches_postgresql(client, cast):
    cast.login(client, cast.facilitator)

    assert client.get(f"{PLAN}?buurt=a%00b").status_code == 404
    assert client.post(f"{PLAN}?buurt=a%00b", plan_data(cast.buurt_a)).status_code == 404
    assert client.get(f"{PLAN}?buurt={cast.buurt_a.code}%00").status_code == 404
    assert client.get(f"{PLAN}?q=a%00b").status_code == 200
    posted = client.post(PLAN, plan_data(cast.buurt_a, buurt="a\x00b"))
    assert posted.status_code == 400
    assert "buurt" in posted.context["form"].errors
    assert not Gesprek.objects.exists()


# --- 3. ids beyond any row -----------------------------------------------------------------


@pytest.fixture
def held(cast, time_machine):
    """A gesprek of the facilitator that has taken place: its report can be written."""
    gesprek = gesprek_led_by(cast.facilitator, cast.buurt_a)
    time_machine.move_to(AFTER, tick=False)
    return gesprek


def report_url(gesprek):
    return reverse("uitvoering:report", args=[gesprek.pk])


REPORT = {"attendance": "5", "outcome": "Een opruimdag in het voorjaar."}


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("theme", [*TOO_BIG, str(2**63 - 1), "abc", "9" * 5000])
def test_a_theme_id_beyond_any_row_is_a_form_error(client, cast, held, language, theme):
    cast.login(speak(client, language), cast.facilitator)

    response = client.post(report_url(held), {**REPORT, "themes": [held.thema.pk, theme]})

    assert response.status_code == 400
    assert response.context["form"].errors["themes"] == [
        in_language(language, "Choose a theme from the list.")
    ]
    if language == "nl":
        assert "Kies een thema uit de lijst." in response.text
    assert not Verslag.objects.exists()


def test_the_report_still_saves_with_a_real_theme(client, cast, held):
    cast.login(client, cast.facilitator)

    response = client.post(report_url(held), {**REPORT, "themes": [held.thema.pk]})

    assert response.status_code == 302
    assert list(Verslag.objects.get().themes.all()) == [held.thema]


@pytest.mark.parametrize("user_pk", HUGE_USER_PKS)
def test_a_feed_for_a_user_id_beyond_any_row_is_a_404(client, cast, user_pk):
    url = reverse("uitvoering:feed", args=[user_pk, cast.facilitator.facilitator.calendar_token])
    assert client.get(url).status_code == 404
    assert client.get(f"/werkruimte/agenda/{user_pk}/x.ics").status_code == 404


def test_the_largest_possible_user_id_is_just_not_found(client, db):
    assert client.get(f"/werkruimte/agenda/{2**63 - 1}/x.ics").status_code == 404


@pytest.mark.parametrize("pk", HUGE_USER_PKS)
def test_other_workspace_addresses_with_an_id_beyond_any_row_are_a_404(client, cast, held, pk):
    cast.login(client, cast.facilitator)
    for url in (
        f"/werkruimte/gesprek/{pk}/",
        f"/werkruimte/gesprek/{pk}/verslag/",
        f"/werkruimte/gesprek/{pk}/inchecken/",
        f"/werkruimte/gesprek/{pk}/wijzigen/",
    ):
        assert client.get(url).status_code == 404, url
    mark = reverse("uitvoering:mark", args=[held.pk, 1]).replace("/1/", f"/{pk}/")
    assert client.post(mark, {"present": "1"}).status_code == 404


# --- 4. the report is plain text -----------------------------------------------------------

NO_MARKUP = ("Leave out HTML: plain text only.", "Laat HTML weg: alleen gewone tekst.")
PLAIN = (
    "Use plain text, without special characters.",
    "Gebruik gewone tekst, zonder speciale tekens.",
)


@pytest.mark.parametrize("field", ["outcome", "follow_up", "themes_text"])
@pytest.mark.parametrize(
    "text, messages",
    [
        ('<script>alert("x")</script>', NO_MARKUP),
        ("Een <b>vette</b> opruimdag", NO_MARKUP),
        ("Opruimdag <!-- verborgen -->", NO_MARKUP),
        ("Opruimdag\x07 in het voorjaar", PLAIN),
        ("Opruimdag\x1b[31m rood", PLAIN),
        ("Opruimdag\tin het voorjaar", PLAIN),
        ("Opruimdag\x00", PLAIN),
        ("Opruimdag \u202egaaj", PLAIN),
        ("Opruimdag\u2028in het voorjaar", PLAIN),
    ],
)
@pytest.mark.parametrize("language", ["nl", "en"])
def test_markup_and_control_characters_in_the_report_are_refused_as_in_a_route(
    client, cast, held, field, text, messages, language
):
    cast.login(speak(client, language), cast.facilitator)

    response = client.post(report_url(held), {**REPORT, field: text})

    assert response.status_code == 400
    english, dutch = messages
    assert response.context["form"].errors[field] == [english if language == "en" else dutch]
    assert b"<script>alert" not in response.content
    assert not Verslag.objects.exists()


def test_the_route_refuses_the_same_input_with_the_same_messages(client, cast):
    cast.login(speak(client, "en"), cast.facilitator)
    for text, (message, _dutch) in [("<b>x</b>", NO_MARKUP), ("a\x07b", PLAIN)]:
        response = client.post(
            PLAN, plan_data(cast.buurt_a, format="wandeling", route=text, weeks="1")
        )
        assert response.context["form"].errors["route"] == [message]


def test_a_report_of_several_lines_is_saved_with_plain_line_breaks(client, cast, held):
    cast.login(client, cast.facilitator)

    response = client.post(
        report_url(held),
        {
            **REPORT,
            "outcome": "Een opruimdag.\r\nEen buurtapp.\rEen bankje, 3 > 2.",
            "follow_up": "  De gemeente bellen.\n",
        },
    )

    assert response.status_code == 302
    verslag = Verslag.objects.get()
    assert verslag.outcome == "Een opruimdag.\nEen buurtapp.\nEen bankje, 3 > 2."
    assert verslag.follow_up == "De gemeente bellen."
