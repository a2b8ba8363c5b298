"""Onboarding and deactivating facilitators. Views, the admin and allauth's adapter call these.

Every function here checks that the acting coordinator coordinates the gemeenten involved
(facilitators.access), so a view that forgets a check still cannot overstep.
"""

import logging
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from gemeenten.models import Gemeente

from .access import coordinated_gemeenten
from .models import Facilitator, Organisatie, Rol, Uitnodiging

logger = logging.getLogger(__name__)

# The session key where the invitation link (views.accept) leaves {"pk", "token"}; the
# allauth adapter (buurtgesprek.adapters) opens sign-up only while it holds a pending one.
INVITATION_SESSION_KEY = "invitation_token"


class InvitationError(Exception):
    """Why an invitation could not be made or used; the text is meant for the coordinator."""


def _account_exists(email: str) -> bool:
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (app registry)

    return (
        get_user_model().objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    )


def invite_facilitator(
    *,
    inviter,
    email: str,
    gemeenten: Iterable[Gemeente],
    organisatie: Organisatie | None = None,
    language: str = "nl",
) -> Uitnodiging:
    """Invite `email` to become a facilitator in `gemeenten`, and mail the link after commit.

    The gemeenten must all be coordinated by `inviter`. Refused (InvitationError) when the
    address already has an account or an invitation that is still pending; an expired
    open invitation to the address is closed first. Sending: facilitators.tasks.send_invitation,
    queued on commit.
    """
    from . import tasks  # noqa: PLC0415 (tasks imports this module's models only)

    email = email.strip()
    gemeenten = list(gemeenten)
    if not gemeenten:
        raise InvitationError(_("Choose at least one municipality."))
    allowed = set(
        coordinated_gemeenten(inviter)
        .filter(pk__in=[g.pk for g in gemeenten])
        .values_list("pk", flat=True)
    )
    if any(g.pk not in allowed for g in gemeenten):
        raise InvitationError(
            _("You can only invite people for the municipalities you coordinate.")
        )
    if _account_exists(email):
        raise InvitationError(
            _(
                "There is already an account with this e-mail address. "
                "Ask a national coordinator to add the municipalities to it."
            )
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            # An expired invitation is closed at its expiry, so it still shows as expired.
            for old in Uitnodiging.objects.open().filter(email__iexact=email, expires_at__lte=now):
                Uitnodiging.objects.filter(pk=old.pk).update(revoked_at=old.expires_at)
            invitation = Uitnodiging.objects.create(
                email=email,
                organisatie=organisatie,
                invited_by=inviter,
                language=language,
            )
            invitation.gemeenten.set(gemeenten)
    except IntegrityError:
        # The unique constraint on open invitations per address (a pending one exists,
        # possibly created a moment ago by another coordinator).
        raise InvitationError(
            _(
                "This e-mail address already has an invitation that is waiting for an "
                "answer. You can revoke it on the invitations page and invite again."
            )
        ) from None
    transaction.on_commit(lambda: tasks.send_invitation.delay(invitation.pk))
    return invitation


def revoke_invitation(*, coordinator, invitation: Uitnodiging) -> bool:
    """Revoke a pending invitation the coordinator can see. False when it was not pending."""
    coordinated = coordinated_gemeenten(coordinator)
    if not Uitnodiging.objects.for_gemeenten(coordinated).filter(pk=invitation.pk).exists():
        raise InvitationError(_("You can only revoke invitations for your municipalities."))
    return bool(
        Uitnodiging.objects.pending().filter(pk=invitation.pk).update(revoked_at=timezone.now())
    )


def pending_invitation(pk, token: str) -> Uitnodiging | None:
    """The pending invitation with this pk and token (compared in constant time), or None."""
    invitation = Uitnodiging.objects.pending().filter(pk=pk).first()
    if invitation is None or not constant_time_compare(invitation.token, str(token)):
        return None
    return invitation


def accept_invitation(*, pk, token: str, user) -> Facilitator | None:
    """Give the newly signed-up `user` the Facilitator profile the invitation describes.

    Locks the invitation row, so a double submit or a revocation at the same moment cannot
    both win. Returns None (and changes nothing) when the invitation is no longer pending,
    or the user's address is not the invited one: the account then stays without staff rights.
    """
    with transaction.atomic():
        invitation = Uitnodiging.objects.select_for_update().filter(pk=pk).first()
        if (
            invitation is None
            or not invitation.is_pending
            or not constant_time_compare(invitation.token, str(token))
            or invitation.email.lower() != (user.email or "").lower()
        ):
            logger.warning("Invitation %s not accepted for user %s", pk, user.pk)
            return None
        facilitator, _created = Facilitator.objects.get_or_create(user=user)
        facilitator.gemeenten.add(*invitation.gemeenten.all())
        if invitation.organisatie_id:
            facilitator.organisaties.add(invitation.organisatie_id)
        Uitnodiging.objects.filter(pk=invitation.pk).update(
            accepted_at=timezone.now(), accepted_by=user
        )
    return facilitator


def deactivate_facilitator(*, coordinator, facilitator: Facilitator) -> bool:
    """Stop a facilitator working in the coordinator's gemeenten.

    Removes those gemeenten from the ones they serve. When none remain (and they hold no
    coordinator role), the account is deactivated (`is_active = False`): they cannot log
    in any more and their open sessions stop working. Returns whether the account was
    deactivated. Their gesprekken stay as they are; the coordinator reassigns or cancels them.
    """
    coordinated = coordinated_gemeenten(coordinator)
    if not Facilitator.objects.filter(pk=facilitator.pk, gemeenten__in=coordinated).exists():
        raise InvitationError(_("You can only deactivate facilitators in your municipalities."))
    with transaction.atomic():
        facilitator = (
            Facilitator.objects.select_for_update().select_related("user").get(pk=facilitator.pk)
        )
        facilitator.gemeenten.remove(*facilitator.gemeenten.filter(pk__in=coordinated))
        if facilitator.gemeenten.exists() or Rol.objects.filter(user=facilitator.user).exists():
            return False
        user = facilitator.user
        user.is_active = False
        user.save(update_fields=["is_active"])
    return True
