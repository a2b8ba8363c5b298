"""Use cases for residents and staff: sign up, confirm, cancel, the waiting list, interest,
publishing, changing and cancelling a gesprek.

Every function is one state change in one transaction. Functions that count or move
seats lock the gesprek row first (`SELECT … FOR UPDATE`) and its aanmeldingen after it,
always in that order, so two of them never deadlock and a count is never stale. E-mails
are queued through the outbox in the same transaction: a mail exists exactly when the
change it announces was committed, and its key makes queueing it twice a no-op.

Double opt-in and the waiting list: a seat only counts for a proven address. A free
seat is held (ONBEVESTIGD) until the resident clicks the link in the "bevestig_email"
mail; unconfirmed holds expire and free the seat. A waiting-list entry (WACHTLIJST) gets
the "wachtlijst" mail with its personal link and needs no separate confirmation: it never
takes a seat until its owner claims an offered seat through the link in the
"plek_aangeboden" mail, and that click proves the address.

Errors the resident should read are `ServiceError` subclasses; `str(error)` is the
message in the active language.
"""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_lazy as _

from gemeenten.models import Buurt

from . import outbox
from .models import Aanmelding, Gesprek, Interesse, new_short_code

Status = Aanmelding.Status

# Who is told when a gesprek changes or is called off: everyone with a registration that
# is still alive (held, confirmed, waiting or offered a seat).
INFORMED_STATUSES = [Status.ONBEVESTIGD, Status.BEVESTIGD, Status.WACHTLIJST, Status.AANGEBODEN]

# Fields change_gesprek accepts; changing one of NOTIFY_FIELDS tells every registered
# resident and raises the calendar SEQUENCE.
CHANGEABLE_FIELDS = frozenset(
    {
        "format",
        "street",
        "place",
        "route",
        "video_url",
        "starts_at",
        "ends_at",
        "min_participants",
        "max_participants",
        "thema",
        "language",
        "accessibility_notes",
        "facilitator",
        "co_facilitator",
    }
)
NOTIFY_FIELDS = frozenset({"format", "place", "route", "video_url", "starts_at", "ends_at"})


class ServiceError(Exception):
    """A use case refused. `str(error)` is a translated message meant for the resident."""

    default_message = _("Something went wrong. Please try again.")

    def __init__(self, message=None):
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)


class AlreadySignedUp(ServiceError):
    default_message = _(
        "This e-mail address is already signed up for this conversation. "
        "Lost your personal link? We can send it to you again."
    )


class GesprekClosed(ServiceError):
    default_message = _("You can no longer sign up for this conversation.")


class RegistrationCancelled(ServiceError):
    default_message = _("This registration has been cancelled.")


class NoSeatOffered(ServiceError):
    default_message = _("There is no seat offered to you for this conversation at the moment.")


class OfferExpired(ServiceError):
    default_message = _(
        "Sorry, the time to claim this seat has passed. "
        "The seat went to the next person on the waiting list."
    )


# --- helpers -----------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def _language(language: str) -> str:
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _lock_gesprek(gesprek: Gesprek | int) -> Gesprek:
    pk = gesprek if isinstance(gesprek, int) else gesprek.pk
    return Gesprek.objects.select_for_update().get(pk=pk)


def _lock_aanmelding(aanmelding: Aanmelding) -> tuple[Gesprek, Aanmelding]:
    """Lock the gesprek, then the aanmelding (the one lock order used everywhere)."""
    gesprek = _lock_gesprek(aanmelding.gesprek_id)
    current = Aanmelding.objects.select_for_update().get(pk=aanmelding.pk)
    current.gesprek = gesprek
    return gesprek, current


def _sync(target: models.Model, source: models.Model) -> None:
    # Callers keep using the instance they passed in; give it the committed state.
    if target is source:
        return
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _is_open(gesprek: Gesprek, now: datetime) -> bool:
    return gesprek.status == Gesprek.Status.GEPLAND and gesprek.starts_at > now


def _seats_taken(gesprek: Gesprek, *, exclude: Aanmelding | None = None) -> int:
    taken = gesprek.aanmeldingen.holding_seat()
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    return taken.count()


def _mail(kind: str, aanmelding: Aanmelding, *, key: str = "", context=None) -> None:
    outbox.queue(
        kind=kind,
        key=key or f"{kind}:{aanmelding.pk}",
        to=aanmelding.email,
        language=aanmelding.language,
        aanmelding=aanmelding,
        gesprek=aanmelding.gesprek,
        context=context,
    )


def _save_reactivated(aanmelding: Aanmelding, fields: list[str]) -> None:
    """Save a registration that becomes active again; the address may have signed up anew."""
    try:
        with transaction.atomic():
            aanmelding.save(update_fields=fields)
    except IntegrityError:
        raise AlreadySignedUp() from None


def _offer_free_seats(gesprek: Gesprek, now: datetime) -> list[Aanmelding]:
    """Offer every free seat to the next on the waiting list. The caller holds the lock."""
    if not _is_open(gesprek, now):
        return []
    free = gesprek.max_participants - _seats_taken(gesprek)
    if free <= 0:
        return []
    offered = list(gesprek.aanmeldingen.waiting().select_for_update()[:free])
    expires = min(now + timedelta(hours=settings.GESPREKKEN_OFFER_HOURS), gesprek.starts_at)
    for aanmelding in offered:
        aanmelding.gesprek = gesprek
        aanmelding.status = Status.AANGEBODEN
        aanmelding.offer_expires_at = expires
        aanmelding.save(update_fields=["status", "offer_expires_at"])
        _mail("plek_aangeboden", aanmelding, context={"offer_expires_at": expires.isoformat()})
    return offered


# --- registrations -------------------------------------------------------------------------


def sign_up(
    *,
    gesprek: Gesprek,
    name: str,
    email: str,
    phone: str = "",
    postcode: str,
    language: str,
    now: datetime | None = None,
) -> Aanmelding:
    """Register a resident: a held seat when one is free, else a place on the waiting list.

    Locks the gesprek row, then counts seats. A free seat becomes ONBEVESTIGD, held until
    now + GESPREKKEN_HOLD_MINUTES (never past the start), and queues "bevestig_email";
    a full gesprek gives WACHTLIJST and queues "wachtlijst". If seats are free while
    others wait (capacity was raised), those waiting are offered them first.
    The e-mail is stored lowercased and stripped; consent is recorded as given now.

    Raises GesprekClosed (not planned, or already started) and AlreadySignedUp (this
    address has an active registration for the gesprek; the conditional unique
    constraint backs the check up against a double submit).
    """
    now = now or timezone.now()
    email = normalise_email(email)
    with transaction.atomic():
        locked = _lock_gesprek(gesprek)
        if not _is_open(locked, now):
            raise GesprekClosed()
        active = locked.aanmeldingen.filter(email=email, status__in=Aanmelding.ACTIVE_STATUSES)
        if active.exists():
            raise AlreadySignedUp()
        free = locked.max_participants - _seats_taken(locked)
        if free > 0 and locked.aanmeldingen.waiting().exists():
            free -= len(_offer_free_seats(locked, now))
        aanmelding = Aanmelding(
            gesprek=locked,
            name=name.strip(),
            email=email,
            phone=(phone or "").strip(),
            postcode=normalise_postcode(postcode),
            language=_language(language),
            consent_at=now,
            created_at=now,
        )
        if free > 0:
            aanmelding.status = Status.ONBEVESTIGD
            hold = timedelta(minutes=settings.GESPREKKEN_HOLD_MINUTES)
            aanmelding.hold_expires_at = min(now + hold, locked.starts_at)
        else:
            aanmelding.status = Status.WACHTLIJST
        for attempt in range(3):
            try:
                with transaction.atomic():
                    aanmelding.save(force_insert=True)
                break
            except IntegrityError:
                if active.exists():
                    raise AlreadySignedUp() from None
                if attempt == 2:
                    raise
                # The random check-in code clashed with another registration's.
                aanmelding.short_code = new_short_code()
        if aanmelding.status == Status.ONBEVESTIGD:
            _mail("bevestig_email", aanmelding)
        else:
            _mail("wachtlijst", aanmelding)
    return aanmelding


def confirm(*, aanmelding: Aanmelding, now: datetime | None = None) -> Aanmelding:
    """Confirm the e-mail address (the link in "bevestig_email"): the held seat is theirs.

    Locks the gesprek, then the aanmelding. ONBEVESTIGD → BEVESTIGD and queues
    "bevestigd" (with the .ics). If the hold has expired (status still ONBEVESTIGD or
    already VERLOPEN), the resident still gets a seat when one is free; otherwise they
    go on the waiting list (WACHTLIJST, queues "wachtlijst"), keeping their original
    sign-up time as their place in the line. An offered seat (AANGEBODEN) is claimed as
    by claim_offer. Repeating it is harmless: confirmed and waiting registrations are
    returned unchanged. Check `aanmelding.status` afterwards to tell the resident.

    Raises GesprekClosed, RegistrationCancelled, OfferExpired, or AlreadySignedUp (an
    expired hold revived while the address has signed up again meanwhile).
    """
    now = now or timezone.now()
    offer_expired = False
    with transaction.atomic():
        gesprek, current = _lock_aanmelding(aanmelding)
        if current.status == Status.AANGEBODEN:
            offer_expired = not _claim(gesprek, current, now)
        elif current.status == Status.GEANNULEERD:
            raise RegistrationCancelled()
        elif current.status == Status.VERLOPEN and current.offer_expires_at is not None:
            raise OfferExpired()
        elif current.status in (Status.ONBEVESTIGD, Status.VERLOPEN):
            if not _is_open(gesprek, now):
                raise GesprekClosed()
            hold_valid = (
                current.status == Status.ONBEVESTIGD
                and current.hold_expires_at is not None
                and now < current.hold_expires_at
            )
            if hold_valid or _seats_taken(gesprek, exclude=current) < gesprek.max_participants:
                current.status = Status.BEVESTIGD
                current.confirmed_at = now
                current.hold_expires_at = None
                _save_reactivated(current, ["status", "confirmed_at", "hold_expires_at"])
                _mail("bevestigd", current)
            else:
                current.status = Status.WACHTLIJST
                current.hold_expires_at = None
                _save_reactivated(current, ["status", "hold_expires_at"])
                _mail("wachtlijst", current)
    _sync(aanmelding, current)
    if offer_expired:
        raise OfferExpired()
    return aanmelding


def _claim(gesprek: Gesprek, aanmelding: Aanmelding, now: datetime) -> bool:
    """Turn an offer into a confirmed seat, or let an expired one pass on (locks held)."""
    if gesprek.status != Gesprek.Status.GEPLAND:
        raise GesprekClosed()
    if aanmelding.offer_expires_at is not None and now < aanmelding.offer_expires_at:
        aanmelding.status = Status.BEVESTIGD
        aanmelding.confirmed_at = now
        aanmelding.save(update_fields=["status", "confirmed_at"])
        _mail("bevestigd", aanmelding)
        return True
    aanmelding.status = Status.VERLOPEN
    aanmelding.save(update_fields=["status"])
    _offer_free_seats(gesprek, now)
    return False


def claim_offer(*, aanmelding: Aanmelding, now: datetime | None = None) -> Aanmelding:
    """Take the seat offered from the waiting list (the link in "plek_aangeboden").

    Locks the gesprek, then the aanmelding. AANGEBODEN within offer_expires_at →
    BEVESTIGD and queues "bevestigd". Claiming an already confirmed seat is harmless.
    An offer past its time is expired on the spot (VERLOPEN) and passed on to the next
    in line, and OfferExpired is raised after that has been committed.

    Raises OfferExpired, GesprekClosed (called off), RegistrationCancelled, NoSeatOffered.
    """
    now = now or timezone.now()
    offer_expired = False
    with transaction.atomic():
        gesprek, current = _lock_aanmelding(aanmelding)
        if current.status == Status.AANGEBODEN:
            offer_expired = not _claim(gesprek, current, now)
        elif current.status in (Status.BEVESTIGD, Status.AANWEZIG):
            pass
        elif current.status == Status.VERLOPEN and current.offer_expires_at is not None:
            raise OfferExpired()
        elif current.status == Status.GEANNULEERD:
            raise RegistrationCancelled()
        else:
            raise NoSeatOffered()
    _sync(aanmelding, current)
    if offer_expired:
        raise OfferExpired()
    return aanmelding


def cancel(*, aanmelding: Aanmelding, now: datetime | None = None) -> Aanmelding:
    """The resident cancels (manage page). Frees their seat for the waiting list.

    Locks the gesprek, then the aanmelding. Any live registration → GEANNULEERD with
    cancelled_at; a freed seat is offered on at once (offer_next_seat). Cancelling what
    is already cancelled or expired changes nothing.

    Raises GesprekClosed once the gesprek has started (or attendance was recorded).
    """
    now = now or timezone.now()
    with transaction.atomic():
        gesprek, current = _lock_aanmelding(aanmelding)
        if current.status not in (Status.GEANNULEERD, Status.VERLOPEN):
            if current.status not in INFORMED_STATUSES or gesprek.starts_at <= now:
                raise GesprekClosed(
                    _("This conversation has already started, so you can no longer cancel.")
                )
            had_seat = current.status in Aanmelding.SEAT_STATUSES
            current.status = Status.GEANNULEERD
            current.cancelled_at = now
            current.save(update_fields=["status", "cancelled_at"])
            if had_seat:
                _offer_free_seats(gesprek, now)
    _sync(aanmelding, current)
    return aanmelding


def offer_next_seat(*, gesprek: Gesprek, now: datetime | None = None) -> list[Aanmelding]:
    """Offer each free seat to the next on the waiting list, in sign-up order.

    Locks the gesprek. Each offered registration becomes AANGEBODEN until
    min(now + GESPREKKEN_OFFER_HOURS, start) and gets "plek_aangeboden". Does nothing for
    a gesprek that is not planned or has started. Returns the registrations offered.
    """
    now = now or timezone.now()
    with transaction.atomic():
        return _offer_free_seats(_lock_gesprek(gesprek), now)


def expire_holds_and_offers(*, now: datetime | None = None) -> int:
    """Expire unconfirmed holds and unclaimed offers, and offer the freed seats on.

    For each gesprek with something due, in its own transaction: lock the gesprek,
    ONBEVESTIGD past hold_expires_at and AANGEBODEN past offer_expires_at → VERLOPEN,
    then offer_next_seat. Run by a beat task every few minutes. Returns how many expired.
    """
    now = now or timezone.now()
    due = Q(status=Status.ONBEVESTIGD, hold_expires_at__lte=now) | Q(
        status=Status.AANGEBODEN, offer_expires_at__lte=now
    )
    gesprek_ids = set(
        Aanmelding.objects.filter(due).order_by().values_list("gesprek_id", flat=True)
    )
    expired = 0
    for gesprek_id in sorted(gesprek_ids):
        with transaction.atomic():
            gesprek = _lock_gesprek(gesprek_id)
            expired += gesprek.aanmeldingen.filter(due).update(status=Status.VERLOPEN)
            _offer_free_seats(gesprek, now)
    return expired


def resend_manage_link(
    *, email: str, gesprek: Gesprek | None = None, now: datetime | None = None
) -> int:
    """Send the personal link again for each live registration of this address.

    Queues one "beheerlink" per registration for a planned gesprek that has not ended
    (only `gesprek`'s when given). The key carries a time bucket of
    GESPREKKEN_RESEND_LINK_MINUTES, so repeated requests send at most one mail per
    registration per bucket. Says nothing when there is nothing to send: the caller shows
    the same message either way, so nobody can probe which addresses signed up.
    Returns the number of mails queued.
    """
    now = now or timezone.now()
    bucket = int(now.timestamp()) // (settings.GESPREKKEN_RESEND_LINK_MINUTES * 60)
    aanmeldingen = Aanmelding.objects.filter(
        email=normalise_email(email),
        status__in=INFORMED_STATUSES,
        gesprek__status=Gesprek.Status.GEPLAND,
        gesprek__ends_at__gt=now,
    ).select_related("gesprek")
    if gesprek is not None:
        aanmeldingen = aanmeldingen.filter(gesprek=gesprek)
    queued = 0
    with transaction.atomic():
        for aanmelding in aanmeldingen:
            if _queue_counted("beheerlink", aanmelding, key=f"beheerlink:{aanmelding.pk}:{bucket}"):
                queued += 1
    return queued


def _queue_counted(kind: str, aanmelding: Aanmelding, *, key: str) -> bool:
    return (
        outbox.queue(
            kind=kind,
            key=key,
            to=aanmelding.email,
            language=aanmelding.language,
            aanmelding=aanmelding,
            gesprek=aanmelding.gesprek,
        )
        is not None
    )


# --- interest ------------------------------------------------------------------------------


def register_interest(
    *,
    buurt: Buurt,
    street: str = "",
    email: str,
    language: str,
    now: datetime | None = None,
) -> Interesse:
    """Record "I want a conversation in my street" and ask to confirm the address.

    Creates an Interesse (consent given now) and queues "interesse_bevestigen". When the
    address already has an open interest in this buurt, that one is returned and, while
    unconfirmed, gets the confirmation mail again; the key carries a time bucket, so at
    most one such mail goes out per GESPREKKEN_RESEND_LINK_MINUTES. Never raises for a
    repeat, so the caller shows the same message either way.
    """
    now = now or timezone.now()
    email = normalise_email(email)
    open_interest = Interesse.objects.filter(buurt=buurt, email=email, invited_at__isnull=True)
    with transaction.atomic():
        interesse = open_interest.first()
        if interesse is None:
            interesse = Interesse(
                buurt=buurt,
                street=street.strip(),
                email=email,
                language=_language(language),
                consent_at=now,
                created_at=now,
            )
            try:
                with transaction.atomic():
                    interesse.save(force_insert=True)
            except IntegrityError:
                # A double submit: the other request created it.
                interesse = open_interest.get()
        if interesse.confirmed_at is None:
            bucket = int(now.timestamp()) // (settings.GESPREKKEN_RESEND_LINK_MINUTES * 60)
            outbox.queue(
                kind="interesse_bevestigen",
                key=f"interesse_bevestigen:{interesse.pk}:{bucket}",
                to=interesse.email,
                language=interesse.language,
                interesse=interesse,
            )
    return interesse


def confirm_interest(*, interesse: Interesse, now: datetime | None = None) -> Interesse:
    """Confirm the address of an interest (the link in "interesse_bevestigen").

    Locks the interesse. Sets confirmed_at once; repeating is harmless. If a gesprek is
    already planned in the buurt (or else its wijk), the resident is invited to the
    soonest one right away ("uitnodiging"), as invite_interested would have done.
    """
    now = now or timezone.now()
    with transaction.atomic():
        current = Interesse.objects.select_for_update().get(pk=interesse.pk)
        if current.confirmed_at is None:
            current.confirmed_at = now
            current.save(update_fields=["confirmed_at"])
            if current.invited_at is None:
                gesprek = _soonest_nearby(current.buurt, now)
                if gesprek is not None:
                    _invite(current, gesprek, now)
    _sync(interesse, current)
    return interesse


def _soonest_nearby(buurt: Buurt, now: datetime) -> Gesprek | None:
    planned = Gesprek.objects.published().filter(starts_at__gt=now).order_by("starts_at")
    return (
        planned.filter(buurt=buurt).first() or planned.filter(buurt__wijk_id=buurt.wijk_id).first()
    )


def _invite(interesse: Interesse, gesprek: Gesprek, now: datetime) -> None:
    interesse.invited_at = now
    interesse.invited_to = gesprek
    interesse.save(update_fields=["invited_at", "invited_to"])
    outbox.queue(
        kind="uitnodiging",
        key=f"uitnodiging:{interesse.pk}",
        to=interesse.email,
        language=interesse.language,
        interesse=interesse,
        gesprek=gesprek,
    )


def invite_interested(*, gesprek: Gesprek, now: datetime | None = None) -> int:
    """Invite everyone who asked for a conversation in this gesprek's buurt or wijk, once.

    Locks the gesprek and the matching interests (confirmed, not yet invited). Each gets
    invited_at/invited_to and an "uitnodiging" mail keyed by the interest, so a second
    call, or a second gesprek in the same wijk, never invites anyone twice. Does nothing
    unless the gesprek is planned and upcoming. Returns how many were invited.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_gesprek(gesprek)
        return _invite_interested(locked, now)


def _invite_interested(gesprek: Gesprek, now: datetime) -> int:
    if not _is_open(gesprek, now):
        return 0
    # A subquery rather than a join keeps FOR UPDATE on the interest rows only.
    wijk_buurten = Buurt.objects.filter(wijk_id=gesprek.buurt.wijk_id).values("pk")
    interested = (
        Interesse.objects.select_for_update()
        .filter(confirmed_at__isnull=False, invited_at__isnull=True, buurt__in=wijk_buurten)
        .order_by("created_at", "pk")
    )
    invited = 0
    for interesse in interested:
        _invite(interesse, gesprek, now)
        invited += 1
    return invited


def get_aanmelding_by_token(pk: Any, token: Any) -> Aanmelding | None:
    """The registration behind a personal link, or None (unknown pk or wrong token)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    aanmelding = (
        Aanmelding.objects.select_related("gesprek", "gesprek__buurt").filter(pk=pk).first()
    )
    if aanmelding is None or not token or not constant_time_compare(aanmelding.token, str(token)):
        return None
    return aanmelding


def get_interesse_by_token(pk: Any, token: Any) -> Interesse | None:
    """The interest behind a personal link, or None (unknown pk or wrong token)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    interesse = Interesse.objects.select_related("buurt").filter(pk=pk).first()
    if interesse is None or not token or not constant_time_compare(interesse.token, str(token)):
        return None
    return interesse


# --- the gesprek itself --------------------------------------------------------------------


def publish(*, gesprek: Gesprek, now: datetime | None = None) -> Gesprek:
    """Make a draft gesprek public (CONCEPT → GEPLAND) and invite those interested nearby.

    Locks the gesprek. Publishing a planned gesprek again only re-runs the (idempotent)
    invitations. Raises GesprekClosed for a cancelled or held gesprek, or one whose start
    has passed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_gesprek(gesprek)
        if locked.status == Gesprek.Status.CONCEPT:
            if locked.starts_at <= now:
                raise GesprekClosed(_("A conversation in the past cannot be published."))
            locked.status = Gesprek.Status.GEPLAND
            locked.save(update_fields=["status", "updated_at"])
        elif locked.status != Gesprek.Status.GEPLAND:
            raise GesprekClosed(_("A cancelled or finished conversation cannot be published."))
        _invite_interested(locked, now)
    _sync(gesprek, locked)
    return gesprek


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value if isinstance(value, str | int | None) else str(value)


def change_gesprek(*, gesprek: Gesprek, now: datetime | None = None, **changes: Any) -> Gesprek:
    """Change a gesprek; tell everyone registered when time, place or format changed.

    `changes` are field values (CHANGEABLE_FIELDS; model instances for thema and the
    facilitators). Locks the gesprek, compares with the stored values, validates
    (full_clean) and saves. When a NOTIFY_FIELDS value changed, `sequence` rises by one
    and every live registration (INFORMED_STATUSES) gets a "gewijzigd" mail keyed by
    registration and sequence: a later change mails again, the same change never twice.
    Holds and offers are kept within the new start. A larger capacity is offered to the
    waiting list at once; a smaller one takes no seat away.

    Raises TypeError for an unknown field, ValidationError for invalid values, and
    GesprekClosed for a cancelled or held gesprek.
    """
    unknown = set(changes) - CHANGEABLE_FIELDS
    if unknown:
        raise TypeError(f"change_gesprek cannot change {sorted(unknown)}")
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_gesprek(gesprek)
        if locked.status in (Gesprek.Status.AFGELAST, Gesprek.Status.GEHOUDEN):
            raise GesprekClosed(_("A cancelled or finished conversation cannot be changed."))
        changed = [field for field, value in changes.items() if getattr(locked, field) != value]
        if not changed:
            _sync(gesprek, locked)
            return gesprek
        notify = [field for field in changed if field in NOTIFY_FIELDS]
        # The old values help the mail say what changed; never the (private) video link.
        previous = {f: _jsonable(getattr(locked, f)) for f in notify if f != "video_url"}
        for field in changed:
            setattr(locked, field, changes[field])
        locked.full_clean()
        if notify:
            locked.sequence += 1
        locked.save()
        if notify and locked.status == Gesprek.Status.GEPLAND:
            locked.aanmeldingen.filter(
                status=Status.ONBEVESTIGD, hold_expires_at__gt=locked.starts_at
            ).update(hold_expires_at=locked.starts_at)
            locked.aanmeldingen.filter(
                status=Status.AANGEBODEN, offer_expires_at__gt=locked.starts_at
            ).update(offer_expires_at=locked.starts_at)
            context = {"changes": notify, "previous": previous, "sequence": locked.sequence}
            for aanmelding in locked.aanmeldingen.filter(status__in=INFORMED_STATUSES):
                aanmelding.gesprek = locked
                _mail(
                    "gewijzigd",
                    aanmelding,
                    key=f"gewijzigd:{aanmelding.pk}:{locked.sequence}",
                    context=context,
                )
        if "max_participants" in changed:
            _offer_free_seats(locked, now)
    _sync(gesprek, locked)
    return gesprek


def cancel_gesprek(*, gesprek: Gesprek) -> Gesprek:
    """Call a gesprek off (→ AFGELAST) and tell everyone registered, once each.

    Locks the gesprek. Every live registration (INFORMED_STATUSES) gets an "afgelast"
    mail keyed by registration; registrations keep their status as a record, and no seat
    is offered any more. Calling it again sends nothing new. Raises GesprekClosed for a
    gesprek that was already held.
    """
    with transaction.atomic():
        locked = _lock_gesprek(gesprek)
        if locked.status == Gesprek.Status.GEHOUDEN:
            raise GesprekClosed(_("A conversation that has taken place cannot be called off."))
        if locked.status != Gesprek.Status.AFGELAST:
            locked.status = Gesprek.Status.AFGELAST
            locked.save(update_fields=["status", "updated_at"])
        for aanmelding in locked.aanmeldingen.filter(status__in=INFORMED_STATUSES):
            aanmelding.gesprek = locked
            _mail("afgelast", aanmelding)
    _sync(gesprek, locked)
    return gesprek
