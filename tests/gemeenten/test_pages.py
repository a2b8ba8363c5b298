import datetime
from html.parser import HTMLParser

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests.gemeenten.factories import (
    BuurtFactory,
    GemeenteFactory,
    ProvincieFactory,
    WijkFactory,
)


class Elements(HTMLParser):
    """The start tags of a page, in order, as (tag, attributes)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(key) == value for key, value in attrs.items())
        ]


def page_urls(utrecht) -> list[str]:
    return [
        reverse("home"),
        utrecht.provincie.get_absolute_url(),
        utrecht.gemeente.get_absolute_url(),
        utrecht.buurten[0].get_absolute_url(),
        reverse("postcode") + "?postcode=3511+AB",
    ]


# --- Language ---------------------------------------------------------------------------


def test_home_speaks_dutch_by_default(client, db):
    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert '<html lang="nl">' in response.text
    for text in ["Praat met je buren", "Je postcode", "Zoeken", "Naar de inhoud"]:
        assert text in response.text


def test_home_speaks_english_when_the_browser_prefers_english(client, db):
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    for text in ["Talk with your neighbours", "Your postcode", "Search", "Skip to content"]:
        assert text in response.text
    assert "Praat met je buren" not in response.text


def test_the_language_switch_turns_the_site_english_and_back_to_dutch(client, db):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.url == "/"

    english = client.get(reverse("home"))
    assert '<html lang="en">' in english.text
    assert "Talk with your neighbours" in english.text

    client.post(reverse("set_language"), {"language": "nl", "next": "/"})

    dutch = client.get(reverse("home"))
    assert '<html lang="nl">' in dutch.text
    assert "Praat met je buren" in dutch.text


def test_the_language_switch_offers_the_other_language_and_comes_back_to_the_same_page(
    client, utrecht
):
    url = utrecht.gemeente.get_absolute_url()
    elements = Elements(client.get(url).text)

    form = elements.find("form", action=reverse("set_language"))
    assert len(form) == 1
    assert elements.find("input", name="next", value=url)
    assert elements.find("button", name="language", value="en", lang="en")
    assert not elements.find("button", name="language", value="nl")


def test_provincie_page_lists_its_existing_gemeenten_in_dutch(client, utrecht):
    GemeenteFactory(name="Vianen", provincie=utrecht.provincie, ended_on=datetime.date(2019, 1, 1))
    GemeenteFactory(name="Amersfoort", provincie=utrecht.provincie)

    response = client.get(utrecht.provincie.get_absolute_url())

    assert response.status_code == 200
    assert "Gemeenten in Utrecht" in response.text
    assert [g.name for g in response.context["gemeenten"]] == ["Amersfoort", "Utrecht"]
    assert "Vianen" not in response.text


def test_provincie_page_in_english(client, utrecht):
    response = client.get(utrecht.provincie.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "Municipalities in Utrecht" in response.text
    assert f'href="{utrecht.gemeente.get_absolute_url()}"' in response.text


def test_gemeente_page_lists_its_wijken_with_their_buurten_in_dutch(client, utrecht):
    response = client.get(utrecht.gemeente.get_absolute_url())

    assert response.status_code == 200
    assert "Wijken en buurten" in response.text
    text = response.text
    # Wijken by name, buurten by name within their wijk.
    assert text.index("Wijk 01 West") < text.index("Oog in Al")
    assert text.index("Oog in Al") < text.index("Wijk 06 Binnenstad")
    assert text.index("Wijk 06 Binnenstad") < text.index("Hooch Boulandt")
    assert text.index("Hooch Boulandt") < text.index("Wijk C")
    for buurt in utrecht.buurten:
        assert f'href="{buurt.get_absolute_url()}"' in text


def test_gemeente_page_in_english(client, utrecht):
    response = client.get(utrecht.gemeente.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "Districts and neighbourhoods" in response.text
    assert "Wijk 06 Binnenstad" in response.text


def test_gemeente_page_says_when_a_merged_gemeente_no_longer_exists(client, utrecht):
    vianen = GemeenteFactory(
        name="Vianen", provincie=utrecht.provincie, ended_on=datetime.date(2019, 1, 1)
    )

    response = client.get(vianen.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "This municipality no longer exists since 1 January 2019." in response.text


def test_buurt_page_names_its_wijk_and_gemeente(client, utrecht):
    buurt = utrecht.buurten[0]

    response = client.get(buurt.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert ">Wijk C</h1>" in response.text
    assert "Neighbourhood in Wijk 06 Binnenstad, Utrecht" in response.text
    assert f'href="{utrecht.gemeente.get_absolute_url()}"' in response.text


def test_buurt_page_in_dutch_keeps_the_dutch_page_furniture(client, utrecht):
    response = client.get(utrecht.buurten[0].get_absolute_url())

    assert response.status_code == 200
    assert '<html lang="nl">' in response.text
    assert "Naar de inhoud" in response.text
    assert "Wijk C" in response.text


def test_postcode_page_in_dutch(client, utrecht):
    response = client.get(reverse("postcode"), {"postcode": "3511ab"})

    assert response.status_code == 200
    assert '<html lang="nl">' in response.text
    assert "Je postcode" in response.text
    assert "Zoeken" in response.text
    # What the resident typed stays in the field, to change it.
    assert 'value="3511ab"' in response.text


def test_postcode_page_in_english(client, utrecht):
    response = client.get(reverse("postcode"), {"postcode": "3511ab"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert "3511 AB is in Utrecht" in response.text
    assert "All neighbourhoods in Utrecht" in response.text


def test_wijk_address_leads_to_its_place_on_the_gemeente_page(client, utrecht):
    response = client.get(reverse("gemeenten:wijk", args=["WK034406"]))

    assert response.status_code == 302
    assert response.url == f"{utrecht.gemeente.get_absolute_url()}#WK034406"


# --- Accessibility basics ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_page_has_a_skip_link_to_main_and_the_four_landmarks(client, utrecht, language):
    for url in page_urls(utrecht):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        elements = Elements(response.text)

        assert elements.find("html", lang=language), url
        first_link = next(attrs for tag, attrs in elements.tags if tag == "a")
        assert first_link["href"] == "#main", url
        assert len(elements.find("main", id="main")) == 1, url
        assert len(elements.find("header")) == 1, url
        assert len(elements.find("footer")) == 1, url
        assert any(nav.get("aria-label") for nav in elements.find("nav")), url
        assert len(elements.find("h1")) == 1, url


def test_postcode_field_has_a_label_and_help_text(client, db):
    elements = Elements(client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").text)

    assert elements.find("label", **{"for": "id_postcode"})
    (field,) = elements.find("input", id="id_postcode")
    assert field["aria-describedby"] == "id_postcode_help"
    assert field["autocomplete"] == "postal-code"


def test_a_postcode_error_is_tied_to_the_field(client, db):
    response = client.get(reverse("postcode"), {"postcode": "ABCD"})
    elements = Elements(response.text)

    (field,) = elements.find("input", id="id_postcode")
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "id_postcode_help id_postcode_error"
    assert elements.find("div", id="id_postcode_error")


# --- Not found and server error ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/provincie/PV99/",
        "/gemeente/GM9999/",
        "/gemeente/<script>/",
        "/wijk/WK999999/",
        "/buurt/BU99999999/",
        "/buurt/BU03440621x/",
        "/bestaat-niet/",
    ],
)
def test_an_unknown_address_gets_the_404_page_within_the_site(client, utrecht, url):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert "Page not found" in response.text
    elements = Elements(response.text)
    assert elements.find("main", id="main")
    assert elements.find("a", href=reverse("home"))
    assert "<script>" not in response.text


def test_the_404_page_speaks_dutch_by_default(client, db):
    response = client.get("/gemeente/GM9999/")

    assert response.status_code == 404
    assert '<html lang="nl">' in response.text
    assert "Pagina niet gevonden" in response.text
    assert "Naar de inhoud" in response.text


def test_the_500_page_renders_without_database_or_request_context(db, django_assert_num_queries):
    request = RequestFactory().get("/")

    with django_assert_num_queries(0):
        response = server_error(request)

    assert response.status_code == 500
    html = response.content.decode()
    assert '<html lang="nl">' in html
    assert "Er ging iets mis" in html
    assert "Something went wrong" in html
    assert "{%" not in html and "{{" not in html


# --- Query counts: the same with 2 as with 30 rows (no N+1) --------------------------------


@pytest.mark.parametrize("n", [2, 30])
def test_home_query_count_does_not_grow_with_provincies(client, db, n, django_assert_num_queries):
    for i in range(n):
        provincie = ProvincieFactory(code=f"PV{i + 20:02d}", name=f"Provincie {i}")
        GemeenteFactory.create_batch(2, provincie=provincie)

    with django_assert_num_queries(1):
        # 1. the provincies, each with its count of existing gemeenten
        response = client.get(reverse("home"))

    assert response.status_code == 200
    assert len(response.context["provincies"]) == n


@pytest.mark.parametrize("n", [2, 30])
def test_provincie_query_count_does_not_grow_with_gemeenten(
    client, db, n, django_assert_num_queries
):
    provincie = ProvincieFactory(code="PV26", name="Utrecht")
    GemeenteFactory.create_batch(n, provincie=provincie)

    with django_assert_num_queries(2):
        # 1. the provincie
        # 2. its existing gemeenten
        response = client.get(provincie.get_absolute_url())

    assert response.status_code == 200
    assert len(response.context["gemeenten"]) == n


@pytest.mark.parametrize("n", [2, 30])
def test_gemeente_query_count_does_not_grow_with_wijken_and_buurten(
    client, db, n, django_assert_num_queries
):
    gemeente = GemeenteFactory()
    for wijk in WijkFactory.create_batch(n, gemeente=gemeente):
        BuurtFactory.create_batch(2, wijk=wijk)

    with django_assert_num_queries(4):
        # 1. the gemeente with its provincie
        # 2. its wijken
        # 3. the buurten of those wijken (one prefetch)
        # 4. the upcoming gesprekken in the gemeente, with seats left
        response = client.get(gemeente.get_absolute_url())

    assert response.status_code == 200
    assert response.text.count('<section id="WK') == n
    assert response.text.count('href="/buurt/') == 2 * n


@pytest.mark.parametrize("n", [2, 30])
def test_buurt_query_count_does_not_grow_with_neighbouring_buurten(
    client, db, n, django_assert_num_queries
):
    wijk = WijkFactory()
    buurt, *_ = BuurtFactory.create_batch(n, wijk=wijk)

    with django_assert_num_queries(2):
        # 1. the buurt with its wijk, gemeente and provincie
        # 2. the upcoming gesprekken nearby, with seats left
        response = client.get(buurt.get_absolute_url())

    assert response.status_code == 200
