"""The empty sign-up form is rendered once a minute per process and then served from memory
(templates/gesprekken/gesprek_detail.html, the "template_fragments" cache).

What may never happen: one gesprek's form on another's page (statements, the mixed-table
note), one visitor's postcode or language in another's form, a form with errors replaced
by the empty one, or a change to the lists that does not show.
"""

import pytest
from django.urls import reverse

from gesprekken.models import Sector, Stelling
from tests.gesprekken.factories import GesprekFactory, ThemaFactory
from tests.gesprekken.pages import Elements, cache_table, empty_cache, sign_up_data  # noqa: F401

pytestmark = pytest.mark.usefixtures("empty_cache")

FIELDS = "gesprekken/includes/sign_up_fields.html"


def templates_of(response) -> set[str]:
    return {template.name for template in response.templates}


def selected_language(elements) -> list[str]:
    options = [o for o in elements.find("option") if o.get("value") in {"nl", "en"}]
    return [option["value"] for option in options if "selected" in option]


@pytest.fixture
def thema(db):
    thema = ThemaFactory(name="Wonen")
    Stelling.objects.create(thema=thema, text="Er moeten meer huizen bij.", order=1)
    return thema


@pytest.fixture
def plain(utrecht):
    return GesprekFactory(buurt=utrecht.buurten[0])


@pytest.fixture
def themed(utrecht, thema):
    return GesprekFactory(buurt=utrecht.buurten[1], thema=thema)


@pytest.fixture
def mixed(utrecht):
    return GesprekFactory(buurt=utrecht.buurten[0], balance=True)


def test_the_second_visitor_gets_the_fields_from_memory_with_a_token_of_their_own(
    client, plain, utrecht
):
    first = client.get(plain.get_absolute_url())
    client.cookies.clear()
    second = client.get(plain.get_absolute_url())
    # Another gesprek without a theme shows the very same fields.
    other = client.get(GesprekFactory(buurt=utrecht.buurten[2]).get_absolute_url())

    assert FIELDS in templates_of(first)
    assert FIELDS not in templates_of(second)
    assert FIELDS not in templates_of(other)
    tokens = [
        Elements(response.text).find("input", name="csrfmiddlewaretoken")[0]["value"]
        for response in (first, second)
    ]
    assert tokens[0] != tokens[1]
    # The kept form still works: the second visitor signs up with their own token.
    response = client.post(
        reverse("gesprekken:sign_up", args=[plain.pk]),
        sign_up_data(csrfmiddlewaretoken=tokens[1]),
    )
    assert response.status_code == 302


def test_statements_and_the_mixed_table_note_stay_on_their_own_gesprek(
    client, plain, themed, mixed
):
    for _round in range(2):
        on_plain = client.get(plain.get_absolute_url()).text
        on_themed = client.get(themed.get_absolute_url()).text
        on_mixed = client.get(mixed.get_absolute_url()).text
        assert "Er moeten meer huizen bij." in on_themed
        assert "Er moeten meer huizen bij." not in on_plain + on_mixed
        assert "houden we de tafel gemengd" in on_mixed
        assert "houden we de tafel gemengd" not in on_plain + on_themed


def test_the_language_and_the_postcode_are_each_visitors_own(client, plain):
    url = plain.get_absolute_url()
    dutch = Elements(client.get(url + "?postcode=3511AB").text)
    english = Elements(client.get(url + "?postcode=3511AB", HTTP_ACCEPT_LANGUAGE="en").text)
    other = Elements(client.get(url + "?postcode=1012 AB").text)
    none = Elements(client.get(url).text)

    assert dutch.find("input", name="postcode")[0]["value"] == "3511AB"
    assert other.find("input", name="postcode")[0]["value"] == "1012 AB"
    assert "value" not in none.find("input", name="postcode")[0]
    assert selected_language(dutch) == ["nl"]
    assert selected_language(english) == ["en"]
    assert english.find("input", name="postcode")[0]["value"] == "3511AB"


def test_hostile_text_in_the_address_is_escaped_and_kept_apart(client, plain):
    url = plain.get_absolute_url()
    hostile = client.get(url, {"postcode": '"><script>x()</script>'})
    clean = client.get(url)

    assert hostile.status_code == 200
    assert "<script>x()" not in hostile.text
    assert "&lt;script&gt;" not in clean.text


def test_a_form_with_errors_is_never_the_kept_empty_one(client, plain):
    client.get(plain.get_absolute_url())
    response = client.post(
        reverse("gesprekken:sign_up", args=[plain.pk]),
        sign_up_data(name="", email="buurman@example.org"),
    )

    assert response.status_code == 400
    assert FIELDS in templates_of(response)
    elements = Elements(response.text)
    assert elements.find("input", name="email")[0]["value"] == "buurman@example.org"
    assert elements.find("div", id="error-summary")
    # The next visitor gets the empty form again, not the one with the errors.
    empty = Elements(client.get(plain.get_absolute_url()).text)
    assert "value" not in empty.find("input", name="email")[0]


def test_a_change_to_the_lists_shows_at_once(client, themed):
    client.get(themed.get_absolute_url())
    Stelling.objects.create(thema=themed.thema, text="Een nieuwe stelling.", order=2)
    Sector.objects.create(text="Sportvereniging", text_en="Sports club", order=99)

    page = client.get(themed.get_absolute_url())
    assert FIELDS in templates_of(page)
    assert "Een nieuwe stelling." in page.text
    assert "Sportvereniging" in page.text


def test_someone_logged_in_gets_the_kept_fields_and_their_own_menu(admin_client, plain, client):
    anonymous = client.get(plain.get_absolute_url())
    page = admin_client.get(plain.get_absolute_url())

    assert FIELDS not in templates_of(page)
    assert Elements(page.text).find("input", name="name")
    logout = {"action": reverse("account_logout")}
    assert Elements(page.text).find("form", **logout)
    assert not Elements(anonymous.text).find("form", **logout)
