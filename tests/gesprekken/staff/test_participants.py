"""Who is coming: names and contact details for the gesprek's facilitator(s) only."""

import pytest
from django.urls import reverse

from gesprekken.models import Aanmelding
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

from .planning import NOW

S = Aanmelding.Status
# Every workspace page about one gesprek, as (name, method).
GESPREK_PAGES = [
    ("werkruimte:gesprek", "get"),
    ("werkruimte:day_list", "get"),
    ("werkruimte:edit", "get"),
    ("werkruimte:edit", "post"),
    ("werkruimte:cancel", "get"),
    ("werkruimte:cancel", "post"),
    ("werkruimte:publish", "post"),
]


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def gesprek(cast):
    gesprek = GesprekFactory(
        buurt=cast.buurt_a, facilitator=cast.facilitator, co_facilitator=cast.co_facilitator
    )
    AanmeldingFactory(gesprek=gesprek, name="Anna", email="anna@example.org", phone="06 12345678")
    AanmeldingFactory(gesprek=gesprek, name="Bram", status=S.ONBEVESTIGD)
    AanmeldingFactory(gesprek=gesprek, name="Wachter Een", status=S.WACHTLIJST)
    AanmeldingFactory(gesprek=gesprek, name="Wachter Twee", status=S.WACHTLIJST)
    AanmeldingFactory(gesprek=gesprek, name="Weg", status=S.GEANNULEERD)
    return gesprek


@pytest.mark.parametrize("who", ["facilitator", "co_facilitator"])
def test_the_facilitators_see_names_contact_status_and_code(client, cast, gesprek, who):
    cast.login(client, getattr(cast, who))
    response = client.get(reverse("werkruimte:gesprek", args=[gesprek.pk]))
    page = response.content.decode()
    anna = gesprek.aanmeldingen.get(name="Anna")
    assert response.status_code == 200
    for shown in ("Anna", "anna@example.org", "06 12345678", anna.short_code, "Bram"):
        assert shown in page
    assert "Weg" not in page  # cancelled: counted, not named


def test_the_waiting_list_is_in_order(client, cast, gesprek):
    cast.login(client, cast.facilitator)
    response = client.get(reverse("werkruimte:gesprek", args=[gesprek.pk]))
    assert [a.name for a in response.context["waiting"]] == ["Wachter Een", "Wachter Twee"]
    page = response.content.decode()
    assert page.index("Wachter Een") < page.index("Wachter Twee")


@pytest.mark.parametrize(
    "who", ["coordinator", "national", "outsider_facilitator", "outsider_coordinator"]
)
@pytest.mark.parametrize("name, method", GESPREK_PAGES)
def test_anyone_else_gets_404_on_every_page_of_the_gesprek(
    client, cast, gesprek, who, name, method
):
    cast.login(client, getattr(cast, who))
    response = getattr(client, method)(reverse(name, args=[gesprek.pk]))
    assert response.status_code == 404
    assert b"anna@example.org" not in response.content


def test_a_facilitator_of_the_same_gemeente_who_does_not_lead_it_gets_404(client, cast, gesprek):
    gesprek.co_facilitator = None
    gesprek.save()
    cast.login(client, cast.co_facilitator)
    assert client.get(reverse("werkruimte:gesprek", args=[gesprek.pk])).status_code == 404


@pytest.mark.parametrize("name, method", GESPREK_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(client, gesprek, name, method):
    url = reverse(name, args=[gesprek.pk])
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["werkruimte:home", "werkruimte:plan", "werkruimte:demand"])
def test_coordinators_without_a_facilitator_profile_get_404(client, cast, name):
    cast.login(client, cast.coordinator)
    assert client.get(reverse(name)).status_code == 404


def test_the_list_for_the_day_prints_without_navigation_or_e_mail(client, cast, gesprek):
    cast.login(client, cast.facilitator)
    response = client.get(reverse("werkruimte:day_list", args=[gesprek.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert "Anna" in page and "06 12345678" in page
    assert "anna@example.org" not in page  # the paper list carries the minimum
    assert "<nav" not in page and "<header" not in page
    assert "css/werkruimte.css" in page


def test_the_print_stylesheet_fits_the_list_on_one_page():
    from pathlib import Path

    from django.conf import settings

    css = (Path(settings.BASE_DIR) / "static" / "css" / "werkruimte.css").read_text()
    assert "@media print" in css
    assert "@page" in css
    assert ".no-print" in css


@pytest.mark.parametrize("rows", [1, 25])
@pytest.mark.parametrize("name", ["werkruimte:gesprek", "werkruimte:day_list"])
def test_the_participant_list_takes_the_same_queries_for_few_and_many(
    client, cast, rows, name, django_assert_num_queries
):
    gesprek = GesprekFactory(
        buurt=cast.buurt_a, facilitator=cast.facilitator, max_participants=rows
    )
    AanmeldingFactory.create_batch(rows, gesprek=gesprek)
    AanmeldingFactory.create_batch(rows, gesprek=gesprek, status=S.WACHTLIJST)
    cast.login(client, cast.facilitator)
    # 1 session, 2 user, 3 staff roles (decorator), 4 the gesprek with buurt, wijk,
    # gemeente, theme and both facilitators (led_by), 5 its registrations; on the
    # gesprek page also 6 the mix at the table (balance.mix, counts only).
    with django_assert_num_queries(6 if name == "werkruimte:gesprek" else 5):
        response = client.get(reverse(name, args=[gesprek.pk]))
    assert len(response.context["seated"]) == rows
