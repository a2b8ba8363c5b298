"""The coordinator's facilitator list and deactivating a facilitator in their gemeenten."""

import pytest
from django.urls import reverse

from tests.facilitators.factories import FacilitatorFactory, OrganisatieFactory, RolFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory


def deactivate_url(user):
    return reverse("coordinatie:deactivate", args=[user.facilitator.pk])


def test_the_list_shows_the_facilitators_in_my_gemeenten_and_nobody_else(client, cast):
    cast.facilitator.facilitator.organisaties.set([OrganisatieFactory(name="Buurtwerk Aadorp")])
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    gesprek = GesprekFactory(buurt=cast.buurt_a, facilitator=cast.facilitator)
    AanmeldingFactory(gesprek=gesprek, name="Bewoner Geheim", email="geheim@example.org")
    cast.login(client, cast.coordinator)
    response = client.get(reverse("coordinatie:index"))
    assert response.status_code == 200
    assert {f.user for f in response.context["facilitators"]} == {
        cast.facilitator,
        cast.co_facilitator,
    }
    page = response.content.decode()
    assert "Buurtwerk Aadorp" in page
    assert "Aadorp" in page
    # Only the coordinator's own gemeenten, and never residents.
    assert "Beekdal" not in page
    assert "Bewoner Geheim" not in page and "geheim@example.org" not in page


def test_a_national_coordinator_sees_every_facilitator(client, cast):
    cast.login(client, cast.national)
    response = client.get(reverse("coordinatie:index"))
    assert {f.user for f in response.context["facilitators"]} == {
        cast.facilitator,
        cast.co_facilitator,
        cast.outsider_facilitator,
    }


@pytest.mark.parametrize("extra", [0, 15])
def test_the_list_takes_the_same_queries_for_few_and_many(
    client, cast, extra, django_assert_num_queries
):
    organisatie = OrganisatieFactory()
    for _number in range(extra):
        FacilitatorFactory(gemeenten=[cast.gemeente_a], organisaties=[organisatie])
    cast.login(client, cast.coordinator)
    with django_assert_num_queries(8):
        # 1. session, 2. user, 3. staff roles and authenticator (decorator),
        # 4. is this coordinator national? (access.coordinated_gemeenten),
        # 5. facilitators with their users, 6. their organisations, 7. their gemeenten,
        # 8. open incidents in the menu
        response = client.get(reverse("coordinatie:index"))
    assert len(response.context["facilitators"]) == 2 + extra


@pytest.mark.parametrize("role", ["facilitator", "outsider_facilitator"])
def test_facilitators_do_not_see_the_coordination_pages(client, cast, role):
    cast.login(client, getattr(cast, role))
    assert client.get(reverse("coordinatie:index")).status_code == 404


def test_a_coordinator_deactivates_a_facilitator_who_serves_only_their_gemeente(client, cast):
    from django.test import Client

    theirs = Client()
    theirs.force_login(cast.co_facilitator)
    cast.login(client, cast.coordinator)
    response = client.post(deactivate_url(cast.co_facilitator))
    assert response.status_code == 302
    cast.co_facilitator.refresh_from_db()
    assert not cast.co_facilitator.is_active
    assert list(cast.co_facilitator.facilitator.gemeenten.all()) == []
    # Their open session stops working at once.
    assert theirs.get(reverse("coordinatie:index")).status_code == 302


def test_a_facilitator_who_also_serves_elsewhere_keeps_working_there(client, cast):
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    cast.login(client, cast.coordinator)
    client.post(deactivate_url(cast.facilitator))
    cast.facilitator.refresh_from_db()
    assert cast.facilitator.is_active
    assert list(cast.facilitator.facilitator.gemeenten.all()) == [cast.gemeente_b]
    assert cast.facilitator not in {
        f.user for f in client.get(reverse("coordinatie:index")).context["facilitators"]
    }


def test_a_facilitator_who_is_also_a_coordinator_keeps_their_account(client, cast):
    RolFactory(user=cast.co_facilitator, gemeente=cast.gemeente_b)
    cast.login(client, cast.coordinator)
    client.post(deactivate_url(cast.co_facilitator))
    cast.co_facilitator.refresh_from_db()
    assert cast.co_facilitator.is_active


@pytest.mark.parametrize("role", ["outsider_coordinator", "facilitator", "co_facilitator"])
def test_deactivating_someone_outside_your_gemeenten_answers_404(client, cast, role):
    cast.login(client, getattr(cast, role))
    target = cast.co_facilitator if role != "co_facilitator" else cast.facilitator
    assert client.post(deactivate_url(target)).status_code == 404
    target.refresh_from_db()
    assert target.is_active
    assert target.facilitator.gemeenten.exists()


def test_a_municipal_coordinator_cannot_deactivate_the_outsider(client, cast):
    cast.login(client, cast.coordinator)
    assert client.post(deactivate_url(cast.outsider_facilitator)).status_code == 404


def test_deactivating_needs_a_post(client, cast):
    cast.login(client, cast.coordinator)
    assert client.get(deactivate_url(cast.co_facilitator)).status_code == 405
    cast.co_facilitator.refresh_from_db()
    assert cast.co_facilitator.is_active
