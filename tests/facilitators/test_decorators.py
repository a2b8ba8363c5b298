"""The staff decorators: log in first, 404 without the role, a second factor before anything."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.facilitators.factories import UserFactory

pytestmark = pytest.mark.urls("tests.facilitators.gated_urls")

PAGES = ["/test/staff/", "/test/facilitator/", "/test/coordinator/"]


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page_and_back(client, db, url):
    response = client.get(url + "?x=1")
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next=/{url.strip('/')}/%3Fx%3D1"


@pytest.mark.parametrize("url", PAGES)
def test_a_logged_in_user_without_a_staff_role_gets_404(client, db, url):
    client.force_login(UserFactory(totp=True))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("facilitator", {"/test/staff/", "/test/facilitator/"}),
        ("coordinator", {"/test/staff/", "/test/coordinator/"}),
        ("national", {"/test/staff/", "/test/coordinator/"}),
        ("outsider_facilitator", {"/test/staff/", "/test/facilitator/"}),
    ],
)
def test_each_role_opens_only_its_own_kind_of_page(client, cast, role, allowed):
    cast.login(client, getattr(cast, role))
    for url in PAGES:
        expected = 200 if url in allowed else 404
        assert client.get(url).status_code == expected, url


def test_a_facilitator_who_is_also_a_coordinator_opens_both(client, cast):
    from tests.facilitators.factories import RolFactory

    RolFactory(user=cast.facilitator, gemeente=cast.gemeente_a)
    cast.login(client, cast.facilitator)
    assert [client.get(url).status_code for url in PAGES] == [200, 200, 200]


@pytest.mark.parametrize("url", PAGES)
def test_staff_without_an_authenticator_are_sent_to_set_one_up(client, cast, url):
    for user in (cast.facilitator, cast.coordinator):
        Authenticator.objects.filter(user=user).delete()
    role = cast.coordinator if "coordinator" in url else cast.facilitator
    cast.login(client, role)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    [message] = get_messages(response.wsgi_request)
    assert "authenticator app" in str(message)


def test_recovery_codes_alone_are_not_a_second_factor_here(client, cast):
    Authenticator.objects.filter(user=cast.facilitator).update(
        type=Authenticator.Type.RECOVERY_CODES
    )
    cast.login(client, cast.facilitator)
    assert client.get("/test/facilitator/").url == reverse("mfa_activate_totp")


def test_without_staff_mfa_required_the_demo_skips_the_second_factor(client, cast, settings):
    settings.STAFF_MFA_REQUIRED = False
    Authenticator.objects.filter(user=cast.facilitator).delete()
    cast.login(client, cast.facilitator)
    assert client.get("/test/facilitator/").status_code == 200


def test_outsiders_still_get_404_before_being_asked_for_a_second_factor(client, db):
    # A non-staff user must not learn that a staff page exists by being sent to set-up.
    client.force_login(UserFactory())
    assert client.get("/test/staff/").status_code == 404


def test_a_deactivated_account_is_logged_out_of_staff_pages(client, cast):
    cast.login(client, cast.facilitator)
    get_user_model().objects.filter(pk=cast.facilitator.pk).update(is_active=False)
    assert client.get("/test/facilitator/").status_code == 302


def test_the_check_costs_one_query_after_the_session_and_user(
    client, cast, django_assert_num_queries
):
    cast.login(client, cast.facilitator)
    with django_assert_num_queries(3):
        # 1. the session, 2. the user, 3. roles and authenticator (facilitators.access.staff_roles)
        assert client.get("/test/facilitator/").status_code == 200
