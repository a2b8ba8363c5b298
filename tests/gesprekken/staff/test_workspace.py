"""The workspace front page (my gesprekken and what needs doing) and the demand page."""

from datetime import timedelta

import pytest
from django.urls import reverse

from gesprekken.models import Aanmelding, Gesprek, Verslag
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory

from .planning import NOW

HOME = reverse("werkruimte:home")
DEMAND = reverse("werkruimte:demand")
S = Aanmelding.Status


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def gesprek_for(cast, *, days: float, **fields) -> Gesprek:
    starts_at = NOW + timedelta(days=days)
    fields.setdefault("facilitator", cast.facilitator)
    fields.setdefault("buurt", cast.buurt_a)
    return GesprekFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), **fields)


def listed(response, section: str) -> dict[int, Gesprek]:
    return {g.pk: g for g in getattr(response.context["workspace"], section)}


def test_the_workspace_lists_upcoming_and_past_gesprekken_of_the_user(client, cast):
    soon = gesprek_for(cast, days=3)
    co_led = gesprek_for(
        cast, days=5, facilitator=cast.co_facilitator, co_facilitator=cast.facilitator
    )
    draft = gesprek_for(cast, days=9, status=Gesprek.Status.CONCEPT)
    past = gesprek_for(cast, days=-3)
    gesprek_for(cast, days=4, facilitator=cast.co_facilitator)  # someone else's
    gesprek_for(cast, days=4, facilitator=cast.outsider_facilitator, buurt=cast.buurt_b)

    cast.login(client, cast.facilitator)
    response = client.get(HOME)

    assert response.status_code == 200
    assert [g.pk for g in response.context["workspace"].upcoming] == [soon.pk, co_led.pk, draft.pk]
    assert [g.pk for g in response.context["workspace"].past] == [past.pk]


def test_each_gesprek_shows_seats_taken_waiting_list_and_what_needs_doing(client, cast):
    busy = gesprek_for(cast, days=3, max_participants=3)
    AanmeldingFactory(gesprek=busy)
    AanmeldingFactory(gesprek=busy, status=S.AANWEZIG)
    AanmeldingFactory(gesprek=busy, status=S.ONBEVESTIGD, hold_expires_at=NOW + timedelta(hours=1))
    AanmeldingFactory(gesprek=busy, status=S.WACHTLIJST)
    AanmeldingFactory(gesprek=busy, status=S.WACHTLIJST)
    AanmeldingFactory(gesprek=busy, status=S.GEANNULEERD)
    offered = gesprek_for(cast, days=4)
    AanmeldingFactory(
        gesprek=offered, status=S.AANGEBODEN, offer_expires_at=NOW + timedelta(hours=20)
    )
    AanmeldingFactory(
        gesprek=offered, status=S.ONBEVESTIGD, hold_expires_at=NOW + timedelta(hours=30)
    )
    quiet = gesprek_for(cast, days=6)
    held = gesprek_for(cast, days=-2, status=Gesprek.Status.GEPLAND)
    AanmeldingFactory(gesprek=held, status=S.WACHTLIJST)
    called_off = gesprek_for(cast, days=-4, status=Gesprek.Status.AFGELAST)

    cast.login(client, cast.facilitator)
    response = client.get(HOME)
    upcoming, past = listed(response, "upcoming"), listed(response, "past")

    assert (upcoming[busy.pk].seats_taken, upcoming[busy.pk].waiting) == (3, 2)
    assert upcoming[busy.pk].expiring == 1
    assert (upcoming[offered.pk].seats_taken, upcoming[offered.pk].expiring) == (2, 1)
    assert (upcoming[quiet.pk].waiting, upcoming[quiet.pk].expiring) == (0, 0)
    assert not any(g.report_missing for g in upcoming.values())
    assert past[held.pk].report_missing
    assert past[held.pk].waiting == 0  # over: nothing to do about the waiting list
    assert not past[called_off.pk].report_missing
    page = response.content.decode()
    assert "3 van 3" in page or "3 of 3" in page


def test_a_called_off_gesprek_needs_nothing_done(client, cast):
    called_off = gesprek_for(cast, days=3, status=Gesprek.Status.AFGELAST)
    AanmeldingFactory(gesprek=called_off, status=S.WACHTLIJST)
    AanmeldingFactory(
        gesprek=called_off, status=S.ONBEVESTIGD, hold_expires_at=NOW + timedelta(hours=1)
    )
    cast.login(client, cast.facilitator)
    response = client.get(HOME)
    listed_gesprek = listed(response, "upcoming")[called_off.pk]
    assert (listed_gesprek.waiting, listed_gesprek.expiring) == (0, 0)
    assert 'class="badge status-afgelast"' in response.content.decode()


def test_a_written_report_clears_the_flag(client, cast):
    reported = gesprek_for(cast, days=-2, status=Gesprek.Status.GEHOUDEN)
    Verslag.objects.create(gesprek=reported, attendance=6, outcome="Een buurtmoestuin.")
    missing = gesprek_for(cast, days=-3, status=Gesprek.Status.GEHOUDEN)
    cast.login(client, cast.facilitator)
    response = client.get(HOME)
    past = listed(response, "past")
    assert not past[reported.pk].report_missing
    assert past[missing.pk].report_missing
    page = response.content.decode()
    assert reverse("uitvoering:report", args=[missing.pk]) in page
    assert reverse("uitvoering:report", args=[reported.pk]) not in page


def test_a_draft_is_flagged_to_publish(client, cast):
    gesprek_for(cast, days=3, status=Gesprek.Status.CONCEPT)
    cast.login(client, cast.facilitator)
    page = client.get(HOME).content.decode()
    assert 'class="badge status-concept"' in page


def test_an_empty_workspace_points_to_the_demand(client, cast):
    cast.login(client, cast.facilitator)
    response = client.get(HOME)
    assert response.status_code == 200
    assert DEMAND in response.content.decode()


def _populate(cast, rows: int) -> None:
    for i in range(rows):
        upcoming = gesprek_for(cast, days=1 + i, thema=None)
        past = gesprek_for(cast, days=-1 - i)
        for gesprek in (upcoming, past):
            AanmeldingFactory(gesprek=gesprek)
            AanmeldingFactory(gesprek=gesprek, status=S.WACHTLIJST)
            AanmeldingFactory(
                gesprek=gesprek, status=S.ONBEVESTIGD, hold_expires_at=NOW + timedelta(hours=2)
            )


@pytest.mark.parametrize("rows", [1, 12])
def test_the_workspace_takes_the_same_queries_for_few_and_many_gesprekken(
    client, cast, rows, django_assert_num_queries
):
    _populate(cast, rows)
    cast.login(client, cast.facilitator)
    # 1 session, 2 user, 3 staff roles (decorator), 4 upcoming gesprekken with their
    # counts, buurt, wijk, gemeente and theme, 5 the most recent past ones, likewise.
    with django_assert_num_queries(5):
        response = client.get(HOME)
    assert len(response.context["workspace"].upcoming) == rows


# --- demand ----------------------------------------------------------------------------------


def test_demand_lists_buurten_with_open_requests_most_first(client, cast):
    quiet, busy = cast.buurten_a
    InteresseFactory(buurt=quiet, confirmed=True)
    for _ in range(3):
        InteresseFactory(buurt=busy, confirmed=True)
    InteresseFactory(buurt=busy)  # unconfirmed: not counted
    InteresseFactory(buurt=cast.buurt_b, confirmed=True)  # another gemeente

    cast.login(client, cast.facilitator)
    response = client.get(DEMAND)

    assert [(b.code, b.demand) for b in response.context["buurten"]] == [
        (busy.code, 3),
        (quiet.code, 1),
    ]
    assert f"{reverse('werkruimte:plan')}?buurt={busy.code}" in response.content.decode()


def test_demand_leaves_out_buurten_where_something_is_planned_or_invited(client, cast):
    planned_here, invited_here = cast.buurten_a
    InteresseFactory(buurt=planned_here, confirmed=True)
    GesprekFactory(buurt=planned_here, facilitator=cast.co_facilitator)
    InteresseFactory(buurt=invited_here, confirmed=True, invited_at=NOW)

    cast.login(client, cast.facilitator)
    assert client.get(DEMAND).context["buurten"] == []


def test_demand_returns_once_the_planned_gesprek_is_over_or_called_off(client, cast):
    planned_here, called_off_here = cast.buurten_a
    InteresseFactory(buurt=planned_here, confirmed=True)
    gesprek_for(cast, days=-1, buurt=planned_here)
    InteresseFactory(buurt=called_off_here, confirmed=True)
    gesprek_for(cast, days=5, buurt=called_off_here, status=Gesprek.Status.AFGELAST)

    cast.login(client, cast.facilitator)
    buurten = client.get(DEMAND).context["buurten"]
    assert {b.code for b in buurten} == {planned_here.code, called_off_here.code}


@pytest.mark.parametrize("rows", [1, 10])
def test_demand_takes_the_same_queries_for_few_and_many_buurten(
    client, cast, rows, django_assert_num_queries
):
    from tests.gemeenten.factories import BuurtFactory

    for _ in range(rows):
        buurt = BuurtFactory(wijk=cast.wijk_a)
        InteresseFactory(buurt=buurt, confirmed=True)
        InteresseFactory(buurt=buurt, confirmed=True)
    cast.login(client, cast.facilitator)
    # 1 session, 2 user, 3 staff roles (decorator), 4 buurten with their demand, wijk
    # and gemeente, the served gemeenten as a subquery.
    with django_assert_num_queries(4):
        response = client.get(DEMAND)
    assert len(response.context["buurten"]) == rows
