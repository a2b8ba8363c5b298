"""Who sees which coverage page: 404 for anything that is not yours (never 403)."""

import pytest
from django.urls import reverse

from tests.facilitators.factories import RolFactory, UserFactory

NATIONAL = reverse("dekking:national")
MINE = reverse("dekking:mine")


def gemeente_url(gemeente, **query) -> str:
    url = reverse("dekking:gemeente", args=[gemeente.code])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_anonymous_visitors_are_sent_to_log_in(client, cast):
    for url in (NATIONAL, MINE, gemeente_url(cast.gemeente_a)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("who", ["facilitator", "coordinator", "outsider_coordinator"])
def test_only_national_coordinators_see_the_national_dashboard(client, cast, who):
    cast.login(client, getattr(cast, who))

    assert client.get(NATIONAL).status_code == 404
    assert client.get(NATIONAL, {"export": "gemeenten"}).status_code == 404


def test_a_national_coordinator_sees_the_national_dashboard(client, cast):
    cast.login(client, cast.national)

    assert client.get(NATIONAL).status_code == 200
    assert client.get(NATIONAL, {"export": "gemeenten"}).status_code == 200


def test_a_municipal_coordinator_sees_their_own_gemeente_only(client, cast):
    cast.login(client, cast.coordinator)

    assert client.get(gemeente_url(cast.gemeente_a)).status_code == 200
    assert client.get(gemeente_url(cast.gemeente_b)).status_code == 404
    assert client.get(gemeente_url(cast.gemeente_b, export="buurten")).status_code == 404
    assert client.get(reverse("dekking:gemeente", args=["GM0000"])).status_code == 404


@pytest.mark.parametrize("who", ["facilitator", "outsider_facilitator"])
def test_facilitators_see_no_coverage_dashboard(client, cast, who):
    cast.login(client, getattr(cast, who))

    assert client.get(gemeente_url(cast.gemeente_a)).status_code == 404
    assert client.get(MINE).status_code == 404


def test_a_national_coordinator_may_open_every_municipal_dashboard(client, cast):
    cast.login(client, cast.national)

    assert client.get(gemeente_url(cast.gemeente_a)).status_code == 200
    assert client.get(gemeente_url(cast.gemeente_b)).status_code == 200


def test_my_gemeenten_lead_straight_to_the_only_one(client, cast):
    cast.login(client, cast.coordinator)

    response = client.get(MINE)

    assert response.status_code == 302
    assert response["Location"] == gemeente_url(cast.gemeente_a)


def test_a_coordinator_of_several_gemeenten_chooses_one(client, cast):
    RolFactory(user=cast.coordinator, gemeente=cast.gemeente_b)
    cast.login(client, cast.coordinator)

    response = client.get(MINE)

    assert response.status_code == 200
    html = response.content.decode()
    assert gemeente_url(cast.gemeente_a) in html
    assert gemeente_url(cast.gemeente_b) in html
    assert f'href="{NATIONAL}"' not in html


def test_staff_without_a_second_factor_set_it_up_first(client, cast):
    user = UserFactory(username="landelijk-zonder-totp")
    RolFactory(user=user, landelijk=True)
    client.force_login(user)

    response = client.get(NATIONAL)

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
