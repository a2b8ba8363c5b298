"""Planning a gesprek: the rules of services.plan_gesprek / plan_series, and the plan form."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from gesprekken import services
from gesprekken.models import Bericht, Gesprek, Interesse
from tests.gemeenten.factories import BuurtFactory, WijkFactory
from tests.gesprekken.factories import GesprekFactory, InteresseFactory, ThemaFactory

from .planning import AMSTERDAM, NOW, local, plan_data, plan_fields

PLAN = reverse("werkruimte:plan")


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def refused(fields: dict, cast, **kwargs) -> dict[str, list[str]]:
    """The errors plan_gesprek raises, by field; nothing may have been saved."""
    with pytest.raises(ValidationError) as caught:
        services.plan_gesprek(
            facilitator_user=kwargs.pop("user", cast.facilitator), publish=True, **fields
        )
    assert Gesprek.objects.count() == 0
    return caught.value.message_dict


# --- the service ---------------------------------------------------------------------------


def test_plan_gesprek_saves_a_draft_led_by_the_facilitator(cast):
    gesprek = services.plan_gesprek(
        facilitator_user=cast.facilitator, publish=False, **plan_fields(cast.buurt_a)
    )
    gesprek.refresh_from_db()
    assert gesprek.status == Gesprek.Status.CONCEPT
    assert gesprek.facilitator == cast.facilitator
    assert gesprek.starts_at == datetime(2026, 10, 11, 17, 30, tzinfo=UTC)
    assert gesprek.place == "Buurthuis De Pijl, Havenstraat 4"


def test_plan_gesprek_refuses_an_end_before_the_start(cast):
    errors = refused(plan_fields(cast.buurt_a, ends_at=local(2026, 10, 11, 19, 0)), cast)
    assert list(errors) == ["ends_at"]


def test_plan_gesprek_refuses_an_end_equal_to_the_start(cast):
    errors = refused(plan_fields(cast.buurt_a, ends_at=local(2026, 10, 11, 19, 30)), cast)
    assert list(errors) == ["ends_at"]


def test_plan_gesprek_refuses_a_start_in_the_past(cast):
    errors = refused(
        plan_fields(
            cast.buurt_a, starts_at=local(2026, 9, 30, 19, 30), ends_at=local(2026, 9, 30, 21, 0)
        ),
        cast,
    )
    assert list(errors) == ["starts_at"]


def test_plan_gesprek_refuses_a_minimum_above_the_maximum(cast):
    errors = refused(plan_fields(cast.buurt_a, min_participants=8, max_participants=6), cast)
    assert list(errors) == ["max_participants"]


def test_plan_gesprek_accepts_a_minimum_equal_to_the_maximum(cast):
    services.plan_gesprek(
        facilitator_user=cast.facilitator,
        publish=False,
        **plan_fields(cast.buurt_a, min_participants=6, max_participants=6),
    )
    assert Gesprek.objects.count() == 1


def test_plan_gesprek_refuses_a_buurt_in_another_gemeente(cast):
    errors = refused(plan_fields(cast.buurt_b), cast)
    assert list(errors) == ["buurt"]


def test_plan_gesprek_refuses_a_user_without_gemeenten(cast):
    # A coordinator of gemeente A is not a facilitator there.
    errors = refused(plan_fields(cast.buurt_a), cast, user=cast.coordinator)
    assert "buurt" in errors


def test_a_walk_needs_a_meeting_point(cast):
    errors = refused(plan_fields(cast.buurt_a, format="wandeling", place="   "), cast)
    assert list(errors) == ["place"]


def test_an_online_gesprek_needs_a_video_link(cast):
    errors = refused(plan_fields(cast.buurt_a, format="online", place=""), cast)
    assert list(errors) == ["video_url"]


def test_an_online_gesprek_keeps_no_address_and_a_table_no_link_or_route(cast):
    online = services.plan_gesprek(
        facilitator_user=cast.facilitator,
        publish=False,
        **plan_fields(cast.buurt_a, format="online", video_url="https://meet.example.nl/a"),
    )
    table = services.plan_gesprek(
        facilitator_user=cast.facilitator,
        publish=False,
        **plan_fields(cast.buurt_a, route="Langs de haven", video_url="https://meet.example.nl/b"),
    )
    assert (online.place, online.video_url) == ("", "https://meet.example.nl/a")
    assert (table.route, table.video_url) == ("", "")


def test_the_co_facilitator_must_serve_the_gemeente(cast):
    errors = refused(plan_fields(cast.buurt_a, co_facilitator=cast.outsider_facilitator), cast)
    assert list(errors) == ["co_facilitator"]
    errors = refused(plan_fields(cast.buurt_a, co_facilitator=cast.facilitator), cast)
    assert list(errors) == ["co_facilitator"]


def test_a_retired_theme_is_refused(cast):
    errors = refused(plan_fields(cast.buurt_a, thema=ThemaFactory(active=False)), cast)
    assert list(errors) == ["thema"]


def test_every_problem_is_reported_at_once(cast):
    errors = refused(
        plan_fields(
            cast.buurt_b,
            format="wandeling",
            place="",
            starts_at=local(2026, 9, 1, 20, 0),
            ends_at=local(2026, 9, 1, 19, 0),
            min_participants=9,
            max_participants=5,
        ),
        cast,
    )
    assert set(errors) == {"buurt", "place", "starts_at", "ends_at", "max_participants"}


def test_series_of_four_weeks_keeps_the_wall_time_across_the_dst_change(cast):
    planned = services.plan_series(
        facilitator_user=cast.facilitator, weeks=4, publish=True, **plan_fields(cast.buurt_a)
    )
    starts = [g.starts_at.astimezone(AMSTERDAM) for g in planned]
    assert [(s.date().isoformat(), s.strftime("%H:%M")) for s in starts] == [
        ("2026-10-11", "19:30"),
        ("2026-10-18", "19:30"),
        ("2026-10-25", "19:30"),  # the first Sunday of winter time
        ("2026-11-01", "19:30"),
    ]
    # In UTC the clock moved an hour.
    assert [g.starts_at.astimezone(UTC).hour for g in planned] == [17, 17, 18, 18]
    assert [g.ends_at.astimezone(AMSTERDAM).strftime("%H:%M") for g in planned] == ["21:00"] * 4
    assert {g.status for g in planned} == {Gesprek.Status.GEPLAND}
    assert len({g.uid for g in planned}) == 4


@pytest.mark.parametrize("weeks", [0, 9, -1])
def test_a_series_is_one_to_eight_weeks(cast, weeks):
    with pytest.raises(ValidationError) as caught:
        services.plan_series(
            facilitator_user=cast.facilitator,
            weeks=weeks,
            publish=False,
            **plan_fields(cast.buurt_a),
        )
    assert list(caught.value.message_dict) == ["weeks"]
    assert not Gesprek.objects.exists()


def test_publishing_a_series_invites_each_interested_resident_once(cast):
    neighbour_buurt = cast.buurten_a[1]  # same wijk
    asked_here = InteresseFactory(buurt=cast.buurt_a, confirmed=True)
    asked_nearby = InteresseFactory(buurt=neighbour_buurt, confirmed=True)
    unconfirmed = InteresseFactory(buurt=cast.buurt_a)
    elsewhere = InteresseFactory(buurt=cast.buurt_b, confirmed=True)

    planned = services.plan_series(
        facilitator_user=cast.facilitator, weeks=3, publish=True, **plan_fields(cast.buurt_a)
    )
    services.publish(gesprek=planned[1])  # publishing again invites nobody twice

    invitations = Bericht.objects.filter(kind="uitnodiging")
    assert sorted(invitations.values_list("to", flat=True)) == sorted(
        [asked_here.email, asked_nearby.email]
    )
    for interesse in (asked_here, asked_nearby):
        interesse.refresh_from_db()
        assert interesse.invited_to == planned[0]
    assert not Interesse.objects.filter(
        pk__in=[unconfirmed.pk, elsewhere.pk], invited_at__isnull=False
    ).exists()


def test_a_draft_invites_nobody_until_it_is_published(cast):
    InteresseFactory(buurt=cast.buurt_a, confirmed=True)
    gesprek = services.plan_gesprek(
        facilitator_user=cast.facilitator, publish=False, **plan_fields(cast.buurt_a)
    )
    assert not Bericht.objects.filter(kind="uitnodiging").exists()
    services.publish(gesprek=gesprek)
    assert Bericht.objects.filter(kind="uitnodiging").count() == 1


# --- the form ------------------------------------------------------------------------------


def test_the_plan_form_publishes_and_shows_the_gesprek(client, cast):
    cast.login(client, cast.facilitator)
    response = client.post(PLAN, plan_data(cast.buurt_a))
    gesprek = Gesprek.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("werkruimte:gesprek", args=[gesprek.pk])
    assert gesprek.status == Gesprek.Status.GEPLAND
    assert gesprek.starts_at == datetime(2026, 10, 11, 17, 30, tzinfo=UTC)
    assert gesprek.facilitator == cast.facilitator


def test_the_plan_form_saves_a_draft(client, cast):
    cast.login(client, cast.facilitator)
    client.post(PLAN, plan_data(cast.buurt_a, action="concept"))
    assert Gesprek.objects.get().status == Gesprek.Status.CONCEPT


def test_the_plan_form_plans_a_walk_with_co_facilitator_and_theme(client, cast):
    thema = ThemaFactory(name="Wonen")
    cast.login(client, cast.facilitator)
    response = client.post(
        PLAN,
        plan_data(
            cast.buurt_a,
            format="wandeling",
            place="Bij de molen",
            route="Langs de haven\r\nterug over de dijk",
            co_facilitator=str(cast.co_facilitator.pk),
            thema=str(thema.pk),
            language="en",
            accessibility_notes="Bankjes onderweg",
            weeks="4",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("werkruimte:home")
    planned = list(Gesprek.objects.order_by("starts_at"))
    assert len(planned) == 4
    walk = planned[0]
    assert walk.route == "Langs de haven\nterug over de dijk"
    assert (walk.co_facilitator, walk.thema, walk.language) == (cast.co_facilitator, thema, "en")


def test_the_plan_form_refuses_a_buurt_of_another_gemeente(client, cast):
    cast.login(client, cast.facilitator)
    response = client.post(PLAN, plan_data(cast.buurt_b))
    assert response.status_code == 400
    assert "buurt" in response.context["form"].errors
    assert not Gesprek.objects.exists()


def test_the_plan_form_shows_service_errors_on_the_fields(client, cast):
    cast.login(client, cast.facilitator)
    response = client.post(
        PLAN,
        plan_data(
            cast.buurt_a,
            end_time="19:00",
            min_participants="9",
            max_participants="5",
            date="2026-09-30",
            format="online",
        ),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"end_time", "max_participants", "date", "video_url"} <= set(errors)
    assert b'id="error-summary"' in response.content
    assert not Gesprek.objects.exists()


def test_the_co_facilitator_list_offers_only_facilitators_of_the_gemeente(client, cast):
    cast.login(client, cast.facilitator)
    response = client.get(PLAN)
    choices = {user.pk for user in response.context["form"].fields["co_facilitator"].queryset}
    assert choices == {cast.co_facilitator.pk}


def test_buurten_are_grouped_per_wijk_and_can_be_searched(client, cast):
    other_wijk = WijkFactory(gemeente=cast.gemeente_a, name="Wijk Noord")
    BuurtFactory(wijk=other_wijk, name="Molenbuurt")
    cast.login(client, cast.facilitator)
    page = client.get(PLAN).content.decode()
    assert f'<optgroup label="{cast.wijk_a.name}">' in page
    assert '<optgroup label="Wijk Noord">' in page
    assert cast.buurt_b.name not in page
    searched = client.get(PLAN, {"gemeente": cast.gemeente_a.code, "q": "molen"}).content.decode()
    assert "Molenbuurt" in searched
    assert cast.buurt_a.name not in searched


def test_serving_several_gemeenten_asks_which_first(client, cast):
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    cast.login(client, cast.facilitator)
    first = client.get(PLAN)
    assert [t.name for t in first.templates][0] == "werkruimte/plan_gemeente.html"
    second = client.get(PLAN, {"gemeente": cast.gemeente_b.code})
    assert second.context["gemeente"] == cast.gemeente_b
    assert cast.buurt_b.name in second.content.decode()


def test_plan_here_prefills_the_buurt(client, cast):
    buurt = cast.buurten_a[1]
    cast.login(client, cast.facilitator)
    response = client.get(PLAN, {"buurt": buurt.code})
    assert response.context["form"]["buurt"].value() == buurt.code
    assert f'<option value="{buurt.code}" selected>' in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [{"buurt": "BU91020000"}, {"buurt": "nonsense"}, {"gemeente": "GM9102"}, {"gemeente": "x"}],
)
def test_a_buurt_or_gemeente_outside_the_served_ones_is_a_404(client, cast, params):
    params = {k: v.replace("BU91020000", cast.buurt_b.code) for k, v in params.items()}
    cast.login(client, cast.facilitator)
    assert client.get(PLAN, params).status_code == 404
    assert (
        client.post(f"{PLAN}?{'&'.join(f'{k}={v}' for k, v in params.items())}").status_code == 404
    )


def test_choosing_no_gemeente_in_step_one_asks_again(client, cast):
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    cast.login(client, cast.facilitator)
    response = client.get(PLAN, {"gemeente": ""})
    assert response.status_code == 200
    assert "gemeente" in response.context["search"].errors


def test_a_facilitator_without_gemeenten_is_told_to_ask_the_coordinator(client, cast):
    cast.facilitator.facilitator.gemeenten.clear()
    cast.login(client, cast.facilitator)
    response = client.get(PLAN)
    assert response.status_code == 200
    assert response.context["gemeenten"] == []


# --- hostile input -------------------------------------------------------------------------

LONG = "x" * 10_000
HTML = '<script>alert("x")</script><b>vet</b>'


@pytest.mark.parametrize(
    "field, value",
    [
        ("street", LONG),
        ("street", HTML),
        ("street", "Havenstraat\r\nBcc: iedereen@example.org"),
        ("place", LONG),
        ("place", HTML),
        ("place", "Buurthuis\r\n"),
        ("place", "Buurthuis\x00"),
        ("route", LONG),
        ("route", HTML),
        ("video_url", LONG),
        ("video_url", "javascript:alert(1)"),
        ("accessibility_notes", LONG),
        ("accessibility_notes", HTML),
        ("accessibility_notes", "drempel\r\nvrij"),
        ("date", LONG),
        ("date", "31-31-2026"),
        ("start_time", "25:99"),
        ("end_time", HTML),
        ("min_participants", "-1"),
        ("min_participants", LONG),
        ("max_participants", "1e9"),
        ("max_participants", "999"),
        ("buurt", LONG),
        ("buurt", HTML),
        ("buurt", "BU00000000"),
        ("format", "bus"),
        ("co_facilitator", "999999"),
        ("co_facilitator", "abc"),
        ("thema", "-5"),
        ("language", "xx"),
        ("weeks", "9"),
        ("weeks", "0"),
        ("weeks", LONG),
    ],
)
def test_hostile_input_on_the_plan_form_gets_a_clear_message_and_saves_nothing(
    client, cast, field, value
):
    cast.login(client, cast.facilitator)
    response = client.post(PLAN, plan_data(cast.buurt_a, **{field: value}))
    assert response.status_code == 400
    form = response.context["form"]
    message = " ".join(form.errors.get(field, []) + form.non_field_errors())
    assert message.strip(), f"no message for {field}"
    assert b'id="error-summary"' in response.content
    assert b"<script>alert" not in response.content
    assert not Gesprek.objects.exists()


def test_an_empty_plan_form_names_every_missing_field(client, cast):
    cast.login(client, cast.facilitator)
    response = client.post(PLAN, {})
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert {"format", "buurt", "date", "start_time", "end_time", "weeks"} <= set(errors)
    assert not Gesprek.objects.exists()


def test_a_gesprek_listed_for_the_buurt_keeps_demand_separate(cast):
    # Sanity: another facilitator's gesprek elsewhere does not block planning here.
    GesprekFactory(buurt=cast.buurt_b, facilitator=cast.outsider_facilitator)
    services.plan_gesprek(
        facilitator_user=cast.facilitator, publish=True, **plan_fields(cast.buurt_a)
    )
    assert Gesprek.objects.count() == 2
