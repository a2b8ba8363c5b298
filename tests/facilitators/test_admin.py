"""The admin pages for organisations, facilitators, roles and invitations."""

import pytest
from django.urls import reverse
from django.utils import timezone

from facilitators.models import Uitnodiging
from tests.facilitators.factories import OrganisatieFactory, UserFactory
from tests.gesprekken.factories import ThemaFactory

MODELS = ["organisatie", "facilitator", "rol", "uitnodiging"]


@pytest.fixture
def admin_client(client, cast):
    cast.national.is_staff = cast.national.is_superuser = True
    cast.national.save()
    client.force_login(cast.national)
    return client


@pytest.mark.parametrize("model", MODELS)
def test_a_superuser_opens_every_list(admin_client, cast, model):
    OrganisatieFactory()
    Uitnodiging.objects.create(email="x@example.org").gemeenten.set([cast.gemeente_a])
    assert admin_client.get(reverse(f"admin:facilitators_{model}_changelist")).status_code == 200


def test_the_facilitator_form_chooses_gemeenten_side_by_side(admin_client, cast):
    url = reverse("admin:facilitators_facilitator_change", args=[cast.facilitator.facilitator.pk])
    page = admin_client.get(url).content.decode()
    assert "selectfilter" in page.lower() or "SelectFilter" in page


def test_the_invitation_page_never_shows_the_token(admin_client, cast):
    invitation = Uitnodiging.objects.create(email="x@example.org")
    page = admin_client.get(reverse("admin:facilitators_uitnodiging_change", args=[invitation.pk]))
    assert invitation.token not in page.content.decode()
    assert admin_client.get(reverse("admin:facilitators_uitnodiging_add")).status_code == 403


def test_the_revoke_action_revokes_only_pending_invitations(admin_client, cast):
    pending = Uitnodiging.objects.create(email="p@example.org")
    accepted = Uitnodiging.objects.create(email="a@example.org", accepted_at=timezone.now())
    admin_client.post(
        reverse("admin:facilitators_uitnodiging_changelist"),
        {"action": "revoke_selected", "_selected_action": [pending.pk, accepted.pk]},
    )
    pending.refresh_from_db()
    accepted.refresh_from_db()
    assert pending.status == Uitnodiging.Status.REVOKED
    assert accepted.status == Uitnodiging.Status.ACCEPTED


@pytest.mark.parametrize("role", ["coordinator", "facilitator"])
def test_staff_roles_alone_do_not_open_the_admin(client, cast, role):
    cast.login(client, getattr(cast, role))
    response = client.get(reverse("admin:facilitators_facilitator_changelist"))
    assert response.status_code == 302
    assert reverse("admin:login") in response.url


def test_anonymous_visitors_are_sent_to_the_admin_login(client, db):
    UserFactory()
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302


def test_a_national_coordinator_manages_organisations_roles_and_themes_without_being_staff(
    client, cast
):
    assert not cast.national.is_staff
    client.force_login(cast.national)
    assert client.get(reverse("admin:index")).status_code == 200
    for model in MODELS:
        assert client.get(reverse(f"admin:facilitators_{model}_changelist")).status_code == 200
    assert client.get(reverse("admin:gesprekken_thema_changelist")).status_code == 200


def test_a_national_coordinator_keeps_statements_sectors_and_agreements(client, cast):
    thema = ThemaFactory()
    client.force_login(cast.national)
    for model in ("sector", "gespreksafspraak"):
        assert client.get(reverse(f"admin:gesprekken_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:gesprekken_{model}_add")).status_code == 200
    # Statements are edited inline on their theme.
    page = client.get(reverse("admin:gesprekken_thema_change", args=[thema.pk]))
    assert page.status_code == 200
    assert "stellingen-TOTAL_FORMS" in page.content.decode()


@pytest.mark.parametrize("model", ["aanmelding", "interesse", "bericht"])
def test_a_national_coordinator_never_sees_residents_in_the_admin(client, cast, model):
    client.force_login(cast.national)
    assert client.get(reverse(f"admin:gesprekken_{model}_changelist")).status_code == 403


def test_a_municipal_coordinator_or_facilitator_is_not_let_into_the_admin(client, cast):
    for user in (cast.coordinator, cast.facilitator):
        client.force_login(user)
        response = client.get(reverse("admin:index"), follow=True)
        assert response.status_code == 403


def test_the_admin_log_in_is_allauths_not_a_password_only_form(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))
    assert "next=/admin/" in response.redirect_chain[-1][0]


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client, db):
    user = UserFactory(totp=False)
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    response = client.get(reverse("admin:index"), follow=True)
    # allauth then asks for the password again before an authenticator can be added.
    assert reverse("mfa_activate_totp") in [url for url, _ in response.redirect_chain]
