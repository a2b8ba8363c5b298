"""Deterministic demo data over the real geography.

`--scale small` (used by `make run`): a handful of staff log-ins and a few dozen
gesprekken in the big cities, some full, some with a waiting list, some held. The themes
have statements; a third of the upcoming gesprekken keep a mixed table (balance on), and
residents gave a sector, an age band and, with its own consent, their answers — so the
mix, the reserves and the statements on the sign-up form can be seen.
Run it again and it changes nothing: everything is keyed by fixed names.

`--scale national` (for `make bench`): the small demo plus about 100,000 gesprekken and
1,000,000 aanmeldingen over every gemeente, in bulk; see dekking/seed_national.py.
`--gesprekken N` seeds a smaller slice.
"""

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from facilitators.models import Facilitator, Organisatie, Rol
from gemeenten.models import Buurt, Gemeente
from gesprekken import balance
from gesprekken.models import (
    Aanmelding,
    AgeBand,
    Effectmeting,
    Gesprek,
    Sector,
    Standpunt,
    Stelling,
    Thema,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DEMO_PASSWORD = "buurtgesprek-demo"  # noqa: S105 - printed on purpose, local demo only
DEMO_USERS = [
    # (e-mail, first name, is_superuser, role as printed)
    ("landelijk@demo.buurtgesprek.nl", "Noor", True, "national coordinator, admin"),
    ("begeleider@demo.buurtgesprek.nl", "Sanne", False, "facilitator in the demo gemeenten"),
    ("coordinator.utrecht@demo.buurtgesprek.nl", "Daan", False, "municipal coordinator, Utrecht"),
]
NATIONAL, FACILITATOR, COORDINATOR = (user[0] for user in DEMO_USERS)
DEMO_ORGANISATIE = ("Buurtwerk Demo", Organisatie.Kind.WELZIJN)
COORDINATOR_GEMEENTE = "GM0344"
THEMES = [
    "Wonen en betaalbaarheid",
    "Zorg en werk in de buurt",
    "Jong en oud",
    "Veiligheid en samenleven",
    "Klimaat en energie",
]
# Two statements per theme (Dutch, English): residents may answer them at sign-up.
STATEMENTS = {
    "Wonen en betaalbaarheid": [
        (
            "Er moeten meer betaalbare woningen in onze buurt komen, ook als dat groen kost.",
            "Our neighbourhood needs more affordable homes, even if it costs green space.",
        ),
        ("Hoogbouw past bij onze buurt.", "High-rise buildings fit our neighbourhood."),
    ],
    "Zorg en werk in de buurt": [
        (
            "Zorgen voor elkaar is vooral een taak van familie en buren.",
            "Caring for each other is mainly a task for family and neighbours.",
        ),
        (
            "Winkels en horeca mogen in onze buurt langer open.",
            "Shops and cafés in our neighbourhood may stay open longer.",
        ),
    ],
    "Jong en oud": [
        (
            "Jongeren hebben te weinig plek in onze buurt.",
            "Young people have too little room in our neighbourhood.",
        ),
        (
            "Ouderen krijgen genoeg aandacht in onze buurt.",
            "Older people get enough attention in our neighbourhood.",
        ),
    ],
    "Veiligheid en samenleven": [
        (
            "Meer cameratoezicht maakt onze buurt veiliger.",
            "More camera surveillance makes our neighbourhood safer.",
        ),
        (
            "Buren moeten elkaar zelf aanspreken op overlast.",
            "Neighbours should speak to each other about nuisance themselves.",
        ),
    ],
    "Klimaat en energie": [
        (
            "De gemeente moet sneller van het aardgas af.",
            "The municipality should move off natural gas faster.",
        ),
        (
            "Windmolens dicht bij huizen zijn aanvaardbaar.",
            "Wind turbines close to homes are acceptable.",
        ),
    ],
}
# Where the small demo plans gesprekken: the four biggest cities and one village gemeente.
DEMO_GEMEENTEN = ["GM0344", "GM0599", "GM0363", "GM0518", "GM1992"]
FIRST_NAMES = ["Anna", "Bram", "Fatima", "Jeroen", "Mila", "Youssef", "Eva", "Daan", "Lotte", "Sem"]


class Command(BaseCommand):
    help = "Load deterministic demo data (staff log-ins and gesprekken) over the real geography."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=["small", "national"], default="small")
        # --scale national: how many gesprekken (default 100,000; the tests seed a few hundred).
        parser.add_argument("--gesprekken", type=int, default=None)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, scale, seed, **options):
        if not Gemeente.objects.filter(code__in=DEMO_GEMEENTEN).exists():
            raise CommandError("No geography yet: run `manage.py import_gebieden` first.")
        rng = random.Random(seed)
        with transaction.atomic():
            users = self._users()
            self._roles(users)
            self._statements()
            created = self._gesprekken(rng, users[FACILITATOR])
            if created:
                # Its own random stream, so the gesprekken above stay what they were.
                self._mixed_tables(random.Random(seed + 1), users[FACILITATOR])
        if scale == "national":
            # Bulk activity over every gemeente (COPY on PostgreSQL): dekking/seed_national.py.
            from dekking.seed_national import run_from_command

            run_from_command(self, seed=seed, gesprekken=options.get("gesprekken"))
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} new gesprekken)."))
        self.stdout.write("Demo log-ins (local demo only):")
        for email, first_name, _is_superuser, role in DEMO_USERS:
            self.stdout.write(f"  {email} / {DEMO_PASSWORD}  ({first_name}, {role})")
        if settings.STAFF_MFA_REQUIRED:
            self.stdout.write(
                "Staff pages first ask these log-ins to set up an authenticator app "
                "(STAFF_MFA_REQUIRED is on)."
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    "These demo log-ins skip the second factor: STAFF_MFA_REQUIRED=0 "
                    "(local demo only; production always asks for it)."
                )
            )

    def _users(self) -> dict:
        User = get_user_model()
        users = {}
        for email, first_name, is_superuser, _role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=email,
                defaults={
                    "email": email,
                    "first_name": first_name,
                    "is_staff": is_superuser,
                    "is_superuser": is_superuser,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            users[email] = user
        return users

    def _roles(self, users: dict) -> None:
        """A Facilitator profile serving the demo gemeenten; a national and a municipal role."""
        organisatie, _created = Organisatie.objects.get_or_create(
            name=DEMO_ORGANISATIE[0], defaults={"kind": DEMO_ORGANISATIE[1]}
        )
        facilitator, _created = Facilitator.objects.get_or_create(
            user=users[FACILITATOR],
            defaults={"training_done": True, "languages": ["nl", "en"]},
        )
        facilitator.gemeenten.add(*Gemeente.objects.filter(code__in=DEMO_GEMEENTEN))
        facilitator.organisaties.add(organisatie)
        Rol.objects.get_or_create(user=users[NATIONAL], kind=Rol.Kind.LANDELIJK, gemeente=None)
        Rol.objects.get_or_create(
            user=users[COORDINATOR],
            kind=Rol.Kind.GEMEENTE,
            gemeente=Gemeente.objects.get(code=COORDINATOR_GEMEENTE),
        )

    def _gesprekken(self, rng: random.Random, facilitator) -> int:
        if Gesprek.objects.filter(facilitator=facilitator).exists():
            return 0
        themes = [Thema.objects.get_or_create(name=name)[0] for name in THEMES]
        today = timezone.localdate()
        created = 0
        for code in DEMO_GEMEENTEN:
            buurten = list(Buurt.objects.filter(gemeente_id=code).order_by("code")[:40])
            for index, buurt in enumerate(rng.sample(buurten, min(6, len(buurten)))):
                day = today + timedelta(days=rng.randint(-20, 30))
                start = datetime.combine(day, time(rng.choice([10, 14, 19]), 30), AMSTERDAM)
                fmt = rng.choice(Gesprek.Format.values)
                held = start < timezone.now()
                gesprek = Gesprek.objects.create(
                    format=fmt,
                    buurt=buurt,
                    street="" if fmt == Gesprek.Format.ONLINE else f"{buurt.name}straat",
                    place=(
                        ""
                        if fmt == Gesprek.Format.ONLINE
                        else f"Buurthuis {buurt.name}"
                        if fmt == Gesprek.Format.TAFEL
                        else f"Bij de kerk, {buurt.name}"
                    ),
                    video_url="https://meet.example.org/buurtgesprek" if fmt == "online" else "",
                    starts_at=start,
                    ends_at=start + timedelta(hours=1, minutes=30),
                    min_participants=4,
                    max_participants=rng.choice([6, 8, 10]),
                    thema=rng.choice(themes),
                    accessibility_notes="Rolstoeltoegankelijk" if index % 2 == 0 else "",
                    status=Gesprek.Status.GEHOUDEN if held else Gesprek.Status.GEPLAND,
                    facilitator=facilitator,
                )
                created += 1
                self._aanmeldingen(rng, gesprek, held)
        return created

    def _aanmeldingen(self, rng: random.Random, gesprek: Gesprek, held: bool) -> None:
        count = rng.randint(0, gesprek.max_participants + 2)
        if held:
            # Written around the check-in service: keep its stored count (Gesprek.present).
            gesprek.present = min(count, gesprek.max_participants)
            Gesprek.objects.filter(pk=gesprek.pk).update(present=gesprek.present)
        for number in range(count):
            seat = number < gesprek.max_participants
            if held:
                status = Aanmelding.Status.AANWEZIG if seat else Aanmelding.Status.GEANNULEERD
            else:
                status = Aanmelding.Status.BEVESTIGD if seat else Aanmelding.Status.WACHTLIJST
            name = rng.choice(FIRST_NAMES)
            Aanmelding.objects.create(
                gesprek=gesprek,
                name=f"{name} {chr(65 + number)}.",
                email=f"{name.lower()}.{gesprek.pk}.{number}@demo.buurtgesprek.nl",
                postcode=gesprek.buurt.pc4 or "1000",
                status=status,
                consent_at=gesprek.created_at,
                confirmed_at=gesprek.created_at if seat else None,
            )
        if held:
            self._effect(rng, gesprek)

    @staticmethod
    def _effect(rng: random.Random, gesprek: Gesprek) -> None:
        """Anonymous survey answers of about two in three who came, before and after
        (paired, the key already destroyed), so the dashboards show the effect section."""

        def clamp(value, low, high):
            return max(low, min(high, round(value)))

        rows = []
        for _person in range(round(gesprek.present * 2 / 3)):
            thermometer, trust = rng.randint(20, 80), rng.randint(2, 4)
            rows.append(
                Effectmeting(
                    gesprek=gesprek,
                    before_thermometer=thermometer,
                    before_trust=trust,
                    after_thermometer=clamp(thermometer + rng.gauss(6, 10), 0, 100),
                    after_trust=clamp(trust + rng.choice([0, 0, 0, 1, 1, -1]), 1, 5),
                    after_argument=rng.choice([2, 3, 4, 4, 5]),
                )
            )
        Effectmeting.objects.bulk_create(rows)

    def _statements(self) -> None:
        for theme_name, statements in STATEMENTS.items():
            thema, _created = Thema.objects.get_or_create(name=theme_name)
            for order, (text, text_en) in enumerate(statements):
                Stelling.objects.get_or_create(
                    thema=thema, text=text, defaults={"text_en": text_en, "order": order}
                )

    def _mixed_tables(self, rng: random.Random, facilitator) -> None:
        """Leefwereld and stances for the demo residents; mixed tables with reserves.

        A third of the upcoming gesprekken keep a mixed table. Their seat holders are given
        profiles the balance rule allows (gesprekken.balance.Table), and where seats are
        free, a resident whose side is already at its limit waits as a reserve.
        """
        sectors = list(Sector.objects.filter(active=True))
        self._showcases = 0
        statements = {}
        for stelling in Stelling.objects.filter(active=True):
            statements.setdefault(stelling.thema_id, []).append(stelling)
        gesprekken = Gesprek.objects.filter(facilitator=facilitator).order_by("starts_at", "pk")
        upcoming = 0
        for gesprek in gesprekken:
            if gesprek.status == Gesprek.Status.GEPLAND:
                gesprek.balance = upcoming % 3 == 0
                upcoming += 1
                if gesprek.balance:
                    gesprek.save(update_fields=["balance"])
            table = balance.Table(gesprek=gesprek)
            for aanmelding in gesprek.aanmeldingen.order_by("created_at", "pk"):
                seated = aanmelding.status in Aanmelding.SEAT_STATUSES
                for _attempt in range(5):
                    sector = rng.choice(sectors) if sectors and rng.random() < 0.8 else None
                    answers = self._answers(rng, statements.get(gesprek.thema_id, []))
                    side = Standpunt.side_of(answers) if answers else ""
                    profile = balance.Profile(sector_id=sector and sector.pk, side=side)
                    if not (gesprek.balance and seated) or table.allows(profile):
                        break
                else:
                    sector, answers, profile = None, {}, balance.Profile()
                if seated:
                    table.seat(profile)
                aanmelding.sector = sector
                aanmelding.age_band = rng.choice(AgeBand.values) if rng.random() < 0.7 else ""
                aanmelding.agreements_accepted_at = aanmelding.consent_at
                aanmelding.save(update_fields=["sector", "age_band", "agreements_accepted_at"])
                self._stance(aanmelding, answers)
            if gesprek.balance and table.seated < gesprek.max_participants:
                self._reserves(rng, gesprek, table, statements.get(gesprek.thema_id, []))

    @staticmethod
    def _answers(rng: random.Random, statements: list) -> dict:
        # About half answer the statements (with consent); some skip one of them.
        if not statements or rng.random() < 0.5:
            return {}
        sides = Standpunt.Side.values
        return {str(s.pk): rng.choice(sides) for s in statements if rng.random() < 0.9}

    @staticmethod
    def _stance(aanmelding: Aanmelding, answers: dict) -> None:
        if answers:
            Standpunt.objects.create(
                aanmelding=aanmelding,
                answers=answers,
                side=Standpunt.side_of(answers),
                consent_at=aanmelding.consent_at,
            )

    def _reserves(self, rng: random.Random, gesprek: Gesprek, table, statements) -> None:
        """Fill one side of the table up to the rule's limit; the next of that side waits
        as a reserve (the worked example of gesprekken.balance, on a demo table)."""
        if not statements or not balance.applies(gesprek, timezone.now()):
            return
        if gesprek.max_participants - table.seated < 4 or self._showcases >= 2:
            return
        self._showcases += 1
        seated, reserve = Aanmelding.Status.BEVESTIGD, Aanmelding.Status.RESERVE
        agree = balance.Profile(side=Standpunt.Side.EENS)
        disagree = balance.Profile(side=Standpunt.Side.ONEENS)
        self._neighbour(rng, gesprek, statements, disagree.side, seated)
        table.seat(disagree)
        while table.allows(agree) and table.seated < gesprek.max_participants - 1:
            self._neighbour(rng, gesprek, statements, agree.side, seated)
            table.seat(agree)
        if not table.allows(agree):
            self._neighbour(rng, gesprek, statements, agree.side, reserve)

    def _neighbour(self, rng, gesprek, statements, side, status) -> None:
        name = rng.choice(FIRST_NAMES)
        number = gesprek.aanmeldingen.count()
        seat = status in Aanmelding.SEAT_STATUSES
        aanmelding = Aanmelding.objects.create(
            gesprek=gesprek,
            name=f"{name} {chr(65 + number % 26)}.",
            email=f"{name.lower()}.{gesprek.pk}.mix{number}@demo.buurtgesprek.nl",
            postcode=gesprek.buurt.pc4 or "1000",
            status=status,
            age_band=rng.choice(AgeBand.values),
            consent_at=gesprek.created_at,
            confirmed_at=gesprek.created_at if seat else None,
            agreements_accepted_at=gesprek.created_at,
        )
        self._stance(aanmelding, {str(s.pk): side for s in statements})
