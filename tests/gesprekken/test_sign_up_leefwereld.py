"""Signing up with the optional "mixed table" section: leefwereld, statements, their consent.

The sign-up form keeps five required fields (name, e-mail, postcode, language and one tick).
Everything in "Help us make a mixed table" is optional and works without JavaScript. The
answers to the statements are an opinion: kept only with their own tick, and any input that
is not one of the offered choices is refused with a clear message and nothing is saved.
"""

import json

import pytest
from django.core import mail
from django.urls import reverse

from gesprekken.models import (
    Aanmelding,
    AgeBand,
    Bericht,
    Sector,
    Standpunt,
    Stelling,
)
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, ThemaFactory
from tests.gesprekken.pages import Elements, cache_table, empty_cache, sign_up_data  # noqa: F401

pytestmark = pytest.mark.usefixtures("empty_cache")

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
LONG = "x" * 10_000


@pytest.fixture
def thema(db):
    thema = ThemaFactory(name="Wonen in de wijk")
    Stelling.objects.create(thema=thema, text="Er moeten meer huizen bij.", order=1)
    Stelling.objects.create(
        thema=thema, text="Parkeren mag duurder.", text_en="Parking may cost more.", order=2
    )
    Stelling.objects.create(thema=thema, text="Deze is uitgezet.", active=False, order=3)
    return thema


@pytest.fixture
def statements(thema):
    return list(Stelling.objects.filter(thema=thema, active=True).order_by("order"))


@pytest.fixture
def other_statement(db):
    return Stelling.objects.create(thema=ThemaFactory(name="Iets anders"), text="Elders.")


@pytest.fixture
def gesprek(utrecht, thema):
    return GesprekFactory(buurt=utrecht.buurten[0], max_participants=5, thema=thema)


@pytest.fixture
def sector():
    return Sector.objects.filter(active=True).order_by("order", "pk").first()


def sign_up_url(gesprek) -> str:
    return reverse("gesprekken:sign_up", args=[gesprek.pk])


def field(statement) -> str:
    return f"stelling_{statement.pk}"


def nothing_saved() -> bool:
    return (
        not Aanmelding.objects.exists()
        and not Standpunt.objects.exists()
        and not Bericht.objects.exists()
    )


# --- The form ------------------------------------------------------------------------------


def test_the_form_still_has_five_required_fields(client, gesprek):
    response = client.post(sign_up_url(gesprek), {}, **EN)

    assert response.status_code == 400
    form = response.context["form"]
    # Nothing in the optional section is missed when it is left out.
    assert sorted(form.errors) == ["consent", "email", "language", "name", "postcode"]
    # The language is preselected on the page, so a resident fills in three and ticks one.
    assert [name for name, f in form.fields.items() if f.required] == [
        "name",
        "email",
        "postcode",
        "language",
        "consent",
    ]
    assert nothing_saved()


def test_the_optional_section_offers_sectors_age_bands_and_the_themes_statements(
    client, gesprek, statements, other_statement
):
    Sector.objects.create(text="Verborgen sector", active=False)

    response = client.get(gesprek.get_absolute_url(), **EN)
    page = response.text
    elements = Elements(page)

    assert "Help us make a mixed table (optional)" in page
    assert elements.find("details", **{"class": "mixed-table mb-3 border rounded p-3"})
    # Closed at first: nothing in it is needed.
    (details,) = elements.find("details")
    assert "open" not in details
    sectors = [o["value"] for o in elements.find("option") if o.get("value", "x").isdigit()]
    assert sectors == [str(s.pk) for s in Sector.objects.filter(active=True)]
    assert "Verborgen sector" not in page
    assert "I&#x27;d rather not say" in page or "I'd rather not say" in page
    ages = [o["value"] for o in elements.find("option") if o.get("value") in AgeBand.values]
    assert ages == list(AgeBand.values)
    # Both active statements, in the page's language; not the inactive one or another theme's.
    assert "Er moeten meer huizen bij." in page
    assert "Parking may cost more." in page
    assert "Deze is uitgezet." not in page
    assert "Elders." not in page
    for statement in statements:
        radios = elements.find("input", type="radio", name=field(statement))
        assert [r["value"] for r in radios] == ["eens", "neutraal", "oneens", ""]
        # "No answer" is the starting point.
        assert [r["value"] for r in radios if "checked" in r] == [""]
    (tick,) = elements.find("input", name="stance_consent")
    assert tick["type"] == "checkbox"
    assert "required" not in tick
    for words in [
        "your opinion",
        "only to make a mixed table and in totals",
        "not even to the facilitator",
        "after the retention period",
        "on your personal page",
    ]:
        assert words in page
    # No health questions, no free text.
    assert not elements.find("textarea")
    assert "health" not in page.lower()


def test_without_statements_there_are_no_radios_and_no_separate_tick(client, utrecht):
    gesprek = GesprekFactory(buurt=utrecht.buurten[0], thema=ThemaFactory(name="Zonder"))

    elements = Elements(client.get(gesprek.get_absolute_url(), **EN).text)

    assert not elements.find("input", type="radio")
    assert not elements.find("input", name="stance_consent")
    assert elements.find("select", name="sector")
    assert elements.find("select", name="age_band")


def test_a_mixed_table_says_a_resident_may_become_a_reserve(client, gesprek):
    gesprek.balance = True
    gesprek.save()

    page = client.get(gesprek.get_absolute_url(), **EN).text

    assert "you become a reserve" in page


# --- Signing up with it -------------------------------------------------------------------


def test_leefwereld_and_answers_with_consent_are_stored_apart(client, gesprek, statements, sector):
    data = sign_up_data(
        sector=str(sector.pk),
        age_band=AgeBand.FROM_40,
        stance_consent="on",
        **{field(statements[0]): "oneens", field(statements[1]): "neutraal"},
    )

    response = client.post(sign_up_url(gesprek), data)

    assert response.status_code == 302
    aanmelding = Aanmelding.objects.get()
    assert aanmelding.sector == sector
    assert aanmelding.age_band == AgeBand.FROM_40
    assert aanmelding.agreements_accepted_at is not None
    standpunt = Standpunt.objects.get()
    assert standpunt.aanmelding == aanmelding
    assert standpunt.answers == {str(statements[0].pk): "oneens", str(statements[1].pk): "neutraal"}
    assert standpunt.side == Standpunt.Side.ONEENS
    assert standpunt.consent_at is not None


def test_answers_without_their_tick_are_an_error_on_the_tick_and_nothing_is_saved(
    client, gesprek, statements, sector
):
    data = sign_up_data(sector=str(sector.pk), **{field(statements[0]): "eens"})

    response = client.post(sign_up_url(gesprek), data, **EN)

    assert response.status_code == 400
    assert "tick this box to let us use your answers" in response.text
    elements = Elements(response.text)
    (tick,) = elements.find("input", name="stance_consent")
    assert tick["aria-invalid"] == "true"
    assert elements.find("div", id="id_stance_consent_error")
    # The section is open and what was entered is still there.
    (details,) = elements.find("details")
    assert "open" in details
    (chosen,) = [r for r in elements.find("input", name=field(statements[0])) if "checked" in r]
    assert chosen["value"] == "eens"
    (option,) = elements.find("option", value=str(sector.pk))
    assert "selected" in option
    assert elements.find("input", name="name", value="Fatima")
    assert nothing_saved()
    assert mail.outbox == []


def test_the_tick_without_answers_is_fine_and_stores_nothing(client, gesprek):
    response = client.post(sign_up_url(gesprek), sign_up_data(stance_consent="on"))

    assert response.status_code == 302
    assert Aanmelding.objects.count() == 1
    assert not Standpunt.objects.exists()


def test_all_no_answer_stores_no_opinion(client, gesprek, statements):
    data = sign_up_data(**{field(s): "" for s in statements})

    assert client.post(sign_up_url(gesprek), data).status_code == 302
    assert not Standpunt.objects.exists()


def test_skipping_the_whole_section_is_the_plain_sign_up(client, gesprek):
    assert client.post(sign_up_url(gesprek), sign_up_data()).status_code == 302

    aanmelding = Aanmelding.objects.get()
    assert aanmelding.sector is None
    assert aanmelding.age_band == ""
    assert aanmelding.agreements_accepted_at is not None
    assert not Standpunt.objects.exists()


def test_a_full_gesprek_still_takes_the_leefwereld_to_the_waiting_list(
    client, gesprek, statements, sector
):
    AanmeldingFactory.create_batch(5, gesprek=gesprek)
    data = sign_up_data(
        sector=str(sector.pk), stance_consent="on", **{field(statements[0]): "eens"}
    )

    response = client.post(sign_up_url(gesprek), data)

    assert response.status_code == 302
    aanmelding = Aanmelding.objects.get(email="fatima@example.org")
    assert aanmelding.status == Aanmelding.Status.WACHTLIJST
    assert aanmelding.sector == sector
    assert Standpunt.objects.get().aanmelding == aanmelding


# --- Hostile input: 400 with a clear message, nothing saved ------------------------------------


def hostile_cases(statements, other_statement, inactive):
    first = field(statements[0])
    return {
        "unknown sector": ({"sector": "999999"}, "Choose a sector from the list"),
        "sector not a number": ({"sector": "zorg"}, "Choose a sector from the list"),
        "huge sector": ({"sector": "9" * 400}, "Choose a sector from the list"),
        "inactive sector": ({"sector": "INACTIVE"}, "Choose a sector from the list"),
        "unknown age band": ({"age_band": "18-24"}, "Choose an age from the list"),
        "huge age band": ({"age_band": LONG}, "Choose an age from the list"),
        "bad answer": ({first: "misschien", "stance_consent": "on"}, "Choose agree, neutral"),
        "huge answer": ({first: LONG, "stance_consent": "on"}, "Choose agree, neutral"),
        "label as answer": ({first: "Agree", "stance_consent": "on"}, "Choose agree, neutral"),
        "another theme's statement": (
            {field(other_statement): "eens", "stance_consent": "on"},
            "does not belong to this conversation",
        ),
        "inactive statement": (
            {field(inactive): "eens", "stance_consent": "on"},
            "does not belong to this conversation",
        ),
        "made-up statement": (
            {"stelling_99999999999999999999": "eens", "stance_consent": "on"},
            "does not belong to this conversation",
        ),
        "statement not a number": (
            {"stelling_abc": "eens", "stance_consent": "on"},
            "does not belong to this conversation",
        ),
    }


CASE_IDS = [
    "unknown sector",
    "sector not a number",
    "huge sector",
    "inactive sector",
    "unknown age band",
    "huge age band",
    "bad answer",
    "huge answer",
    "label as answer",
    "another theme's statement",
    "inactive statement",
    "made-up statement",
    "statement not a number",
]


@pytest.mark.parametrize("case", CASE_IDS)
def test_hostile_input_is_refused_with_a_clear_message(
    client, gesprek, statements, other_statement, thema, case
):
    inactive = Stelling.objects.get(thema=thema, active=False)
    hidden_sector = Sector.objects.create(text="Uitgezet", active=False)
    changes, message = hostile_cases(statements, other_statement, inactive)[case]
    if changes.get("sector") == "INACTIVE":
        changes = {**changes, "sector": str(hidden_sector.pk)}

    response = client.post(sign_up_url(gesprek), sign_up_data(**changes), **EN)

    assert response.status_code == 400
    assert message in response.text
    elements = Elements(response.text)
    assert elements.find("div", id="error-summary")
    # The optional section opens to show what needs attention.
    (details,) = elements.find("details")
    assert "open" in details
    assert "<script" not in response.text.split("</main>")[0].split("<main")[1]
    assert nothing_saved()


def test_a_statement_for_a_gesprek_without_theme_is_refused(client, utrecht, other_statement):
    gesprek = GesprekFactory(buurt=utrecht.buurten[0])

    response = client.post(
        sign_up_url(gesprek),
        sign_up_data(**{field(other_statement): "eens", "stance_consent": "on"}),
        **EN,
    )

    assert response.status_code == 400
    assert "does not belong to this conversation" in response.text
    assert nothing_saved()


def test_several_answers_for_one_statement_keep_one_valid_choice_or_refuse(
    client, gesprek, statements
):
    data = sign_up_data(stance_consent="on")
    data[field(statements[0])] = ["eens", "<script>"]

    response = client.post(sign_up_url(gesprek), data, **EN)

    assert response.status_code == 400
    assert "Choose agree, neutral" in response.text
    assert nothing_saved()


def test_an_error_in_the_section_is_linked_from_the_summary(client, gesprek, statements):
    response = client.post(
        sign_up_url(gesprek), sign_up_data(**{field(statements[1]): "nope"}), **EN
    )

    elements = Elements(response.text)
    target = f"id_{field(statements[1])}"
    assert elements.find("a", href=f"#{target}")
    (fieldset,) = elements.find("fieldset", id=target)
    assert fieldset["aria-describedby"] == f"{target}_error"


# --- The page after signing up: a reserve is told why ------------------------------------------


def seated_with_side(gesprek, side):
    aanmelding = AanmeldingFactory(gesprek=gesprek)
    Standpunt.objects.create(
        aanmelding=aanmelding, answers={}, side=side, consent_at=aanmelding.consent_at
    )
    return aanmelding


def test_a_reserve_is_told_plainly_why(client, gesprek, statements):
    # The worked example of gesprekken.balance: share 60 %, minimum 4; two "agree" and one
    # "disagree" hold seats, so a third "agree" would break the mix while seats are free.
    gesprek.balance, gesprek.balance_max_share, gesprek.min_participants = True, 60, 4
    gesprek.save()
    for side in ["eens", "eens", "oneens"]:
        seated_with_side(gesprek, side)
    data = sign_up_data(stance_consent="on", **{field(statements[0]): "eens"})

    response = client.post(sign_up_url(gesprek), data, follow=True, **EN)

    assert response.status_code == 200
    assert Aanmelding.objects.get(email="fatima@example.org").status == Aanmelding.Status.RESERVE
    assert "You are a reserve for this conversation" in response.text
    assert "we want a mixed table" in response.text
    assert "as soon as the mix allows it, or shortly before the start" in response.text
    assert "waiting list" not in response.text
    # Why in general terms only: the page never repeats the resident's own answer.
    assert "Er moeten meer huizen bij." not in response.text


def test_a_seat_is_not_called_a_reserve(client, gesprek):
    response = client.post(sign_up_url(gesprek), sign_up_data(), follow=True, **EN)

    assert "reserve" not in response.text.lower()


# --- The gesprek page stays light -------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 20])
def test_the_gesprek_page_with_statements_takes_the_same_queries_for_few_and_many(
    client, gesprek, thema, sector, n, django_assert_num_queries
):
    for number in range(n):
        Stelling.objects.create(thema=thema, text=f"Stelling {number}")
        aanmelding = AanmeldingFactory(gesprek=gesprek, sector=sector, age_band=AgeBand.FROM_25)
        Standpunt.objects.create(
            aanmelding=aanmelding, answers={}, side="eens", consent_at=aanmelding.consent_at
        )

    with django_assert_num_queries(4):
        # 1. the gesprek with everything the page shows and seats left
        # 2. the theme's active statements
        # 3. the active sectors
        # 4. the conversation agreements
        response = client.get(gesprek.get_absolute_url())

    assert len(response.context["form"].stellingen) == n + 2


# --- The manage page: delete my answers, download my data ---------------------------------------


def manage_url(name, aanmelding, token=None):
    return reverse(f"gesprekken:{name}", args=[aanmelding.pk, token or aanmelding.token])


@pytest.fixture
def answered(gesprek, statements, sector):
    aanmelding = AanmeldingFactory(
        gesprek=gesprek, name="Fatima", sector=sector, age_band=AgeBand.FROM_55
    )
    Standpunt.objects.create(
        aanmelding=aanmelding,
        answers={str(statements[0].pk): "oneens", str(statements[1].pk): "eens"},
        side=Standpunt.Side.NEUTRAAL,
        consent_at=aanmelding.consent_at,
    )
    return aanmelding


def test_the_manage_page_offers_to_delete_the_answers_only_when_there_are_some(
    client, answered, gesprek
):
    withdraw = manage_url("withdraw_stance", answered)
    elements = Elements(client.get(manage_url("manage", answered), **EN).text)
    (form,) = elements.find("form", action=withdraw)
    assert form["method"] == "post"
    # Its own answers are not printed on the page either.
    page = client.get(manage_url("manage", answered), **EN).text
    assert "Er moeten meer huizen bij." not in page

    without = AanmeldingFactory(gesprek=gesprek)
    elements = Elements(client.get(manage_url("manage", without), **EN).text)
    assert not elements.find("form", action=manage_url("withdraw_stance", without))


def test_deleting_the_answers_removes_them_and_keeps_the_sign_up(client, answered):
    response = client.post(manage_url("withdraw_stance", answered), follow=True, **EN)

    assert response.status_code == 200
    assert "Your answers to the statements are deleted." in response.text
    assert not Standpunt.objects.exists()
    answered.refresh_from_db()
    assert answered.status == Aanmelding.Status.BEVESTIGD
    # The leefwereld is not an opinion and stays until the retention purge.
    assert answered.sector is not None
    # Twice is harmless.
    response = client.post(manage_url("withdraw_stance", answered), follow=True, **EN)
    assert "We hold no answers to the statements from you." in response.text


def test_deleting_the_answers_needs_a_post_the_right_token_and_csrf(answered, client):
    from django.test import Client

    assert client.get(manage_url("withdraw_stance", answered)).status_code == 405
    assert client.post(manage_url("withdraw_stance", answered, "x" * 43)).status_code == 404
    other = AanmeldingFactory(gesprek=answered.gesprek)
    assert client.post(manage_url("withdraw_stance", answered, other.token)).status_code == 404
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(manage_url("withdraw_stance", answered)).status_code == 403
    assert Standpunt.objects.count() == 1


def test_the_download_holds_the_leefwereld_and_the_own_answers(client, answered, statements):
    data = json.loads(client.get(manage_url("export", answered)).content)

    assert data["leefwereld"] == {"sector": answered.sector.text, "age_band": AgeBand.FROM_55}
    assert data["statements"]["consent_at"] is not None
    assert data["statements"]["answers"] == [
        {"statement": statements[0].text, "answer": "oneens"},
        {"statement": statements[1].text, "answer": "eens"},
    ]
    assert data["registration"]["conversation_agreements_accepted_at"] is None


def test_the_download_without_answers_says_so(client, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek)

    data = json.loads(client.get(manage_url("export", aanmelding)).content)

    assert data["leefwereld"] == {"sector": None, "age_band": None}
    assert data["statements"] == {"consent_at": None, "answers": []}
