"""Dutch postcodes: parsing what a resident types, and looking up where it lies."""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from .models import Buurt, Gemeente, Postcodegebied

# 4 digits (the first never 0), optionally followed by 2 letters; spaces anywhere are
# forgiven ("3511 AB", "3511ab", " 3511 "). PostNL never issues SA, SD or SS.
# ASCII only: \d would also match "３" or "٣", and upper() turns "ﬀ" into "FF".
_POSTCODE = re.compile(r"([1-9][0-9]{3})([A-Za-z]{2})?", re.ASCII)


class PostcodeError(ValueError):
    pass


def parse_postcode(value: str) -> tuple[str, str]:
    """Return (pc4, letters) for a typed postcode; letters may be "".

    Raises PostcodeError with a message for the resident when it is not a postcode.
    """
    cleaned = re.sub(r"\s+", "", value or "")
    if not cleaned:
        raise PostcodeError(_("Enter your postcode, for example 3511 AB."))
    if len(cleaned) > 6:
        raise PostcodeError(_("A postcode has 4 digits and 2 letters, for example 3511 AB."))
    match = _POSTCODE.fullmatch(cleaned)
    letters = (match.group(2) or "").upper() if match else ""
    if not match or letters in {"SA", "SD", "SS"}:
        raise PostcodeError(_("A postcode has 4 digits and 2 letters, for example 3511 AB."))
    return match.group(1), letters


def format_postcode(pc4: str, letters: str) -> str:
    return f"{pc4} {letters}" if letters else pc4


@dataclass
class PostcodeResult:
    pc4: str
    gemeenten: list[Gemeente]
    buurten: list[Buurt] = field(default_factory=list)

    @property
    def gemeente(self) -> Gemeente | None:
        return self.gemeenten[0] if self.gemeenten else None


def lookup_pc4(pc4: str) -> PostcodeResult:
    """The gemeenten (most inhabitants first) and buurten of a 4-digit postcode.

    Two queries. The PC4 table is approximate (derived from CBS "most common postcode"),
    so callers let the resident confirm or change the gemeente.
    """
    areas = list(
        Postcodegebied.objects.filter(pc4=pc4, gemeente__ended_on__isnull=True)
        .select_related("gemeente__provincie")
        .order_by("rank")
    )
    buurten = list(
        Buurt.objects.filter(pc4=pc4, gemeente__ended_on__isnull=True)
        .select_related("wijk")
        .order_by("name")
    )
    return PostcodeResult(pc4=pc4, gemeenten=[a.gemeente for a in areas], buurten=buurten)
