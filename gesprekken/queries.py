"""Reads for the resident pages: upcoming gesprekken near a place, with seats left."""

from collections.abc import Iterable

from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from gemeenten.models import Buurt, Gemeente

from .models import Aanmelding, Gesprek

# How many gesprekken a finder page lists; the nearest and soonest come first.
FINDER_LIMIT = 50


class Proximity:
    BUURT = 0
    WIJK = 1
    GEMEENTE = 2


def with_seats_left(gesprekken: QuerySet[Gesprek]) -> QuerySet[Gesprek]:
    """Annotate `seats_left` (never below 0 in the templates' eyes: full is `<= 0`).

    A correlated count per gesprek (an index look-up on (gesprek, status)), not a join
    grouped by every selected table: the same number, a fraction of the planning."""
    taken = (
        Aanmelding.objects.filter(gesprek=OuterRef("pk"), status__in=Aanmelding.SEAT_STATUSES)
        .order_by()
        .values("gesprek")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return gesprekken.annotate(
        seats_left=F("max_participants") - Coalesce(Subquery(taken, output_field=IntegerField()), 0)
    )


def gesprekken_for_pages() -> QuerySet[Gesprek]:
    """Gesprekken with what a page shows: place, theme, facilitator, seats left."""
    return with_seats_left(
        Gesprek.objects.select_related("buurt__wijk", "buurt__gemeente", "thema", "facilitator")
    )


def public_gesprekken() -> QuerySet[Gesprek]:
    """Every gesprek anyone may open: all but drafts."""
    return gesprekken_for_pages().exclude(status=Gesprek.Status.CONCEPT)


# Written out: it runs on every sign-up POST, where Django took 0.2–0.3 ms to build and
# compile the same one-row read (`python -m bench inprocess`).
_PUBLIC_THEME = f"SELECT thema_id FROM {Gesprek._meta.db_table} WHERE id = %s AND status <> %s"  # noqa: S608


def public_theme(pk: int) -> list[int | None]:
    """The theme of public gesprek `pk` as a list: [] when there is no such gesprek (or it
    is a draft), [None] when it has no theme."""
    low, high = connection.ops.integer_field_range(Gesprek._meta.pk.get_internal_type())
    if not low <= pk <= high:  # a made-up URL: no gesprek, and no number the database takes
        return []
    with connection.cursor() as cursor:
        cursor.execute(_PUBLIC_THEME, [pk, Gesprek.Status.CONCEPT])
        return [row[0] for row in cursor.fetchall()]


def nearby_upcoming(
    *,
    gemeenten: Iterable[Gemeente],
    buurten: Iterable[Buurt] = (),
    limit: int = FINDER_LIMIT,
) -> list[Gesprek]:
    """Upcoming, published gesprekken in the gemeenten: same buurt first, then same wijk.

    One query. Each gesprek carries `seats_left` and `proximity` (see Proximity).
    """
    buurten = list(buurten)
    buurt_codes = [b.code for b in buurten]
    wijk_codes = sorted({b.wijk_id for b in buurten})
    proximity = Case(
        When(buurt_id__in=buurt_codes, then=Value(Proximity.BUURT)),
        When(buurt__wijk_id__in=wijk_codes, then=Value(Proximity.WIJK)),
        default=Value(Proximity.GEMEENTE),
        output_field=IntegerField(),
    )
    gesprekken = (
        with_seats_left(
            Gesprek.objects.upcoming()
            .filter(buurt__gemeente__in=[g.pk for g in gemeenten])
            .select_related("buurt__wijk", "thema", "facilitator")
        )
        .annotate(proximity=proximity)
        .order_by("proximity", "starts_at", "pk")
    )
    return list(gesprekken[:limit])


def waiting_list_position(aanmelding: Aanmelding) -> int | None:
    """1 for the first in line; None when not on the waiting list. One query.

    The line is the waiting list and the reserves of a mixed table together (queued()),
    so reserves who signed up earlier count as ahead; a reserve itself has no position.
    """
    if aanmelding.status != Aanmelding.Status.WACHTLIJST:
        return None
    ahead = (
        Aanmelding.objects.queued()
        .filter(gesprek_id=aanmelding.gesprek_id)
        .filter(
            Q(created_at__lt=aanmelding.created_at)
            | Q(created_at=aanmelding.created_at, pk__lt=aanmelding.pk)
        )
        .count()
    )
    return ahead + 1
