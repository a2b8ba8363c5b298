"""allauth's own mails (password reset, address verification) go through the outbox.

The account adapter renders them as allauth does and stores them as a Bericht of kind
"allauth", so they are claimed once, retried after a temporary SMTP failure and picked
up by the sweep like every other mail.
"""

import re
import smtplib

from django.core import mail
from django.test import Client
from django.urls import reverse

from facilitators.models import Uitnodiging
from gesprekken import outbox
from gesprekken.models import Bericht
from gesprekken.tasks import send_bericht
from tests.facilitators.factories import PASSWORD, UserFactory

KNOWN = "bekend.allauth@example.org"
INVITED = "uitgenodigd.allauth@example.org"
RESET_LINK = re.compile(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)")


def request_reset(address: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(reverse("account_reset_password"), {"email": address})
    assert response.status_code == 302
    return response


def test_a_password_reset_is_one_bericht_and_one_mail_with_the_link(
    db, django_capture_on_commit_callbacks
):
    UserFactory(username="bekend", email=KNOWN, password=PASSWORD)

    request_reset(KNOWN, django_capture_on_commit_callbacks)

    bericht = Bericht.objects.get()
    assert bericht.kind == "allauth"
    assert bericht.key.startswith("allauth:account/email/password_reset_key:")
    assert bericht.to == KNOWN
    assert bericht.status == Bericht.Status.SENT
    assert bericht.attempts == 1
    [message] = mail.outbox
    assert message.to == [KNOWN]
    assert "\n" not in message.subject
    assert RESET_LINK.search(message.body)
    assert message.extra_headers["X-Buurtgesprek-Bericht"] == str(bericht.pk)

    # The link is not kept in the database once the mail is out.
    bericht.refresh_from_db()
    assert bericht.context == {"subject": message.subject}

    # The task again (a redelivered Celery message, the sweep): nothing more goes out.
    assert send_bericht.delay(bericht.pk).get() == "skipped"
    assert outbox.deliver(bericht.pk) == "skipped"
    assert outbox.sweep() == 0
    assert len(mail.outbox) == 1


def test_the_reset_link_from_the_outbox_works(db, django_capture_on_commit_callbacks):
    user = UserFactory(username="bekend", email=KNOWN, password=PASSWORD)
    request_reset(KNOWN, django_capture_on_commit_callbacks)
    [message] = mail.outbox

    client = Client()
    response = client.get(RESET_LINK.search(message.body)[1])
    assert response.status_code == 302  # allauth moves the key into the session
    new_password = "een-ander-lang-wachtwoord-42"
    response = client.post(
        response["Location"], {"password1": new_password, "password2": new_password}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_an_unknown_address_also_gets_its_mail_through_the_outbox(
    db, django_capture_on_commit_callbacks
):
    request_reset("onbekend.allauth@example.org", django_capture_on_commit_callbacks)

    bericht = Bericht.objects.get()
    assert bericht.kind == "allauth"
    assert bericht.status == Bericht.Status.SENT
    assert [m.to for m in mail.outbox] == [["onbekend.allauth@example.org"]]


def test_a_temporary_smtp_failure_leaves_the_reset_mail_for_the_retry(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    UserFactory(username="bekend", email=KNOWN, password=PASSWORD)

    def refuse(self, messages):
        raise smtplib.SMTPResponseException(421, b"try again later")

    from django.core.mail.backends import locmem

    original = locmem.EmailBackend.send_messages
    monkeypatch.setattr(locmem.EmailBackend, "send_messages", refuse)
    with django_capture_on_commit_callbacks(execute=False):
        response = Client().post(reverse("account_reset_password"), {"email": KNOWN})
    # The person sees the usual answer, not a server error.
    assert response.status_code == 302
    bericht = Bericht.objects.get()
    assert bericht.status == Bericht.Status.PENDING
    assert "421" in bericht.last_error

    monkeypatch.setattr(locmem.EmailBackend, "send_messages", original)
    Bericht.objects.filter(pk=bericht.pk).update(next_attempt_at=bericht.created_at)
    assert outbox.sweep() == 1
    bericht.refresh_from_db()
    assert bericht.status == Bericht.Status.SENT
    sent = [m for m in mail.outbox if m.to == [KNOWN]]
    assert len(sent) == 1
    assert RESET_LINK.search(sent[0].body)


def test_a_stored_subject_is_sent_on_one_line(db):
    bericht = Bericht.objects.create(
        kind="allauth",
        key="allauth:test:1",
        to=KNOWN,
        language="nl",
        context={"subject": "Hallo\r\nBcc: iemand@example.org", "body": "Tekst", "html": ""},
    )

    assert outbox.deliver(bericht.pk) == "sent"

    [message] = mail.outbox
    assert message.subject == "Hallo Bcc: iemand@example.org"
    assert message.bcc == []
    assert message.message()["Bcc"] is None


def test_a_stored_mail_without_a_body_fails_instead_of_sending_nothing(db):
    bericht = Bericht.objects.create(
        kind="allauth", key="allauth:test:2", to=KNOWN, language="nl", context={}
    )

    assert outbox.deliver(bericht.pk) == "failed"
    bericht.refresh_from_db()
    assert bericht.last_error.startswith("render:")
    assert mail.outbox == []


def test_the_verification_mail_of_an_invited_sign_up_goes_through_a_bericht(
    client, cast, django_capture_on_commit_callbacks
):
    invitation = Uitnodiging.objects.create(email=INVITED, invited_by=cast.coordinator)
    invitation.gemeenten.set([cast.gemeente_a])
    response = client.get(invitation.get_absolute_url())
    assert response.status_code == 302

    with django_capture_on_commit_callbacks(execute=True):
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

    bericht = Bericht.objects.get(kind="allauth")
    assert bericht.key.startswith("allauth:account/email/email_confirmation")
    assert bericht.to == INVITED
    assert bericht.status == Bericht.Status.SENT
    [confirmation] = [m for m in mail.outbox if m.to == [INVITED]]
    confirm_url = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", confirmation.body)[1]
    assert client.post(confirm_url).status_code == 302
    assert cast.coordinator.__class__.objects.get(email=INVITED).emailaddress_set.get().verified
