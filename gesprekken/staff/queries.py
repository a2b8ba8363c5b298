"""Reads for the workspace pages: one query per list, counts annotated in SQL."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from facilitators.access import served_gemeenten
from gemeenten.models import Buurt

from ..models import Aanmelding, Gesprek, Verslag

Status = Aanmelding.Status
# How many past gesprekken the workspace lists, newest first.
PAST_LIMIT = 30
# Holds and offers that end within this window are flagged: a call may save the seat.
EXPIRING_WITHIN = timedelta(hours=24)
# A gesprek that has taken place (or should have) and may still lack a report.
NEEDS_REPORT = [Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN]


def with_workspace_counts(gesprekken: QuerySet[Gesprek], *, now: datetime) -> QuerySet[Gesprek]:
    """Annotate seats_taken, waiting, expiring (holds and offers ending within a day) and
    has_report. The counts filter one join on aanmeldingen, so they do not multiply."""
    soon = now + EXPIRING_WITHIN
    expiring = Q(
        aanmeldingen__status=Status.ONBEVESTIGD,
        aanmeldingen__hold_expires_at__gt=now,
        aanmeldingen__hold_expires_at__lte=soon,
    ) | Q(
        aanmeldingen__status=Status.AANGEBODEN,
        aanmeldingen__offer_expires_at__gt=now,
        aanmeldingen__offer_expires_at__lte=soon,
    )
    return gesprekken.annotate(
        seats_taken=Count(
            "aanmeldingen", filter=Q(aanmeldingen__status__in=Aanmelding.SEAT_STATUSES)
        ),
        waiting=Count("aanmeldingen", filter=Q(aanmeldingen__status=Status.WACHTLIJST)),
        expiring=Count("aanmeldingen", filter=expiring),
        has_report=Exists(Verslag.objects.filter(gesprek=OuterRef("pk"))),
    )


@dataclass
class Workspace:
    upcoming: list[Gesprek]
    past: list[Gesprek]


def my_gesprekken(user, *, now: datetime) -> Workspace:
    """The gesprekken `user` leads or co-leads: upcoming (soonest first, drafts and
    cancelled ones included) and the PAST_LIMIT most recent past ones. Two queries.

    Each carries the counts of with_workspace_counts and its to-do flags:
    `report_missing`, `waiting` (> 0) and `expiring` (> 0)."""
    mine = with_workspace_counts(
        Gesprek.objects.led_by(user).select_related("buurt__wijk", "buurt__gemeente", "thema"),
        now=now,
    )
    upcoming = list(mine.filter(ends_at__gt=now).order_by("starts_at", "pk"))
    past = list(mine.filter(ends_at__lte=now).order_by("-starts_at", "-pk")[:PAST_LIMIT])
    for gesprek in upcoming:
        gesprek.report_missing = False
        if gesprek.status != Gesprek.Status.GEPLAND:
            # Called off: registrations keep their status as a record, nothing to do.
            gesprek.waiting = gesprek.expiring = 0
    for gesprek in past:
        gesprek.report_missing = gesprek.status in NEEDS_REPORT and not gesprek.has_report
        # Nothing left to do about seats once it is over.
        gesprek.waiting = gesprek.expiring = 0
    return Workspace(upcoming=upcoming, past=past)


def participants(
    gesprek: Gesprek,
) -> tuple[list[Aanmelding], list[Aanmelding], list[Aanmelding], int]:
    """(with a seat, waiting list in order, cancelled or expired, number of reserves) for
    the list. One query.

    Reserves of a mixed table are only counted, never listed: a name marked "reserve" next
    to the live mix would tell the facilitator that this person's sector or stance is the
    one over the limit. They appear by name once they are offered a seat, like anyone.
    """
    seated, waiting, gone, reserves = [], [], [], 0
    for aanmelding in gesprek.aanmeldingen.order_by("created_at", "pk"):
        if aanmelding.status == Status.RESERVE:
            reserves += 1
        elif aanmelding.status == Status.WACHTLIJST:
            waiting.append(aanmelding)
        elif aanmelding.status in (Status.GEANNULEERD, Status.VERLOPEN):
            gone.append(aanmelding)
        else:
            seated.append(aanmelding)
    return seated, waiting, gone, reserves


def demand(user, *, now: datetime) -> list[Buurt]:
    """Buurten in the gemeenten `user` serves where residents asked for a conversation
    (confirmed, not yet invited) and nothing is planned or drafted that has not ended.
    Most demand first. Each carries `demand` (how many asked). One query."""
    asked = Q(interesses__confirmed_at__isnull=False, interesses__invited_at__isnull=True)
    planned = Gesprek.objects.filter(
        buurt=OuterRef("pk"),
        status__in=[Gesprek.Status.GEPLAND, Gesprek.Status.CONCEPT],
        ends_at__gt=now,
    )
    return list(
        Buurt.objects.filter(gemeente__in=served_gemeenten(user).values("pk"))
        .annotate(demand=Count("interesses", filter=asked))
        .filter(demand__gt=0)
        .exclude(Exists(planned))
        .select_related("wijk", "gemeente")
        .order_by("-demand", "gemeente__name", "name", "code")
    )
