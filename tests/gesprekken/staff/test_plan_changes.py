"""Changing, calling off and publishing a planned gesprek from the workspace: every
registered resident is told once, with a calendar entry whose SEQUENCE rose."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from gesprekken import emails, services
from gesprekken.models import Aanmelding, Bericht, Gesprek

from .planning import NOW, plan_data, plan_fields


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def planned(cast):
    """A published table in buurt A (max 2) with two confirmed residents and one waiting."""
    gesprek = services.plan_gesprek(
        facilitator_user=cast.facilitator,
        publish=True,
        **plan_fields(cast.buurt_a, max_participants=2, min_participants=2),
    )
    for name in ("Anna", "Bram"):
        aanmelding = services.sign_up(
            gesprek=gesprek,
            name=name,
            email=f"{name.lower()}@example.org",
            postcode="9101 AB",
            language="nl",
        )
        services.confirm(aanmelding=aanmelding)
    services.sign_up(
        gesprek=gesprek, name="Cor", email="cor@example.org", postcode="9101 AB", language="nl"
    )
    gesprek.refresh_from_db()
    return gesprek


def edit_data(cast, **overrides):
    data = plan_data(cast.buurt_a, min_participants="2", max_participants="2", **overrides)
    for field in ("buurt", "weeks", "action"):
        data.pop(field)
    return data


def kinds(kind: str) -> list[str]:
    return sorted(Bericht.objects.filter(kind=kind).values_list("to", flat=True))


RESIDENTS = ["anna@example.org", "bram@example.org", "cor@example.org"]


def test_moving_to_online_tells_each_resident_once_with_a_new_sequence(client, cast, planned):
    cast.login(client, cast.facilitator)
    url = reverse("werkruimte:edit", args=[planned.pk])
    data = edit_data(cast, format="online", video_url="https://meet.example.nl/buurt")
    response = client.post(url, data)
    assert response.status_code == 302
    planned.refresh_from_db()
    assert (planned.format, planned.place, planned.sequence) == (
        "online",
        "",
        1,
    )
    assert kinds("gewijzigd") == RESIDENTS
    # Saving the same values again tells nobody anything new.
    client.post(url, data)
    planned.refresh_from_db()
    assert planned.sequence == 1
    assert kinds("gewijzigd") == RESIDENTS


def test_the_changed_mail_carries_the_calendar_entry_with_the_new_sequence(client, cast, planned):
    cast.login(client, cast.facilitator)
    client.post(
        reverse("werkruimte:edit", args=[planned.pk]),
        edit_data(cast, start_time="20:00", end_time="21:30"),
    )
    planned.refresh_from_db()
    assert planned.starts_at == datetime(2026, 10, 11, 18, 0, tzinfo=UTC)
    bericht = Bericht.objects.get(kind="gewijzigd", to="anna@example.org")
    message = emails.render(bericht)
    (calendar,) = [
        part
        for part in message.attachments
        if not isinstance(part, tuple) and part.get_content_type() == "text/calendar"
    ]
    content = calendar.get_payload(decode=True).decode()
    assert "SEQUENCE:1" in content
    assert f"{planned.uid}" in content


def test_a_second_change_mails_again_with_the_next_sequence(cast, planned):
    services.replan_gesprek(gesprek=planned, facilitator_user=cast.facilitator, place="Bibliotheek")
    services.replan_gesprek(
        gesprek=planned, facilitator_user=cast.facilitator, place="Buurthuis Oost"
    )
    assert planned.sequence == 2
    assert Bericht.objects.filter(kind="gewijzigd").count() == 2 * len(RESIDENTS)


def test_changing_only_the_theme_or_size_tells_nobody(cast, planned):
    services.replan_gesprek(
        gesprek=planned, facilitator_user=cast.facilitator, accessibility_notes="Rolstoel ok"
    )
    assert planned.sequence == 0
    assert kinds("gewijzigd") == []


def test_a_change_is_checked_with_the_planning_rules(client, cast, planned):
    cast.login(client, cast.facilitator)
    response = client.post(
        reverse("werkruimte:edit", args=[planned.pk]),
        edit_data(cast, date="2026-09-01", end_time="18:00", format="wandeling", place=""),
    )
    assert response.status_code == 400
    assert {"date", "end_time", "place"} <= set(response.context["form"].errors)
    planned.refresh_from_db()
    assert planned.sequence == 0
    assert kinds("gewijzigd") == []


def test_the_co_facilitator_may_change_it_too(client, cast, planned):
    planned.co_facilitator = cast.co_facilitator
    planned.save()
    cast.login(client, cast.co_facilitator)
    response = client.post(
        reverse("werkruimte:edit", args=[planned.pk]),
        edit_data(cast, place="Bibliotheek", co_facilitator=str(cast.co_facilitator.pk)),
    )
    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.place == "Bibliotheek"


def test_the_edit_form_starts_from_the_stored_values_in_amsterdam_time(client, cast, planned):
    cast.login(client, cast.facilitator)
    form = client.get(reverse("werkruimte:edit", args=[planned.pk])).context["form"]
    assert form["start_time"].value().strftime("%H:%M") == "19:30"
    assert form["place"].value() == "Buurthuis De Pijl, Havenstraat 4"


def test_calling_off_asks_first_then_tells_each_resident_once(client, cast, planned):
    cast.login(client, cast.facilitator)
    url = reverse("werkruimte:cancel", args=[planned.pk])
    confirm_page = client.get(url)
    assert confirm_page.status_code == 200
    assert confirm_page.context["informed"] == 3
    planned.refresh_from_db()
    assert planned.status == Gesprek.Status.GEPLAND

    assert client.post(url).status_code == 302
    planned.refresh_from_db()
    assert planned.status == Gesprek.Status.AFGELAST
    assert kinds("afgelast") == RESIDENTS
    # A second post (double click) tells nobody again.
    client.post(url)
    assert kinds("afgelast") == RESIDENTS


def test_a_called_off_gesprek_can_no_longer_change(client, cast, planned):
    services.cancel_gesprek(gesprek=planned)
    cast.login(client, cast.facilitator)
    response = client.post(
        reverse("werkruimte:edit", args=[planned.pk]), edit_data(cast, place="Elders")
    )
    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.place != "Elders"


def test_publishing_a_draft_from_the_workspace(client, cast):
    draft = services.plan_gesprek(
        facilitator_user=cast.facilitator, publish=False, **plan_fields(cast.buurt_a)
    )
    cast.login(client, cast.facilitator)
    assert client.get(reverse("werkruimte:publish", args=[draft.pk])).status_code == 405
    response = client.post(reverse("werkruimte:publish", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Gesprek.Status.GEPLAND


def test_a_draft_whose_time_has_passed_is_not_published(client, cast, time_machine):
    draft = services.plan_gesprek(
        facilitator_user=cast.facilitator, publish=False, **plan_fields(cast.buurt_a)
    )
    time_machine.move_to(datetime(2026, 10, 11, 18, 0, tzinfo=UTC), tick=False)
    cast.login(client, cast.facilitator)
    client.post(reverse("werkruimte:publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.status == Gesprek.Status.CONCEPT


def test_registrations_keep_their_status_when_called_off(cast, planned):
    services.cancel_gesprek(gesprek=planned)
    assert set(planned.aanmeldingen.values_list("status", flat=True)) == {
        Aanmelding.Status.BEVESTIGD,
        Aanmelding.Status.WACHTLIJST,
    }
