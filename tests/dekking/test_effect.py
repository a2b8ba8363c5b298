"""The effect of the conversations on the dashboards and in the open data, on a known world.

    PV26 Utrecht
      A  Aadorp (GM9101)   tafel      Wonen   6 pairs, chosen by hand (below)
      B  Beekdal (GM9102)  tafel      Zorg    4 pairs: thermometer +60 each (never shown)
      C  Cothen            wandeling  Wonen   5 pairs: thermometer +10, trust 0, argument 5
    PV27 Noord-Holland
      D  Diemen            online     -       5 pairs: thermometer 0, trust +1, argument 4
    PV29 Zeeland
      E  Ede               tafel      Zorg    3 pairs: thermometer +80, trust +4, argument 1

Aadorp's six pairs (before → after):

    thermometer  40→50  50→55  30→30  60→75  45→50  70→65   changes 10, 5, 0, 15, 5, −5
    trust         2→3    3→3    3→4    2→2    4→5    3→3    changes  1, 0, 1,  0, 1,  0
    argument       4      5      2      4      3      1      4 or 5: three of six

Thermometer: mean 30 / 6 = 5; squared deviations 25 + 0 + 25 + 100 + 0 + 100 = 250, sample
variance 250 / 5 = 50; 95 % interval 5 ± t(0.975, 5) · √50 / √6 = 5 ± 2.571 · 2.887 =
5 ± 7.42. Trust: mean 3 / 6 = 0.5; squared deviations 6 · 0.25 = 1.5, variance 0.3;
interval 0.5 ± 2.571 · √(0.3 / 6) = 0.5 ± 0.575. Argument: 3 / 6 = 50 %.

Suppression: B (4) is too small. In Utrecht the hidden gemeenten would then add up to 4, so
Cothen (the smallest shown, 5) is hidden too. Nationally Zeeland (3) is too small, so
Noord-Holland (5) is hidden too. Utrecht (15) and Aadorp (6) stay.
"""

import json
import math
import statistics
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import translation

from dekking import exports
from gemeenten.models import Provincie
from gesprekken import effect
from gesprekken.models import Effectmeting, Gesprek
from tests.dekking.pages import csv_rows, page
from tests.gemeenten.factories import BuurtFactory, GemeenteFactory, ProvincieFactory
from tests.gesprekken.factories import GesprekFactory, ThemaFactory

pytestmark = pytest.mark.django_db

NATIONAL = reverse("dekking:national")
JSON = reverse("dekking:open_data_json")
CSV = reverse("dekking:open_data_csv")
NOT_ENOUGH = "Not enough answers yet"
PROTECTED = "Not shown, so that a smaller group cannot be worked out from the other rows"
F = Gesprek.Format
STARTS_AT = datetime(2026, 3, 2, 18, 30, tzinfo=UTC)

# (before thermometer, after thermometer, before trust, after trust, argument)
AADORP = [
    (40, 50, 2, 3, 4),
    (50, 55, 3, 3, 5),
    (30, 30, 3, 4, 2),
    (60, 75, 2, 2, 4),
    (45, 50, 4, 5, 3),
    (70, 65, 3, 3, 1),
]
BEEKDAL = [(20, 80, 3, 3, 3)] * 4
COTHEN = [(50, 60, 3, 3, 5)] * 5
DIEMEN = [(40, 40, 2, 3, 4)] * 5
EDE = [(10, 90, 1, 5, 1)] * 3

# By hand, from the module docstring.
T5 = 2.571
THERMOMETER_HALF = T5 * math.sqrt(250 / 5) / math.sqrt(6)
TRUST_HALF = T5 * math.sqrt(1.5 / 5) / math.sqrt(6)


def signed(value: float, decimals: int) -> str:
    """How the dashboards write a change: +5.0, −2.4 (a real minus sign)."""
    return f"{value:+.{decimals}f}".replace("-", "\u2212")


def held_gesprek(gemeente, fmt, thema):
    return GesprekFactory(
        buurt=BuurtFactory(wijk__gemeente=gemeente),
        format=fmt,
        thema=ThemaFactory(name=thema) if thema else None,
        status=Gesprek.Status.GEHOUDEN,
        starts_at=STARTS_AT,
        ends_at=STARTS_AT + timedelta(hours=2),
    )


def answers(gesprek, rows, *, paired=True):
    for before_t, after_t, before_r, after_r, argument in rows:
        Effectmeting.objects.create(
            gesprek=gesprek,
            before_thermometer=before_t,
            before_trust=before_r,
            after_thermometer=after_t if paired else None,
            after_trust=after_r if paired else None,
            after_argument=argument if paired else None,
        )


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def world(cast):
    utrecht = Provincie.objects.get(code="PV26")
    noord_holland = ProvincieFactory(code="PV27", name="Noord-Holland")
    zeeland = ProvincieFactory(code="PV29", name="Zeeland")
    cothen = GemeenteFactory(name="Cothen", provincie=utrecht)
    diemen = GemeenteFactory(name="Diemen", provincie=noord_holland)
    ede = GemeenteFactory(name="Ede", provincie=zeeland)
    aadorp_gesprek = held_gesprek(cast.gemeente_a, F.TAFEL, "Wonen")
    answers(aadorp_gesprek, AADORP)
    answers(held_gesprek(cast.gemeente_b, F.TAFEL, "Zorg"), BEEKDAL)
    answers(held_gesprek(cothen, F.WANDELING, "Wonen"), COTHEN)
    answers(held_gesprek(diemen, F.ONLINE, None), DIEMEN)
    answers(held_gesprek(ede, F.TAFEL, "Zorg"), EDE)
    # Not counted: before-answers only, and a gesprek that was called off.
    answers(aadorp_gesprek, [(0, 100, 1, 5, 5)] * 3, paired=False)
    cancelled = held_gesprek(cast.gemeente_a, F.TAFEL, "Wonen")
    Gesprek.objects.filter(pk=cancelled.pk).update(status=Gesprek.Status.AFGELAST)
    answers(cancelled, [(0, 100, 1, 5, 5)] * 5)
    cast.cothen, cast.diemen, cast.ede = cothen, diemen, ede
    return cast


def changes(*groups):
    """The thermometer and trust changes and the argument answers of these pairs."""
    rows = [row for group in groups for row in group]
    return (
        [after - before for before, after, *_ in rows],
        [after - before for _, _, before, after, _ in rows],
        [row[4] for row in rows],
    )


# --- The numbers ----------------------------------------------------------------------------


def test_aadorps_figures_are_worked_out_right(world):
    found = effect.overall(Q(gesprek__buurt__gemeente=world.gemeente_a))

    assert found.n == 6
    assert found.thermometer.mean == pytest.approx(5)
    assert found.thermometer.low == pytest.approx(5 - THERMOMETER_HALF)
    assert found.thermometer.high == pytest.approx(5 + THERMOMETER_HALF)
    assert found.thermometer.low == pytest.approx(-2.4219, abs=1e-4)
    assert found.trust.mean == pytest.approx(0.5)
    assert found.trust.low == pytest.approx(0.5 - TRUST_HALF)
    assert found.trust.high == pytest.approx(1.0749, abs=1e-4)
    assert found.argument_share == pytest.approx(0.5)


def test_the_national_figures_use_the_normal_quantile_beyond_30_degrees_of_freedom(world):
    thermometer, trust, arguments = changes(AADORP, BEEKDAL, COTHEN, DIEMEN, EDE)
    n = len(thermometer)

    found = effect.overall()

    assert found.n == n == 23
    half = 2.074 * statistics.stdev(thermometer) / math.sqrt(n)  # t(0.975, 22)
    assert found.thermometer.mean == pytest.approx(statistics.mean(thermometer))
    assert found.thermometer.high == pytest.approx(statistics.mean(thermometer) + half)
    assert found.trust.low == pytest.approx(
        statistics.mean(trust) - 2.074 * statistics.stdev(trust) / math.sqrt(n)
    )
    assert found.argument_share == pytest.approx(sum(a >= 4 for a in arguments) / n)
    assert effect.t_quantile(31) == 1.96
    assert effect.t_quantile(30) == 2.042


def test_the_groups_and_what_is_hidden(world):
    summary = effect.national_summary()

    provincies = {group.key: group.effect for group in summary.provincies}
    assert {code: (e.n, e.shown, e.protected) for code, e in provincies.items()} == {
        "PV26": (15, True, False),
        "PV27": (5, False, True),
        "PV29": (3, False, False),
    }
    with translation.override("en"):
        themas = {str(group.name): group.effect.n for group in summary.themas}
    assert themas == {"Wonen": 11, "Zorg": 7, "Without a theme": 5}
    assert all(group.effect.shown for group in summary.themas)
    formats = {group.key: group.effect.n for group in summary.formats}
    assert formats == {"tafel": 13, "wandeling": 5, "online": 5}
    # Hidden figures carry no numbers at all.
    assert provincies["PV27"].thermometer is None and provincies["PV27"].argument_share is None


def test_protect_hides_the_smallest_parts_until_the_hidden_add_up_to_five():
    def group(key, n):
        return effect.Group(key=key, name=key, effect=effect._effect(stats(n)))

    def stats(n):
        return {
            "n": n,
            "thermometer_mean": 1.0,
            "thermometer_sd": 1.0,
            "trust_mean": 0.1,
            "trust_sd": 0.1,
            "argument_yes": 0,
        }

    total = effect._effect(stats(30))

    def shown(parts):
        return shown_under(total, parts)

    # Nothing hidden, or hidden parts of 5 or more together: nothing more to hide.
    assert shown([group("a", 10), group("b", 20)]) == ["a", "b"]
    assert shown([group("a", 3), group("b", 2), group("c", 25)]) == ["c"]
    # 4 hidden: the smallest shown part goes too.
    assert shown([group("a", 4), group("b", 6), group("c", 20)]) == ["c"]
    # 1 hidden, then the next smallest (5) makes 6: the rest stays.
    assert shown([group("a", 1), group("b", 5), group("c", 9), group("d", 15)]) == ["c", "d"]
    # A hidden total hides every part.
    assert shown_under(effect._effect(stats(4)), [group("a", 4)]) == []


def shown_under(total, parts):
    return [p.key for p in effect.protect(total, parts) if p.effect.shown]


# --- National dashboard ---------------------------------------------------------------------


def test_the_national_dashboard_shows_the_effect_with_intervals(client, world):
    client.force_login(world.national)
    thermometer, trust, arguments = changes(AADORP, BEEKDAL, COTHEN, DIEMEN, EDE)
    n = len(thermometer)
    utrecht_t, utrecht_r, utrecht_a = changes(AADORP, BEEKDAL, COTHEN)

    response = client.get(NATIONAL)
    found = page(response)
    html = response.content.decode()

    assert "Effect of the conversations" in html
    assert "they do not prove that the conversations caused it" in html
    assert found.tiles["Answered before and after"] == str(n)
    assert found.tiles["Feeling towards people who think differently"] == signed(
        statistics.mean(thermometer), 1
    )
    assert found.tiles["Trust in neighbours"] == signed(statistics.mean(trust), 2)
    share = sum(a >= 4 for a in arguments) / n
    assert found.tiles["Heard an argument that made them think"] == f"{round(100 * share)}%"
    half = 2.074 * statistics.stdev(thermometer) / math.sqrt(n)
    mean = statistics.mean(thermometer)
    assert f"95% interval {signed(mean - half, 1)} to {signed(mean + half, 1)}" in html
    # Per province: Utrecht in full, Noord-Holland protected, Zeeland too small.
    u_mean, u_half = statistics.mean(utrecht_t), 2.145 * statistics.stdev(utrecht_t) / math.sqrt(15)
    r_mean, r_half = statistics.mean(utrecht_r), 2.145 * statistics.stdev(utrecht_r) / math.sqrt(15)
    assert found.rows["effect-provincies-PV26"] == [
        "Utrecht",
        "15",
        f"{signed(u_mean, 1)} {signed(u_mean - u_half, 1)} to {signed(u_mean + u_half, 1)}",
        f"{signed(r_mean, 2)} {signed(r_mean - r_half, 2)} to {signed(r_mean + r_half, 2)}",
        f"{round(100 * sum(a >= 4 for a in utrecht_a) / 15)}%",
    ]
    assert found.rows["effect-provincies-PV27"] == ["Noord-Holland", PROTECTED]
    assert found.rows["effect-provincies-PV29"] == ["Zeeland", NOT_ENOUGH]
    assert found.rows["effect-formats-wandeling"][:2] == ["Walk through the neighbourhood", "5"]
    assert found.rows["effect-themas-None"][:2] == ["Without a theme", "5"]
    # Zeeland's +80 and Noord-Holland's own figures appear nowhere.
    assert "+80.0" not in html


def test_the_national_dashboard_filters_the_effect_too(client, world):
    client.force_login(world.national)

    found = page(client.get(NATIONAL, {"vorm": "wandeling"}))

    assert found.tiles["Answered before and after"] == "5"
    assert found.tiles["Feeling towards people who think differently"] == "+10.0"
    assert found.tiles["Heard an argument that made them think"] == "100%"


# --- Municipal dashboard --------------------------------------------------------------------


def test_the_municipal_dashboard_shows_its_own_figures_worked_out_by_hand(client, world):
    client.force_login(world.coordinator)

    response = client.get(reverse("dekking:gemeente", args=[world.gemeente_a.code]))
    found = page(response)

    assert found.tiles["Answered before and after"] == "6"
    assert found.tiles["Feeling towards people who think differently"] == "+5.0"
    assert found.tiles["Trust in neighbours"] == "+0.50"
    assert found.tiles["Heard an argument that made them think"] == "50%"
    html = response.content.decode()
    assert (
        f"95% interval {signed(5 - THERMOMETER_HALF, 1)} to {signed(5 + THERMOMETER_HALF, 1)}"
        in html
    )
    assert "95% interval \u22122.4 to +12.4" in html
    assert "95% interval \u22120.07 to +1.07" in html
    theme = found.rows[
        f"effect-themas-{Gesprek.objects.filter(thema__name='Wonen').first().thema_id}"
    ]
    assert theme == ["Wonen", "6", "+5.0 \u22122.4 to +12.4", "+0.50 \u22120.07 to +1.07", "50%"]
    assert found.rows["effect-formats-tafel"] == [
        "Around a table",
        "6",
        "+5.0 \u22122.4 to +12.4",
        "+0.50 \u22120.07 to +1.07",
        "50%",
    ]


def test_a_municipal_dashboard_with_four_pairs_shows_no_figures(client, world):
    client.force_login(world.outsider_coordinator)

    response = client.get(reverse("dekking:gemeente", args=[world.gemeente_b.code]))
    found = page(response)
    html = response.content.decode()

    assert "Not enough answers yet: figures appear when at least 5 people" in html
    assert "Answered before and after" not in found.tiles
    assert found.rows["effect-formats-tafel"] == ["Around a table", NOT_ENOUGH]
    assert "+60.0" not in html


def test_another_gemeentes_coordinator_does_not_see_the_effect(client, world):
    client.force_login(world.outsider_coordinator)

    response = client.get(reverse("dekking:gemeente", args=[world.gemeente_a.code]))

    assert response.status_code == 404
    assert client.get(NATIONAL).status_code == 404


# --- Open data ------------------------------------------------------------------------------

NOTHING = {name: None for name in exports.EFFECT_FIELDS}


def test_the_open_data_json_publishes_the_effect_where_allowed(client, world):
    data = json.loads(client.get(JSON).content)
    rows = {row["code"]: row for row in data["gemeenten"]}
    utrecht_t, utrecht_r, utrecht_a = changes(AADORP, BEEKDAL, COTHEN)

    assert data["effect_suppressed_below"] == 5
    assert data["fields"][-16:] == exports.EFFECT_FIELDS + [
        f"province_{name}" for name in exports.EFFECT_FIELDS
    ]
    aadorp = rows[world.gemeente_a.code]
    assert {name: aadorp[name] for name in exports.EFFECT_FIELDS} == {
        "effect_n": 6,
        "thermometer_change": 5.0,
        "thermometer_change_low": round(5 - THERMOMETER_HALF, 1),
        "thermometer_change_high": round(5 + THERMOMETER_HALF, 1),
        "trust_change": 0.5,
        "trust_change_low": round(0.5 - TRUST_HALF, 2),
        "trust_change_high": round(0.5 + TRUST_HALF, 2),
        "argument_share": 0.5,
    }
    assert aadorp["thermometer_change_low"] == -2.4
    half = 2.145 * statistics.stdev(utrecht_t) / math.sqrt(15)
    assert aadorp["province_effect_n"] == 15
    assert aadorp["province_thermometer_change"] == round(statistics.mean(utrecht_t), 1)
    assert aadorp["province_thermometer_change_high"] == round(statistics.mean(utrecht_t) + half, 1)
    assert aadorp["province_argument_share"] == round(sum(a >= 4 for a in utrecht_a) / 15, 3)
    # Beekdal: 4 pairs. Cothen: 5, but hidden so that Beekdal cannot be worked out.
    for code in (world.gemeente_b.code, world.cothen.code):
        assert {name: rows[code][name] for name in exports.EFFECT_FIELDS} == NOTHING
        assert rows[code]["province_effect_n"] == 15
    # Diemen: its province is hidden (so that Zeeland cannot be worked out), and so is it.
    for code in (world.diemen.code, world.ede.code):
        assert all(rows[code][name] is None for name in exports.EFFECT_FIELDS)
        assert rows[code]["province_effect_n"] is None
        assert rows[code]["province_thermometer_change"] is None
    assert data["effect"]["effect_n"] == 23


def test_the_open_data_csv_has_the_same_effect_columns(client, world):
    rows = csv_rows(client.get(CSV))
    header, body = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}

    assert header[-16:] == exports.EFFECT_FIELDS + [
        f"province_{name}" for name in exports.EFFECT_FIELDS
    ]
    aadorp = body[world.gemeente_a.code]
    assert [aadorp[name] for name in exports.EFFECT_FIELDS] == [
        "6",
        "5.0",
        "-2.4",
        "12.4",
        "0.5",
        "-0.07",
        "1.07",
        "0.5",
    ]
    for code in (world.gemeente_b.code, world.cothen.code, world.diemen.code):
        assert [body[code][name] for name in exports.EFFECT_FIELDS] == [""] * 8
    assert body[world.diemen.code]["province_effect_n"] == ""


# --- Four pairs, then five ------------------------------------------------------------------


@pytest.fixture
def four(cast):
    gesprek = held_gesprek(cast.gemeente_b, F.TAFEL, "Zorg")
    answers(gesprek, BEEKDAL)
    cast.gesprek = gesprek
    return cast


def test_four_pairs_are_shown_nowhere(client, four):
    for user, url in (
        (four.national, NATIONAL),
        (four.outsider_coordinator, reverse("dekking:gemeente", args=[four.gemeente_b.code])),
    ):
        client.force_login(user)
        response = client.get(url)
        html = response.content.decode()
        assert response.status_code == 200
        assert "Not enough answers yet: figures appear when at least 5 people" in html
        assert "Answered before and after" not in page(response).tiles
        assert "+60.0" not in html and "60.0" not in html
    client.logout()
    data = json.loads(client.get(JSON).content)
    beekdal = next(row for row in data["gemeenten"] if row["code"] == four.gemeente_b.code)
    effect_names = exports.EFFECT_FIELDS + [f"province_{n}" for n in exports.EFFECT_FIELDS]
    assert all(beekdal[name] is None for name in effect_names)
    assert data["effect"] == NOTHING
    body = csv_rows(client.get(CSV))
    row = dict(zip(body[0], next(r for r in body if r[0] == four.gemeente_b.code), strict=True))
    assert all(row[name] == "" for name in effect_names)


def test_the_fifth_pair_makes_the_figures_appear(client, four):
    answers(four.gesprek, [(20, 80, 3, 3, 3)])
    client.force_login(four.national)

    found = page(client.get(NATIONAL))
    data = json.loads(client.get(JSON).content)

    assert found.tiles["Answered before and after"] == "5"
    assert found.tiles["Feeling towards people who think differently"] == "+60.0"
    beekdal = next(row for row in data["gemeenten"] if row["code"] == four.gemeente_b.code)
    assert beekdal["effect_n"] == 5
    # All five the same: no spread, so the interval is the mean itself.
    assert beekdal["thermometer_change_low"] == beekdal["thermometer_change_high"] == 60.0


def test_no_answers_publish_zero_pairs_and_no_figures(client, cast):
    data = json.loads(client.get(JSON).content)

    aadorp = next(row for row in data["gemeenten"] if row["code"] == cast.gemeente_a.code)
    assert aadorp["effect_n"] == 0
    assert aadorp["thermometer_change"] is None
    assert data["effect"]["effect_n"] == 0
