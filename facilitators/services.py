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

from .access import coordinated_gemeenten, is_national_coordinator
from .models import Facilitator, Organisatie, Rol, Uitnodiging, _new_token

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


def erased_placeholder(user) -> str:
    """The username and e-mail address an erased staff account is left with."""
    return f"verwijderd-{user.pk}@invalid"


def can_erase_facilitator(*, by, facilitator: Facilitator) -> bool:
    """Whether `by` may erase this facilitator's account (see erase_facilitator)."""
    if not by.is_authenticated or by.pk == facilitator.user_id:
        return False
    if is_national_coordinator(by):
        return True
    coordinated = coordinated_gemeenten(by)
    served = facilitator.gemeenten.all()
    return (
        served.filter(pk__in=coordinated).exists()
        and not served.exclude(pk__in=coordinated).exists()
        # Another coordinator's account is for a national coordinator to erase.
        and not Rol.objects.filter(user_id=facilitator.user_id).exists()
    )


def _end_sessions(user) -> None:
    """Delete the stored sessions of `user` (database sessions, the default engine)."""
    from django.contrib.auth import SESSION_KEY  # noqa: PLC0415
    from django.contrib.sessions.models import Session  # noqa: PLC0415

    ended = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if str(session.get_decoded().get(SESSION_KEY)) == str(user.pk)
    ]
    Session.objects.filter(pk__in=ended).delete()


def erase_facilitator(*, by, facilitator: Facilitator) -> None:
    """Deactivate a facilitator's account and remove their personal data (issue 7).

    Allowed only when `by` coordinates every gemeente the facilitator serves (so no other
    coordinator still relies on them), or is a national coordinator; otherwise
    InvitationError, as deactivate_facilitator. Nobody erases their own account here, and
    a facilitator who also holds a coordinator role is erased by a national coordinator.

    The user row stays (Gesprek.facilitator is PROTECT, Verslag.written_by points at it):
    their gesprekken and reports keep counting, without a name. Name emptied, username and
    e-mail address replaced by verwijderd-<pk>@invalid, password unusable, allauth
    addresses and second-factor authenticators deleted, their sessions ended; the
    profile loses its gemeenten, organisations and languages, and gets a new calendar
    token (the old feed URL stops working). Invitations to their address keep the
    placeholder instead. Running it twice changes nothing more.
    """
    from allauth.account.models import EmailAddress  # noqa: PLC0415 (app registry)
    from allauth.mfa.models import Authenticator  # noqa: PLC0415 (app registry)

    if not can_erase_facilitator(by=by, facilitator=facilitator):
        raise InvitationError(
            _(
                "You can only erase facilitators who work only in your municipalities. "
                "Ask a national coordinator."
            )
        )
    with transaction.atomic():
        facilitator = (
            Facilitator.objects.select_for_update().select_related("user").get(pk=facilitator.pk)
        )
        user = facilitator.user
        old_email = user.email
        placeholder = erased_placeholder(user)

        facilitator.gemeenten.clear()
        facilitator.organisaties.clear()
        facilitator.languages = []
        facilitator.calendar_token = _new_token()
        facilitator.save(update_fields=["languages", "calendar_token"])

        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        Rol.objects.filter(user=user).delete()
        # The open one first, so two invitations never share the placeholder while open.
        invitations = Uitnodiging.objects.filter(accepted_by=user)
        if old_email:
            invitations = invitations | Uitnodiging.objects.filter(email__iexact=old_email)
        invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        invitations.update(email=placeholder)

        user.first_name = ""
        user.last_name = ""
        user.username = placeholder
        user.email = placeholder
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        # A new (unusable) password hash also changes the session auth hash, so a session
        # that survived below would no longer log anyone in.
        user.set_unusable_password()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        _end_sessions(user)
    logger.info("Staff account %s erased by user %s", user.pk, by.pk)
