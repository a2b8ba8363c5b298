"""Hostile input, property-based: every public form and endpoint, never a 500.

Hypothesis throws random unicode (control characters included; lone surrogates cannot be
encoded in a request, so they are left out), huge strings (up to 20,000 characters),
wrong types (a list where one value is expected: the key repeated) and missing fields
at the postcode search, the sign-up, the interest form, "lost your link", the manage
page's language switch, the pages addressed by a code or number, and the open-data
endpoints with random query strings. Properties:

- the status is never 5xx;
- a refused input answers 400, 404 or 429 with an error text on the page;
- nothing is half-saved: the rows of registrations, interests and e-mails only change
  when the answer is the success redirect.

The rate limits are set out of reach here; tests/gesprekken covers them.
"""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gesprekken.models import Aanmelding, Bericht, Interesse
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401

HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any character a request can carry: everything but lone surrogates.
ANY_CHAR = st.characters(exclude_categories=("Cs",))
CONTROL_CHAR = st.characters(categories=("Cc", "Zl", "Zp", "Cf"))


def huge(alphabet=ANY_CHAR):
    """One character or a short pattern repeated up to 20,000 characters."""
    return st.builds(
        lambda piece, n: (piece * n)[:20_000],
        st.text(alphabet=alphabet, min_size=1, max_size=5),
        st.integers(min_value=200, max_value=20_000),
    )


def hostile_text():
    return st.one_of(
        st.text(alphabet=ANY_CHAR, max_size=60),
        st.text(alphabet=st.one_of(ANY_CHAR, CONTROL_CHAR), max_size=30),
        huge(),
        st.sampled_from(
            [
                "",
                " ",
                "\x00",
                "Anna\r\nBcc: victim@example.org",
                "<script>alert(1)</script>",
                "' OR 1=1 --",
                "\u202eevil",
                "3511 AB",
                "3511AB",
                "9999ZZ",
                "anna@example.org",
                "nl",
                "en",
                "on",
            ]
        ),
    )


def value(plausible=()):
    """A field value: hostile text, a plausible one, or a list (the key repeated)."""
    scalar = st.one_of(hostile_text(), st.sampled_from(plausible)) if plausible else hostile_text()
    return st.one_of(scalar, st.lists(scalar, min_size=2, max_size=3))


def form_data(fields: dict):
    """Each field maybe missing, else one of its values."""
    return st.fixed_dictionaries({}, optional={name: value(p) for name, p in fields.items()})


EMAILS = ("anna@example.org", "b@example.nl", "not-an-email", "a@b", "x" * 250 + "@example.org")
SIGN_UP_FIELDS = {
    "name": ("Anna", "Bob de Vries", "   ", "a@b"),
    "email": EMAILS,
    "postcode": ("3511 AB", "3511ab", "1234", "ABCD 12"),
    "phone": ("", "06 12345678", "+31 6 1234 5678", "12"),
    "language": ("nl", "en", "de"),
    "consent": ("on", "true", "", "0"),
}
INTEREST_FIELDS = {
    "street": ("", "Oudegracht", "Straat\n2"),
    "email": EMAILS,
    "consent": ("on", ""),
}
ERROR_STATUSES = {400, 404, 429}


@pytest.fixture
def site(utrecht, empty_cache, settings):  # noqa: F811
    settings.GESPREKKEN_RATE_LIMITS = {
        "ip": (10**9, 3600),
        "email": (10**9, 3600),
        "resend_ip": (10**9, 3600),
    }
    gesprek = GesprekFactory(buurt=utrecht.buurten[0])
    aanmelding = AanmeldingFactory(gesprek=gesprek, email="bekend@example.org")
    return gesprek, aanmelding


def counts():
    return (Aanmelding.objects.count(), Interesse.objects.count(), Bericht.objects.count())


def shown_errors(response, form_name="form") -> list[str]:
    form = response.context[form_name] if response.context else None
    if form is None or not form.errors:
        return []
    return [str(error) for errors in form.errors.values() for error in errors]


def assert_refused_with_a_message(response, form_name="form"):
    assert response.status_code in ERROR_STATUSES, response.status_code
    errors = shown_errors(response, form_name)
    assert errors, "a refused form names what is wrong"
    page = response.content.decode()
    # Every message is on the page (escaped as the template does).
    for error in errors:
        assert escape(error) in page


@HYPOTHESIS
@given(data=form_data(SIGN_UP_FIELDS))
# The success branch, every run: a valid sign-up, and the same key sent twice.
@example(
    data={
        "name": "Anna",
        "email": "anna@example.org",
        "postcode": "3511 AB",
        "language": "nl",
        "consent": "on",
    }
)
@example(
    data={
        "name": ["x", "Bob"],
        "email": ["nope", "bob@example.org"],
        "postcode": "3511AB",
        "language": ["de", "en"],
        "consent": "on",
    }
)
def test_sign_up_never_breaks_and_never_half_saves(site, data):
    gesprek, _ = site
    before = counts()
    response = Client().post(reverse("gesprekken:sign_up", kwargs={"pk": gesprek.pk}), data)

    assert response.status_code < 500
    if response.status_code == 302:
        assert response.url == reverse("gesprekken:signed_up", kwargs={"pk": gesprek.pk})
        assert counts()[0] == before[0] + 1
    else:
        assert_refused_with_a_message(response)
        assert counts() == before


@HYPOTHESIS
@given(data=form_data(INTEREST_FIELDS))
@example(data={"street": "Oudegracht", "email": "buur@example.org", "consent": "on"})
def test_interest_never_breaks_and_never_half_saves(site, utrecht, data):
    buurt = utrecht.buurten[0]
    before = counts()
    # Examples share the database: asking again with the same address (in any case) is
    # answered with the open interest already there, not a second row.
    email = data.get("email", "")
    email = (email[-1] if isinstance(email, list) and email else email) or ""
    email = str(email).strip()
    # Only a plausible address can match a stored one (PostgreSQL refuses NUL in a query).
    asked_before = (
        len(email) <= 254
        and "\x00" not in email
        and Interesse.objects.filter(
            buurt=buurt, email__iexact=email, invited_at__isnull=True
        ).exists()
    )
    response = Client().post(reverse("gesprekken:interest", kwargs={"code": buurt.code}), data)

    assert response.status_code < 500
    if response.status_code == 302:
        assert response.url == buurt.get_absolute_url()
        assert counts()[1] == before[1] + (0 if asked_before else 1)
    else:
        assert_refused_with_a_message(response, "interest_form")
        assert counts() == before


@HYPOTHESIS
@given(data=form_data({"email": EMAILS + ("bekend@example.org",)}))
def test_resend_link_never_breaks(site, data):
    before = counts()
    response = Client().post(reverse("gesprekken:resend"), data)

    assert response.status_code < 500
    if response.status_code == 302:
        assert response.url == reverse("gesprekken:resend")
    else:
        assert_refused_with_a_message(response)
        assert counts() == before
    assert counts()[:2] == before[:2]


@HYPOTHESIS
@given(data=form_data({"postcode": ("3511 AB", "3533", "9999 ZZ", "12")}))
def test_postcode_search_never_breaks(site, data):
    response = Client().get(reverse("postcode"), data)

    assert response.status_code < 500
    if "postcode" not in data:
        assert response.status_code == 302
    elif response.status_code == 400:
        assert_refused_with_a_message(response)
    else:
        # Valid postcode: found (200) or a clear "not here" (404).
        assert response.status_code in {200, 404}
        assert response.context["form"].is_valid()


@HYPOTHESIS
@given(data=form_data({"language": ("nl", "en", "de", "NL")}))
def test_the_manage_pages_language_switch_never_breaks(site, data):
    _, aanmelding = site
    Aanmelding.objects.filter(pk=aanmelding.pk).update(language="nl")
    url = reverse("gesprekken:language", kwargs={"pk": aanmelding.pk, "token": aanmelding.token})
    before = counts()
    response = Client().post(url, data, follow=True)

    assert response.status_code == 200  # back on the manage page, with a message
    shown = [str(m) for m in response.context["messages"]]
    assert shown
    language = Aanmelding.objects.get(pk=aanmelding.pk).language
    sent = data.get("language")
    # A repeated key counts with its last value, as everywhere in Django.
    sent = sent[-1] if isinstance(sent, list) else sent
    if sent in ("nl", "en"):
        assert language == sent
    else:
        assert language == "nl"
        assert "Choose Dutch or English." in shown or "Kies Nederlands of Engels." in shown
    assert counts() == before


@HYPOTHESIS
@given(
    name=st.sampled_from(
        ["dekking:open_data_json", "dekking:open_data_csv", "dekking:public", "home", "privacy"]
    ),
    query=st.dictionaries(
        st.one_of(st.sampled_from(["format", "export", "page", "provincie", "q"]), hostile_text()),
        value(("csv", "json", "1", "-1", "PV26")),
        max_size=4,
    ),
)
def test_open_data_and_public_pages_ignore_random_query_strings(site, name, query):
    if name == "privacy":
        name = "gesprekken:privacy"
    response = Client().get(reverse(name), query)
    assert response.status_code < 500
    assert response.status_code in {200, 400, 404}


@HYPOTHESIS
@given(
    name=st.sampled_from(["gemeente", "buurt", "gemeenten:provincie", "gemeenten:wijk"]),
    code=hostile_text().filter(lambda s: s and "/" not in s),
)
def test_pages_addressed_by_a_code_answer_404_for_nonsense(site, name, code):
    path = reverse(name, kwargs={"code": "CODE"}).replace("CODE", quote(code[:2000], safe=""))
    response = Client().get(path)
    assert response.status_code < 500
    assert response.status_code in {200, 301, 302, 404}


@pytest.mark.parametrize(
    "path", ["/gemeente/%00/", "/buurt/%00/", "/provincie/%00/", "/wijk/GM%00/", "/gesprek/1/%00"]
)
def test_a_nul_character_in_the_address_is_a_404_not_a_database_error(site, path):
    # PostgreSQL refuses NUL in a string (SQLite does not): buurtgesprek/middleware.py.
    assert Client().get(path).status_code == 404


@HYPOTHESIS
@given(token=hostile_text(), pk=st.integers(min_value=0, max_value=2**70))
def test_manage_links_with_random_tokens_answer_404(site, token, pk):
    _, aanmelding = site
    path = f"/aanmelding/{pk}/{quote(token[:2000], safe='')}/"
    response = Client().get(path)
    assert response.status_code < 500
    if not (pk == aanmelding.pk and token == aanmelding.token):
        assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["gesprekken:privacy", "dekking:public", "dekking:open_data_json"])
def test_a_page_read_with_head_answers_as_a_get_would(client, name):
    """HEAD (monitors, link checkers) is GET without the body, not a 405."""
    get, head = client.get(reverse(name)), client.head(reverse(name))

    assert get.status_code == head.status_code == 200
    assert head["Content-Type"] == get["Content-Type"]


MULTIPART = (
    b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnna\r\n'
    b'--b\r\nContent-Disposition: form-data; name="language"\r\n\r\nen\r\n--b--\r\n'
)


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["rot13", "hex", "base64", "zlib", "uu", "ROT13"])
@pytest.mark.parametrize("csrf", [False, True], ids=["no-csrf-check", "csrf-checked"])
def test_a_form_body_in_a_codec_that_is_no_text_encoding_is_a_400(charset, csrf):
    """Django decoded such a multipart body with the codec: a LookupError, a 500, on
    every form, also inside the CSRF check. Now the site's own 400 page."""
    client = Client(enforce_csrf_checks=csrf, raise_request_exception=False)
    gesprek = GesprekFactory()
    for url in (reverse("gesprekken:sign_up", args=[gesprek.pk]), reverse("set_language")):
        response = client.generic(
            "POST",
            url,
            MULTIPART,
            content_type=f"multipart/form-data; boundary=b; charset={charset}",
        )
        assert response.status_code == 400, (url, response.status_code)
        assert "Dit konden we niet lezen" in response.content.decode()
        assert "We could not read this" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "x-unknown-charset"])
def test_a_form_body_in_a_text_encoding_or_an_unknown_one_is_read(charset):
    client = Client(raise_request_exception=False)
    response = client.generic(
        "POST",
        reverse("set_language"),
        MULTIPART,
        content_type=f"multipart/form-data; boundary=b; charset={charset}",
    )
    assert response.status_code == 302  # the language switch, as with any browser's body


@pytest.mark.django_db
def test_a_request_django_cannot_accept_gets_the_sites_400_page():
    response = Client(raise_request_exception=False, HTTP_HOST="evil.example").get("/")

    assert response.status_code == 400
    assert "Dit konden we niet lezen" in response.content.decode()


@pytest.mark.django_db
def test_a_form_sent_without_its_csrf_token_gets_a_page_that_says_what_to_do():
    gesprek = GesprekFactory()
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("gesprekken:sign_up", args=[gesprek.pk]), {"name": "Anna"})

    assert response.status_code == 403
    html = response.content.decode()
    assert "Deze pagina is verlopen" in html and "This page has expired" in html
    assert "laad de pagina opnieuw" in html
    assert "DEBUG" not in html and "CSRF" not in html
