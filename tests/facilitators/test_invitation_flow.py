"""From a coordinator's invitation to a facilitator with a second factor, through the client."""

import re
import time

from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
)
from django.core import mail
from django.urls import reverse

from facilitators import access
from facilitators.models import Facilitator, Uitnodiging
from tests.facilitators.factories import PASSWORD, OrganisatieFactory

INVITED = "nieuwe.begeleider@example.org"


def link_in(message) -> str:
    """The path of the invitation link in the mail (absolute, on settings.SITE_URL)."""
    return re.search(r"https?://[^/\s]+(/coordinatie/uitnodiging/\d+/[^/\s]+/)", message.body)[1]


def test_an_invited_facilitator_signs_up_verifies_and_is_sent_to_set_up_totp(
    client, cast, django_capture_on_commit_callbacks
):
    organisatie = OrganisatieFactory(name="Buurtwerk Aadorp")
    cast.login(client, cast.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("coordinatie:invite"),
            {"email": INVITED, "gemeenten": [cast.gemeente_a.code], "organisatie": organisatie.pk},
        )
    assert response.status_code == 302
    assert response.url == reverse("coordinatie:invitations")
    [invitation_mail] = mail.outbox
    assert invitation_mail.to == [INVITED]
    assert "Aadorp" in invitation_mail.body
    invitation = Uitnodiging.objects.get()
    assert invitation.sent_at is not None

    # The invited person opens the link in another browser.
    client.logout()
    response = client.get(link_in(invitation_mail))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_signup"))
    page = client.get(response.url)
    assert page.status_code == 200
    assert f'value="{INVITED}"' in page.content.decode()

    mail.outbox.clear()
    response = client.post(
        reverse("account_signup"),
        {
            "first_name": "Sanne",
            "last_name": "de Vries",
            "email": INVITED,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    facilitator = Facilitator.objects.get(user__email=INVITED)
    assert list(facilitator.gemeenten.all()) == [cast.gemeente_a]
    assert list(facilitator.organisaties.all()) == [organisatie]
    assert facilitator.user.first_name == "Sanne"
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == facilitator.user
    assert not EmailAddress.objects.get(email=INVITED).verified

    # Mandatory verification: the confirmation link from allauth's mail.
    [confirmation] = mail.outbox
    confirm_url = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", confirmation.body)[1]
    assert client.get(confirm_url).status_code == 200
    assert client.post(confirm_url).status_code == 302
    assert EmailAddress.objects.get(email=INVITED).verified

    # Logging in lands on the TOTP set-up; allauth asks for the password once more first.
    response = client.post(
        reverse("account_login"), {"login": INVITED, "password": PASSWORD}, follow=True
    )
    activate = reverse("mfa_activate_totp")
    chain = [url for url, _status in response.redirect_chain]
    assert activate in chain
    assert chain[-1].startswith(reverse("account_reauthenticate"))
    response = client.post(response.redirect_chain[-1][0], {"password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == activate
    assert response.status_code == 200

    secret = client.session[SECRET_SESSION_KEY]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(activate, {"code": code})
    assert response.status_code == 302
    assert access.staff_roles(facilitator.user).has_totp
