"""Conversations (Gesprek), registrations (Aanmelding), demand (Interesse) and the outbox.

State changes go through gesprekken/services.py; these models hold one row's behaviour.
"""

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from facilitators.access import coordinated_gemeenten
from gemeenten.models import Buurt


def new_token() -> str:
    """An unguessable secret for a personal link (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def new_short_code() -> str:
    # For check-in on the day: short, unambiguous (no 0/O, 1/I/L), read aloud easily.
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(6))


class Thema(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("theme")
        verbose_name_plural = _("themes")
        ordering = ["name"]

    def __str__(self):
        return self.name


class GesprekQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Gesprek.Status.GEPLAND)

    def upcoming(self):
        return self.published().filter(starts_at__gt=timezone.now())

    def in_gemeente(self, gemeente):
        return self.filter(buurt__gemeente=gemeente)

    def led_by(self, user):
        """The gesprekken this user leads (or co-leads): the only ones whose people they see."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(facilitator=user) | Q(co_facilitator=user))

    def visible_to(self, user):
        """What a staff member may open: their own gesprekken, and those in the gemeenten
        they coordinate (as aggregates; see facilitators.access)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            Q(facilitator=user)
            | Q(co_facilitator=user)
            | Q(buurt__gemeente__in=coordinated_gemeenten(user))
        )


class Gesprek(models.Model):
    class Format(models.TextChoices):
        TAFEL = "tafel", _("Around a table")
        WANDELING = "wandeling", _("Walk through the neighbourhood")
        ONLINE = "online", _("Online video call")

    class Status(models.TextChoices):
        CONCEPT = "concept", _("Draft")
        GEPLAND = "gepland", _("Planned")
        AFGELAST = "afgelast", _("Cancelled")
        GEHOUDEN = "gehouden", _("Held")

    class Language(models.TextChoices):
        NL = "nl", _("Dutch")
        EN = "en", _("English")

    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    buurt = models.ForeignKey(
        Buurt, on_delete=models.PROTECT, related_name="gesprekken", verbose_name=_("neighbourhood")
    )
    street = models.CharField(_("street"), max_length=200, blank=True)
    # Where to meet: the address of the table, or the meeting point of a walk.
    place = models.CharField(_("place"), max_length=300, blank=True)
    route = models.TextField(_("route"), blank=True)
    # Shown only to confirmed participants.
    video_url = models.URLField(_("video link"), blank=True)
    starts_at = models.DateTimeField(_("starts at"), db_index=True)
    ends_at = models.DateTimeField(_("ends at"))
    min_participants = models.PositiveSmallIntegerField(_("minimum group size"), default=4)
    max_participants = models.PositiveSmallIntegerField(_("maximum group size"), default=10)
    thema = models.ForeignKey(
        Thema,
        on_delete=models.PROTECT,
        related_name="gesprekken",
        verbose_name=_("theme"),
        null=True,
        blank=True,
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.NL
    )
    accessibility_notes = models.CharField(_("accessibility"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.CONCEPT, db_index=True
    )
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="gesprekken",
        verbose_name=_("facilitator"),
        null=True,
        blank=True,
    )
    co_facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="co_gesprekken",
        verbose_name=_("co-facilitator"),
        null=True,
        blank=True,
    )
    # Calendar identity: the UID never changes, SEQUENCE rises with every change that
    # residents are told about.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GesprekQuerySet.as_manager()

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="gesprek_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(min_participants__lte=models.F("max_participants")),
                name="gesprek_min_not_above_max",
            ),
        ]

    def __str__(self):
        return f"{self.get_format_display()} {self.buurt} {self.starts_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self):
        return reverse("gesprekken:detail", args=[self.pk])

    @property
    def is_open_for_sign_up(self) -> bool:
        return self.status == self.Status.GEPLAND and self.starts_at > timezone.now()


class AanmeldingQuerySet(models.QuerySet):
    def holding_seat(self):
        """Registrations that take a seat: confirmed, held awaiting confirmation, or offered."""
        return self.filter(status__in=Aanmelding.SEAT_STATUSES)

    def waiting(self):
        return self.filter(status=Aanmelding.Status.WACHTLIJST).order_by("created_at", "pk")


class Aanmelding(models.Model):
    class Status(models.TextChoices):
        # Seat held until hold_expires_at, waiting for the e-mail link (double opt-in).
        ONBEVESTIGD = "onbevestigd", _("Awaiting e-mail confirmation")
        BEVESTIGD = "bevestigd", _("Confirmed")
        WACHTLIJST = "wachtlijst", _("Waiting list")
        # A freed seat offered to the next on the waiting list, until offer_expires_at.
        AANGEBODEN = "aangeboden", _("Seat offered")
        GEANNULEERD = "geannuleerd", _("Cancelled")
        VERLOPEN = "verlopen", _("Expired")
        AANWEZIG = "aanwezig", _("Present")
        NIET_VERSCHENEN = "niet_verschenen", _("No-show")

    SEAT_STATUSES = [Status.ONBEVESTIGD, Status.BEVESTIGD, Status.AANGEBODEN, Status.AANWEZIG]
    # One active registration per e-mail address per gesprek.
    ACTIVE_STATUSES = [*SEAT_STATUSES, Status.WACHTLIJST, Status.NIET_VERSCHENEN]

    gesprek = models.ForeignKey(
        Gesprek,
        on_delete=models.CASCADE,
        related_name="aanmeldingen",
        verbose_name=_("conversation"),
    )
    name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail address"), max_length=254)
    phone = models.CharField(_("phone number"), max_length=20, blank=True)
    postcode = models.CharField(_("postcode"), max_length=7)
    language = models.CharField(_("language"), max_length=2, default="nl")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ONBEVESTIGD
    )
    # Personal links carry the pk and this token; the token is compared in constant
    # time (services.get_by_token), and replaced when a link is revoked.
    token = models.CharField(max_length=64, default=new_token, editable=False)
    short_code = models.CharField(
        _("check-in code"), max_length=6, default=new_short_code, editable=False
    )
    consent_at = models.DateTimeField(_("privacy consent given at"))
    created_at = models.DateTimeField(_("signed up at"), default=timezone.now)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    offer_expires_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    objects = AanmeldingQuerySet.as_manager()

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gesprek", "email"],
                condition=Q(
                    status__in=[
                        "onbevestigd",
                        "bevestigd",
                        "wachtlijst",
                        "aangeboden",
                        "aanwezig",
                        "niet_verschenen",
                    ]
                ),
                name="one_active_aanmelding_per_email",
            ),
            models.UniqueConstraint(fields=["gesprek", "short_code"], name="unique_short_code"),
        ]
        indexes = [models.Index(fields=["gesprek", "status"])]

    def __str__(self):
        return f"{self.name} → {self.gesprek_id} ({self.status})"


class Interesse(models.Model):
    """'I want a conversation in my street': demand per buurt, with double opt-in."""

    buurt = models.ForeignKey(
        Buurt, on_delete=models.CASCADE, related_name="interesses", verbose_name=_("neighbourhood")
    )
    street = models.CharField(_("street"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail address"), max_length=254)
    language = models.CharField(_("language"), max_length=2, default="nl")
    token = models.CharField(max_length=64, default=new_token, editable=False)
    consent_at = models.DateTimeField(_("privacy consent given at"))
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Set once, when the first gesprek planned in this buurt (or its wijk) was announced.
    invited_at = models.DateTimeField(null=True, blank=True)
    invited_to = models.ForeignKey(
        Gesprek, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("interest")
        verbose_name_plural = _("interests")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["buurt", "email"],
                condition=Q(invited_at__isnull=True),
                name="one_open_interesse_per_email_per_buurt",
            )
        ]

    def __str__(self):
        return f"{self.buurt_id} {self.street}"


class Bericht(models.Model):
    """One e-mail someone should get exactly once: the outbox and the ledger in one.

    The row is written in the same transaction as the change that causes it; the
    `key` makes a second attempt to queue the same mail a no-op. A worker claims a row
    with a conditional UPDATE before sending, so two workers or a retry never send twice;
    a failed send releases the claim with a later `next_attempt_at`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    to = models.EmailField(_("to"), max_length=254)
    language = models.CharField(max_length=2, default="nl")
    # Extra, non-secret context for rendering (ids, never personal data beyond `to`).
    context = models.JSONField(default=dict, blank=True)
    aanmelding = models.ForeignKey(
        Aanmelding, on_delete=models.CASCADE, null=True, blank=True, related_name="berichten"
    )
    interesse = models.ForeignKey(
        Interesse, on_delete=models.CASCADE, null=True, blank=True, related_name="berichten"
    )
    gesprek = models.ForeignKey(
        Gesprek, on_delete=models.CASCADE, null=True, blank=True, related_name="berichten"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return self.key


class Verslag(models.Model):
    """The facilitator's short report after a gesprek: numbers and ideas, no people.

    Written through services.save_report, which warns about e-mail addresses and phone
    numbers in the free text (nobody's personal data belongs in a report).
    """

    gesprek = models.OneToOneField(
        Gesprek, on_delete=models.CASCADE, related_name="verslag", verbose_name=_("conversation")
    )
    attendance = models.PositiveSmallIntegerField(_("number of people who came"))
    themes = models.ManyToManyField(
        Thema, related_name="verslagen", verbose_name=_("themes discussed"), blank=True
    )
    themes_text = models.CharField(_("themes in your own words"), max_length=500, blank=True)
    outcome = models.TextField(_("what the neighbours came up with"), max_length=2000)
    follow_up = models.TextField(_("follow-up"), max_length=1000, blank=True)
    written_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="verslagen",
        verbose_name=_("written by"),
    )
    created_at = models.DateTimeField(_("written at"), default=timezone.now)
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.gesprek}"
