"""Signing up on the gesprek page, and every resident form against hostile input."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from gesprekken import services
from gesprekken.models import Aanmelding, Bericht, Gesprek, Interesse
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.pages import Elements, cache_table, empty_cache, sign_up_data  # noqa: F401

pytestmark = pytest.mark.usefixtures("empty_cache")


@pytest.fixture
def gesprek(utrecht):
    return GesprekFactory(buurt=utrecht.buurten[0], max_participants=3)


def sign_up_url(gesprek) -> str:
    return reverse("gesprekken:sign_up", args=[gesprek.pk])


def nothing_saved() -> bool:
    return not Aanmelding.objects.exists() and not Bericht.objects.exists()


# --- The form on the gesprek page -------------------------------------------------------------


def test_the_gesprek_page_has_a_short_form_with_labels_and_autocomplete(client, gesprek):
    elements = Elements(client.get(gesprek.get_absolute_url()).text)

    (form,) = elements.find("form", action=sign_up_url(gesprek))
    assert form["method"] == "post"
    for name, autocomplete in [
        ("name", "name"),
        ("email", "email"),
        ("postcode", "postal-code"),
        ("phone", "tel"),
    ]:
        (field,) = elements.find("input", name=name)
        assert field["autocomplete"] == autocomplete
        assert elements.find("label", **{"for": field["id"]}), name
        assert field["aria-describedby"] == f"{field['id']}_helptext"
    # Required: name, e-mail, postcode and consent; nothing else asks for free text.
    assert not elements.find("textarea")
    (consent,) = elements.find("input", name="consent")
    assert consent["type"] == "checkbox"
    assert elements.find("a", href=reverse("gesprekken:privacy"))


def test_the_language_defaults_to_the_language_of_the_page(client, gesprek):
    dutch = Elements(client.get(gesprek.get_absolute_url()).text)
    english = Elements(client.get(gesprek.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").text)

    def selected(elements):
        languages = [o for o in elements.find("option") if o.get("value") in {"nl", "en"}]
        return [option["value"] for option in languages if "selected" in option]

    assert selected(dutch) == ["nl"]
    assert selected(english) == ["en"]


def test_a_postcode_from_the_search_is_filled_in(client, gesprek):
    response = client.get(gesprek.get_absolute_url(), {"postcode": "3511 AB"})

    assert 'value="3511 AB"' in response.text


# --- Happy path and the friendly refusals -------------------------------------------------------


def test_signing_up_holds_a_seat_and_sends_one_confirmation_mail(
    client, gesprek, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(sign_up_url(gesprek), sign_up_data(email=" Fatima@Example.org "))

    assert response.status_code == 302
    assert response.url == reverse("gesprekken:signed_up", args=[gesprek.pk])
    aanmelding = Aanmelding.objects.get()
    assert aanmelding.status == Aanmelding.Status.ONBEVESTIGD
    assert aanmelding.email == "fatima@example.org"
    assert aanmelding.name == "Fatima"
    assert aanmelding.language == "nl"
    assert aanmelding.consent_at is not None
    (bericht,) = Bericht.objects.all()
    assert bericht.kind == "bevestig_email"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["fatima@example.org"]
    confirm_url = reverse("gesprekken:confirm", args=[aanmelding.pk, aanmelding.token])
    assert confirm_url in mail.outbox[0].body

    page = client.get(response.url)
    assert "Bijna klaar: kijk in je e-mail" in page.text
    # The personal link travels by e-mail only: proof that the address is theirs.
    assert aanmelding.token not in page.text


def test_signing_up_in_english_keeps_english_for_the_mails(client, gesprek):
    response = client.post(
        sign_up_url(gesprek), sign_up_data(language="en"), HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 302
    assert Aanmelding.objects.get().language == "en"
    page = client.get(response.url, HTTP_ACCEPT_LANGUAGE="en")
    assert "Almost done: check your e-mail" in page.text


def test_a_second_sign_up_with_the_same_address_is_a_friendly_message_not_a_second_seat(
    client, gesprek
):
    client.post(sign_up_url(gesprek), sign_up_data())

    response = client.post(sign_up_url(gesprek), sign_up_data(email="FATIMA@example.org"))

    assert response.status_code == 400
    with override("nl"):
        assert str(services.AlreadySignedUp()) in response.text
    assert Aanmelding.objects.count() == 1
    assert Bericht.objects.count() == 1


def test_a_full_gesprek_puts_the_resident_on_the_waiting_list(client, gesprek):
    AanmeldingFactory.create_batch(3, gesprek=gesprek)

    response = client.post(sign_up_url(gesprek), sign_up_data(), follow=True)

    assert response.status_code == 200
    assert "Dit gesprek is vol. Je staat op de wachtlijst." in response.text
    aanmelding = Aanmelding.objects.get(email="fatima@example.org")
    assert aanmelding.status == Aanmelding.Status.WACHTLIJST
    assert Bericht.objects.get().kind == "wachtlijst"


@pytest.mark.parametrize(
    "changes",
    [
        {"status": Gesprek.Status.AFGELAST},
        {"status": Gesprek.Status.GEHOUDEN},
        {"starts_at": timezone.now() - timedelta(minutes=1)},
    ],
    ids=["cancelled", "held", "started"],
)
def test_a_closed_gesprek_refuses_with_a_message_and_saves_nothing(client, gesprek, changes):
    Gesprek.objects.filter(pk=gesprek.pk).update(**changes)

    response = client.post(sign_up_url(gesprek), sign_up_data())

    assert response.status_code == 400
    with override("nl"):
        assert str(services.GesprekClosed()) in response.text
    assert nothing_saved()


def test_a_draft_gesprek_cannot_be_signed_up_for(client, gesprek):
    Gesprek.objects.filter(pk=gesprek.pk).update(status=Gesprek.Status.CONCEPT)

    assert client.post(sign_up_url(gesprek), sign_up_data()).status_code == 404
    assert nothing_saved()


@pytest.mark.parametrize("pk", [0, 2**31, 2**63, 10**30])
def test_a_made_up_gesprek_number_is_not_found_and_saves_nothing(client, pk):
    """Also past the largest number the database holds: a 404 on either database."""
    response = client.post(reverse("gesprekken:sign_up", args=[pk]), sign_up_data())

    assert response.status_code == 404
    assert nothing_saved()


def test_the_sign_up_address_only_takes_posts(client, gesprek):
    response = client.get(sign_up_url(gesprek))

    assert response.status_code == 302
    assert response.url == gesprek.get_absolute_url()


def test_csrf_is_enforced_on_sign_up(gesprek):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(sign_up_url(gesprek), sign_up_data())

    assert response.status_code == 403
    assert nothing_saved()


# --- Hostile input: a clear message in Dutch and English, never a 500, nothing half-saved -------

LONG = "x" * 10_000
INJECTION = "\r\nBcc: evil@example.com"
SCRIPT = "<script>alert(1)</script>"

# (field, value, Dutch message, English message)
SIGN_UP_CASES = [
    ("name", "", "Vul je naam in.", "Enter your name."),
    ("name", "   ", "Vul je naam in.", "Enter your name."),
    ("name", LONG, "Je naam mag niet langer zijn dan 100 tekens.", "at most 100 characters"),
    ("name", INJECTION, "Je naam mag geen regeleinden", "cannot contain line breaks"),
    ("name", "Jan" + INJECTION, "Je naam mag geen regeleinden", "cannot contain line breaks"),
    ("name", "Jan\x00", "Je naam mag geen regeleinden", "cannot contain line breaks"),
    ("name", "Jan\u202eevil", "Je naam mag geen regeleinden", "cannot contain line breaks"),
    ("name", SCRIPT, "Je naam mag de tekens &lt; &gt; en @ niet bevatten.", "&lt; &gt; or @"),
    ("email", "", "Vul je e-mailadres in.", "Enter your e-mail address."),
    ("email", LONG + "@example.org", "niet langer zijn dan 254 tekens", "at most 254"),
    ("email", "fatima.example.org", "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("email", "fatima@example.org" + INJECTION, "Vul een e-mailadres in zoals", "like name@"),
    ("email", INJECTION, "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("email", SCRIPT + "@example.org", "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("email", "zoë@例え.jp\x00", "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("postcode", "", "Vul je postcode in", "Enter your postcode"),
    ("postcode", LONG, "Een postcode heeft 4 cijfers en 2 letters", "4 digits and 2 letters"),
    ("postcode", "ABCD", "Een postcode heeft 4 cijfers en 2 letters", "4 digits and 2 letters"),
    ("postcode", "３５１１ＡＢ", "Een postcode heeft 4 cijfers en 2 letters", "4 digits and 2"),
    ("postcode", "3511" + INJECTION, "Een postcode heeft 4 cijfers en 2 letters", "4 digits"),
    ("postcode", SCRIPT, "Een postcode heeft 4 cijfers en 2 letters", "4 digits and 2 letters"),
    ("phone", LONG, "Vul een telefoonnummer in zoals 06 12345678", "like 06 12345678"),
    ("phone", "bel me", "Vul een telefoonnummer in zoals 06 12345678", "like 06 12345678"),
    ("phone", "0612" + INJECTION, "Vul een telefoonnummer in zoals", "like 06 12345678"),
    ("phone", "٠٦١٢٣٤٥٦٧٨", "Vul een telefoonnummer in zoals 06 12345678", "like 06 12345678"),
    ("phone", SCRIPT, "Vul een telefoonnummer in zoals 06 12345678", "like 06 12345678"),
    ("language", "", "Kies Nederlands of Engels.", "Choose Dutch or English."),
    ("language", "xx", "Kies Nederlands of Engels.", "Choose Dutch or English."),
    ("language", LONG, "Kies Nederlands of Engels.", "Choose Dutch or English."),
    ("consent", None, "Zet een vinkje als je akkoord gaat", "Tick the box to agree"),
]


def case_id(case) -> str:
    field, value, *_ = case
    return f"{field}-{value[:12]!r}" if value is not None else f"{field}-missing"


@pytest.mark.parametrize("case", SIGN_UP_CASES, ids=case_id)
def test_sign_up_refuses_hostile_input_with_a_clear_message(client, gesprek, case):
    field, value, dutch, english = case

    for language, message in [("nl", dutch), ("en", english)]:
        response = client.post(
            sign_up_url(gesprek), sign_up_data(**{field: value}), HTTP_ACCEPT_LANGUAGE=language
        )

        assert response.status_code == 400, (language, response.status_code)
        assert message in response.text, language
        elements = Elements(response.text)
        assert elements.find("div", id="error-summary", tabindex="-1")
        if field != "language":
            (input_,) = elements.find("input", name=field)
            assert input_["aria-invalid"] == "true"
        # Echoed back escaped, never as markup.
        assert "<script>alert" not in response.text
    assert nothing_saved()
    assert mail.outbox == []


def test_an_error_is_tied_to_its_field_and_the_summary_links_to_it(client, gesprek):
    response = client.post(sign_up_url(gesprek), sign_up_data(email="nope"))
    elements = Elements(response.text)

    (field,) = elements.find("input", name="email")
    assert field["aria-invalid"] == "true"
    assert field["aria-describedby"] == "id_email_helptext id_email_error"
    assert elements.find("div", id="id_email_error")
    assert elements.find("a", href="#id_email")
    # The summary gets focus from a small script (no inline scripts under the CSP).
    (script,) = elements.find("script", src="/static/js/focus-error.js")
    assert "defer" in script
    # What the resident typed stays.
    assert elements.find("input", name="name", value="Fatima")


@pytest.mark.parametrize(
    "name", ["Zoë Ğül 李", "Jan-Willem van 't Hof", "Åsa Ørnsdóttir", "محمد", "Nguyễn Thị Minh"]
)
def test_names_in_any_script_are_welcome(client, gesprek, name):
    response = client.post(sign_up_url(gesprek), sign_up_data(name=name))

    assert response.status_code == 302
    assert Aanmelding.objects.get().name == name


@pytest.mark.parametrize(
    "phone", ["06 12345678", "+31 6 1234 5678", "020-1234567", "(030) 123 45 67"]
)
def test_dutch_and_international_phone_numbers_are_accepted(client, gesprek, phone):
    response = client.post(sign_up_url(gesprek), sign_up_data(phone=phone))

    assert response.status_code == 302
    assert Aanmelding.objects.get().phone == phone


def test_every_field_missing_gives_every_message(client, gesprek):
    response = client.post(sign_up_url(gesprek), {})

    assert response.status_code == 400
    for message in ["Vul je naam in.", "Vul je e-mailadres in.", "Vul je postcode in", "vinkje"]:
        assert message in response.text
    assert nothing_saved()


def test_several_values_for_one_field_do_not_break_the_form(client, gesprek):
    data = sign_up_data()
    data["name"] = ["Fatima", "Bcc: evil@example.com\r\n"]

    response = client.post(sign_up_url(gesprek), data)

    assert response.status_code == 400
    assert nothing_saved()


# The interest form on the buurt page and the "lost your link" form.

INTEREST_CASES = [
    ("street", LONG, "Een straatnaam mag niet langer zijn dan 200 tekens.", "at most 200"),
    ("street", "Oudegracht" + INJECTION, "Een straatnaam mag geen regeleinden", "line breaks"),
    ("street", SCRIPT, "Een straatnaam mag geen regeleinden", "cannot contain line breaks"),
    ("email", "", "Vul je e-mailadres in.", "Enter your e-mail address."),
    ("email", LONG, "niet langer zijn dan 254 tekens", "at most 254 characters"),
    ("email", "buur@" + INJECTION, "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("email", SCRIPT, "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("consent", None, "Zet een vinkje als je akkoord gaat", "Tick the box to agree"),
]


@pytest.mark.parametrize("case", INTEREST_CASES, ids=case_id)
def test_interest_form_refuses_hostile_input_with_a_clear_message(client, utrecht, case):
    buurt = utrecht.buurten[0]
    field, value, dutch, english = case
    data = {"street": "Oudegracht", "email": "buur@example.org", "consent": "on", field: value}
    data = {key: value for key, value in data.items() if value is not None}

    for language, message in [("nl", dutch), ("en", english)]:
        response = client.post(
            reverse("gesprekken:interest", args=[buurt.code]), data, HTTP_ACCEPT_LANGUAGE=language
        )

        assert response.status_code == 400
        assert message in response.text, language
        assert "<script>alert" not in response.text
        # The buurt page around the form is intact.
        assert f">{buurt.name}</h1>" in response.text
    assert not Interesse.objects.exists()
    assert not Bericht.objects.exists()


def test_interest_accepts_unicode_streets(client, utrecht):
    buurt = utrecht.buurten[0]

    response = client.post(
        reverse("gesprekken:interest", args=[buurt.code]),
        {"street": "Straße Ğül 李", "email": "buur@example.org", "consent": "on"},
    )

    assert response.status_code == 302
    assert Interesse.objects.get().street == "Straße Ğül 李"


RESEND_CASES = [
    ("email", "", "Vul je e-mailadres in.", "Enter your e-mail address."),
    ("email", LONG, "niet langer zijn dan 254 tekens", "at most 254 characters"),
    ("email", "a@b.nl" + INJECTION, "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("email", SCRIPT, "Vul een e-mailadres in zoals", "like name@example.nl"),
    ("email", "Zoë Ğül 李", "Vul een e-mailadres in zoals", "like name@example.nl"),
]


@pytest.mark.parametrize("case", RESEND_CASES, ids=case_id)
def test_resend_form_refuses_hostile_input_with_a_clear_message(client, db, case):
    _field, value, dutch, english = case

    for language, message in [("nl", dutch), ("en", english)]:
        response = client.post(
            reverse("gesprekken:resend"), {"email": value}, HTTP_ACCEPT_LANGUAGE=language
        )

        assert response.status_code == 400
        assert message in response.text
        assert "<script>alert" not in response.text
    assert not Bericht.objects.exists()
