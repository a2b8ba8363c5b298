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

Mixed tables: a gesprek with `balance` on gives a free seat only to someone the balance
rule allows (gesprekken.balance; its docstring states the rule). Who would break it
while a seat is free becomes a reserve (RESERVE, the "reserve" mail says why, in general
terms). Reserves and the waiting list form one line in sign-up order; every free seat
goes to the first in line the rule allows, and from balance.release_at on (shortly
before the start) to the first in line, whoever they are.

Errors the resident should read are `ServiceError` subclasses; `str(error)` is the
message in the active language.
"""

import functools
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import CharField, Count, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Greatest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from facilitators.access import served_gemeenten
from facilitators.models import Facilitator
from gemeenten.models import Buurt

from . import balance, effect, emails, incidents, lists, outbox
from .errors import ServiceError
from .models import (
    Aanmelding,
    Bericht,
    Blokkade,
    Gesprek,
    Interesse,
    Sector,
    Standpunt,
    Stelling,
    Verslag,
    new_token,
)

Status = Aanmelding.Status
logger = logging.getLogger(__name__)

# Who is told when a gesprek changes or is called off: everyone with a registration that
# is still alive (held, confirmed, waiting, a reserve or offered a seat).
INFORMED_STATUSES = [
    Status.ONBEVESTIGD,
    Status.BEVESTIGD,
    Status.WACHTLIJST,
    Status.RESERVE,
    Status.AANGEBODEN,
]

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
        "balance",
        "balance_max_share",
        "facilitator",
        "co_facilitator",
    }
)
NOTIFY_FIELDS = frozenset({"format", "place", "route", "video_url", "starts_at", "ends_at"})
# At a mixed table, changing one of these can let the balance rule allow more people in
# line (a moved start moves the release time).
RULE_FIELDS = frozenset({"min_participants", "balance", "balance_max_share", "starts_at"})


class AlreadySignedUp(ServiceError):
    default_message = _(
        "This e-mail address is already signed up for this conversation. "
        "Lost your personal link? We can send it to you again."
    )


class SignUpRefused(ServiceError):
    # Neutral on purpose: a blocked address is not told it is blocked.
    default_message = _(
        "We cannot sign you up for this conversation. If you have questions, contact the "
        "organisers of conversations in your municipality."
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


# The sign-up's lock with the block check (incidents.blocks: a block on the address, in
# force today, in the gemeente of the gesprek's buurt), written out like the counts below:
# it runs on every sign-up, and Django took 0.7–1.1 ms to build and compile it, a tenth
# of a sign-up's work or more (`python -m bench inprocess`, docs/performance.md). Without
# row locks (SQLite) the write locks the whole database anyway.
@functools.cache
def _lock_for_sign_up_sql(row_locks: bool) -> str:
    columns = ", ".join(f"g.{field.column}" for field in Gesprek._meta.concrete_fields)
    return f"""
        SELECT {columns}, EXISTS(
            SELECT 1 FROM {Blokkade._meta.db_table} b
            JOIN {Buurt._meta.db_table} bu ON bu.gemeente_id = b.gemeente_id
            WHERE bu.code = g.buurt_id AND b.email_digest = %s AND b.expires_on >= %s
        ) AS blocked
        FROM {Gesprek._meta.db_table} g WHERE g.id = %s{" FOR UPDATE OF g" if row_locks else ""}
    """  # noqa: S608 - no input in the text, only placeholders


def _lock_for_sign_up(gesprek: Gesprek | int, email: str, now: datetime) -> Gesprek:
    """Lock the gesprek; `blocked`: is the address blocked in its gemeente. One statement."""
    pk = gesprek if isinstance(gesprek, int) else gesprek.pk
    sql = _lock_for_sign_up_sql(connection.features.has_select_for_update_of)
    params = [
        incidents.email_digest(email),
        connection.ops.adapt_datefield_value(timezone.localdate(now)),
        pk,
    ]
    found = list(Gesprek.objects.raw(sql, params))
    if not found:
        raise Gesprek.DoesNotExist(f"no gesprek {pk}")
    return found[0]


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


# One pass over a gesprek's registrations: this address's live ones, the seats taken, the
# line (waiting list and reserves). Written out because it runs on every sign-up, under the
# gesprek's lock: Django took longer to compile the three filtered counts than PostgreSQL
# took to run them (make bench, docs/performance.md).
_LIVE, _SEATS = Aanmelding.ACTIVE_STATUSES, Aanmelding.SEAT_STATUSES
_LINE = [Status.WACHTLIJST, Status.RESERVE]
_SIGN_UP_COUNTS = f"""
    SELECT COUNT(*) FILTER (WHERE email = %s AND status IN ({_placeholders(_LIVE)})),
           COUNT(*) FILTER (WHERE status IN ({_placeholders(_SEATS)})),
           COUNT(*) FILTER (WHERE status IN ({_placeholders(_LINE)}))
    FROM {Aanmelding._meta.db_table} WHERE gesprek_id = %s
"""  # noqa: S608 - no input in the text, only placeholders


def _sign_up_counts(gesprek: Gesprek, email: str) -> tuple[int, int, int]:
    """(this address's live registrations, seats taken, people in line) at `gesprek`."""
    params = [email, *_LIVE, *_SEATS, *_LINE, gesprek.pk]
    with connection.cursor() as cursor:
        cursor.execute(_SIGN_UP_COUNTS, params)
        return tuple(cursor.fetchone())


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
    """Offer every free seat to the first in line the balance rule allows (lock held).

    The line is the waiting list and the reserves together, in sign-up order
    (queued()). While the rule applies (balance.applies), a candidate it does not allow
    is skipped and keeps their place, and every offer made counts for the next. Each
    offered registration becomes AANGEBODEN until min(now + GESPREKKEN_OFFER_HOURS,
    start) and gets "plek_aangeboden"; for a promoted reserve the mail says why there is
    room now (`reserve_promoted`: "mix", or "release" once the start is near).
    """
    if not _is_open(gesprek, now):
        return []
    free = gesprek.max_participants - _seats_taken(gesprek)
    if free <= 0:
        return []
    line = gesprek.aanmeldingen.queued().select_for_update()
    rule = balance.applies(gesprek, now)
    if rule:
        line = list(line)
        table = balance.Table.of(gesprek)
        profiles = balance.profiles_of(line)
    else:
        line = list(line[:free])
    expires = min(now + timedelta(hours=settings.GESPREKKEN_OFFER_HOURS), gesprek.starts_at)
    offered = []
    for aanmelding in line:
        if len(offered) >= free:
            break
        if rule:
            profile = profiles[aanmelding.pk]
            if not table.allows(profile):
                continue
            table.seat(profile)
        context = {"offer_expires_at": expires.isoformat()}
        if aanmelding.status == Status.RESERVE:
            context["reserve_promoted"] = "mix" if rule else "release"
        aanmelding.gesprek = gesprek
        aanmelding.status = Status.AANGEBODEN
        aanmelding.offer_expires_at = expires
        aanmelding.save(update_fields=["status", "offer_expires_at"])
        _mail("plek_aangeboden", aanmelding, context=context)
        offered.append(aanmelding)
    return offered


# --- registrations -------------------------------------------------------------------------


def sign_up(
    *,
    gesprek: Gesprek | int,
    name: str,
    email: str,
    phone: str = "",
    postcode: str,
    language: str,
    sector: Sector | None = None,
    age_band: str = "",
    stance: dict[int, str] | None = None,
    stance_consent: bool = False,
    agreements_accepted: bool = False,
    now: datetime | None = None,
) -> Aanmelding:
    """Register a resident: a held seat when one is free (and the mix allows it), a
    reserve when a seat is free but the balance rule does not allow it, else a place on
    the waiting list.

    Leefwereld (`sector`, `age_band`) is optional. `stance` ({stelling pk: "eens" |
    "neutraal" | "oneens"}) is stored, apart from the registration (Standpunt), only when
    `stance_consent` is true, and only for active statements of the gesprek's theme;
    without that consent the answers are dropped, never saved. `agreements_accepted`
    records that the conversation agreements were accepted (now).

    Locks the gesprek row, then counts seats. If seats are free while others are in
    line (waiting list and reserves), they are offered first, to those the balance rule
    allows (_offer_free_seats). Then a free seat becomes ONBEVESTIGD, held until
    now + GESPREKKEN_HOLD_MINUTES (never past the start), and queues "bevestig_email";
    at a mixed table the line is then offered seats again, as someone from another
    sector or side at the table can make room for reserves. A free seat the rule does
    not allow this resident (see gesprekken.balance; their sector and, with consent,
    their side count) gives RESERVE and queues "reserve" with `reason` "sector",
    "stance" or "both" in its context, never the answers. A full gesprek gives
    WACHTLIJST and queues "wachtlijst".
    The e-mail is stored lowercased and stripped; consent is recorded as given now.

    Raises GesprekClosed (not planned, or already started) and AlreadySignedUp (this
    address has an active registration for the gesprek; the conditional unique
    constraint backs the check up against a double submit).
    """
    now = now or timezone.now()
    email = normalise_email(email)
    # No savepoint around the insert: on an IntegrityError the whole short transaction is
    # tried again, which spares two round trips on every sign-up. The clash is of the
    # random check-in code with another registration's (one in a million; the next try
    # draws a new one), or of an address that signed up bypassing the lock (the next try
    # says AlreadySignedUp).
    for attempt in range(3):
        try:
            with transaction.atomic():
                locked = _lock_for_sign_up(gesprek, email, now)
                if not _is_open(locked, now):
                    raise GesprekClosed()
                if locked.blocked:
                    raise SignUpRefused()
                mine, taken, queued = _sign_up_counts(locked, email)
                if mine:
                    raise AlreadySignedUp()
                free = locked.max_participants - taken
                if free > 0 and queued:
                    free -= len(_offer_free_seats(locked, now))
                answers = _stance_answers(locked, stance) if stance and stance_consent else {}
                candidate = balance.Profile(
                    sector_id=sector.pk if sector is not None else None,
                    side=Standpunt.side_of(answers) if answers else "",
                )
                broken = []
                if free > 0 and balance.applies(locked, now):
                    broken = balance.Table.of(locked).breaks(candidate)
                aanmelding = Aanmelding(
                    gesprek=locked,
                    name=name.strip(),
                    email=email,
                    phone=(phone or "").strip(),
                    postcode=normalise_postcode(postcode),
                    language=_language(language),
                    consent_at=now,
                    created_at=now,
                    sector=sector,
                    age_band=age_band or "",
                    agreements_accepted_at=now if agreements_accepted else None,
                )
                if free <= 0:
                    aanmelding.status = Status.WACHTLIJST
                elif broken:
                    aanmelding.status = Status.RESERVE
                else:
                    aanmelding.status = Status.ONBEVESTIGD
                    hold = timedelta(minutes=settings.GESPREKKEN_HOLD_MINUTES)
                    aanmelding.hold_expires_at = min(now + hold, locked.starts_at)
                aanmelding.save(force_insert=True)
                if answers:
                    Standpunt.objects.create(
                        aanmelding=aanmelding, answers=answers, side=candidate.side, consent_at=now
                    )
                if aanmelding.status == Status.ONBEVESTIGD:
                    _mail("bevestig_email", aanmelding)
                    if locked.balance and locked.aanmeldingen.queued().exists():
                        _offer_free_seats(locked, now)
                elif aanmelding.status == Status.RESERVE:
                    _mail("reserve", aanmelding, context={"reason": balance.reason(broken)})
                else:
                    _mail("wachtlijst", aanmelding)
            return aanmelding

        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _stance_answers(gesprek: Gesprek, stance: dict[int, str]) -> dict[str, str]:
    """The answers to the active statements of the gesprek's theme; the rest is dropped."""
    valid = {stelling.pk for stelling in lists.active_stellingen(gesprek.thema_id)}
    answers = {}
    for pk, side in stance.items():
        try:
            known = int(pk) in valid
        except (TypeError, ValueError):
            known = False
        if known and side in Standpunt.Side.values:
            answers[str(int(pk))] = side
    return answers


def withdraw_stance(*, aanmelding: Aanmelding) -> bool:
    """The resident withdraws their consent: their answers are deleted at once."""
    deleted, _per_model = Standpunt.objects.filter(aanmelding=aanmelding).delete()
    return bool(deleted)


def confirm(*, aanmelding: Aanmelding, now: datetime | None = None) -> Aanmelding:
    """Confirm the e-mail address (the link in "bevestig_email"): the held seat is theirs.

    Locks the gesprek, then the aanmelding. ONBEVESTIGD → BEVESTIGD and queues
    "bevestigd" (with the .ics). If the hold has expired (status still ONBEVESTIGD or
    already VERLOPEN), the resident still gets a seat when one is free and the balance
    rule allows it; a free seat the rule does not allow makes them a reserve (RESERVE,
    queues "reserve"); with no seat free they go on the waiting list (WACHTLIJST, queues
    "wachtlijst"). Either way they keep their original sign-up time as their place in
    the line; at a mixed table the line is served first, and offered whatever seats are
    free afterwards. An offered seat (AANGEBODEN) is claimed as by claim_offer.
    Repeating it is harmless: confirmed, waiting and reserve registrations are returned
    unchanged. Check `aanmelding.status` afterwards to tell the resident.

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
            line_first = not hold_valid and gesprek.balance
            if line_first and gesprek.aanmeldingen.queued().exists():
                # At a mixed table, those already in line are served first, as at sign-up.
                _offer_free_seats(gesprek, now)
            seat_free = _seats_taken(gesprek, exclude=current) < gesprek.max_participants
            broken = []
            if not hold_valid and seat_free and balance.applies(gesprek, now):
                broken = balance.Table.of(gesprek, exclude=current).breaks(
                    balance.profile_of(current)
                )
            if hold_valid or (seat_free and not broken):
                current.status = Status.BEVESTIGD
                current.confirmed_at = now
                current.hold_expires_at = None
                _save_reactivated(current, ["status", "confirmed_at", "hold_expires_at"])
                _mail("bevestigd", current)
            elif seat_free:
                current.status = Status.RESERVE
                current.hold_expires_at = None
                _save_reactivated(current, ["status", "hold_expires_at"])
                _mail("reserve", current, context={"reason": balance.reason(broken)})
            else:
                current.status = Status.WACHTLIJST
                current.hold_expires_at = None
                _save_reactivated(current, ["status", "hold_expires_at"])
                _mail("wachtlijst", current)
            if line_first and gesprek.aanmeldingen.queued().exists():
                # The seat it held, or someone new at the table, can make room in the line.
                _offer_free_seats(gesprek, now)
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
    """The resident cancels (manage page). Frees their seat for the line.

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
    then offer_next_seat. Also due: a planned gesprek that has reached its release time
    (balance.release_at) with seats free and people in line (reserves, or waiting-list
    entries the balance rule passed over): from then on they are offered the seats
    whatever the mix. Run by a beat task every few minutes. Returns how many expired.
    """
    now = now or timezone.now()
    due = Q(status=Status.ONBEVESTIGD, hold_expires_at__lte=now) | Q(
        status=Status.AANGEBODEN, offer_expires_at__lte=now
    )
    gesprek_ids = set(
        Aanmelding.objects.filter(due).order_by().values_list("gesprek_id", flat=True)
    )
    release = timedelta(hours=settings.GESPREKKEN_RESERVE_RELEASE_HOURS)
    released = (
        Gesprek.objects.filter(
            status=Gesprek.Status.GEPLAND, starts_at__gt=now, starts_at__lte=now + release
        )
        .annotate(
            seated=models.Count(
                "aanmeldingen", filter=Q(aanmeldingen__status__in=Aanmelding.SEAT_STATUSES)
            ),
            in_line=models.Count(
                "aanmeldingen",
                filter=Q(aanmeldingen__status__in=[Status.WACHTLIJST, Status.RESERVE]),
            ),
        )
        .filter(in_line__gt=0, seated__lt=models.F("max_participants"))
        .order_by()
        .values_list("pk", flat=True)
    )
    gesprek_ids.update(released)
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
    line (waiting list and reserves) at once, and so are free seats when the balance rule
    of a mixed table changed (RULE_FIELDS); a smaller capacity or a stricter rule takes
    no seat away.

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
        mixed = locked.balance or "balance" in changed
        if "max_participants" in changed or (mixed and RULE_FIELDS.intersection(changed)):
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


# --- planning: the facilitator workspace (gesprekken/staff) --------------------------------

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A conversation needs at least two neighbours; beyond fifty it is a meeting, not a talk.
MIN_GROUP_SIZE = 2
MAX_GROUP_SIZE = 50
MAX_SERIES_WEEKS = 8
# How far ahead a gesprek (every one of a weekly series) can be planned. Two years holds a
# municipality's programme for this year and the next. Further out, publishing would
# invite residents to something nobody can promise yet, the wall time rests on summer-time
# rules that may change, and a date near the year 9999 breaks the series, the reminders and
# the calendar files.
PLAN_HORIZON = timedelta(days=2 * 365)

PLAN_FIELDS = frozenset(
    {
        "format",
        "buurt",
        "street",
        "place",
        "route",
        "video_url",
        "starts_at",
        "ends_at",
        "min_participants",
        "max_participants",
        "co_facilitator",
        "thema",
        "language",
        "accessibility_notes",
        "balance",
        "balance_max_share",
    }
)
# The maximum share of one sector or side at a mixed table (Gesprek.balance_max_share):
# above a third, so three groups can always be seated; at most 90 %, or it mixes nothing.
MIN_BALANCE_SHARE = 34
MAX_BALANCE_SHARE = 90
# What each format uses; the others are emptied so a walk never shows a video link.
_FORMAT_FIELDS = {
    Gesprek.Format.TAFEL: {"place"},
    Gesprek.Format.WANDELING: {"place", "route"},
    Gesprek.Format.ONLINE: {"video_url"},
}


def latest_plan_date(now: datetime) -> date:
    """The last day, on the Amsterdam calendar, on which a gesprek can be planned at `now`."""
    return timezone.localdate(now, AMSTERDAM) + PLAN_HORIZON


def beyond_horizon(starts_at: datetime, *, now: datetime, weeks: int = 1) -> str | None:
    """Why a start, or the last start of a weekly series of `weeks`, lies past the planning
    horizon (latest_plan_date), in the active language; None when it does not.

    Safe for any date a form accepts, up to 31 December 9999: no arithmetic on `starts_at`
    until it is known to lie within the horizon."""
    latest = latest_plan_date(now)
    # Midnight after the last day: compared as aware moments, as a start near the year 9999
    # could not be moved to another time zone.
    limit = datetime.combine(latest + timedelta(days=1), time(0), tzinfo=AMSTERDAM)
    if starts_at >= limit:
        return _("Choose a date from today up to %(latest)s.") % {
            "latest": date_format(latest, "DATE_FORMAT")
        }
    last_day = starts_at.astimezone(AMSTERDAM).date() + timedelta(weeks=weeks - 1)
    if last_day > latest:
        return _(
            "With %(weeks)s weeks in a row, the last conversation would be after %(latest)s, "
            "and you cannot plan further ahead. Start on %(first)s at the latest, or choose "
            "fewer weeks."
        ) % {
            "weeks": weeks,
            "latest": date_format(latest, "DATE_FORMAT"),
            "first": date_format(latest - timedelta(weeks=weeks - 1), "DATE_FORMAT"),
        }
    return None


def _check_plan(
    fields: dict[str, Any],
    *,
    lead,
    buurt: Buurt,
    now: datetime,
    previous: Gesprek | None = None,
    weeks: int = 1,
) -> dict[str, Any]:
    """The planning rules shared by plan_gesprek, plan_series and replan_gesprek.

    With `previous` (a change) the buurt stays as it is, and the start and theme are only
    checked when they change: a gesprek under way may still get a new place, and one
    whose theme was retired keeps it. A new start, and with `weeks` the last of its weekly
    series, lies within the planning horizon (PLAN_HORIZON).
    Returns the fields normalised (text stripped, fields of other formats emptied).
    Raises ValidationError with every problem at once, keyed by Gesprek field name.
    """
    fields = {
        key: value.strip() if isinstance(value, str) else value for key, value in fields.items()
    }
    errors: dict[str, list] = {}

    def refuse(field: str, message) -> None:
        errors.setdefault(field, []).append(message)

    if previous is None and not served_gemeenten(lead).filter(pk=buurt.gemeente_id).exists():
        refuse("buurt", _("Choose a neighbourhood in a municipality you serve."))
    format_ = fields.get("format")
    if format_ not in Gesprek.Format.values:
        refuse("format", _("Choose a table, a walk or an online conversation."))
    else:
        for field in ("place", "route", "video_url"):
            if field in fields and field not in _FORMAT_FIELDS[format_]:
                fields[field] = ""
        if format_ == Gesprek.Format.WANDELING and not fields.get("place"):
            refuse("place", _("Enter where the walk starts, so people know where to meet."))
        if format_ == Gesprek.Format.ONLINE and not fields.get("video_url"):
            refuse("video_url", _("Enter the link to the video call."))
    starts_at, ends_at = fields.get("starts_at"), fields.get("ends_at")
    if starts_at is None or ends_at is None:
        refuse("starts_at", _("Enter a date, a start time and an end time."))
    else:
        if ends_at <= starts_at:
            refuse("ends_at", _("The end time must be after the start time."))
        moved = previous is None or starts_at != previous.starts_at
        if moved and starts_at <= now:
            refuse("starts_at", _("This moment has passed. Choose a date and time in the future."))
        elif moved and (problem := beyond_horizon(starts_at, now=now, weeks=weeks)):
            refuse("starts_at", problem)
    minimum, maximum = fields.get("min_participants"), fields.get("max_participants")
    if minimum is None or maximum is None:
        refuse("max_participants", _("Enter a minimum and a maximum group size."))
    else:
        if minimum < MIN_GROUP_SIZE:
            refuse(
                "min_participants",
                _("The minimum group size is at least %(size)s.") % {"size": MIN_GROUP_SIZE},
            )
        if maximum > MAX_GROUP_SIZE:
            refuse(
                "max_participants",
                _("The maximum group size is at most %(size)s.") % {"size": MAX_GROUP_SIZE},
            )
        if minimum > maximum:
            refuse("max_participants", _("The maximum cannot be smaller than the minimum."))
    co_facilitator = fields.get("co_facilitator")
    if co_facilitator is not None:
        serves_here = Facilitator.objects.filter(
            user=co_facilitator, gemeenten=buurt.gemeente_id
        ).exists()
        if co_facilitator.pk == lead.pk or not serves_here:
            refuse(
                "co_facilitator",
                _("Choose another facilitator who serves this municipality, or nobody."),
            )
    if "balance" in fields and not isinstance(fields["balance"], bool):
        refuse("balance", _("Choose whether the table should be mixed."))
    share = fields.get("balance_max_share")
    if "balance_max_share" in fields and (
        isinstance(share, bool)
        or not isinstance(share, int)
        or not MIN_BALANCE_SHARE <= share <= MAX_BALANCE_SHARE
    ):
        refuse(
            "balance_max_share",
            _("Enter a maximum share from %(min)s to %(max)s per cent.")
            % {"min": MIN_BALANCE_SHARE, "max": MAX_BALANCE_SHARE},
        )
    thema = fields.get("thema")
    if (
        thema is not None
        and not thema.active
        and (previous is None or thema.pk != previous.thema_id)
    ):
        refuse("thema", _("This theme is no longer in use. Choose another one."))
    if errors:
        raise ValidationError(errors)
    return fields


def _same_wall_time(moment: datetime, weeks: int) -> datetime:
    """`weeks` later at the same time on the Amsterdam clock, also across a DST change."""
    local = moment.astimezone(AMSTERDAM).replace(tzinfo=None)
    return (local + timedelta(weeks=weeks)).replace(tzinfo=AMSTERDAM)


def _create_planned(fields: dict[str, Any], *, lead, publish_now: bool, now: datetime) -> Gesprek:
    gesprek = Gesprek(**fields, facilitator=lead, status=Gesprek.Status.CONCEPT)
    gesprek.full_clean()
    gesprek.save(force_insert=True)
    if publish_now:
        publish(gesprek=gesprek, now=now)
    return gesprek


def plan_gesprek(
    *, facilitator_user, publish: bool, now: datetime | None = None, **fields: Any
) -> Gesprek:
    """Plan one gesprek led by `facilitator_user`, as a draft or published at once.

    `fields` are Gesprek field values (PLAN_FIELDS; model instances for buurt, thema and
    co_facilitator, aware datetimes). Checks: the buurt lies in a gemeente the user
    serves, the end is after the start, the start is in the future, minimum ≤ maximum
    (within MIN_GROUP_SIZE…MAX_GROUP_SIZE), a walk has a meeting point (`place`), an
    online gesprek a video link, the co-facilitator serves the gemeente, the theme is
    active, a mixed table (`balance`) has a maximum share (`balance_max_share`) within
    MIN_BALANCE_SHARE…MAX_BALANCE_SHARE (left out: the default). In one transaction:
    creates the gesprek (CONCEPT) and, when `publish`, calls publish(), which invites the
    interested residents of the buurt and wijk once each.

    Raises TypeError for an unknown field, ValidationError (keyed by field) otherwise.
    """
    return plan_series(
        facilitator_user=facilitator_user, weeks=1, publish=publish, now=now, **fields
    )[0]


def plan_series(
    *, facilitator_user, weeks: int, publish: bool, now: datetime | None = None, **fields: Any
) -> list[Gesprek]:
    """Plan the same slot `weeks` weeks running (1…MAX_SERIES_WEEKS), as plan_gesprek does.

    Each gesprek starts at the same time on the Amsterdam clock, also across a change to
    or from summer time. All or nothing: one transaction. Published ones invite the
    interested residents once, to the first gesprek of the series.
    Returns the gesprekken in order.
    """
    unknown = set(fields) - PLAN_FIELDS
    if unknown:
        raise TypeError(f"plan_gesprek cannot set {sorted(unknown)}")
    if not isinstance(weeks, int) or not 1 <= weeks <= MAX_SERIES_WEEKS:
        raise ValidationError(
            {"weeks": _("Choose between 1 and %(weeks)s weeks.") % {"weeks": MAX_SERIES_WEEKS}}
        )
    now = now or timezone.now()
    buurt = fields.get("buurt")
    if not isinstance(buurt, Buurt):
        raise ValidationError({"buurt": _("Choose a neighbourhood from the list.")})
    fields = _check_plan(fields, lead=facilitator_user, buurt=buurt, now=now, weeks=weeks)
    planned = []
    with transaction.atomic():
        for week in range(weeks):
            one = {
                **fields,
                "starts_at": _same_wall_time(fields["starts_at"], week),
                "ends_at": _same_wall_time(fields["ends_at"], week),
            }
            planned.append(
                _create_planned(one, lead=facilitator_user, publish_now=publish, now=now)
            )
    return planned


def replan_gesprek(
    *, gesprek: Gesprek, facilitator_user, now: datetime | None = None, **changes: Any
) -> Gesprek:
    """Check a facilitator's changes with the planning rules, then apply them through
    change_gesprek (which raises SEQUENCE and mails every registered resident when time,
    place or format changed).

    The buurt stays; a moved start must lie in the future; a gesprek that is over can no
    longer change. `facilitator_user` is the one editing (lead or co-facilitator); the
    co-facilitator is checked against the lead. Raises TypeError for an unknown field,
    ValidationError (keyed by field), and GesprekClosed for a cancelled, held or past one.
    """
    unknown = set(changes) - (PLAN_FIELDS - {"buurt"})
    if unknown:
        raise TypeError(f"replan_gesprek cannot change {sorted(unknown)}")
    now = now or timezone.now()
    if gesprek.ends_at <= now:
        raise GesprekClosed(_("A conversation that is over cannot be changed."))
    current = {field: getattr(gesprek, field) for field in PLAN_FIELDS - {"buurt"}}
    merged = _check_plan(
        {**current, **changes},
        lead=gesprek.facilitator or facilitator_user,
        buurt=gesprek.buurt,
        now=now,
        previous=gesprek,
    )
    # change_gesprek compares with the stored values itself: only real changes count.
    return change_gesprek(gesprek=gesprek, now=now, **merged)


# --- running a gesprek: check-in on the day and the report (gesprekken/staff/running.py) ---


class NotYourGesprek(ServiceError):
    default_message = _("This is not one of your conversations.")


class CheckInClosed(ServiceError):
    default_message = _("Check-in opens on the day of the conversation.")


class UnknownCode(ServiceError):
    default_message = _("No sign-up for this conversation has this code. Check it and try again.")


class ReportClosed(ServiceError):
    default_message = _("You can write the report once the conversation has started.")


# Attendance is a head count: walk-ins are welcome, so it may exceed the sign-ups.
MAX_ATTENDANCE = 999
# Text that looks like an e-mail address, or a phone number of 10 to 15 digits with the
# usual separators ("06-12345678", "+31 6 1234 5678", "(020) 123 45 67"). Dates, times,
# years and postcodes have fewer digits and pass.
EMAIL_PATTERN = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE_PATTERN = re.compile(r"(?<![\w+(])[+(]?\d(?:[\s().-]{0,2}\d){9,14}(?!\w)")


def _lock_led(gesprek: Gesprek | int, by_user) -> Gesprek:
    """Lock a gesprek `by_user` leads or co-leads; NotYourGesprek for any other."""
    pk = gesprek if isinstance(gesprek, int) else gesprek.pk
    locked = Gesprek.objects.led_by(by_user).select_for_update().filter(pk=pk).first()
    if locked is None:
        raise NotYourGesprek()
    return locked


def _count_present(gesprek: Gesprek, *, before: str, after: str) -> None:
    """Keep Gesprek.present right when a registration goes from `before` to `after`.

    The caller holds the gesprek's row lock, so no other transaction changes the count
    meanwhile; the UPDATE adds to what is stored, not to what this instance read. A count
    already wrong (a row written around the services) never makes a check-in fail on the
    day: it stops at 0, and recount_present puts it right at night.
    """
    delta = (after == Status.AANWEZIG) - (before == Status.AANWEZIG)
    if delta:
        Gesprek.objects.filter(pk=gesprek.pk).update(
            present=Greatest(F("present") + delta, Value(0))
        )
        gesprek.present = max(gesprek.present + delta, 0)


def recount_present(gesprek_ids=None) -> int:
    """Recompute Gesprek.present from the registrations (all gesprekken, or these ids);
    returns how many were off and are now right (the nightly check, and after a bulk
    write that went around the services).

    One statement per wrong gesprek, each under its row lock, so a check-in at the same
    moment is not undone: the count is taken again once the lock is held.
    """
    gesprekken = Gesprek.objects.all()
    if gesprek_ids is not None:
        gesprekken = gesprekken.filter(pk__in=list(gesprek_ids))
    actual = Subquery(
        Aanmelding.objects.filter(gesprek=OuterRef("pk"), status=Status.AANWEZIG)
        .order_by()
        .values("gesprek")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    wrong = list(
        gesprekken.annotate(actual=Coalesce(actual, 0))
        .exclude(present=F("actual"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    fixed = 0
    for pk in wrong:
        with transaction.atomic():
            locked = _lock_gesprek(pk)
            count = locked.aanmeldingen.filter(status=Status.AANWEZIG).count()
            if locked.present != count:
                logger.warning(
                    "gesprek %s: present was %s, %s registrations are AANWEZIG",
                    pk,
                    locked.present,
                    count,
                )
                Gesprek.objects.filter(pk=pk).update(present=count)
                fixed += 1
    return fixed


def check_in_opens_at(gesprek: Gesprek) -> datetime:
    """Midnight in Amsterdam on the day of the gesprek: from then on people can be marked."""
    day = gesprek.starts_at.astimezone(AMSTERDAM).date()
    return datetime(day.year, day.month, day.day, tzinfo=AMSTERDAM)


def check_in(
    *, aanmelding: Aanmelding, present: bool, by_user, now: datetime | None = None
) -> Aanmelding:
    """Mark a resident present (AANWEZIG, checked_in_at = now) or absent (NIET_VERSCHENEN).

    Only by a facilitator of the gesprek, from midnight on its day (Amsterdam) on, for a
    planned or held gesprek; marking again corrects a wrong tap. Anyone with a live
    registration can be marked present, also from the waiting list: who is at the table
    is a fact, not a seat count. A no-show frees no seat for the waiting list (on the
    day nobody could claim it in time). Locks the gesprek, then the aanmelding; sends
    nothing.

    Raises NotYourGesprek, CheckInClosed (called off, a draft, or not the day yet) and
    RegistrationCancelled (cancelled or expired).
    """
    now = now or timezone.now()
    with transaction.atomic():
        gesprek = _lock_led(aanmelding.gesprek_id, by_user)
        if gesprek.status not in (Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN):
            raise CheckInClosed(_("This conversation is not taking place."))
        if now < check_in_opens_at(gesprek):
            raise CheckInClosed()
        current = Aanmelding.objects.select_for_update().get(pk=aanmelding.pk)
        if current.status not in Aanmelding.ACTIVE_STATUSES:
            raise RegistrationCancelled(_("This sign-up was cancelled or has expired."))
        status = Status.AANWEZIG if present else Status.NIET_VERSCHENEN
        if current.status != status:
            _count_present(gesprek, before=current.status, after=status)
            current.status = status
            current.checked_in_at = now if present else None
            current.save(update_fields=["status", "checked_in_at"])
        current.gesprek = gesprek
    _sync(aanmelding, current)
    return aanmelding


def mark_no_show(*, aanmelding: Aanmelding, by_user, now: datetime | None = None) -> Aanmelding:
    """check_in(present=False): the resident did not come."""
    return check_in(aanmelding=aanmelding, present=False, by_user=by_user, now=now)


def normalise_short_code(code: str) -> str:
    """'abc 23x', 'ABC-23X' → 'ABC23X': what people type or read off a screen."""
    return "".join(char for char in str(code).upper() if char.isalnum())


def check_in_by_code(
    *, gesprek: Gesprek, code: str, by_user, now: datetime | None = None
) -> Aanmelding:
    """Mark present the resident whose confirmation shows `code` (typed, or read from the
    QR code in their "bevestigd" e-mail); case, spaces and dashes do not matter.

    The code is looked up among the gesprekken `by_user` leads only, so a wrong guess
    elsewhere reveals nothing. Raises UnknownCode, then as check_in.
    """
    normalised = normalise_short_code(code)
    aanmelding = (
        Aanmelding.objects.filter(
            gesprek__in=Gesprek.objects.led_by(by_user).filter(pk=gesprek.pk),
            short_code=normalised,
        ).first()
        if normalised
        else None
    )
    if aanmelding is None:
        raise UnknownCode()
    return check_in(aanmelding=aanmelding, present=True, by_user=by_user, now=now)


def find_personal_data(text: str) -> list[str]:
    """The e-mail addresses and phone numbers in `text`, in order, each once."""
    found = EMAIL_PATTERN.findall(text or "")
    without_emails = EMAIL_PATTERN.sub(" ", text or "")
    found += [match.strip() for match in PHONE_PATTERN.findall(without_emails)]
    return list(dict.fromkeys(found))


def personal_data_warnings(**texts: str) -> dict[str, list[str]]:
    """Per report field, a warning for every e-mail address or phone number in it."""
    warnings: dict[str, list[str]] = {}
    for name, text in texts.items():
        for found in find_personal_data(text):
            if EMAIL_PATTERN.fullmatch(found):
                message = _("This looks like an e-mail address: %(found)s")
            else:
                message = _("This looks like a phone number: %(found)s")
            warnings.setdefault(name, []).append(str(message % {"found": found}))
    return warnings


@dataclass
class ReportResult:
    """What save_report did: saved (`verslag` set), or held back by `warnings`."""

    verslag: Verslag | None
    # Field name → messages about personal data found in it.
    warnings: dict[str, list[str]]

    @property
    def saved(self) -> bool:
        return self.verslag is not None


def save_report(
    *,
    gesprek: Gesprek,
    by_user,
    attendance: int,
    themes,
    themes_text: str,
    outcome: str,
    follow_up: str,
    confirmed: bool = False,
    now: datetime | None = None,
) -> ReportResult:
    """Write (or rewrite) the report of a gesprek that has started; it is then GEHOUDEN.

    A report holds no personal data: when the free text contains something that looks
    like an e-mail address or a phone number, nothing is saved and the warnings come
    back (`result.saved` is False) unless `confirmed` (the facilitator checked that it is
    no one's contact detail, e.g. the number of the neighbourhood centre).
    Locks the gesprek; sends nothing. Raises NotYourGesprek, ReportClosed (a draft, called
    off, or not started yet) and ValidationError (keyed by field) for text that is too
    long, an empty outcome or an impossible attendance.
    """
    now = now or timezone.now()
    texts = {
        "themes_text": (themes_text or "").strip(),
        "outcome": (outcome or "").strip(),
        "follow_up": (follow_up or "").strip(),
    }
    errors = {}
    for name, text in texts.items():
        limit = Verslag._meta.get_field(name).max_length
        if len(text) > limit:
            errors[name] = _("Use at most %(limit)s characters.") % {"limit": limit}
    if not texts["outcome"]:
        errors["outcome"] = _("Write in a few sentences what the neighbours came up with.")
    if not isinstance(attendance, int) or not 0 <= attendance <= MAX_ATTENDANCE:
        errors["attendance"] = _("Enter how many people came, a number from 0 to %(max)s.") % {
            "max": MAX_ATTENDANCE
        }
    if errors:
        raise ValidationError(errors)
    warnings = personal_data_warnings(**texts)
    if warnings and not confirmed:
        return ReportResult(verslag=None, warnings=warnings)
    with transaction.atomic():
        locked = _lock_led(gesprek, by_user)
        if locked.status not in (Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN):
            raise ReportClosed(_("A draft or a called-off conversation has no report."))
        if locked.starts_at > now:
            raise ReportClosed()
        verslag, _created = Verslag.objects.update_or_create(
            gesprek=locked, defaults={**texts, "attendance": attendance, "written_by": by_user}
        )
        verslag.themes.set(list(themes) if themes is not None else [])
        if locked.status != Gesprek.Status.GEHOUDEN:
            locked.status = Gesprek.Status.GEHOUDEN
            locked.save(update_fields=["status", "updated_at"])
    _sync(gesprek, locked)
    return ReportResult(verslag=verslag, warnings=warnings)


def renew_calendar_token(*, facilitator: Facilitator) -> str:
    """Revoke the facilitator's calendar feed URL and make a new one; returns the new token.

    One UPDATE, no lock needed: the old URL answers 404 from the moment it commits.
    """
    token = secrets.token_urlsafe(32)
    Facilitator.objects.filter(pk=facilitator.pk).update(calendar_token=token)
    facilitator.calendar_token = token
    return token


# --- privacy: the retention purge, a resident's export and erasure (AVG) -------------------

# An anonymised registration's address: unique per row (the unique constraint on active
# registrations holds), and never deliverable: ".invalid" is reserved (RFC 2606) and
# Django's EmailValidator refuses an address without a dot in its domain, so no resident's
# real address ever looks like this.
ANONYMISED_EMAIL_DOMAIN = "@invalid"


def anonymised_email(pk: int) -> str:
    return f"verwijderd-{pk}{ANONYMISED_EMAIL_DOMAIN}"


def is_anonymised(aanmelding: Aanmelding) -> bool:
    return aanmelding.email.endswith(ANONYMISED_EMAIL_DOMAIN)


ACCOUNT_MAIL_RETENTION = timedelta(days=7)


@dataclass
class PurgeResult:
    """What purge_personal_data did."""

    # Registrations whose personal data was removed.
    anonymised: int
    # Interest records deleted (with their e-mails in the outbox).
    interests_deleted: int
    # Staff account mails (allauth: verification, password reset) deleted from the outbox.
    account_mails_deleted: int = 0
    # Effect-survey pairing keys destroyed (their answers stay, anonymous).
    pairing_keys_destroyed: int = 0
    # Incidents resolved long ago, and blocks past their end date, deleted.
    incidents_deleted: int = 0
    blocks_deleted: int = 0


# What the outbox shows for the mails of an anonymised registration.
ERASED_NOT_SENT = "not sent: personal data erased"
ERASED_ERROR = "personal data erased"


def _anonymise(aanmeldingen: list[Aanmelding]) -> int:
    """Remove the personal data of these registrations; the caller holds the locks.

    Name, phone, postcode and leefwereld are emptied, the stance deleted, the address
    becomes anonymised_email(pk), the token (the personal link) is replaced. Status, times
    and the check-in code stay, so counts and attendance stay right. Their e-mails in the
    outbox get the placeholder address too; mails not sent yet are given up, and error
    texts (which may quote the address) are replaced. Returns how many were anonymised
    (not those done before).
    """
    rows = [aanmelding for aanmelding in aanmeldingen if not is_anonymised(aanmelding)]
    for aanmelding in rows:
        aanmelding.name = ""
        aanmelding.email = anonymised_email(aanmelding.pk)
        aanmelding.phone = ""
        aanmelding.postcode = ""
        aanmelding.sector = None
        aanmelding.age_band = ""
        aanmelding.token = new_token()
    Aanmelding.objects.bulk_update(
        rows,
        ["name", "email", "phone", "postcode", "sector", "age_band", "token"],
        batch_size=500,
    )
    # Opinions (special-category data) go with the rest of the personal data.
    Standpunt.objects.filter(aanmelding__in=[aanmelding.pk for aanmelding in rows]).delete()
    berichten = Bericht.objects.filter(aanmelding__in=[aanmelding.pk for aanmelding in rows])
    berichten.filter(status__in=[Bericht.Status.PENDING, Bericht.Status.SENDING]).update(
        status=Bericht.Status.FAILED, last_error=ERASED_NOT_SENT
    )
    berichten.filter(status=Bericht.Status.FAILED).exclude(last_error=ERASED_NOT_SENT).update(
        last_error=ERASED_ERROR
    )
    berichten.filter(status=Bericht.Status.SENT).exclude(last_error="").update(last_error="")
    placeholder = Concat(
        Value("verwijderd-"),
        Cast("aanmelding_id", output_field=CharField()),
        Value(ANONYMISED_EMAIL_DOMAIN),
    )
    berichten.update(to=placeholder)
    return len(rows)


def purge_personal_data(*, now: datetime | None = None) -> PurgeResult:
    """The retention purge (a daily beat task): remove personal data that is no longer needed.

    GESPREKKEN_RETENTION_DAYS after a gesprek ended (whatever its status), its
    registrations are anonymised (see _anonymise): one transaction per gesprek, with the
    gesprek locked as every seat change does. Interest records are deleted the same number
    of days after the gesprek their owner was invited to ended, or, never invited, after
    they were made (or invited, when that gesprek is gone). Deleting an interest deletes its
    e-mails in the outbox. The effect survey's pairing keys of those gesprekken are
    destroyed (effect.purge), resolved incidents are deleted the same number of days after
    they were resolved and blocks after their end date (incidents.purge). Kept: gesprekken,
    reports, counts and statuses of registrations, anonymous survey answers, for the
    aggregates. Running it again changes nothing.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.GESPREKKEN_RETENTION_DAYS)
    due = Aanmelding.objects.filter(gesprek__ends_at__lte=cutoff).exclude(
        email__endswith=ANONYMISED_EMAIL_DOMAIN
    )
    gesprek_ids = sorted(set(due.order_by().values_list("gesprek_id", flat=True)))
    anonymised = 0
    for gesprek_id in gesprek_ids:
        with transaction.atomic():
            gesprek = _lock_gesprek(gesprek_id)
            anonymised += _anonymise(list(due.filter(gesprek=gesprek).select_for_update()))
    expired_interest = (
        Q(invited_to__ends_at__lte=cutoff)
        | Q(invited_to__isnull=True, invited_at__lte=cutoff)
        | Q(invited_at__isnull=True, created_at__lte=cutoff)
    )
    with transaction.atomic():
        _total, per_model = Interesse.objects.filter(expired_interest).delete()
    # allauth's mails belong to no registration; their links expire within a day, so a
    # week on, nothing in them is of use (a failed one may still hold its link).
    account_mails, _ = Bericht.objects.filter(
        kind=emails.ALLAUTH_KIND, created_at__lte=now - ACCOUNT_MAIL_RETENTION
    ).delete()
    pairing_keys = effect.purge(now)
    incident_result = incidents.purge(now)
    return PurgeResult(
        anonymised=anonymised,
        interests_deleted=per_model.get(Interesse._meta.label, 0),
        account_mails_deleted=account_mails,
        pairing_keys_destroyed=pairing_keys,
        incidents_deleted=incident_result.incidents_deleted,
        blocks_deleted=incident_result.blocks_deleted,
    )


def erase_registration(*, aanmelding: Aanmelding, now: datetime | None = None) -> Aanmelding:
    """The resident erases their registration from the manage page (AVG art. 17).

    For a gesprek still to come, a live registration is first cancelled through cancel(),
    which frees the seat for the waiting list; then the registration is anonymised as the
    retention purge does, so the personal link stops working at once. Locks the gesprek,
    then the aanmelding. Erasing again changes nothing. Sends nothing to the resident:
    their address is gone.
    """
    now = now or timezone.now()
    with transaction.atomic():
        gesprek, current = _lock_aanmelding(aanmelding)
        if current.status in INFORMED_STATUSES and gesprek.starts_at > now:
            cancel(aanmelding=current, now=now)
        # Survey answers stay (anonymous), but can no longer be tied to this registration.
        effect.forget(current)
        _anonymise([current])
    _sync(aanmelding, current)
    return aanmelding


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def export_personal_data(*, aanmelding: Aanmelding) -> dict[str, Any]:
    """Everything we hold about the person behind this registration, as JSON-ready data
    (AVG art. 15 and 20): the registration, their leefwereld and answers to the statements,
    the gesprek it is for, the e-mails we sent them about it and incidents recorded about
    them. Reads only. Other registrations of the same address have their own links.
    """
    gesprek = aanmelding.gesprek
    berichten = Bericht.objects.filter(aanmelding=aanmelding).order_by("created_at", "pk")
    # Their own answers to the statements (they see them; nobody else ever does).
    standpunt = Standpunt.objects.filter(aanmelding=aanmelding).first()
    answers = standpunt.answers if standpunt else {}
    stellingen = Stelling.objects.in_bulk([int(pk) for pk in answers])
    return {
        "registration": {
            "name": aanmelding.name,
            "email": aanmelding.email,
            "phone": aanmelding.phone,
            "postcode": aanmelding.postcode,
            "language": aanmelding.language,
            "status": aanmelding.status,
            "check_in_code": aanmelding.short_code,
            "signed_up_at": _iso(aanmelding.created_at),
            "privacy_consent_at": _iso(aanmelding.consent_at),
            "conversation_agreements_accepted_at": _iso(aanmelding.agreements_accepted_at),
            "confirmed_at": _iso(aanmelding.confirmed_at),
            "cancelled_at": _iso(aanmelding.cancelled_at),
            "checked_in_at": _iso(aanmelding.checked_in_at),
        },
        "leefwereld": {
            "sector": aanmelding.sector.text if aanmelding.sector_id else None,
            "age_band": aanmelding.age_band or None,
        },
        "statements": {
            "consent_at": _iso(standpunt.consent_at) if standpunt else None,
            "answers": [
                {
                    "statement": stellingen[int(pk)].text if int(pk) in stellingen else None,
                    "answer": side,
                }
                for pk, side in answers.items()
            ],
        },
        "conversation": {
            "format": gesprek.format,
            "buurt": gesprek.buurt.name,
            "buurt_code": gesprek.buurt.code,
            "street": gesprek.street,
            "place": gesprek.place,
            "starts_at": _iso(gesprek.starts_at),
            "ends_at": _iso(gesprek.ends_at),
            "status": gesprek.status,
        },
        "emails": [
            {
                "kind": bericht.kind,
                "to": bericht.to,
                "queued_at": _iso(bericht.created_at),
                "sent_at": _iso(bericht.sent_at),
                "status": bericht.status,
            }
            for bericht in berichten
        ],
        # What a facilitator recorded about them (the right of access covers it too).
        "incidents": [
            {
                "category": incident.category,
                "text": incident.text,
                "recorded_at": _iso(incident.created_at),
                "resolved_at": _iso(incident.resolved_at),
            }
            for incident in aanmelding.incidenten.order_by("created_at", "pk")
        ],
        "retention_days_after_conversation": settings.GESPREKKEN_RETENTION_DAYS,
        "exported_at": _iso(timezone.now()),
    }
