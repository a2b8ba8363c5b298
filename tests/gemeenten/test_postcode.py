import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from gemeenten.postcode import PostcodeError, lookup_pc4, parse_postcode
from tests.gemeenten.factories import (
    BuurtFactory,
    GemeenteFactory,
    PostcodegebiedFactory,
    ProvincieFactory,
    WijkFactory,
)

URL = reverse("postcode")

ENTER_NL = "Vul je postcode in, bijvoorbeeld 3511 AB."
ENTER_EN = "Enter your postcode, for example 3511 AB."
SHAPE_NL = "Een postcode heeft 4 cijfers en 2 letters, bijvoorbeeld 3511 AB."
SHAPE_EN = "A postcode has 4 digits and 2 letters, for example 3511 AB."
UNKNOWN_NL = "Deze postcode kennen we niet"
UNKNOWN_EN = "We do not know this postcode"

GOOD = [
    ("3511 AB", ("3511", "AB")),
    ("3511ab", ("3511", "AB")),
    ("3511", ("3511", "")),
    (" 3511  ab ", ("3511", "AB")),
]
MALFORMED = [
    "351",
    "35111AB",
    "ABCD",
    "3" * 10_000,
    "<script>",
    "3511\r\nBcc: x@y",
    "３５１１",  # fullwidth digits
    "3５１１",  # one ASCII digit, then fullwidth ones
    "٣٥١١",  # Arabic-Indic digits
    "3511 ﬀ",  # a ligature that upper() turns into "FF"
    "3511 ıb",  # a dotless i that upper() turns into "I"
    "0123 AB",
    "3511 SS",
    "3511 SA",
    "3511 SD",
    "3511 A",
    "3511 ABC",
    "3511\x00",
]


@pytest.mark.parametrize(("typed", "expected"), GOOD)
def test_parse_postcode_accepts_the_ways_residents_type_it(typed, expected):
    assert parse_postcode(typed) == expected


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_parse_postcode_asks_for_a_postcode_when_nothing_was_typed(typed):
    with translation.override("en"):
        with pytest.raises(PostcodeError) as error:
            parse_postcode(typed)
        assert str(error.value.args[0]) == ENTER_EN


@pytest.mark.parametrize("typed", MALFORMED)
def test_parse_postcode_explains_the_shape_of_a_postcode_for_anything_else(typed):
    with translation.override("en"):
        with pytest.raises(PostcodeError) as error:
            parse_postcode(typed)
        assert str(error.value.args[0]) == SHAPE_EN


def test_lookup_returns_the_gemeente_and_its_buurten_in_two_queries(
    utrecht, django_assert_num_queries
):
    with django_assert_num_queries(2):
        # 1. the postcode areas with their gemeente and provincie
        # 2. the buurten with that postcode, with their wijk
        result = lookup_pc4("3511")
        names = [buurt.wijk.name for buurt in result.buurten]
    assert result.gemeente == utrecht.gemeente
    assert [b.name for b in result.buurten] == ["Hooch Boulandt", "Wijk C"]
    assert names == ["Wijk 06 Binnenstad", "Wijk 06 Binnenstad"]


def test_lookup_leaves_out_gemeenten_that_no_longer_exist(db):
    merged = GemeenteFactory(name="Zederik", ended_on=datetime.date(2019, 1, 1))
    PostcodegebiedFactory(pc4="4233", gemeente=merged)
    BuurtFactory(wijk=WijkFactory(gemeente=merged), pc4="4233")

    result = lookup_pc4("4233")

    assert result.gemeenten == []
    assert result.buurten == []


# --- The search page --------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "expected"), GOOD)
def test_search_finds_the_gemeente_however_the_postcode_is_typed(client, utrecht, typed, expected):
    response = client.get(URL, {"postcode": typed})

    assert response.status_code == 200
    assert response.context["result"].gemeente == utrecht.gemeente
    assert response.context["postcode"] == " ".join(part for part in expected if part)
    assert f'href="{utrecht.gemeente.get_absolute_url()}"' in response.text
    for buurt in ["Wijk C", "Hooch Boulandt"]:
        assert buurt in response.text
    assert "Oog in Al" not in response.text


def test_search_without_a_postcode_parameter_goes_back_home(client, db):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_an_empty_postcode_asks_for_one_in_dutch(client, db):
    response = client.get(URL, {"postcode": ""})

    assert response.status_code == 400
    assert ENTER_NL in response.text


def test_an_empty_postcode_asks_for_one_in_english_when_the_browser_prefers_english(client, db):
    response = client.get(URL, {"postcode": ""}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert ENTER_EN in response.text


@pytest.mark.parametrize("typed", MALFORMED)
def test_a_malformed_postcode_gets_400_and_a_dutch_explanation(client, db, typed):
    response = client.get(URL, {"postcode": typed})

    assert response.status_code == 400
    assert SHAPE_NL in response.text
    assert 'aria-invalid="true"' in response.text


@pytest.mark.parametrize("typed", MALFORMED)
def test_a_malformed_postcode_gets_an_english_explanation_with_accept_language_en(
    client, db, typed
):
    response = client.get(URL, {"postcode": typed}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert SHAPE_EN in response.text


def test_a_malformed_postcode_gets_an_english_explanation_with_the_language_cookie(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(URL, {"postcode": "ABCD"})

    assert response.status_code == 400
    assert SHAPE_EN in response.text
    assert '<html lang="en">' in response.text


def test_a_typed_script_tag_is_shown_escaped_not_run(client, db):
    response = client.get(URL, {"postcode": "<script>alert(1)</script>"})

    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)" in response.text


def test_a_malformed_postcode_touches_no_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(URL, {"postcode": "3511\r\nBcc: x@y"})
    assert response.status_code == 400


def test_an_unknown_postcode_gets_404_and_says_so_in_dutch(client, utrecht):
    response = client.get(URL, {"postcode": "9999 ZZ"})

    assert response.status_code == 404
    assert UNKNOWN_NL in response.text
    assert "9999 ZZ" in response.text


def test_an_unknown_postcode_says_so_in_english_with_accept_language_en(client, utrecht):
    response = client.get(URL, {"postcode": "9999 ZZ"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert UNKNOWN_EN in response.text


def test_a_postcode_in_two_gemeenten_shows_both_most_inhabitants_first(client, db):
    gelderland = ProvincieFactory(code="PV25", name="Gelderland")
    west_betuwe = GemeenteFactory(code="GM1960", name="West Betuwe", provincie=gelderland)
    buren = GemeenteFactory(code="GM0214", name="Buren", provincie=gelderland)
    PostcodegebiedFactory(pc4="4197", gemeente=buren, rank=2)
    PostcodegebiedFactory(pc4="4197", gemeente=west_betuwe, rank=1)

    response = client.get(URL, {"postcode": "4197"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response.context["result"].gemeenten == [west_betuwe, buren]
    assert "more than one municipality" in response.text
    text = response.text
    assert f'href="{west_betuwe.get_absolute_url()}"' in text
    assert f'href="{buren.get_absolute_url()}"' in text
    assert text.index("West Betuwe</a>") < text.index("Buren</a>")


@pytest.mark.parametrize("n", [2, 30])
def test_search_page_query_count_does_not_grow_with_buurten(
    client, db, n, django_assert_num_queries
):
    provincie = ProvincieFactory(code="PV25", name="Gelderland")
    for gemeente in GemeenteFactory.create_batch(2, provincie=provincie):
        PostcodegebiedFactory(pc4="4197", gemeente=gemeente)
        for wijk in WijkFactory.create_batch(2, gemeente=gemeente):
            BuurtFactory.create_batch(n, wijk=wijk, pc4="4197")

    with django_assert_num_queries(3):
        # 1. the postcode areas with their gemeente and provincie
        # 2. the buurten with that postcode, with their wijk
        # 3. the upcoming gesprekken nearby, with seats left
        response = client.get(URL, {"postcode": "4197 AA"})

    assert response.status_code == 200
    assert len(response.context["result"].buurten) == 4 * n


def test_an_unknown_postcode_costs_the_same_two_queries(client, db, django_assert_num_queries):
    with django_assert_num_queries(2):
        # 1. the postcode areas (none)
        # 2. the buurten with that postcode (none)
        response = client.get(URL, {"postcode": "9999 ZZ"})
    assert response.status_code == 404
