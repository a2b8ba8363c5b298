"""Synthetic activity at national scale over the real geography (`seed_demo --scale national`).

About 100,000 gesprekken and 1,000,000 aanmeldingen, spread the way a national rollout
would look: many in the big cities, a few in villages, none at all in some gemeenten;
within a gemeente some buurten busy and many not reached yet; more activity in recent
months than at the start. Everything is drawn from one seeded random.Random, so the same
seed and size give the same data (apart from created_at/updated_at stamps).

Rows are written in batches: with PostgreSQL through COPY (psycopg's cursor.copy), which
is several times faster than INSERT for a million rows; elsewhere with bulk_create. Ids
are assigned here, so children can point at parents without reading them back.

Residents are invented ("Bewoner 123456", …@seed.buurtgesprek.nl) and facilitators cannot
log in (unusable password): the data is for demos and benchmarks, never for production.
"""

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import connection, models, transaction
from django.utils import timezone

from facilitators.models import Facilitator
from gemeenten.models import Buurt, Gemeente
from gesprekken.models import Aanmelding, Gesprek, Interesse, Thema, Verslag

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DOMAIN = "seed.buurtgesprek.nl"
# The first facilitator's username: its presence means the national seed already ran.
MARKER_USERNAME = f"begeleider-00001@{DOMAIN}"
NATIONAL_GESPREKKEN = 100_000
BATCH = 20_000
# The seeded activity runs from this many days ago to this many days ahead.
PAST_DAYS = 540
FUTURE_DAYS = 90
THEMES = [
    "Wonen en betaalbaarheid",
    "Zorg en werk in de buurt",
    "Jong en oud",
    "Veiligheid en samenleven",
    "Klimaat en energie",
    "Boer en stad",
    "Horeca, cultuur en de avond",
    "Armoede en rondkomen",
]
FIRST_NAMES = [
    "Anna", "Bram", "Fatima", "Jeroen", "Mila", "Youssef", "Eva", "Daan", "Lotte", "Sem",
    "Noor", "Sanne", "Ahmed", "Ingrid", "Kees", "Priya", "Tim", "Esra", "Joost", "Marieke",
]  # fmt: skip
OUTCOMES = [
    "Een gezamenlijke buurtmaaltijd in het voorjaar.",
    "Afspraak om samen de gemeente te vragen om een bankje bij de speeltuin.",
    "Een appgroep voor boodschappen voor wie slecht ter been is.",
    "Iedereen wil elkaar beter leren kennen; volgende keer bij iemand anders thuis.",
    "Zorgen over parkeren besproken; een bewoner zoekt uit wat kan.",
]
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
Status = Gesprek.Status
AStatus = Aanmelding.Status


@dataclass
class Seeded:
    """What the seed wrote, for the command's summary (and the tests)."""

    facilitators: int = 0
    gesprekken: int = 0
    aanmeldingen: int = 0
    verslagen: int = 0
    interesses: int = 0
    empty_gemeenten: list[str] = field(default_factory=list)
    seconds: float = 0.0


def seed_national(
    *, seed: int = 2026, gesprekken: int = NATIONAL_GESPREKKEN, stdout=None, now=None
) -> Seeded | None:
    """Write the national demo activity in one transaction; None when it is already there.

    `gesprekken` sets the size (aanmeldingen follow, about ten per gesprek): the tests
    seed a few hundred, `make bench` the full 100,000.
    """
    started = time.monotonic()
    if not Gemeente.objects.existing().exists() or not Buurt.objects.exists():
        raise CommandError("No geography yet: run `manage.py import_gebieden` first.")
    if get_user_model().objects.filter(username=MARKER_USERNAME).exists():
        return None
    seeder = _Seeder(random.Random(seed), now or timezone.now(), stdout)
    with transaction.atomic():
        result = seeder.run(gesprekken)
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Fresh statistics and visibility map: the planner sees the new sizes at once and
        # can use index-only scans (autovacuum would get there, minutes later).
        with connection.cursor() as cursor:
            for model in (Gesprek, Aanmelding, Verslag, Verslag.themes.through, Interesse):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    result.seconds = time.monotonic() - started
    return result


def run_from_command(command, *, seed: int, gesprekken: int | None) -> Seeded | None:
    """`seed_demo --scale national`: seed, and say what was written and how long it took."""
    command.stdout.write("Seeding national activity (this takes a few minutes)…")
    result = seed_national(
        seed=seed, gesprekken=gesprekken or NATIONAL_GESPREKKEN, stdout=command.stdout
    )
    if result is None:
        command.stdout.write("National activity is already there; nothing written.")
        return None
    command.stdout.write(
        command.style.SUCCESS(
            f"National activity: {result.gesprekken:,} gesprekken, "
            f"{result.aanmeldingen:,} aanmeldingen, {result.verslagen:,} reports, "
            f"{result.interesses:,} interests, {result.facilitators:,} facilitators "
            f"in {result.seconds:.1f} s."
        )
    )
    return result


class _Seeder:
    def __init__(self, rng: random.Random, now: datetime, stdout):
        self.rng = rng
        self.now = now
        self.today = timezone.localdate(now)
        self.stdout = stdout
        self.result = Seeded()
        self.writer = _Writer()

    def say(self, message: str) -> None:
        if self.stdout is not None:
            self.stdout.write(message)

    def run(self, total: int) -> Seeded:
        rng = self.rng
        gemeenten = list(
            Gemeente.objects.existing().order_by("code").values_list("code", "inwoners")
        )
        buurten_by_gemeente: dict[str, list[tuple[str, int, str]]] = {}
        for code, gemeente_id, inwoners, pc4 in (
            Buurt.objects.filter(gemeente__ended_on__isnull=True)
            .order_by("code")
            .values_list("code", "gemeente_id", "inwoners", "pc4")
        ):
            buurten_by_gemeente.setdefault(gemeente_id, []).append((code, inwoners or 0, pc4))
        themes = [Thema.objects.get_or_create(name=name)[0].pk for name in THEMES]

        # Gesprekken per gemeente: more than proportional to population (the platform
        # started in the cities), nothing in about one in six small gemeenten.
        weights = {}
        for code, inwoners in gemeenten:
            if not buurten_by_gemeente.get(code):
                continue
            inwoners = inwoners or 1000
            if inwoners < 40_000 and rng.random() < 0.18:
                self.result.empty_gemeenten.append(code)
                continue
            weights[code] = inwoners**1.15 * rng.uniform(0.5, 1.5)
        counts = _apportion(total, weights)

        facilitators = self._facilitators(counts)
        self.say(f"  {len(self.result.empty_gemeenten)} gemeenten without any activity")

        ids = _next_ids()
        pending: list = []
        for gemeente_code, count in counts.items():
            if count == 0:
                continue
            buurt_choices = self._buurt_weights(buurten_by_gemeente[gemeente_code])
            for _ in range(count):
                buurt = rng.choices(buurt_choices[0], cum_weights=buurt_choices[1])[0]
                pending.append((gemeente_code, buurt))
            if len(pending) >= BATCH:
                self._write_gesprekken(pending, facilitators, themes, ids)
                pending = []
        if pending:
            self._write_gesprekken(pending, facilitators, themes, ids)
        self._interesses(buurten_by_gemeente, counts, ids)
        self.writer.finish()
        return self.result

    def _buurt_weights(self, buurten):
        # Per buurt: population, a random "local energy" factor, and a good share of
        # buurten nobody has organised anything in yet.
        rng = self.rng
        chosen, cumulative, running = [], [], 0.0
        for code, inwoners, pc4 in buurten:
            if rng.random() < 0.35:
                continue
            running += (max(inwoners, 50) ** 0.8) * rng.lognormvariate(0, 1)
            chosen.append((code, pc4))
            cumulative.append(running)
        if not chosen:
            code, _inwoners, pc4 = buurten[0]
            chosen, cumulative = [(code, pc4)], [1.0]
        return chosen, cumulative

    def _facilitators(self, counts: dict[str, int]) -> dict[str, list[int]]:
        """About one facilitator per 60 gesprekken in a gemeente (at least one)."""
        User = get_user_model()
        user_id = (User.objects.aggregate(top=models.Max("id"))["top"] or 0) + 1
        facilitator_id = (Facilitator.objects.aggregate(top=models.Max("id"))["top"] or 0) + 1
        users, profiles, serves = [], [], []
        by_gemeente: dict[str, list[int]] = {}
        through = Facilitator.gemeenten.through
        number = 0
        for gemeente_code, count in counts.items():
            if count == 0:
                continue
            for _ in range(max(1, count // 60)):
                number += 1
                users.append(
                    User(
                        id=user_id,
                        username=f"begeleider-{number:05d}@{DOMAIN}",
                        email=f"begeleider-{number:05d}@{DOMAIN}",
                        first_name=self.rng.choice(FIRST_NAMES),
                        last_name="Seed",
                        password="!seed-national",  # noqa: S106 (an unusable password: nobody logs in)
                    )
                )
                profiles.append(
                    Facilitator(
                        id=facilitator_id,
                        user_id=user_id,
                        languages=["nl"],
                        training_done=True,
                        calendar_token=f"seed{user_id:060d}",
                    )
                )
                serves.append(through(facilitator_id=facilitator_id, gemeente_id=gemeente_code))
                by_gemeente.setdefault(gemeente_code, []).append(user_id)
                user_id += 1
                facilitator_id += 1
        User.objects.bulk_create(users, batch_size=2000)
        Facilitator.objects.bulk_create(profiles, batch_size=2000)
        through.objects.bulk_create(serves, batch_size=2000)
        self.result.facilitators = len(profiles)
        self.say(f"  {len(profiles)} facilitators")
        return by_gemeente

    def _start(self) -> datetime:
        # Activity grows: later days are likelier than early ones.
        rng = self.rng
        span = PAST_DAYS + FUTURE_DAYS
        offset = int(span * rng.random() ** 0.6) - PAST_DAYS
        day = self.today + timedelta(days=offset)
        hour, minute = rng.choice([(10, 0), (14, 0), (19, 30), (20, 0)])
        return datetime.combine(day, clock(hour, minute), AMSTERDAM)

    def _write_gesprekken(self, pending, facilitators, themes, ids) -> None:
        rng = self.rng
        gesprek_rows, aanmelding_rows, verslag_rows, theme_rows = [], [], [], []
        for gemeente_code, (buurt_code, pc4) in pending:
            gesprek_id = ids.next("gesprek")
            starts_at = self._start()
            ends_at = starts_at + timedelta(hours=rng.choice([1.5, 2]))
            if ends_at <= self.now:
                status = rng.choices(
                    [Status.GEHOUDEN, Status.AFGELAST, Status.GEPLAND], cum_weights=[90, 96, 100]
                )[0]
            elif starts_at <= self.now:
                status = Status.GEPLAND
            else:
                status = rng.choices(
                    [Status.GEPLAND, Status.CONCEPT, Status.AFGELAST], cum_weights=[90, 95, 100]
                )[0]
            fmt = rng.choices(Gesprek.Format.values, cum_weights=[60, 85, 100])[0]
            capacity = rng.choice([6, 8, 10, 12, 14])
            thema = rng.choice(themes)
            team = facilitators[gemeente_code]
            lead = rng.choice(team)
            co = rng.choice(team) if len(team) > 1 and rng.random() < 0.3 else None
            created = starts_at - timedelta(days=rng.randint(10, 60))
            gesprek_rows.append(
                (
                    gesprek_id,
                    fmt,
                    buurt_code,
                    "" if fmt == "online" else f"Straat {buurt_code[-4:]}",
                    "" if fmt == "online" else "Buurthuis",
                    "",
                    "https://meet.example.org/buurtgesprek" if fmt == "online" else "",
                    starts_at,
                    ends_at,
                    min(4, capacity),
                    capacity,
                    thema,
                    "nl",
                    "",
                    False,
                    60,
                    status,
                    lead,
                    co,
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    0,
                    created,
                    created,
                )
            )
            present = self._aanmeldingen(
                aanmelding_rows, gesprek_id, status, starts_at, capacity, pc4, created
            )
            # Gesprek.present: the count services keeps; the seed knows it already.
            gesprek_rows[-1] += (present,)
            if status == Status.GEHOUDEN:
                verslag_id = ids.next("verslag")
                verslag_rows.append(
                    (
                        verslag_id,
                        gesprek_id,
                        present,
                        "",
                        rng.choice(OUTCOMES),
                        "",
                        lead,
                        ends_at + timedelta(hours=2),
                        ends_at + timedelta(hours=2),
                    )
                )
                discussed = {thema, *rng.sample(themes, rng.choice([0, 1, 1, 2]))}
                theme_rows.extend((ids.next("verslag_theme"), verslag_id, t) for t in discussed)
        self.writer.write(Gesprek, GESPREK_FIELDS, gesprek_rows)
        self.writer.write(Aanmelding, AANMELDING_FIELDS, aanmelding_rows)
        self.writer.write(Verslag, VERSLAG_FIELDS, verslag_rows)
        self.writer.write(Verslag.themes.through, ["id", "verslag_id", "thema_id"], theme_rows)
        self.result.gesprekken += len(gesprek_rows)
        self.result.aanmeldingen += len(aanmelding_rows)
        self.result.verslagen += len(verslag_rows)
        self.say(
            f"  {self.result.gesprekken:,} gesprekken, "
            f"{self.result.aanmeldingen:,} aanmeldingen written"
        )

    def _aanmeldingen(self, rows, gesprek_id, status, starts_at, capacity, pc4, created) -> int:
        """Append the registrations of one gesprek; return how many came (AANWEZIG)."""
        rng = self.rng
        if status == Status.CONCEPT:
            return 0
        if status == Status.GEPLAND and starts_at > self.now:
            # Fuller the closer it gets; popular ones have a waiting list.
            days_ahead = (starts_at - self.now).days
            wanted = int(capacity * rng.uniform(0.3, 1.3) * (1.2 if days_ahead < 14 else 0.8))
        else:
            wanted = max(0, capacity + rng.randint(-2, 4))
        present = 0
        codes = set()
        for number in range(wanted):
            seat = number < capacity
            confirmed_at = created + timedelta(days=rng.randint(1, 9), minutes=rng.randint(0, 600))
            cancelled_at = checked_in_at = None
            if status == Status.AFGELAST:
                state, cancelled_at = AStatus.GEANNULEERD, starts_at - timedelta(days=1)
            elif starts_at > self.now:
                if not seat:
                    state = AStatus.WACHTLIJST
                else:
                    state = rng.choices(
                        [AStatus.BEVESTIGD, AStatus.ONBEVESTIGD, AStatus.GEANNULEERD],
                        cum_weights=[90, 95, 100],
                    )[0]
            elif not seat:
                state = AStatus.WACHTLIJST if rng.random() < 0.5 else AStatus.GEANNULEERD
            elif status == Status.GEPLAND and rng.random() < 0.3:
                # No check-in done on the day: still "confirmed".
                state = AStatus.BEVESTIGD
            else:
                state = rng.choices(
                    [AStatus.AANWEZIG, AStatus.NIET_VERSCHENEN, AStatus.GEANNULEERD],
                    cum_weights=[82, 94, 100],
                )[0]
            if state == AStatus.AANWEZIG:
                present += 1
                checked_in_at = starts_at + timedelta(minutes=rng.randint(-10, 15))
            elif state == AStatus.GEANNULEERD and cancelled_at is None:
                cancelled_at = starts_at - timedelta(days=rng.randint(1, 5))
            code = "".join(rng.choices(CODE_ALPHABET, k=6))
            while code in codes:
                code = "".join(rng.choices(CODE_ALPHABET, k=6))
            codes.add(code)
            person = rng.getrandbits(24)
            rows.append(
                (
                    gesprek_id,
                    f"Bewoner {person}",
                    f"bewoner-{gesprek_id}-{number}@{DOMAIN}",
                    "",
                    f"{pc4 or '1000'}{rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}"
                    f"{rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}",
                    "en" if rng.random() < 0.07 else "nl",
                    state,
                    f"{rng.getrandbits(256):064x}",
                    code,
                    confirmed_at,
                    confirmed_at,
                    None,
                    None if state == AStatus.ONBEVESTIGD else confirmed_at,
                    None,
                    cancelled_at,
                    checked_in_at,
                    "",
                )
            )
        return present

    def _interesses(self, buurten_by_gemeente, counts, ids) -> None:
        """Demand: interest in buurten, more where more people live; some invited already."""
        rng = self.rng
        planned = set(
            Gesprek.objects.upcoming().values_list("buurt_id", flat=True).distinct().iterator()
        )
        total_gesprekken = sum(counts.values()) or 1
        rows = []
        for gemeente_code, buurten in buurten_by_gemeente.items():
            share = counts.get(gemeente_code, 0) / total_gesprekken
            # Roughly one interest per four gesprekken, and some where nothing happens yet.
            wanted = int(share * total_gesprekken / 4) + rng.randint(0, 3)
            for number in range(wanted):
                code, _inwoners, _pc4 = rng.choice(buurten)
                created = self.now - timedelta(days=rng.randint(1, 300))
                confirmed = created + timedelta(minutes=rng.randint(2, 600))
                invited = code in planned and rng.random() < 0.8
                rows.append(
                    (
                        ids.next("interesse"),
                        code,
                        "",
                        f"buur-{gemeente_code}-{number}@{DOMAIN}",
                        "nl",
                        f"{rng.getrandbits(256):064x}",
                        created,
                        created,
                        confirmed if rng.random() < 0.85 else None,
                        confirmed + timedelta(days=1) if invited else None,
                    )
                )
        self.writer.write(Interesse, INTERESSE_FIELDS, rows)
        self.result.interesses = len(rows)
        self.say(f"  {len(rows):,} interests")


GESPREK_FIELDS = [
    "id", "format", "buurt_id", "street", "place", "route", "video_url", "starts_at",
    "ends_at", "min_participants", "max_participants", "thema_id", "language",
    "accessibility_notes", "balance", "balance_max_share", "status", "facilitator_id",
    "co_facilitator_id", "uid", "sequence", "created_at", "updated_at", "present",
]  # fmt: skip
AANMELDING_FIELDS = [
    "gesprek_id", "name", "email", "phone", "postcode", "language", "status", "token",
    "short_code", "consent_at", "created_at", "hold_expires_at", "confirmed_at",
    "offer_expires_at", "cancelled_at", "checked_in_at", "age_band",
]  # fmt: skip
VERSLAG_FIELDS = [
    "id", "gesprek_id", "attendance", "themes_text", "outcome", "follow_up", "written_by_id",
    "created_at", "updated_at",
]  # fmt: skip
INTERESSE_FIELDS = [
    "id", "buurt_id", "street", "email", "language", "token", "consent_at", "created_at",
    "confirmed_at", "invited_at",
]  # fmt: skip


def _apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split total over the keys in proportion to their weights (largest remainder)."""
    whole = sum(weights.values())
    if not whole:
        return {}
    exact = {key: total * weight / whole for key, weight in weights.items()}
    counts = {key: int(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: (counts[key] - exact[key], key))
    for key in by_remainder[: total - sum(counts.values())]:
        counts[key] += 1
    return counts


class _next_ids:  # noqa: N801 (used like a function)
    """Ids handed out here, continuing after what the tables already hold."""

    MODELS = {
        "gesprek": Gesprek,
        "verslag": Verslag,
        "verslag_theme": Verslag.themes.through,
        "interesse": Interesse,
    }

    def __init__(self):
        self.last = {
            name: model.objects.aggregate(top=models.Max("id"))["top"] or 0
            for name, model in self.MODELS.items()
        }

    def next(self, name: str) -> int:
        self.last[name] += 1
        return self.last[name]


class _Writer:
    """COPY on PostgreSQL, bulk_create elsewhere; sequences moved past the ids we chose."""

    def __init__(self):
        self.postgres = connection.vendor == "postgresql"
        self.tables: set = set()

    def write(self, model, fields: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        self.tables.add(model)
        if self.postgres:
            columns = ", ".join(connection.ops.quote_name(name) for name in fields)
            table = connection.ops.quote_name(model._meta.db_table)
            sql = f"COPY {table} ({columns}) FROM STDIN"
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        objects = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=2000)

    def finish(self) -> None:
        if not self.postgres:
            return
        with connection.cursor() as cursor:
            for model in self.tables:
                table = model._meta.db_table
                top = f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}"  # noqa: S608
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(({top}), 1))",
                    [table],
                )
