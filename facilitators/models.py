"""Organisations, facilitators and the roles that decide what staff may see.

Every staff view and query asks facilitators/access.py, never these fields directly.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from gemeenten.models import Gemeente


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class Organisatie(models.Model):
    class Kind(models.TextChoices):
        BEWONERSORGANISATIE = "bewoners", _("Residents' association")
        SOCIAAL_WERK = "sociaal_werk", _("Social-work network")
        WELZIJN = "welzijn", _("Local welfare organisation")
        GEMEENTE = "gemeente", _("Municipality")

    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Facilitator(models.Model):
    """A gespreksbegeleider: the staff profile of an allauth user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="facilitator",
        verbose_name=_("user"),
    )
    organisaties = models.ManyToManyField(
        Organisatie, related_name="facilitators", verbose_name=_("organisations"), blank=True
    )
    gemeenten = models.ManyToManyField(
        Gemeente,
        related_name="facilitators",
        verbose_name=_("municipalities served"),
        blank=True,
    )
    languages = models.JSONField(_("languages spoken"), default=list, blank=True)
    training_done = models.BooleanField(_("training done"), default=False)
    # Secret of the personal calendar feed; replacing it revokes the old URL.
    calendar_token = models.CharField(max_length=64, default=_new_token, editable=False)

    class Meta:
        verbose_name = _("facilitator")
        verbose_name_plural = _("facilitators")

    def __str__(self):
        return self.user.get_full_name() or self.user.email


class Rol(models.Model):
    """A coordinator role: for one gemeente, or national (no gemeente)."""

    class Kind(models.TextChoices):
        GEMEENTE = "gemeente", _("Municipal coordinator")
        LANDELIJK = "landelijk", _("National coordinator")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="rollen",
        verbose_name=_("user"),
    )
    kind = models.CharField(_("role"), max_length=20, choices=Kind.choices)
    gemeente = models.ForeignKey(
        Gemeente,
        on_delete=models.CASCADE,
        related_name="rollen",
        verbose_name=_("municipality"),
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="gemeente", gemeente__isnull=False)
                | Q(kind="landelijk", gemeente__isnull=True),
                name="rol_gemeente_only_for_municipal",
            ),
            models.UniqueConstraint(
                fields=["user", "kind", "gemeente"], name="unique_rol_per_gemeente"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(kind="landelijk"), name="unique_national_rol"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.gemeente or ''}".strip()


INVITATION_VALID_DAYS = 7


def _invitation_expiry():
    return timezone.now() + timedelta(days=INVITATION_VALID_DAYS)


class UitnodigingQuerySet(models.QuerySet):
    def pending(self):
        """Neither accepted nor revoked, and not expired yet."""
        return self.open().filter(expires_at__gt=timezone.now())

    def open(self):
        """Neither accepted nor revoked (but possibly expired): at most one per address."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def for_gemeenten(self, gemeenten):
        """Invitations to any of these gemeenten (pass access.coordinated_gemeenten(user))."""
        return self.filter(gemeenten__in=gemeenten).distinct()


class Uitnodiging(models.Model):
    """An invitation by a coordinator to become a facilitator in some of their gemeenten.

    The e-mailed link carries pk and token; the token is compared in constant time.
    At most one open (not accepted, not revoked) invitation per address; an expired one is
    closed (revoked_at = expires_at) when the address is invited again.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    email = models.EmailField(_("e-mail address"))
    gemeenten = models.ManyToManyField(
        Gemeente, related_name="uitnodigingen", verbose_name=_("municipalities")
    )
    organisatie = models.ForeignKey(
        Organisatie,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="uitnodigingen",
        verbose_name=_("organisation"),
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="sent_uitnodigingen",
        verbose_name=_("invited by"),
    )
    token = models.CharField(max_length=64, default=_new_token, editable=False)
    # The language the mail is written in: the inviter's at the time of inviting.
    language = models.CharField(_("language"), max_length=8, default=settings.LANGUAGE_CODE)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), default=_invitation_expiry)
    # Set by the task that sends the mail (a conditional UPDATE claims it, so it goes once).
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = UitnodigingQuerySet.as_manager()

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Two coordinators inviting the same address at once: one of them wins.
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_uitnodiging_per_email",
            ),
        ]

    def __str__(self):
        return self.email

    def get_absolute_url(self) -> str:
        return reverse("coordinatie:accept", kwargs={"pk": self.pk, "token": self.token})

    @property
    def status(self) -> str:
        if self.accepted_at:
            return self.Status.ACCEPTED
        # A revocation at or after the expiry is the closing of an expired invitation.
        if self.revoked_at and self.revoked_at < self.expires_at:
            return self.Status.REVOKED
        if self.revoked_at or self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    def get_status_display(self) -> str:
        return self.Status(self.status).label

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
