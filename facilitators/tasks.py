"""Sending the invitation e-mail to a new facilitator.

Why not the outbox (gesprekken.outbox / Bericht) that every resident mail goes through:
facilitators sits below gesprekken (gemeenten ← facilitators ← gesprekken ← dekking) and
must not import it, and Bericht belongs to registrations and gesprekken. The invitation
row is its own ledger instead: the task claims it with a conditional UPDATE on `sent_at`,
so a second delivery of the task (acks_late, a retry, a double enqueue) sends nothing;
when SMTP fails the claim is released and the task retries with backoff. A worker killed
between claiming and sending loses that one mail: the coordinator sees "not sent" on the
invitations page and can revoke and invite again.
"""

import logging
import smtplib

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import InterfaceError, OperationalError
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from .models import Uitnodiging

logger = logging.getLogger(__name__)

TEMPLATE_DIR = "emails/begeleider_uitnodiging"


def render_invitation(invitation: Uitnodiging) -> EmailMultiAlternatives:
    """The invitation mail, in the language the coordinator used when inviting."""
    known = {code for code, _name in settings.LANGUAGES}
    language = invitation.language if invitation.language in known else settings.LANGUAGE_CODE
    with translation.override(language):
        inviter = invitation.invited_by
        context = {
            "name": "",
            "site_url": settings.SITE_URL,
            "accept_url": settings.SITE_URL + invitation.get_absolute_url(),
            "inviter_name": (inviter.get_full_name() or inviter.email) if inviter else "",
            "gemeenten": [g.name for g in invitation.gemeenten.order_by("name")],
            "organisatie": invitation.organisatie.name if invitation.organisatie else "",
            "expires": formats.date_format(
                timezone.localtime(invitation.expires_at), "l j F Y, H:i"
            ),
        }
        # One line whatever a name contains: no header can be injected through the subject.
        subject = " ".join(render_to_string(f"{TEMPLATE_DIR}/subject.txt", context).split())
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string(f"{TEMPLATE_DIR}/body.txt", context),
            to=[invitation.email],
        )
        message.attach_alternative(
            render_to_string(f"{TEMPLATE_DIR}/body.html", context), "text/html"
        )
    return message


@shared_task(
    bind=True,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError, smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def send_invitation(self, uitnodiging_id: int) -> str:
    """Send the invitation mail once; nothing for an invitation already sent, revoked or used."""
    claimed = (
        Uitnodiging.objects.pending()
        .filter(pk=uitnodiging_id, sent_at__isnull=True)
        .update(sent_at=timezone.now())
    )
    if not claimed:
        return "skipped"
    invitation = Uitnodiging.objects.select_related("invited_by", "organisatie").get(
        pk=uitnodiging_id
    )
    try:
        render_invitation(invitation).send()
    except Exception:
        # Release the claim so the retry (autoretry_for) can send it.
        Uitnodiging.objects.filter(pk=uitnodiging_id).update(sent_at=None)
        logger.warning("Invitation %s not sent; will retry", uitnodiging_id, exc_info=True)
        raise
    return "sent"
