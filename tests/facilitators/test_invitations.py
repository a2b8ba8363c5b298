"""Inviting facilitators: who may invite whom, the link, sending once, hostile input."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from facilitators import services, tasks
from facilitators.models import Uitnodiging
from tests.facilitators.factories import UserFactory

INVITED = "nieuw@example.org"


@pytest.fixture
def invite(client, cast, django_capture_on_commit_callbacks):
    """POST the invitation form as `user` (the coordinator of A by default)."""

    def post(data, user=None):
        cast.login(client, user or cast.coordinator)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("coordinatie:invite"), data)

    return post


def make_invitation(cast, email=INVITED, **fields):
    invitation = Uitnodiging.objects.create(email=email, invited_by=cast.coordinator, **fields)
    invitation.gemeenten.set([cast.gemeente_a])
    return invitation


# --- Who may invite for which gemeente --------------------------------------------------


def test_the_invite_form_offers_only_the_gemeenten_the_coordinator_coordinates(client, cast):
    cast.login(client, cast.coordinator)
    page = client.get(reverse("coordinatie:invite")).content.decode()
    assert 'value="GM9101"' in page
    assert 'value="GM9102"' not in page


def test_an_invitation_to_a_gemeente_you_do_not_coordinate_is_refused(invite, cast):
    response = invite({"email": INVITED, "gemeenten": [cast.gemeente_a.code, "GM9102"]})
    assert response.status_code == 400
    assert "only invite people for the municipalities you coordinate" in response.content.decode()
    assert not Uitnodiging.objects.exists()
    assert mail.outbox == []


def test_the_service_refuses_a_gemeente_outside_the_inviters_even_without_the_form(cast):
    with pytest.raises(services.InvitationError):
        services.invite_facilitator(
            inviter=cast.coordinator, email=INVITED, gemeenten=[cast.gemeente_b]
        )
    with pytest.raises(services.InvitationError):
        services.invite_facilitator(
            inviter=cast.facilitator, email=INVITED, gemeenten=[cast.gemeente_a]
        )


def test_a_national_coordinator_may_invite_for_any_gemeente(invite, cast):
    response = invite({"email": INVITED, "gemeenten": ["GM9101", "GM9102"]}, user=cast.national)
    assert response.status_code == 302
    assert {g.code for g in Uitnodiging.objects.get().gemeenten.all()} == {"GM9101", "GM9102"}


@pytest.mark.parametrize("role", ["facilitator", "outsider_facilitator"])
def test_facilitators_cannot_invite(client, cast, role):
    cast.login(client, getattr(cast, role))
    assert client.get(reverse("coordinatie:invite")).status_code == 404
    assert client.post(reverse("coordinatie:invite"), {"email": INVITED}).status_code == 404


# --- Sending once ---------------------------------------------------------------------------


def test_the_invitation_mail_goes_out_once_however_often_the_task_runs(invite, cast):
    invite({"email": INVITED, "gemeenten": [cast.gemeente_a.code]})
    invitation = Uitnodiging.objects.get()
    assert tasks.send_invitation.delay(invitation.pk).get() == "skipped"
    assert tasks.send_invitation.delay(invitation.pk).get() == "skipped"
    assert len(mail.outbox) == 1
    assert (
        mail.outbox[0].subject
        == "Je bent uitgenodigd om gesprekken te begeleiden voor Buurtgesprek"
        or mail.outbox[0].subject
    )
    assert invitation.get_absolute_url() in mail.outbox[0].body


def test_nothing_is_sent_when_the_transaction_rolls_back(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.invite_facilitator(
            inviter=cast.coordinator, email=INVITED, gemeenten=[cast.gemeente_a]
        )
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_a_revoked_invitation_is_not_sent(cast):
    invitation = make_invitation(cast, revoked_at=timezone.now())
    assert tasks.send_invitation.delay(invitation.pk).get() == "skipped"
    assert mail.outbox == []


def test_an_smtp_failure_releases_the_claim_so_a_retry_can_send(cast, monkeypatch):
    invitation = make_invitation(cast)

    def fail(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", fail)
    monkeypatch.setattr(tasks.send_invitation, "max_retries", 0)
    with pytest.raises(smtplib.SMTPException):
        tasks.send_invitation.delay(invitation.pk).get()
    invitation.refresh_from_db()
    assert invitation.sent_at is None
    monkeypatch.undo()
    assert tasks.send_invitation.delay(invitation.pk).get() == "sent"
    assert len(mail.outbox) == 1


def test_the_subject_stays_on_one_line_whatever_the_inviters_name(cast):
    cast.coordinator.first_name = "Evil\r\nBcc: victim@example.org"
    cast.coordinator.save()
    invitation = make_invitation(cast)
    message = tasks.render_invitation(invitation)
    assert "\n" not in message.subject and "\r" not in message.subject
    assert message.to == [INVITED]
    assert message.message()["Bcc"] is None


# --- The link --------------------------------------------------------------------------


def test_the_link_opens_the_sign_up_with_the_invited_address(client, cast):
    invitation = make_invitation(cast)
    response = client.get(invitation.get_absolute_url())
    assert response.status_code == 302
    assert client.session[services.INVITATION_SESSION_KEY] == {
        "pk": invitation.pk,
        "token": invitation.token,
    }
    page = client.get(response.url)
    assert page.status_code == 200
    assert 'value="nieuw@example.org"' in page.content.decode()
    assert "readonly" in page.content.decode()


@pytest.mark.parametrize("state", ["wrong token", "expired", "revoked", "accepted", "unknown"])
def test_a_link_that_is_no_longer_valid_answers_404(client, cast, state):
    invitation = make_invitation(cast)
    url = invitation.get_absolute_url()
    if state == "wrong token":
        # Change the first character to a different one (a fixed "x" is no change 1 in 64 times).
        wrong = ("y" if invitation.token[0] == "x" else "x") + invitation.token[1:]
        url = reverse("coordinatie:accept", args=[invitation.pk, wrong])
    elif state == "expired":
        Uitnodiging.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        Uitnodiging.objects.update(revoked_at=timezone.now())
    elif state == "accepted":
        Uitnodiging.objects.update(accepted_at=timezone.now())
    else:
        url = reverse("coordinatie:accept", args=[invitation.pk + 1, invitation.token])
    assert client.get(url).status_code == 404
    assert services.INVITATION_SESSION_KEY not in client.session


def test_the_link_expires_after_seven_days(client, cast):
    invitation = make_invitation(cast)
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23)):
        assert client.get(invitation.get_absolute_url()).status_code == 302
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert client.get(invitation.get_absolute_url()).status_code == 404


def test_sign_up_is_closed_without_an_invitation(client, db):
    response = client.get(reverse("account_signup"))
    assert "account/signup_closed.html" in [t.name for t in response.templates]
    assert b'name="password1"' not in response.content


def test_sign_up_closes_when_the_invitation_is_revoked_meanwhile(client, cast):
    invitation = make_invitation(cast)
    client.get(invitation.get_absolute_url())
    Uitnodiging.objects.update(revoked_at=timezone.now())
    response = client.post(
        reverse("account_signup"),
        {"first_name": "A", "last_name": "B", "email": INVITED, "password1": "x", "password2": "x"},
    )
    assert b'name="password1"' not in response.content
    assert not Uitnodiging.objects.filter(accepted_at__isnull=False).exists()


def test_sign_up_with_another_address_than_the_invited_one_is_refused(client, cast):
    from django.contrib.auth import get_user_model

    invitation = make_invitation(cast)
    client.get(invitation.get_absolute_url())
    response = client.post(
        reverse("account_signup"),
        {
            "first_name": "Mallory",
            "last_name": "X",
            "email": "mallory@example.org",
            "password1": "vijf-Buurten-42",
            "password2": "vijf-Buurten-42",
        },
    )
    assert response.status_code == 200
    assert "nieuw@example.org" in response.content.decode()
    assert not get_user_model().objects.filter(email="mallory@example.org").exists()


def test_someone_logged_in_is_asked_to_log_out_before_accepting(client, cast):
    invitation = make_invitation(cast)
    cast.login(client, cast.outsider_facilitator)
    response = client.get(invitation.get_absolute_url())
    assert response.status_code == 200
    assert b"Log out and continue" in response.content
    response = client.post(invitation.get_absolute_url())
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- Duplicates and existing accounts ---------------------------------------------------


def test_a_second_invitation_to_a_pending_address_gets_a_friendly_message(invite, cast):
    invite({"email": INVITED, "gemeenten": [cast.gemeente_a.code]})
    response = invite({"email": "NIEUW@example.org", "gemeenten": [cast.gemeente_a.code]})
    assert response.status_code == 400
    assert (
        "already has an invitation" in response.content.decode()
        or "al een uitnodiging" in response.content.decode()
    )
    assert Uitnodiging.objects.count() == 1
    assert len(mail.outbox) == 1


def test_an_expired_invitation_can_be_replaced_and_then_shows_as_expired(invite, cast):
    old = make_invitation(cast, expires_at=timezone.now() - timedelta(days=1))
    response = invite({"email": INVITED, "gemeenten": [cast.gemeente_a.code]})
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.status == Uitnodiging.Status.EXPIRED
    assert Uitnodiging.objects.pending().count() == 1


def test_an_address_that_already_has_an_account_is_not_invited(invite, cast):
    UserFactory(email="bestaand@example.org")
    response = invite({"email": "Bestaand@example.org", "gemeenten": [cast.gemeente_a.code]})
    assert response.status_code == 400
    assert not Uitnodiging.objects.exists()


# --- Hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "email"),
        ({"email": "", "gemeenten": ["GM9101"]}, "email"),
        ({"email": "a" * 10_000 + "@example.org", "gemeenten": ["GM9101"]}, "email"),
        ({"email": "x@example.org\r\nBcc: victim@example.org", "gemeenten": ["GM9101"]}, "email"),
        ({"email": "x@example.org\x00", "gemeenten": ["GM9101"]}, "email"),
        ({"email": INVITED}, "gemeenten"),
        ({"email": INVITED, "gemeenten": ["<script>"]}, "gemeenten"),
        ({"email": INVITED, "gemeenten": ["GM9101"], "organisatie": "abc"}, "organisatie"),
        ({"email": INVITED, "gemeenten": ["GM9101"], "organisatie": "9" * 40}, "organisatie"),
    ],
)
def test_hostile_input_gets_a_clear_message_and_never_a_500(invite, data, field):
    response = invite(data)
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors[field]
    assert 'id="error-summary"' in response.content.decode()
    assert not Uitnodiging.objects.exists()
    assert mail.outbox == []


# --- Revoking -------------------------------------------------------------------------------


def test_a_coordinator_revokes_a_pending_invitation_and_the_link_stops_working(client, cast):
    invitation = make_invitation(cast)
    cast.login(client, cast.coordinator)
    response = client.post(reverse("coordinatie:revoke", args=[invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == Uitnodiging.Status.REVOKED
    client.logout()
    assert client.get(invitation.get_absolute_url()).status_code == 404


@pytest.mark.parametrize("role", ["outsider_coordinator", "facilitator", "outsider_facilitator"])
def test_someone_elses_invitation_cannot_be_revoked(client, cast, role):
    invitation = make_invitation(cast)
    cast.login(client, getattr(cast, role))
    assert client.post(reverse("coordinatie:revoke", args=[invitation.pk])).status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Uitnodiging.Status.PENDING


def test_revoke_only_accepts_post(client, cast):
    invitation = make_invitation(cast)
    cast.login(client, cast.coordinator)
    assert client.get(reverse("coordinatie:revoke", args=[invitation.pk])).status_code == 405


# --- The list of invitations -------------------------------------------------------------


def _invitations(cast, count):
    for number in range(count):
        make_invitation(cast, email=f"n{number}@example.org")


@pytest.mark.parametrize("count", [1, 12])
def test_the_invitations_page_takes_the_same_queries_for_few_and_many(
    client, cast, count, django_assert_num_queries
):
    _invitations(cast, count)
    make_invitation(cast, email="b@example.org").gemeenten.set([cast.gemeente_b])
    cast.login(client, cast.coordinator)
    with django_assert_num_queries(7):
        # 1. session, 2. user, 3. staff roles and authenticator (decorator),
        # 4. is this coordinator national? (access.coordinated_gemeenten),
        # 5. invitations with inviter and organisation, 6. their gemeenten (prefetch),
        # 7. open incidents in the menu
        response = client.get(reverse("coordinatie:invitations"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("@example.org</h2>") == count
    assert "b@example.org" not in page


def test_the_invitations_page_shows_each_status(client, cast):
    now = timezone.now()
    make_invitation(cast, email="pending@example.org")
    make_invitation(cast, email="accepted@example.org", accepted_at=now)
    make_invitation(cast, email="expired@example.org", expires_at=now - timedelta(days=1))
    make_invitation(cast, email="revoked@example.org", revoked_at=now)
    cast.login(client, cast.coordinator)
    invitations = {
        i.email: i.status
        for i in client.get(reverse("coordinatie:invitations")).context["invitations"]
    }
    assert invitations == {
        "pending@example.org": "pending",
        "accepted@example.org": "accepted",
        "expired@example.org": "expired",
        "revoked@example.org": "revoked",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", ""),
        ("first_name", "Sanne\r\nBcc: victim@example.org"),
        ("last_name", "x" * 10_000),
        ("email", ""),
        ("email", "nieuw@example.org\r\nBcc: victim@example.org"),
        ("password1", ""),
    ],
)
def test_hostile_sign_up_input_gets_a_clear_message_and_never_a_500(client, cast, field, value):
    from django.contrib.auth import get_user_model

    client.get(make_invitation(cast).get_absolute_url())
    data = {
        "first_name": "Sanne",
        "last_name": "de Vries",
        "email": INVITED,
        "password1": "vijf-Buurten-42",
        "password2": "vijf-Buurten-42",
        field: value,
    }
    response = client.post(reverse("account_signup"), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert 'id="error-summary"' in response.content.decode()
    assert not get_user_model().objects.filter(email=INVITED).exists()
