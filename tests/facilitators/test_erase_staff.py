"""Issue 7: a coordinator erases a facilitator's account (services.erase_facilitator)."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth import authenticate
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from facilitators import services
from facilitators.models import Uitnodiging
from gesprekken.models import Gesprek, Verslag
from tests.facilitators.factories import PASSWORD, OrganisatieFactory, RolFactory, UserFactory
from tests.gesprekken.factories import GesprekFactory


def erase_url(user):
    return reverse("coordinatie:erase", args=[user.facilitator.pk])


def _assert_erased(user, old_email):
    user.refresh_from_db()
    placeholder = f"verwijderd-{user.pk}@invalid"
    assert (user.first_name, user.last_name) == ("", "")
    assert user.username == placeholder and user.email == placeholder
    assert not user.is_active
    assert not user.has_usable_password()
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not EmailAddress.objects.filter(email__iexact=old_email).exists()
    assert not Authenticator.objects.filter(user=user).exists()
    profile = user.facilitator
    assert not profile.gemeenten.exists()
    assert not profile.organisaties.exists()
    assert profile.languages == []
    assert str(profile) == placeholder


def _assert_untouched(user):
    before_name = user.first_name
    user.refresh_from_db()
    assert user.is_active
    assert user.first_name == before_name
    assert EmailAddress.objects.filter(user=user).exists()
    assert user.facilitator.gemeenten.exists()


def test_the_coordinator_erases_a_facilitator_who_serves_only_their_gemeente(client, cast):
    target = cast.co_facilitator
    target.set_password(PASSWORD)
    target.save()
    old_email, old_token = target.email, target.facilitator.calendar_token
    profile = target.facilitator
    profile.organisaties.set([OrganisatieFactory()])
    profile.languages = ["nl", "tr"]
    profile.save()
    gesprek = GesprekFactory(buurt=cast.buurt_a, facilitator=target)
    Verslag.objects.create(gesprek=gesprek, attendance=7, outcome="Een bankje", written_by=target)
    invitation = Uitnodiging.objects.create(email=old_email, invited_by=cast.coordinator)
    Uitnodiging.objects.filter(pk=invitation.pk).update(accepted_by=target)
    theirs = Client()
    theirs.force_login(target)
    assert theirs.get(reverse("werkruimte:home")).status_code == 200

    cast.login(client, cast.coordinator)
    response = client.post(erase_url(target), follow=True)

    assert response.status_code == 200
    assert "is erased" in response.content.decode()
    _assert_erased(target, old_email)
    assert target.facilitator.calendar_token != old_token
    invitation.refresh_from_db()
    assert invitation.email == f"verwijderd-{target.pk}@invalid"
    # They cannot log in, and their open session is gone.
    assert authenticate(username=old_email, password=PASSWORD) is None
    assert authenticate(email=old_email, password=PASSWORD) is None
    assert theirs.get(reverse("werkruimte:home")).status_code == 302
    assert not any(
        s.get_decoded().get("_auth_user_id") == str(target.pk) for s in Session.objects.all()
    )
    # Their gesprek and report still count, without their name.
    assert Gesprek.objects.filter(facilitator=target).count() == 1
    assert Verslag.objects.get(gesprek=gesprek).written_by == target
    # They are gone from the list.
    page = client.get(reverse("coordinatie:index")).content.decode()
    assert "Achternaam" in page  # the other facilitator
    assert (
        target.facilitator not in client.get(reverse("coordinatie:index")).context["facilitators"]
    )


def test_a_national_coordinator_can_erase_anyone(client, cast):
    old_email = cast.facilitator.email
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    cast.login(client, cast.national)
    assert client.post(erase_url(cast.facilitator)).status_code == 302
    _assert_erased(cast.facilitator, old_email)


def test_the_confirmation_page_changes_nothing(client, cast):
    cast.login(client, cast.coordinator)
    response = client.get(erase_url(cast.co_facilitator))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Erase this account?" in page
    assert 'name="csrfmiddlewaretoken"' in page
    _assert_untouched(cast.co_facilitator)


def test_the_list_offers_erasing_only_where_it_is_allowed(client, cast):
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    cast.login(client, cast.coordinator)
    page = client.get(reverse("coordinatie:index")).content.decode()
    assert erase_url(cast.co_facilitator) in page
    assert erase_url(cast.facilitator) not in page


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_coordinator_of_another_gemeente_gets_404(client, cast, method):
    cast.login(client, cast.outsider_coordinator)
    assert getattr(client, method)(erase_url(cast.co_facilitator)).status_code == 404
    _assert_untouched(cast.co_facilitator)


@pytest.mark.parametrize("role", ["facilitator", "outsider_facilitator"])
def test_facilitators_cannot_erase(client, cast, role):
    cast.login(client, getattr(cast, role))
    assert client.post(erase_url(cast.co_facilitator)).status_code == 404
    _assert_untouched(cast.co_facilitator)


@pytest.mark.parametrize("method", ["get", "post"])
def test_someone_who_also_serves_another_gemeente_is_refused(client, cast, method):
    # B's coordinator relies on them too: A's coordinator can only stop them in A.
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    cast.login(client, cast.coordinator)
    response = getattr(client, method)(erase_url(cast.facilitator), follow=True)
    assert response.status_code == 200
    assert "also works for other coordinators" in response.content.decode()
    _assert_untouched(cast.facilitator)
    assert set(cast.facilitator.facilitator.gemeenten.all()) == {cast.gemeente_a, cast.gemeente_b}


def test_the_service_refuses_what_the_view_refuses(cast):
    cast.facilitator.facilitator.gemeenten.add(cast.gemeente_b)
    RolFactory(user=cast.co_facilitator, gemeente=cast.gemeente_a)
    for by, target in [
        (cast.coordinator, cast.facilitator),  # also serves B
        (cast.outsider_coordinator, cast.co_facilitator),  # not theirs at all
        (cast.coordinator, cast.co_facilitator),  # a coordinator too: national only
        (cast.facilitator, cast.co_facilitator),  # no coordinator
    ]:
        with pytest.raises(services.InvitationError):
            services.erase_facilitator(by=by, facilitator=target.facilitator)
        _assert_untouched(target)


def test_nobody_erases_their_own_account(cast):
    from tests.facilitators.factories import FacilitatorFactory

    FacilitatorFactory(user=cast.national)
    with pytest.raises(services.InvitationError):
        services.erase_facilitator(by=cast.national, facilitator=cast.national.facilitator)


def test_erasing_twice_changes_nothing_more(cast):
    old_email = cast.co_facilitator.email
    services.erase_facilitator(by=cast.national, facilitator=cast.co_facilitator.facilitator)
    services.erase_facilitator(by=cast.national, facilitator=cast.co_facilitator.facilitator)
    _assert_erased(cast.co_facilitator, old_email)


def test_erasing_needs_the_csrf_token(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.coordinator)
    assert client.post(erase_url(cast.co_facilitator)).status_code == 403
    _assert_untouched(cast.co_facilitator)


def test_a_new_account_can_use_the_old_address_afterwards(cast):
    old_email = cast.co_facilitator.email
    services.erase_facilitator(by=cast.coordinator, facilitator=cast.co_facilitator.facilitator)
    assert not services._account_exists(old_email)
    assert UserFactory(username="opnieuw", email=old_email).is_active


def test_a_new_unusable_password_alone_already_ends_a_session(cast):
    # The second lock behind deleting the session rows: Django checks the session's
    # auth hash, made from the password hash, on every request.
    theirs = Client()
    theirs.force_login(cast.co_facilitator)
    cast.co_facilitator.set_unusable_password()
    cast.co_facilitator.save(update_fields=["password"])
    assert theirs.get(reverse("werkruimte:home")).status_code == 302
