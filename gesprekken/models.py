"""Conversations (Gesprek), registrations (Aanmelding), demand (Interesse) and the outbox.

State changes go through gesprekken/services.py; these models hold one row's behaviour.
"""

import secrets
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
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


class BilingualText(models.Model):
    """Text that coordinators write in Dutch and, optionally, English (`label`)."""

    text = models.CharField(_("text (Dutch)"), max_length=300)
    text_en = models.CharField(_("text (English)"), max_length=300, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text

    @property
    def label(self) -> str:
        if self.text_en and (get_language() or "nl").startswith("en"):
            return self.text_en
        return self.text


class Sector(BilingualText):
    """Leefwereld: the sector someone works or lives in (zorg, horeca, student …).

    Optional at sign-up; used to compose mixed groups and, as counts of 3 or more, shown to
    the facilitator. The list is kept by national coordinators in the admin.
    """

    class Meta(BilingualText.Meta):
        verbose_name = _("sector")
        verbose_name_plural = _("sectors")


class Gespreksafspraak(BilingualText):
    """A conversation agreement (listen to understand, speak for yourself …).

    Accepted at sign-up, shown on the gesprek page, in the reminder and on the flyer;
    kept by national coordinators in the admin.
    """

    class Meta(BilingualText.Meta):
        verbose_name = _("conversation agreement")
        verbose_name_plural = _("conversation agreements")


class AgeBand(models.TextChoices):
    # No birth dates: a band is enough to compose a mixed group.
    UNDER_25 = "tot25", _("Under 25")
    FROM_25 = "25-39", _("25 to 39")
    FROM_40 = "40-54", _("40 to 54")
    FROM_55 = "55-69", _("55 to 69")
    FROM_70 = "70plus", _("70 or older")


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


class Stelling(BilingualText):
    """A statement of a theme that residents may answer agree / neutral / disagree.

    The answers are a political opinion (special-category data): see Standpunt.
    """

    thema = models.ForeignKey(
        Thema, on_delete=models.CASCADE, related_name="stellingen", verbose_name=_("theme")
    )

    class Meta(BilingualText.Meta):
        verbose_name = _("statement")
        verbose_name_plural = _("statements")


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
    # The balance rule: no single sector or stance above balance_max_share % of the seats
    # taken (see gesprekken.balance); a sign-up that would break it becomes a reserve.
    balance = models.BooleanField(_("mixed table"), default=False)
    balance_max_share = models.PositiveSmallIntegerField(
        _("maximum share of one sector or stance (%)"),
        default=60,
        validators=[MinValueValidator(34), MaxValueValidator(90)],
    )
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
    # How many registrations have status AANWEZIG: kept by gesprekken.services under the
    # gesprek's row lock (F("present") ± 1), recomputed nightly (services.recount_present),
    # so the coverage dashboards never count a million registrations.
    present = models.PositiveIntegerField(default=0, editable=False)
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

    def queued(self):
        """Waiting list and reserves together, in sign-up order: who gets a free seat next."""
        return self.filter(
            status__in=[Aanmelding.Status.WACHTLIJST, Aanmelding.Status.RESERVE]
        ).order_by("created_at", "pk")


class Aanmelding(models.Model):
    class Status(models.TextChoices):
        # Seat held until hold_expires_at, waiting for the e-mail link (double opt-in).
        ONBEVESTIGD = "onbevestigd", _("Awaiting e-mail confirmation")
        BEVESTIGD = "bevestigd", _("Confirmed")
        WACHTLIJST = "wachtlijst", _("Waiting list")
        # A freed seat offered to the next on the waiting list, until offer_expires_at.
        AANGEBODEN = "aangeboden", _("Seat offered")
        # Seats are free, but taking one would break the gesprek's balance rule: waits
        # (like the waiting list) until the mix allows it or the gesprek is about to start.
        RESERVE = "reserve", _("Reserve")
        GEANNULEERD = "geannuleerd", _("Cancelled")
        VERLOPEN = "verlopen", _("Expired")
        AANWEZIG = "aanwezig", _("Present")
        NIET_VERSCHENEN = "niet_verschenen", _("No-show")

    SEAT_STATUSES = [Status.ONBEVESTIGD, Status.BEVESTIGD, Status.AANGEBODEN, Status.AANWEZIG]
    # One active registration per e-mail address per gesprek.
    ACTIVE_STATUSES = [*SEAT_STATUSES, Status.WACHTLIJST, Status.RESERVE, Status.NIET_VERSCHENEN]

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
    # Leefwereld, optional; shown to staff only as counts (gesprekken.balance.mix).
    sector = models.ForeignKey(
        Sector,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sector"),
    )
    age_band = models.CharField(_("age"), max_length=6, choices=AgeBand.choices, blank=True)
    agreements_accepted_at = models.DateTimeField(
        _("conversation agreements accepted at"), null=True, blank=True
    )
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
                        "reserve",
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


class Standpunt(models.Model):
    """A resident's answers to the theme's statements: special-category data (an opinion).

    Stored apart from the registration and only with its own explicit consent
    (`consent_at`). Never shown per person to anyone — not to facilitators, not in the
    admin, not in staff exports or e-mails. Used only to compose the group (`side`, see
    gesprekken.balance) and in counts of 3 or more; deleted with the registration's
    personal data by the retention purge, or by the resident from their manage page.
    """

    class Side(models.TextChoices):
        EENS = "eens", _("Agree")
        NEUTRAAL = "neutraal", _("Neutral")
        ONEENS = "oneens", _("Disagree")

    aanmelding = models.OneToOneField(
        Aanmelding, on_delete=models.CASCADE, related_name="standpunt", editable=False
    )
    # {stelling pk (str): "eens" | "neutraal" | "oneens"}
    answers = models.JSONField(default=dict, editable=False)
    # The overall lean over the answers: the side this resident counts on for the balance.
    side = models.CharField(max_length=8, choices=Side.choices, editable=False)
    consent_at = models.DateTimeField(editable=False)

    class Meta:
        default_permissions = ()

    def __str__(self):
        # Never the opinion itself, wherever this object ends up printed.
        return f"Standpunt #{self.pk}"

    @classmethod
    def side_of(cls, answers: dict) -> str:
        """Agree minus disagree over all answered statements decides the side."""
        values = list(answers.values())
        lean = values.count(cls.Side.EENS) - values.count(cls.Side.ONEENS)
        if lean > 0:
            return cls.Side.EENS
        if lean < 0:
            return cls.Side.ONEENS
        return cls.Side.NEUTRAAL


class Effectmeting(models.Model):
    """One anonymous answer to the effect survey: before, after, or both paired.

    Nothing here points at a person. `pairing_digest` is the SHA-256 of the pairing key in
    the survey links of one registration (gesprekken.effect.pairing_key); it links the
    after-answers to the before-answers and is destroyed (set to NULL) once the after-survey
    is answered, or by the retention purge. Results leave only as aggregates with n ≥ 5.
    """

    gesprek = models.ForeignKey(
        Gesprek, on_delete=models.CASCADE, related_name="effectmetingen", editable=False
    )
    pairing_digest = models.CharField(max_length=64, null=True, unique=True, editable=False)
    # Feeling thermometer (0–100) towards people who see the theme differently.
    before_thermometer = models.PositiveSmallIntegerField(null=True)
    after_thermometer = models.PositiveSmallIntegerField(null=True)
    # "Most people in my neighbourhood can be trusted", 1 (not at all) – 5 (completely).
    before_trust = models.PositiveSmallIntegerField(null=True)
    after_trust = models.PositiveSmallIntegerField(null=True)
    # "I heard an argument that made me think", 1 (not at all) – 5 (very much); after only.
    after_argument = models.PositiveSmallIntegerField(null=True)

    class Meta:
        default_permissions = ()
        constraints = [
            models.CheckConstraint(
                condition=(
                    (Q(before_thermometer__isnull=True) | Q(before_thermometer__lte=100))
                    & (Q(after_thermometer__isnull=True) | Q(after_thermometer__lte=100))
                    & (Q(before_trust__isnull=True) | Q(before_trust__range=(1, 5)))
                    & (Q(after_trust__isnull=True) | Q(after_trust__range=(1, 5)))
                    & (Q(after_argument__isnull=True) | Q(after_argument__range=(1, 5)))
                ),
                name="effectmeting_answers_in_range",
            )
        ]

    def __str__(self):
        return f"Effectmeting #{self.pk}"


class Incident(models.Model):
    """Something that went wrong at a gesprek, recorded by its facilitator: facts, no diagnosis.

    Seen and resolved by the coordinators of the gesprek's gemeente (and nobody else).
    """

    class Category(models.TextChoices):
        VERSTORING = "verstoring", _("Disruption of the conversation")
        INTIMIDATIE = "intimidatie", _("Intimidation or threats")
        DISCRIMINATIE = "discriminatie", _("Discrimination or insults")
        AGREEMENTS = "afspraken", _("Conversation agreements broken repeatedly")
        NO_SHOW = "niet_verschenen", _("Repeated no-show")
        VEILIGHEID = "veiligheid", _("Safety of the place or route")
        ANDERS = "anders", _("Other")

    gesprek = models.ForeignKey(
        Gesprek, on_delete=models.CASCADE, related_name="incidenten", verbose_name=_("conversation")
    )
    # The registration concerned, if any (so a coordinator can block its address).
    aanmelding = models.ForeignKey(
        Aanmelding,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incidenten",
        verbose_name=_("participant concerned"),
    )
    category = models.CharField(_("what happened"), max_length=20, choices=Category.choices)
    text = models.CharField(_("short factual description"), max_length=500)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    created_at = models.DateTimeField(_("reported at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolution = models.CharField(_("how it was resolved"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_category_display()} ({self.gesprek_id})"


class Blokkade(models.Model):
    """An e-mail address that may not sign up for gesprekken in one gemeente, until a date.

    The address itself is not kept: `email_digest` is a keyed hash of the normalised
    address (gesprekken.incidents.email_digest), `email_hint` a masked form (j…@example.nl)
    for the coordinator's list. Sign-up refuses it with a neutral message.
    """

    gemeente = models.ForeignKey(
        "gemeenten.Gemeente",
        on_delete=models.CASCADE,
        related_name="blokkades",
        verbose_name=_("municipality"),
    )
    email_digest = models.CharField(max_length=64, editable=False)
    email_hint = models.CharField(_("e-mail address"), max_length=100, editable=False)
    reason = models.CharField(_("reason"), max_length=300)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="blokkades"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("blocked at"), default=timezone.now)
    expires_on = models.DateField(_("blocked until"))

    class Meta:
        verbose_name = _("blocked address")
        verbose_name_plural = _("blocked addresses")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["gemeente", "email_digest"], name="one_blokkade_per_address_per_gemeente"
            )
        ]

    def __str__(self):
        return f"{self.email_hint} ({self.gemeente_id})"
