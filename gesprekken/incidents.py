"""Incidents at gesprekken and the block list per gemeente.

A facilitator records an incident at a gesprek they lead (category and a short factual
text, no diagnosis); the coordinators of that gemeente see and resolve it and can block an
e-mail address from signing up in their gemeente for a while. The block list keeps no
addresses: a keyed hash to compare with, and a masked hint to recognise the entry by.

Who sees what: incidents are about people, so only the municipal coordinators of the
gesprek's gemeente (Rol kind GEMEENTE) see them and the block list; national coordinators
see aggregates only and get nothing here (incident_gemeenten). Every use case checks that
itself, whatever the view did.

Text checks (check_text): plain text without HTML or control characters, no words about
health or a diagnosis (a refusal asking to rephrase), and in a facilitator's text no names
of the gesprek's participants (they choose the participant from a list instead). E-mail
addresses and phone numbers hold an incident back with a warning, as in the report
(services.personal_data_warnings), until the facilitator confirms they are nobody's.
"""

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from facilitators.models import Rol
from gemeenten.models import Gemeente

from .errors import ServiceError
from .models import Aanmelding, Blokkade, Gesprek, Incident

# --- Addresses: a keyed hash to compare, a masked hint to show ----------------------------


def email_digest(email: str) -> str:
    """A keyed SHA-256 of the normalised address: comparable, not readable."""
    key = hashlib.sha256(f"blokkade:{settings.SECRET_KEY}".encode()).digest()
    normalised = email.strip().lower().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()


def email_hint(email: str) -> str:
    """j…@example.nl: enough for a coordinator to recognise an entry, not to mail it."""
    local, _at, domain = email.strip().lower().rpartition("@")
    return f"{local[:1]}…@{domain}"[:100]


def blocks(*, buurt_id, email: str, today: date) -> QuerySet[Blokkade]:
    """The blocks on this address, today, in the gemeente of this buurt. The sign-up's lock
    asks the same in its own statement (services._lock_for_sign_up_sql); the two are held
    equal in tests/gesprekken/test_block_list.py."""
    return Blokkade.objects.filter(
        gemeente__buurten=buurt_id, email_digest=email_digest(email), expires_on__gte=today
    )


# --- Who sees what -----------------------------------------------------------------------


def incident_gemeenten(user) -> QuerySet[Gemeente]:
    """The gemeenten whose incidents and block list `user` sees: those they coordinate as a
    municipal coordinator. Never a national coordinator's "every gemeente"."""
    if not user.is_authenticated:
        return Gemeente.objects.none()
    return Gemeente.objects.filter(rollen__user=user, rollen__kind=Rol.Kind.GEMEENTE).distinct()


def incidents_for(user) -> QuerySet[Incident]:
    """The incidents `user` may see (and resolve): those in the gemeenten of incident_gemeenten."""
    return Incident.objects.filter(gesprek__buurt__gemeente__in=incident_gemeenten(user))


def blocks_for(user) -> QuerySet[Blokkade]:
    """The block list entries `user` may see (and lift)."""
    return Blokkade.objects.filter(gemeente__in=incident_gemeenten(user))


def open_incident_count(user, roles=None) -> int | None:
    """Open incidents in the gemeenten `user` coordinates; None for anyone who sees none
    (a national coordinator, a facilitator): for the link in the coordinator's menu.

    `roles` (facilitators.access.StaffRoles, as the staff decorators leave it on the
    request) saves a query: a coordinator who is not national has municipal roles."""
    if roles is not None and not roles.is_coordinator:
        return None
    if (roles is None or roles.is_national) and not incident_gemeenten(user).exists():
        return None
    return incidents_for(user).filter(resolved_at__isnull=True).count()


def participant_choices(gesprek: Gesprek) -> QuerySet[Aanmelding]:
    """The registrations an incident at `gesprek` can concern: all of them, also cancelled
    ones and no-shows, except those anonymised by the retention purge."""
    from .services import ANONYMISED_EMAIL_DOMAIN  # noqa: PLC0415 (services imports this module)

    return gesprek.aanmeldingen.exclude(email__endswith=ANONYMISED_EMAIL_DOMAIN).order_by(
        "name", "pk"
    )


def address_is_kept(aanmelding: Aanmelding | None) -> bool:
    """Is the participant's address still known (not anonymised by the retention purge)?"""
    from .services import ANONYMISED_EMAIL_DOMAIN  # noqa: PLC0415 (services imports this module)

    return aanmelding is not None and not aanmelding.email.endswith(ANONYMISED_EMAIL_DOMAIN)


def participant_hint(aanmelding: Aanmelding | None) -> str:
    """What a coordinator sees of the participant concerned: the masked address, or ""."""
    return email_hint(aanmelding.email) if address_is_kept(aanmelding) else ""


# --- Checking the text -------------------------------------------------------------------

# Words about health or a diagnosis, in Dutch and English. An incident describes what
# happened, not what someone might have; health data is special-category data (AVG art. 9).
# Each is a regular expression matched case-insensitively against whole words:
# "stem\w*" at the start of a word, "\w*stem\w*" anywhere in it, "word" the word alone.
HEALTH_WORDS = (
    r"\w*diagnos\w*",  # diagnose, gediagnosticeerd, diagnosis
    r"\w*psych\w*",  # psychisch, psychiatrisch, psychose, psychotic, psychologist
    r"verward\w*",
    r"dement\w*",
    r"autis\w*",
    r"adhd\w*",
    r"depress\w*",
    r"\w*verslaaf\w*",  # verslaafd, drugsverslaafde
    r"\w*verslaving\w*",
    r"ziek\w*",  # not \w*ziek: "muziek"
    r"\w*ziekte\w*",
    r"\w*stoornis\w*",
    r"gestoord\w*",
    r"schizo\w*",
    r"bipola\w*",
    r"borderline\w*",
    r"trauma\w*",
    r"alzheimer\w*",
    r"medic[aiu]\w*",  # medicatie, medicijnen, medication, medical
    r"therap\w*",
    r"handicap\w*",
    r"\w*gezondheid\w*",
    r"ggz",
    r"ptss",
    r"ptsd",
    r"mental\w*",
    r"addict\w*",
    r"ill",
    r"illness\w*",
    r"sick\w*",
    r"\w*health\w*",
    r"disorders?",
    r"crazy",
    r"insane",
)
_HEALTH = re.compile(r"\b(?:" + "|".join(HEALTH_WORDS) + r")\b", re.IGNORECASE)
# A tag or comment start: shown escaped anyway, but markup is never what was meant.
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]")
# Bidirectional overrides and isolates can make text display as something else.
_BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = set("\r\n\t")


def health_words(text: str) -> list[str]:
    """The words in `text` about health or a diagnosis, each once, in order."""
    return list(dict.fromkeys(match.group(0) for match in _HEALTH.finditer(text or "")))


def _has_control_characters(text: str, *, multiline: bool) -> bool:
    allowed = _LINE_BREAKS if multiline else set()
    return any(
        char not in allowed
        and (unicodedata.category(char) in {"Cc", "Zl", "Zp"} or char in _BIDI_CONTROLS)
        for char in text
    )


def _names_in(text: str, names: list[str]) -> list[str]:
    """Which of the participants' names appear in `text`, as written (a capital first)."""
    found = []
    for name in names:
        for word in re.findall(r"\w+", name):
            if len(word) > 1 and word[0].isupper() and re.search(rf"\b{re.escape(word)}\b", text):
                found.append(word)
    return list(dict.fromkeys(found))


def check_text(
    text: str,
    *,
    max_length: int,
    required: bool = True,
    multiline: bool = True,
    names: list[str] | None = None,
) -> str:
    """`text` stripped, or ValidationError with one clear message: empty, too long, control
    characters, HTML, words about health or a diagnosis, or a participant's name."""
    text = (text or "").strip()
    if not text:
        if required:
            raise ValidationError(_("Write a few words."), code="required")
        return text
    if len(text) > max_length:
        raise ValidationError(
            _("Use at most %(limit)s characters (now %(length)s).")
            % {"limit": max_length, "length": len(text)},
            code="max_length",
        )
    if _has_control_characters(text, multiline=multiline):
        raise ValidationError(
            _("Use plain text, without special characters or text-direction marks."),
            code="control",
        )
    if _MARKUP.search(text):
        raise ValidationError(_("Leave out HTML: plain text only."), code="markup")
    if found := health_words(text):
        raise ValidationError(
            _(
                "Leave out words about health or a diagnosis (%(words)s). Describe what "
                "happened, not what you think is wrong with someone, and save again."
            )
            % {"words": ", ".join(found)},
            code="health",
        )
    if names and (found := _names_in(text, names)):
        raise ValidationError(
            _(
                "Leave out names (%(names)s): choose the participant concerned in the list "
                "instead. The coordinators never see names."
            )
            % {"names": ", ".join(found)},
            code="name",
        )
    return text


def _checked(errors: dict, field: str, text: str, **options) -> str:
    try:
        return check_text(text, **options)
    except ValidationError as error:
        errors[field] = error.messages
        return (text or "").strip()


# --- Errors ------------------------------------------------------------------------------


class IncidentError(ServiceError):
    """An incident or block use case refused; `str(error)` is for the staff member."""


class NotAllowed(IncidentError):
    # Views answer 404 before this can happen; the use cases check again.
    default_message = _("This is not one of your conversations or municipalities.")


class AlreadyResolved(IncidentError):
    default_message = _("This incident was resolved already.")


class AlreadyBlocked(IncidentError):
    default_message = _("This address is blocked in this municipality already.")


class AddressGone(IncidentError):
    default_message = _(
        "The address of this participant is no longer kept, so it cannot be blocked."
    )


# --- Recording and resolving --------------------------------------------------------------

TEXT_LIMIT = Incident._meta.get_field("text").max_length
RESOLUTION_LIMIT = Incident._meta.get_field("resolution").max_length
REASON_LIMIT = Blokkade._meta.get_field("reason").max_length


@dataclass
class RecordResult:
    """What record_incident did: saved (`incident` set), or held back by `warnings`."""

    incident: Incident | None
    # Messages about e-mail addresses and phone numbers found in the text.
    warnings: list[str]

    @property
    def saved(self) -> bool:
        return self.incident is not None


def record_incident(
    *,
    gesprek: Gesprek,
    by_user,
    category: str,
    text: str,
    aanmelding: Aanmelding | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
) -> RecordResult:
    """A facilitator of `gesprek` records an incident: a category, a short factual text and,
    optionally (required for a repeated no-show), the participant concerned.

    Raises NotAllowed when `by_user` does not lead or co-lead the gesprek, and ValidationError
    keyed by field (category, aanmelding, text) for anything check_text refuses, an unknown
    category or a participant of another gesprek. Like the report, text that seems to hold
    an e-mail address or phone number is not saved but comes back as warnings, unless
    `confirmed`. Sends nothing: the coordinators see it in their list.
    """
    from .services import personal_data_warnings  # noqa: PLC0415 (services imports this module)

    now = now or timezone.now()
    if not Gesprek.objects.led_by(by_user).filter(pk=gesprek.pk).exists():
        raise NotAllowed()
    errors: dict[str, list] = {}
    if category not in Incident.Category.values:
        errors["category"] = [_("Choose what happened.")]
    if aanmelding is not None and not participant_choices(gesprek).filter(pk=aanmelding.pk):
        errors["aanmelding"] = [_("Choose a participant of this conversation from the list.")]
    if category == Incident.Category.NO_SHOW and aanmelding is None:
        errors["aanmelding"] = [_("Choose the participant who did not come.")]
    names = list(gesprek.aanmeldingen.values_list("name", flat=True))
    text = _checked(errors, "text", text, max_length=TEXT_LIMIT, names=names)
    if errors:
        raise ValidationError(errors)
    warnings = personal_data_warnings(text=text).get("text", [])
    if warnings and not confirmed:
        return RecordResult(incident=None, warnings=warnings)
    incident = Incident.objects.create(
        gesprek=gesprek,
        aanmelding=aanmelding,
        category=category,
        text=text,
        reported_by=by_user,
        created_at=now,
    )
    return RecordResult(incident=incident, warnings=warnings)


def resolve_incident(
    *, incident: Incident, by_user, resolution: str, now: datetime | None = None
) -> Incident:
    """A coordinator of the incident's gemeente marks it resolved, with a short note.

    Raises NotAllowed (not a municipal coordinator there), AlreadyResolved, and
    ValidationError keyed "resolution" for what check_text refuses. Locks the incident.
    """
    now = now or timezone.now()
    errors: dict[str, list] = {}
    resolution = _checked(errors, "resolution", resolution, max_length=RESOLUTION_LIMIT)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        current = incidents_for(by_user).select_for_update().filter(pk=incident.pk).first()
        if current is None:
            raise NotAllowed()
        if current.resolved_at is not None:
            raise AlreadyResolved()
        current.resolved_at = now
        current.resolved_by = by_user
        current.resolution = resolution
        current.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    incident.resolved_at, incident.resolved_by, incident.resolution = now, by_user, resolution
    return incident


# --- The block list -----------------------------------------------------------------------


def default_block_until(today: date) -> date:
    return today + timedelta(days=settings.GESPREKKEN_BLOCK_DAYS)


def latest_block_until(today: date) -> date:
    """A block is for a while, not for ever: at most twice the default length."""
    return today + timedelta(days=2 * settings.GESPREKKEN_BLOCK_DAYS)


def _check_block(errors: dict, *, reason: str, expires_on, today: date) -> str:
    reason = _checked(errors, "reason", reason, max_length=REASON_LIMIT, multiline=False)
    latest = latest_block_until(today)
    if not isinstance(expires_on, date) or isinstance(expires_on, datetime):
        errors["expires_on"] = [_("Enter a date like 2027-03-31.")]
    elif not today <= expires_on <= latest:
        errors["expires_on"] = [
            _("Choose a date from today up to %(latest)s.")
            % {"latest": date_format(latest, "DATE_FORMAT")}
        ]
    return reason


def normalise_address(email: str) -> str:
    """The address as sign-up stores it (services.normalise_email), or ValidationError."""
    email = (email or "").strip().lower()
    if not email:
        raise ValidationError(_("Enter the e-mail address to block."), code="required")
    if len(email) > 254 or _has_control_characters(email, multiline=False):
        raise ValidationError(_("Enter an e-mail address like name@example.nl."), code="invalid")
    EmailValidator(message=_("Enter an e-mail address like name@example.nl."))(email)
    return email


def block_address(
    *,
    gemeente: Gemeente,
    email: str,
    reason: str,
    expires_on: date,
    by_user,
    incident: Incident | None = None,
    now: datetime | None = None,
) -> Blokkade:
    """Block `email` from signing up for gesprekken in `gemeente` until `expires_on`.

    Only the hash and the masked hint are stored. An expired entry for the same address
    (not purged yet) is renewed. Raises NotAllowed (not a municipal coordinator of the
    gemeente), AlreadyBlocked (an active entry exists; also when two coordinators block it
    at the same moment), and ValidationError keyed by field (email, reason, expires_on).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not incident_gemeenten(by_user).filter(pk=gemeente.pk).exists():
        raise NotAllowed()
    errors: dict[str, list] = {}
    try:
        email = normalise_address(email)
    except ValidationError as error:
        errors["email"] = error.messages
    reason = _check_block(errors, reason=reason, expires_on=expires_on, today=today)
    if errors:
        raise ValidationError(errors)
    digest = email_digest(email)
    fields = {
        "email_hint": email_hint(email),
        "reason": reason,
        "expires_on": expires_on,
        "incident": incident,
        "created_by": by_user,
        "created_at": now,
    }
    with transaction.atomic():
        existing = (
            Blokkade.objects.select_for_update()
            .filter(gemeente=gemeente, email_digest=digest)
            .first()
        )
        if existing is not None:
            if existing.expires_on >= today:
                raise AlreadyBlocked(
                    _("This address is blocked in %(gemeente)s already, until %(until)s.")
                    % {
                        "gemeente": gemeente.name,
                        "until": date_format(existing.expires_on, "DATE_FORMAT"),
                    }
                )
            for name, value in fields.items():
                setattr(existing, name, value)
            existing.save()
            return existing
        try:
            with transaction.atomic():
                return Blokkade.objects.create(gemeente=gemeente, email_digest=digest, **fields)
        except IntegrityError:
            # Another coordinator blocked the same address a moment ago.
            raise AlreadyBlocked() from None


def block_participant(
    *,
    incident: Incident,
    reason: str,
    expires_on: date,
    by_user,
    now: datetime | None = None,
) -> Blokkade:
    """Block the address of the participant an incident concerns, in the gesprek's gemeente.

    Raises NotAllowed (not a municipal coordinator there), AddressGone (no participant, or
    their registration was anonymised), then as block_address.
    """
    current = (
        incidents_for(by_user)
        .select_related("aanmelding", "gesprek__buurt__gemeente")
        .filter(pk=incident.pk)
        .first()
    )
    if current is None:
        raise NotAllowed()
    if not address_is_kept(current.aanmelding):
        raise AddressGone()
    return block_address(
        gemeente=current.gesprek.buurt.gemeente,
        email=current.aanmelding.email,
        reason=reason,
        expires_on=expires_on,
        by_user=by_user,
        incident=current,
        now=now,
    )


def lift_block(*, blokkade: Blokkade, by_user) -> bool:
    """Lift a block (delete the entry). False when it was gone already.

    Raises NotAllowed when `by_user` is not a municipal coordinator of its gemeente."""
    if not incident_gemeenten(by_user).filter(pk=blokkade.gemeente_id).exists():
        raise NotAllowed()
    deleted, _per_model = Blokkade.objects.filter(pk=blokkade.pk).delete()
    return deleted > 0


# --- Retention ------------------------------------------------------------------------------


@dataclass
class PurgeResult:
    incidents_deleted: int
    blocks_deleted: int


def purge(now: datetime | None = None) -> PurgeResult:
    """Delete incidents resolved more than GESPREKKEN_RETENTION_DAYS ago, and block list
    entries past their end date. Open incidents stay until a coordinator resolves them.
    Running it again changes nothing."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.GESPREKKEN_RETENTION_DAYS)
    with transaction.atomic():
        _total, incidents = Incident.objects.filter(resolved_at__lte=cutoff).delete()
        _total, blocks = Blokkade.objects.filter(expires_on__lt=timezone.localdate(now)).delete()
    return PurgeResult(
        incidents_deleted=incidents.get(Incident._meta.label, 0),
        blocks_deleted=blocks.get(Blokkade._meta.label, 0),
    )
