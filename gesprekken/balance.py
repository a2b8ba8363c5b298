"""Mixed tables: the balance rule per gesprek, and the mix the facilitator sees as counts.

The balance rule
----------------
A gesprek with `balance` on has a maximum share s = `balance_max_share` (34–90 %). A
candidate may take a seat only if, for each of their *known* attributes —

- their sector (`Aanmelding.sector`, if they gave one), and
- their side (`Standpunt.side`: agree / neutral / disagree, if they answered the theme's
  statements with the separate consent that stance needs) —

the number of seat holders (`Aanmelding.SEAT_STATUSES`: held, confirmed, offered,
present) with that same attribute value *after they take the seat* is at most

    max(floor(s/100 × n_after), allowance)

where n_after is the number of seat holders after they take it, and
allowance = max(1, floor(s/100 × min_participants)). The allowance lets the first
people of a small table sit down: without it the very first sign-up (1 of 1 = 100 %)
could never take a seat. Unknown attributes never break the rule: someone who gave no
sector and no stance can always take a free seat. Arithmetic is in whole numbers
(floor(s × n / 100)), so no rounding of a float decides a seat.

Worked example (s = 60, min_participants = 4, so allowance = max(1, floor(2.4)) = 2):
two "agree" hold seats and one "disagree". A third "agree" would make 3 of 4, and
3 > max(floor(2.4), 2) = 2: they become a reserve. When one more "disagree" joins
(2 agree, 2 disagree; 2 ≤ max(2, 2)), the reserve would make 3 of 5 ≤ max(floor(3), 2)
= 3 and is offered the seat.

A candidate who breaks the rule while a seat is free becomes a reserve
(`Aanmelding.Status.RESERVE`); reserves and the waiting list form one line in sign-up
order (`AanmeldingQuerySet.queued()`), and each free seat goes to the first in that line
whom the rule allows (gesprekken.services._offer_free_seats). From `release_at(gesprek)`
= starts_at − GESPREKKEN_RESERVE_RELEASE_HOURS on, the rule no longer applies: a fuller
table beats an empty seat. With `balance` off the rule never applies and seats go
exactly as they did before it existed.

Because seat holders only ever join under the rule and the limit never falls as the
table grows, the seat holders of a balanced gesprek keep satisfying the rule as long as
nobody leaves; a cancellation can leave the table temporarily less mixed, which the
next seats given out repair.

The mix
-------
`mix(gesprek)` counts the seat holders per sector, per age band and per side, for the
facilitator: never who is who. A count below MIN_SHOWN (3) is shown as "fewer than 3",
never the number. The sides are hidden altogether when one side holds every stance
given at the table (which would tell each person's stance), and all three sides are
always listed, so that a missing row reveals nothing either.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings

from .models import Aanmelding, AgeBand, Gesprek, Sector, Standpunt

# Which attribute broke the rule; the "reserve" mail says which, never the answers.
SECTOR = "sector"
STANCE = "stance"
BOTH = "both"

# Counts below this are never shown as a number.
MIN_SHOWN = 3


@dataclass(frozen=True)
class Profile:
    """What the rule knows about one person: their sector and their side, if given."""

    sector_id: int | None = None
    side: str = ""


def profile_of(aanmelding: Aanmelding) -> Profile:
    """The profile of a saved registration (one query for the stance, unless cached)."""
    try:
        side = aanmelding.standpunt.side
    except Standpunt.DoesNotExist:
        side = ""
    return Profile(sector_id=aanmelding.sector_id, side=side or "")


def profiles_of(aanmeldingen: Iterable[Aanmelding]) -> dict[int, Profile]:
    """Profiles of many saved registrations by pk, with one query for their stances."""
    aanmeldingen = list(aanmeldingen)
    sides = dict(
        Standpunt.objects.filter(
            aanmelding__in=[aanmelding.pk for aanmelding in aanmeldingen]
        ).values_list("aanmelding_id", "side")
    )
    return {
        aanmelding.pk: Profile(sector_id=aanmelding.sector_id, side=sides.get(aanmelding.pk, ""))
        for aanmelding in aanmeldingen
    }


def allowance(gesprek: Gesprek) -> int:
    """max(1, floor(s/100 × min_participants)): what a small table may always hold."""
    return max(1, gesprek.balance_max_share * gesprek.min_participants // 100)


def limit(gesprek: Gesprek, seated_after: int) -> int:
    """How many seat holders may share one attribute value when `seated_after` sit."""
    return max(gesprek.balance_max_share * seated_after // 100, allowance(gesprek))


def release_at(gesprek: Gesprek) -> datetime:
    """From this moment on the rule no longer holds anyone back."""
    return gesprek.starts_at - timedelta(hours=settings.GESPREKKEN_RESERVE_RELEASE_HOURS)


def applies(gesprek: Gesprek, now: datetime) -> bool:
    """Whether the rule decides seats of this gesprek at `now`."""
    return bool(gesprek.balance) and now < release_at(gesprek)


def reason(broken: Iterable[str]) -> str:
    """ "sector", "stance" or "both": which attributes broke the rule."""
    broken = set(broken)
    if broken >= {SECTOR, STANCE}:
        return BOTH
    return SECTOR if SECTOR in broken else STANCE


@dataclass
class Table:
    """The seat holders of one gesprek as the rule sees them: counts per attribute value.

    Build it with Table.of(gesprek) (one query, or two when someone must be left out)
    while holding the gesprek lock; `seat()` keeps it up to date as seats are given out.
    """

    gesprek: Gesprek
    seated: int = 0
    sectors: Counter = field(default_factory=Counter)
    sides: Counter = field(default_factory=Counter)

    @classmethod
    def of(cls, gesprek: Gesprek, *, exclude: Aanmelding | None = None) -> "Table":
        holders = gesprek.aanmeldingen.holding_seat()
        if exclude is not None:
            holders = holders.exclude(pk=exclude.pk)
        table = cls(gesprek=gesprek)
        for sector_id, side in holders.order_by().values_list("sector_id", "standpunt__side"):
            table.seat(Profile(sector_id=sector_id, side=side or ""))
        return table

    def breaks(self, candidate: Profile) -> list[str]:
        """The attributes of `candidate` that would break the rule: [] when they may sit."""
        most = limit(self.gesprek, self.seated + 1)
        broken = []
        if candidate.sector_id is not None and self.sectors[candidate.sector_id] + 1 > most:
            broken.append(SECTOR)
        if candidate.side and self.sides[candidate.side] + 1 > most:
            broken.append(STANCE)
        return broken

    def allows(self, candidate: Profile) -> bool:
        return not self.breaks(candidate)

    def seat(self, candidate: Profile) -> None:
        self.seated += 1
        if candidate.sector_id is not None:
            self.sectors[candidate.sector_id] += 1
        if candidate.side:
            self.sides[candidate.side] += 1

    def holds(self) -> bool:
        """Whether every attribute value at the table is within the limit now."""
        most = limit(self.gesprek, self.seated)
        counts = [*self.sectors.values(), *self.sides.values()]
        return all(count <= most for count in counts)


# --- the mix, as the facilitator sees it ---------------------------------------------------


@dataclass(frozen=True)
class MixRow:
    """One line of the mix: a label and a count, or None when the count is not shown."""

    label: str
    count: int | None

    @property
    def suppressed(self) -> bool:
        return self.count is None


@dataclass
class Mix:
    """Counts over the seat holders of a gesprek; nothing in here points at a person."""

    seated: int
    sectors: list[MixRow]
    age_bands: list[MixRow]
    # Empty when `sides_hidden`: one side holds every stance given at this table.
    sides: list[MixRow]
    sides_hidden: bool


def _shown(count: int) -> int | None:
    return count if count >= MIN_SHOWN else None


def mix(gesprek: Gesprek) -> Mix:
    """The mix of the seat holders of `gesprek`: two queries, whatever the group size.

    Sectors and age bands that nobody at the table gave are left out; the three sides
    are always listed. Every count below MIN_SHOWN is None ("fewer than 3").
    """
    rows = list(
        Aanmelding.objects.filter(gesprek=gesprek, status__in=Aanmelding.SEAT_STATUSES)
        .order_by()
        .values_list("sector_id", "age_band", "standpunt__side")
    )
    sector_counts = Counter(sector for sector, _age, _side in rows if sector is not None)
    age_counts = Counter(age for _sector, age, _side in rows if age)
    side_counts = Counter(side for _sector, _age, side in rows if side)
    sectors = Sector.objects.filter(pk__in=list(sector_counts)).order_by("order", "pk")
    stances_given = sum(side_counts.values())
    sides_hidden = stances_given > 0 and max(side_counts.values()) == stances_given
    return Mix(
        seated=len(rows),
        sectors=[MixRow(sector.label, _shown(sector_counts[sector.pk])) for sector in sectors],
        age_bands=[
            MixRow(str(band.label), _shown(age_counts[band.value]))
            for band in AgeBand
            if age_counts[band.value]
        ],
        sides=[]
        if sides_hidden
        else [MixRow(str(side.label), _shown(side_counts[side.value])) for side in Standpunt.Side],
        sides_hidden=sides_hidden,
    )
