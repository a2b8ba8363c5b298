"""The anonymous effect survey: pairing keys, recording the answers, aggregates, purge.

Design (also in docs/privacy.md, "The effect survey"):

- **Pairing key.** Every registration has a key that is *derived*, never stored:
  ``pairing_key(aanmelding)`` is the URL-safe base64 of an HMAC-SHA256 over
  ``"effect:<aanmelding pk>:<created_at, UTC, ISO 8601>"`` keyed by a key derived from
  ``settings.SECRET_KEY`` with its own salt (``PAIRING_SALT``). The survey links in the
  "bevestigd" mail (``/peiling/<gesprek>/<key>/voor/``) and the "bedankt" mail
  (``…/na/``) carry it.
- **What is stored.** An ``Effectmeting`` row holds the gesprek, the answers and
  ``pairing_digest`` = SHA-256 of the key, and nothing about the person. Knowing the row,
  nobody can tell whose it is without recomputing every registration's key (that takes
  the SECRET_KEY, and only until the digest is destroyed).
- **Checking a link.** A key is accepted for a gesprek only if it equals (compared in
  constant time) the key of one of that gesprek's registrations that are confirmed or
  were present (``SURVEY_STATUSES``); the keys are computed on the spot (a gesprek has
  at most a few dozen registrations). Which registration matched is not kept anywhere.
- **Before** (``record_before``): open while the gesprek is planned and has not started.
  Stores a new row with the digest and the before-answers; a second answer changes nothing.
- **After** (``record_after``): open from the end of the gesprek until
  ``AFTER_SURVEY_DAYS`` days later, only for a digest whose before-row exists and has no
  after-answers yet. One conditional UPDATE fills the after-answers and sets
  ``pairing_digest`` to NULL: the key is destroyed, the link no longer does anything.
- **Purge** (``purge``): the retention purge sets ``pairing_digest`` to NULL on rows
  whose gesprek ended more than GESPREKKEN_RETENTION_DAYS ago (before-answers whose
  after-survey never came), so no row can be tied to a registration after that.
- **Aggregates** (``overall``, ``by_group`` and the summaries): over *paired* rows only
  (before and after answered, so both come from the same people), of gesprekken that were
  not cancelled; in SQL: the mean and sample standard deviation of the change (after −
  before) of the thermometer and of trust, the number of pairs, and how many answered 4 or
  5 to "I heard an argument that made me think". One query per grouping. The 95 %
  interval is mean ± t(0.975, n − 1) · sd / √n (``T_975``, 1.96 beyond 30 degrees of
  freedom).
- **Small numbers.** A figure is shown only for n ≥ ``MIN_ANSWERS`` (5). Where a total
  and its parts are shown together (national and per province, a gemeente and per theme
  …), the hidden parts must add up to 0 or at least 5 answers, otherwise the smallest
  shown parts are hidden too (``protect``): no group of fewer than 5 can be worked out by
  subtracting the shown parts from the total.
"""

import hashlib
import hmac
import math
import re
from base64 import urlsafe_b64encode
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, FloatField, Q, StdDev
from django.db.models.functions import Cast
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy

from .models import Aanmelding, Effectmeting, Gesprek

PAIRING_SALT = "buurtgesprek.effect.pairing"
# 32 bytes of HMAC-SHA256 in URL-safe base64 without padding.
KEY_LENGTH = 43
_KEY_RE = re.compile(rf"[A-Za-z0-9_-]{{{KEY_LENGTH}}}")
# Registrations whose links work: confirmed seats, and those who were checked in.
SURVEY_STATUSES = (Aanmelding.Status.BEVESTIGD, Aanmelding.Status.AANWEZIG)
# Gesprekken whose answers are recorded and counted.
COUNTED_GESPREK_STATUSES = (Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN)
AFTER_SURVEY_DAYS = 14
# No figure is shown for fewer paired answers than this.
MIN_ANSWERS = 5
# "I heard an argument that made me think": these answers count as yes.
ARGUMENT_YES_FROM = 4

THERMOMETER_RANGE = (0, 100)
SCALE_RANGE = (1, 5)

# t-quantiles t(0.975, df) for df 1–30; beyond 30 the normal 1.96.
T_975 = {
    1: 12.706,
    2: 4.303,
    3: 3.182,
    4: 2.776,
    5: 2.571,
    6: 2.447,
    7: 2.365,
    8: 2.306,
    9: 2.262,
    10: 2.228,
    11: 2.201,
    12: 2.179,
    13: 2.160,
    14: 2.145,
    15: 2.131,
    16: 2.120,
    17: 2.110,
    18: 2.101,
    19: 2.093,
    20: 2.086,
    21: 2.080,
    22: 2.074,
    23: 2.069,
    24: 2.064,
    25: 2.060,
    26: 2.056,
    27: 2.052,
    28: 2.048,
    29: 2.045,
    30: 2.042,
}


def t_quantile(df: int) -> float:
    """t(0.975, df): the multiplier of the standard error for a 95 % interval."""
    if df < 1:
        raise ValueError("a 95 % interval needs at least two answers")
    return T_975.get(df, 1.96)


# --- Keys and links ------------------------------------------------------------------------


def _key_for(pk: int, created_at: datetime) -> str:
    moment = created_at.astimezone(UTC).isoformat()
    mac = salted_hmac(PAIRING_SALT, f"effect:{pk}:{moment}", algorithm="sha256").digest()
    return urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def pairing_key(aanmelding: Aanmelding) -> str:
    """The pairing key of a registration: derived from its pk and creation time, never stored.

    The creation time is taken in UTC, so the key is the same whichever time zone the
    value was read in.
    """
    return _key_for(aanmelding.pk, aanmelding.created_at)


def digest_of(key: str) -> str:
    """What the database keeps of a key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def looks_like_key(key: str) -> bool:
    return bool(_KEY_RE.fullmatch(key))


def is_valid_key(gesprek: Gesprek, key: str) -> bool:
    """Is `key` the pairing key of one of this gesprek's confirmed or present registrations?

    One query. Every candidate is compared (in constant time), so the time taken does not
    tell which one matched; which one did is not returned or kept.
    """
    if not looks_like_key(key):
        return False
    candidate = key.encode("ascii")
    match = False
    rows = Aanmelding.objects.filter(gesprek=gesprek, status__in=SURVEY_STATUSES).values_list(
        "pk", "created_at"
    )
    for pk, created_at in rows:
        match |= hmac.compare_digest(_key_for(pk, created_at).encode("ascii"), candidate)
    return match


def survey_paths(aanmelding: Aanmelding) -> tuple[str, str]:
    """(before, after): the paths of the two survey links of a registration."""
    args = [aanmelding.gesprek_id, pairing_key(aanmelding)]
    return (
        reverse("gesprekken:effect_before", args=args),
        reverse("gesprekken:effect_after", args=args),
    )


def before_open(gesprek: Gesprek, now: datetime) -> bool:
    """The before-survey is open while the gesprek is planned and has not started."""
    return gesprek.status == Gesprek.Status.GEPLAND and now < gesprek.starts_at


def after_closes_at(gesprek: Gesprek) -> datetime:
    return gesprek.ends_at + timedelta(days=AFTER_SURVEY_DAYS)


def after_open(gesprek: Gesprek, now: datetime) -> bool:
    """The after-survey is open from the end of the gesprek for AFTER_SURVEY_DAYS days."""
    return gesprek.status in COUNTED_GESPREK_STATUSES and gesprek.ends_at <= now < after_closes_at(
        gesprek
    )


def mail_links(kind: str, aanmelding: Aanmelding, gesprek: Gesprek, *, site_url: str, now):
    """The survey link for the "bevestigd" (before) or "bedankt" (after) mail, while open.

    Returns {"effect_url": absolute link} or {} (other kinds, other statuses, closed).
    """
    if aanmelding.status not in SURVEY_STATUSES:
        return {}
    before, after = survey_paths(aanmelding)
    if kind == "bevestigd" and before_open(gesprek, now):
        return {"effect_url": site_url + before}
    if kind == "bedankt" and after_open(gesprek, now):
        return {"effect_url": site_url + after}
    return {}


# --- Recording -----------------------------------------------------------------------------


def has_before(gesprek: Gesprek, key: str) -> bool:
    """Has the before-survey of this key been answered (and its key not destroyed yet)?"""
    return Effectmeting.objects.filter(gesprek=gesprek, pairing_digest=digest_of(key)).exists()


def record_before(gesprek: Gesprek, key: str, *, thermometer: int, trust: int) -> bool:
    """Store the before-answers of a (checked) key. False when it has answered already.

    The unique digest makes a double submit, or two at the same time, store one row.
    """
    try:
        with transaction.atomic():
            Effectmeting.objects.create(
                gesprek=gesprek,
                pairing_digest=digest_of(key),
                before_thermometer=thermometer,
                before_trust=trust,
            )
    except IntegrityError:
        return False
    return True


def record_after(gesprek: Gesprek, key: str, *, thermometer: int, trust: int, argument: int):
    """Fill the after-answers of this key's before-row and destroy the key. One UPDATE.

    False (nothing stored) when there is no before-row with this digest: never answered
    before, or the after-survey was answered already (the digest is gone).
    """
    updated = Effectmeting.objects.filter(
        gesprek=gesprek,
        pairing_digest=digest_of(key),
        before_thermometer__isnull=False,
        after_thermometer__isnull=True,
    ).update(
        after_thermometer=thermometer,
        after_trust=trust,
        after_argument=argument,
        pairing_digest=None,
    )
    return updated == 1


def forget(aanmelding: Aanmelding) -> int:
    """Destroy the pairing key of one registration (e.g. when it is erased): its answers
    stay, anonymous, but can no longer be completed or tied to it. Returns 0 or 1."""
    return Effectmeting.objects.filter(
        gesprek_id=aanmelding.gesprek_id, pairing_digest=digest_of(pairing_key(aanmelding))
    ).update(pairing_digest=None)


def purge(now: datetime) -> int:
    """Destroy the pairing keys of gesprekken that ended more than
    GESPREKKEN_RETENTION_DAYS ago (the retention purge). Returns how many were destroyed."""
    cutoff = now - timedelta(days=settings.GESPREKKEN_RETENTION_DAYS)
    return Effectmeting.objects.filter(
        pairing_digest__isnull=False, gesprek__ends_at__lte=cutoff
    ).update(pairing_digest=None)


# --- Aggregates ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """A mean change with its 95 % interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Effect:
    """The figures of one group. Numbers only when shown (n ≥ MIN_ANSWERS, not protected)."""

    # Paired answers (kept for the suppression rules; published only when shown or 0).
    n: int
    thermometer: Interval | None = None
    trust: Interval | None = None
    argument_share: float | None = None
    # Hidden although n ≥ MIN_ANSWERS, so that a smaller group cannot be worked out.
    protected: bool = False

    @property
    def shown(self) -> bool:
        return self.thermometer is not None

    @property
    def published_n(self) -> int | None:
        """n as published: the number when shown, 0 when there are none, else None."""
        if self.shown or self.n == 0:
            return self.n
        return None

    def hidden(self) -> "Effect":
        return Effect(n=self.n, protected=self.n >= MIN_ANSWERS)


@dataclass(frozen=True)
class Group:
    """The effect in one province, gemeente, theme or format."""

    key: str | int | None
    name: str
    effect: Effect
    # Gemeenten: their province (for the suppression rules).
    parent: str | None = None


def _interval(n: int, mean, sd) -> Interval:
    half = t_quantile(n - 1) * (sd or 0.0) / math.sqrt(n)
    return Interval(mean=float(mean), low=float(mean) - half, high=float(mean) + half)


def _effect(row: dict) -> Effect:
    n = row["n"]
    if n < MIN_ANSWERS:
        return Effect(n=n)
    return Effect(
        n=n,
        thermometer=_interval(n, row["thermometer_mean"], row["thermometer_sd"]),
        trust=_interval(n, row["trust_mean"], row["trust_sd"]),
        argument_share=row["argument_yes"] / n,
    )


def _change(field: str):
    return Cast(F(f"after_{field}"), FloatField()) - Cast(F(f"before_{field}"), FloatField())


AGGREGATES = {
    "n": Count("pk"),
    "thermometer_mean": Avg(_change("thermometer")),
    "thermometer_sd": StdDev(_change("thermometer"), sample=True),
    "trust_mean": Avg(_change("trust")),
    "trust_sd": StdDev(_change("trust"), sample=True),
    "argument_yes": Count("pk", filter=Q(after_argument__gte=ARGUMENT_YES_FROM)),
}


def paired(q: Q | None = None):
    """Paired answers (before and after) of gesprekken that were not cancelled, filtered by
    `q`, a Q on Effectmeting (e.g. a coverage scope's gesprek_q("gesprek__"))."""
    return Effectmeting.objects.filter(
        q or Q(),
        before_thermometer__isnull=False,
        before_trust__isnull=False,
        after_thermometer__isnull=False,
        after_trust__isnull=False,
        after_argument__isnull=False,
        gesprek__status__in=COUNTED_GESPREK_STATUSES,
    )


def overall(q: Q | None = None) -> Effect:
    """The effect over all paired answers in `q`. One query."""
    return _effect(paired(q).aggregate(**AGGREGATES))


# grouping → (key path, name path or None, parent path or None)
GROUPINGS = {
    "provincie": (
        "gesprek__buurt__gemeente__provincie_id",
        "gesprek__buurt__gemeente__provincie__name",
        None,
    ),
    "gemeente": (
        "gesprek__buurt__gemeente_id",
        "gesprek__buurt__gemeente__name",
        "gesprek__buurt__gemeente__provincie_id",
    ),
    "thema": ("gesprek__thema_id", "gesprek__thema__name", None),
    "format": ("gesprek__format", None, None),
}


def _name(grouping: str, key, name) -> str:
    if grouping == "format":
        return Gesprek.Format(key).label if key in Gesprek.Format.values else str(key)
    if grouping == "thema" and key is None:
        return gettext_lazy("Without a theme")
    return name or str(key)


def by_group(grouping: str, q: Q | None = None) -> list[Group]:
    """The effect per province, gemeente, theme or format (GROUPINGS), by name. One query.

    Only groups with at least one paired answer; small ones come without numbers (see
    Effect). The parts are not protected against each other yet: see protect().
    """
    key_path, name_path, parent_path = GROUPINGS[grouping]
    paths = [path for path in (key_path, name_path, parent_path) if path]
    rows = paired(q).values(*paths).annotate(**AGGREGATES).order_by()
    groups = [
        Group(
            key=row[key_path],
            name=_name(grouping, row[key_path], row[name_path] if name_path else None),
            effect=_effect(row),
            parent=row[parent_path] if parent_path else None,
        )
        for row in rows
    ]
    return sorted(groups, key=lambda group: (group.key is None, str(group.name), str(group.key)))


def protect(total: Effect, parts: list[Group]) -> list[Group]:
    """The parts of `total` as they may be shown next to it.

    When the total is hidden, every part is. Otherwise the hidden parts must add up to 0 or
    at least MIN_ANSWERS answers; while they add up to 1–4, the smallest shown part is
    hidden as well. So no group of fewer than MIN_ANSWERS answers can be worked out by
    subtracting the shown parts from the total.
    """
    if not total.shown:
        return [replace(part, effect=part.effect.hidden()) for part in parts]
    hidden = {index for index, part in enumerate(parts) if not part.effect.shown}
    hidden_n = sum(parts[index].effect.n for index in hidden)
    while 0 < hidden_n < MIN_ANSWERS:
        shown = [index for index in range(len(parts)) if index not in hidden]
        if not shown:
            break
        smallest = min(shown, key=lambda index: (parts[index].effect.n, str(parts[index].key)))
        hidden.add(smallest)
        hidden_n += parts[smallest].effect.n
    return [
        replace(part, effect=part.effect.hidden()) if index in hidden else part
        for index, part in enumerate(parts)
    ]


@dataclass
class Summary:
    """What a dashboard shows: the total and its parts, protected against each other."""

    total: Effect
    provincies: list[Group]
    themas: list[Group]
    formats: list[Group]


def national_summary(q: Q | None = None) -> Summary:
    """The total, per province, per theme and per format. Four queries."""
    total = overall(q)
    return Summary(
        total=total,
        provincies=protect(total, by_group("provincie", q)),
        themas=protect(total, by_group("thema", q)),
        formats=protect(total, by_group("format", q)),
    )


def gemeente_summary(q: Q) -> Summary:
    """For one gemeente (`q` selects it): the total, per theme and per format. Three queries."""
    total = overall(q)
    return Summary(
        total=total,
        provincies=[],
        themas=protect(total, by_group("thema", q)),
        formats=protect(total, by_group("format", q)),
    )


@dataclass
class OpenData:
    """The effect as published: national, per province code and per gemeente code."""

    total: Effect
    provincies: dict[str, Effect]
    gemeenten: dict[str, Effect]

    def provincie(self, code: str) -> Effect:
        return self.provincies.get(code, Effect(n=0))

    def gemeente(self, code: str) -> Effect:
        return self.gemeenten.get(code, Effect(n=0))


def open_data() -> OpenData:
    """All time, every gemeente (also those that have ended: they count towards the
    province when the hidden parts are added up). Three queries.

    Provinces are protected within the national total; a hidden province hides its
    gemeenten; the gemeenten of a shown province are protected within it.
    """
    total = overall()
    provincies = {group.key: group for group in protect(total, by_group("provincie"))}
    per_provincie: dict[str, list[Group]] = {}
    for group in by_group("gemeente"):
        per_provincie.setdefault(group.parent, []).append(group)
    gemeenten = {}
    for code, parts in per_provincie.items():
        provincie = provincies.get(code)
        parent = provincie.effect if provincie else Effect(n=0)
        for group in protect(parent, parts):
            gemeenten[group.key] = group.effect
    return OpenData(
        total=total,
        provincies={code: group.effect for code, group in provincies.items()},
        gemeenten=gemeenten,
    )
