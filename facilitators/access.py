"""Who may see what. Every staff view and query goes through these helpers.

- a facilitator sees the gemeenten they serve, and the people in their own gesprekken;
- a municipal coordinator sees their gemeenten, the gesprekken there, and aggregates;
- a national coordinator sees every gemeente, as aggregates.
Anything else is answered with 404 by the views (not 403: existence is not confirmed).
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet

from gemeenten.models import Gemeente

from .models import Rol


def is_national_coordinator(user) -> bool:
    if not user.is_authenticated:
        return False
    return Rol.objects.filter(user=user, kind=Rol.Kind.LANDELIJK).exists()


def coordinated_gemeenten(user) -> QuerySet[Gemeente]:
    """The gemeenten this user coordinates (all existing ones for a national coordinator)."""
    if not user.is_authenticated:
        return Gemeente.objects.none()
    if is_national_coordinator(user):
        return Gemeente.objects.existing()
    return Gemeente.objects.filter(rollen__user=user, rollen__kind=Rol.Kind.GEMEENTE).distinct()


def served_gemeenten(user) -> QuerySet[Gemeente]:
    """The gemeenten this user plans gesprekken in as a facilitator."""
    if not user.is_authenticated:
        return Gemeente.objects.none()
    return Gemeente.objects.filter(facilitators__user=user).distinct()


def gemeenten_visible_to(user) -> QuerySet[Gemeente]:
    if not user.is_authenticated:
        return Gemeente.objects.none()
    if is_national_coordinator(user):
        return Gemeente.objects.all()
    return Gemeente.objects.filter(
        Q(facilitators__user=user) | Q(rollen__user=user, rollen__kind=Rol.Kind.GEMEENTE)
    ).distinct()


def is_staff_member(user) -> bool:
    """Facilitator or coordinator of any kind: may open the staff workspace at all."""
    if not user.is_authenticated:
        return False
    return hasattr(user, "facilitator") or Rol.objects.filter(user=user).exists()


@dataclass(frozen=True)
class StaffRoles:
    """What the staff decorators need to know about a user, read in one query."""

    is_facilitator: bool = False
    is_coordinator: bool = False
    is_national: bool = False
    has_totp: bool = False

    @property
    def is_staff_member(self) -> bool:
        return self.is_facilitator or self.is_coordinator


def staff_roles(user) -> StaffRoles:
    """Facilitator profile, coordinator roles and TOTP authenticator, in one query.

    Equivalent to hasattr(user, "facilitator") / is_staff_member / is_national_coordinator
    plus allauth's is_mfa_enabled(user, [TOTP]); the staff decorators call it once per request.
    """
    if not user.is_authenticated:
        return StaffRoles()
    from allauth.mfa.models import Authenticator  # noqa: PLC0415 (app registry must be ready)

    from .models import Facilitator

    row = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            _is_facilitator=Exists(Facilitator.objects.filter(user=OuterRef("pk"))),
            _is_coordinator=Exists(Rol.objects.filter(user=OuterRef("pk"))),
            _is_national=Exists(Rol.objects.filter(user=OuterRef("pk"), kind=Rol.Kind.LANDELIJK)),
            _has_totp=Exists(
                Authenticator.objects.filter(user=OuterRef("pk"), type=Authenticator.Type.TOTP)
            ),
        )
        .values("_is_facilitator", "_is_coordinator", "_is_national", "_has_totp")
        .first()
    )
    if row is None:
        return StaffRoles()
    return StaffRoles(
        is_facilitator=row["_is_facilitator"],
        is_coordinator=row["_is_coordinator"],
        is_national=row["_is_national"],
        has_totp=row["_has_totp"],
    )
