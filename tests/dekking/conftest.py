"""A known small world for the coverage numbers, with every number worked out by hand.

Time stands still at Wednesday 18 March 2026, 12:00 in Amsterdam.

    PV26 Utrecht
      GM0001 Aadorp   WK000101: Noord, Zuid   WK000102: Oost, West
        g1  Noord  gehouden  Mon 2 Mar  tafel      Wonen  Anna          6 present, 1 no-show,
                                                                         1 cancelled; report
                                                                         [Wonen, Zorg]
        g2  Noord  gehouden  Tue 10 Mar wandeling  Zorg   Anna + Bram   3 present, 2 no-shows;
                                                                         report [Wonen]
        g3  Zuid   gepland, ended Mon 16 Mar       Wonen  Cees          2 present (no report):
                                                                         held
        g4  Oost   gepland, ended Wed 11 Mar              Gijs          2 confirmed, nobody
                                                                         checked in: not held
        g5  Oost   afgelast  Thu 5 Mar                    Gijs          4 "present": never
                                                                         counted
        g6  West   gepland   Wed 25 Mar online     Zorg   Anna (other)  5 confirmed: planned
        g7  West   concept   Fri 27 Mar                   Gijs          nothing
      GM0002 Beekdal  WK000201: Centrum, Haven, Molen
        g8  Centrum gehouden Tue 10 Feb tafel      Zorg   Anna (other)  3 present; report [Zorg]
        g9  Haven  gepland   Wed 1 Apr                    Dirk          planned
    PV27 Noord-Holland
      GM0003 Clinge   (a MultiPolygon) WK000301: Dorp
        g10 Dorp   gepland   Thu 2 Apr                    Eva           2 confirmed: planned
      GM0004 Dijkveld ended on 1 Jan 2026 WK000401: Oud
        g11 Oud    gehouden  Tue 3 Mar                    Fenna         6 present; report
                                                                         [Klimaat]
      GM0005 Eemdal   WK000501: Veld: nothing at all

Open interest (confirmed, not invited): Aadorp Oost 3 (+1 unconfirmed), Aadorp West 2 (but
g6 is planned there), Beekdal Molen 1 (the oldest); Eemdal Veld 1 invited already;
Dijkveld Oud 2 (ended gemeente).
"""

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from gesprekken.models import Aanmelding, Gesprek, Verslag
from tests.facilitators.factories import RolFactory, UserFactory
from tests.gemeenten.factories import (
    BuurtFactory,
    GemeenteFactory,
    ProvincieFactory,
    WijkFactory,
)
from tests.gesprekken.factories import (
    AanmeldingFactory,
    GesprekFactory,
    InteresseFactory,
    ThemaFactory,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=AMSTERDAM)
PARTICIPANT_NAME = "Marieke Zwanenburg"
PARTICIPANT_EMAIL = "marieke.zwanenburg@example.org"
FACILITATOR_LAST_NAME = "Oosterhuis-Vlietstra"
Status = Gesprek.Status
AStatus = Aanmelding.Status


@pytest.fixture(autouse=True)
def _english_pages(client):
    """Assertions read the English source strings, whatever the Dutch catalogue says."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def square(lon: float, lat: float, size: float = 0.1) -> list:
    return [
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat],
    ]


def polygon(lon: float, lat: float, size: float = 0.1) -> dict:
    return {"type": "Polygon", "coordinates": [square(lon, lat, size)]}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=AMSTERDAM)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def gesprek(buurt, starts_at, status, *, lead, co=None, thema=None, fmt=Gesprek.Format.TAFEL):
    return GesprekFactory(
        buurt=buurt,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        status=status,
        facilitator=lead,
        co_facilitator=co,
        thema=thema,
        format=fmt,
    )


def registrations(gesprek, **counts) -> None:
    """registrations(g, aanwezig=3, niet_verschenen=1): that many of each status."""
    for status, count in counts.items():
        for _ in range(count):
            AanmeldingFactory(gesprek=gesprek, status=status)


def report(gesprek, *themes) -> Verslag:
    verslag = Verslag.objects.create(
        gesprek=gesprek, attendance=0, outcome="Een buurtmaaltijd in het voorjaar."
    )
    verslag.themes.set(themes)
    return verslag


@pytest.fixture
def world(db, frozen):
    utrecht = ProvincieFactory(code="PV26", name="Utrecht")
    noord_holland = ProvincieFactory(code="PV27", name="Noord-Holland")

    def gemeente(code, name, provincie, boundary, **extra):
        return GemeenteFactory(
            code=code, name=name, provincie=provincie, boundary=boundary, **extra
        )

    aadorp = gemeente("GM0001", "Aadorp", utrecht, polygon(5.0, 52.0), inwoners=20_000)
    beekdal = gemeente("GM0002", "Beekdal", utrecht, polygon(5.1, 52.0), inwoners=8_000)
    clinge = gemeente(
        "GM0003",
        "Clinge",
        noord_holland,
        {
            "type": "MultiPolygon",
            "coordinates": [[square(5.0, 52.1, 0.05)], [square(5.2, 52.15, 0.05)]],
        },
    )
    dijkveld = gemeente(
        "GM0004", "Dijkveld", noord_holland, polygon(5.3, 52.0), ended_on=date(2026, 1, 1)
    )
    eemdal = gemeente("GM0005", "Eemdal", noord_holland, polygon(5.3, 52.2))

    def wijk(code, name, gemeente_):
        return WijkFactory(code=code, name=name, gemeente=gemeente_)

    def buurt(code, name, wijk_):
        return BuurtFactory(code=code, name=name, wijk=wijk_)

    aadorp_noord = wijk("WK000101", "Aadorp-Noord", aadorp)
    aadorp_zuid = wijk("WK000102", "Aadorp-Zuid", aadorp)
    noord = buurt("BU00010101", "Noord", aadorp_noord)
    zuid = buurt("BU00010102", "Zuid", aadorp_noord)
    oost = buurt("BU00010201", "Oost", aadorp_zuid)
    west = buurt("BU00010202", "West", aadorp_zuid)
    beekdal_wijk = wijk("WK000201", "Beekdal-Centrum", beekdal)
    centrum = buurt("BU00020101", "Centrum", beekdal_wijk)
    haven = buurt("BU00020102", "Haven", beekdal_wijk)
    molen = buurt("BU00020103", "Molen", beekdal_wijk)
    dorp = buurt("BU00030101", "Dorp", wijk("WK000301", "Clinge", clinge))
    oud = buurt("BU00040101", "Oud", wijk("WK000401", "Dijkveld", dijkveld))
    veld = buurt("BU00050101", "Veld", wijk("WK000501", "Eemdal", eemdal))

    def person(username, first_name):
        return UserFactory(
            username=username, first_name=first_name, last_name=FACILITATOR_LAST_NAME
        )

    anna = person("anna", "Anna")
    anna2 = person("anna2", "Anna")
    bram = person("bram", "Bram")
    cees = person("cees", "Cees")
    dirk = person("dirk", "Dirk")
    eva = person("eva", "Eva")
    fenna = person("fenna", "Fenna")
    gijs = person("gijs", "Gijs")

    wonen = ThemaFactory(name="Wonen")
    zorg = ThemaFactory(name="Zorg")
    klimaat = ThemaFactory(name="Klimaat")

    g1 = gesprek(noord, at(date(2026, 3, 2), 19, 30), Status.GEHOUDEN, lead=anna, thema=wonen)
    registrations(g1, aanwezig=5, niet_verschenen=1, geannuleerd=1)
    AanmeldingFactory(
        gesprek=g1, status=AStatus.AANWEZIG, name=PARTICIPANT_NAME, email=PARTICIPANT_EMAIL
    )
    report(g1, wonen, zorg)
    g2 = gesprek(
        noord,
        at(date(2026, 3, 10), 14),
        Status.GEHOUDEN,
        lead=anna,
        co=bram,
        thema=zorg,
        fmt=Gesprek.Format.WANDELING,
    )
    registrations(g2, aanwezig=3, niet_verschenen=2)
    report(g2, wonen)
    g3 = gesprek(zuid, at(date(2026, 3, 16), 10), Status.GEPLAND, lead=cees, thema=wonen)
    registrations(g3, aanwezig=2)
    g4 = gesprek(oost, at(date(2026, 3, 11), 19), Status.GEPLAND, lead=gijs)
    registrations(g4, bevestigd=2)
    g5 = gesprek(oost, at(date(2026, 3, 5), 19), Status.AFGELAST, lead=gijs)
    registrations(g5, aanwezig=4)
    g6 = gesprek(
        west,
        at(date(2026, 3, 25), 20),
        Status.GEPLAND,
        lead=anna2,
        thema=zorg,
        fmt=Gesprek.Format.ONLINE,
    )
    registrations(g6, bevestigd=5)
    g7 = gesprek(west, at(date(2026, 3, 27), 10), Status.CONCEPT, lead=gijs)
    g8 = gesprek(centrum, at(date(2026, 2, 10), 19), Status.GEHOUDEN, lead=anna2, thema=zorg)
    registrations(g8, aanwezig=3)
    report(g8, zorg)
    g9 = gesprek(haven, at(date(2026, 4, 1), 19), Status.GEPLAND, lead=dirk)
    g10 = gesprek(dorp, at(date(2026, 4, 2), 19), Status.GEPLAND, lead=eva)
    registrations(g10, bevestigd=2)
    g11 = gesprek(oud, at(date(2026, 3, 3), 19), Status.GEHOUDEN, lead=fenna)
    registrations(g11, aanwezig=6)
    report(g11, klimaat)

    def interest(buurt_, count, *, days_ago=3, **extra):
        for _ in range(count):
            InteresseFactory(
                buurt=buurt_,
                confirmed_at=timezone.now() - timedelta(days=days_ago),
                **extra,
            )

    interest(oost, 3)
    InteresseFactory(buurt=oost)  # not confirmed: no demand yet
    interest(west, 2)
    interest(molen, 1, days_ago=40)
    interest(veld, 1, invited_at=timezone.now() - timedelta(days=1))
    interest(oud, 2)

    national = UserFactory(username="landelijk", totp=True)
    RolFactory(user=national, landelijk=True)
    coordinator = UserFactory(username="coordinator-aadorp", totp=True)
    RolFactory(user=coordinator, gemeente=aadorp)

    now = NOW
    return SimpleNamespace(**locals())
