"""The street flyer: a one-page PDF in A4 and A5 whose QR code leads to the sign-up page."""

import io

import pytest
import zxingcpp
from django.conf import settings
from django.urls import reverse
from pypdf import PdfReader

from gesprekken import flyer
from gesprekken.models import Gesprek
from tests.facilitators.factories import UserFactory

from .running_helpers import BEFORE, gesprek_led_by

MM_PER_POINT = 25.4 / 72


@pytest.fixture(autouse=True)
def _before(time_machine):
    time_machine.move_to(BEFORE, tick=False)


@pytest.fixture(autouse=True)
def _english(client):
    # The pages in English, so the sentences asserted here do not depend on the catalogue.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def gesprek(cast):
    cast.facilitator.first_name = "Noor"
    cast.facilitator.save()
    return gesprek_led_by(cast.facilitator, cast.buurt_a)


def flyer_url(gesprek, **params):
    url = reverse("uitvoering:flyer", args=[gesprek.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def read(content: bytes):
    """The page size in mm, its text and what its QR code says."""
    reader = PdfReader(io.BytesIO(content))
    [page] = reader.pages
    size = (
        round(float(page.mediabox.width) * MM_PER_POINT),
        round(float(page.mediabox.height) * MM_PER_POINT),
    )
    [image] = page.images
    codes = [barcode.text for barcode in zxingcpp.read_barcodes(image.image)]
    # Lines wrap where they wrap: compare text with the line breaks as spaces.
    return size, " ".join(page.extract_text().split()), codes


@pytest.mark.parametrize(("size", "millimetres"), [("a4", (210, 297)), ("a5", (148, 210))])
def test_the_flyer_is_one_page_with_a_qr_code_to_the_sign_up_page(
    cast, client, gesprek, size, millimetres
):
    cast.login(client, cast.facilitator)

    response = client.get(flyer_url(gesprek, size=size))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"-{size.upper()}.pdf" in response["Content-Disposition"]
    page_size, text, codes = read(response.content)
    assert page_size == millimetres
    sign_up_url = settings.SITE_URL + reverse("gesprekken:detail", args=[gesprek.pk])
    assert codes == [sign_up_url]
    # The short address to type, for those without a camera.
    assert f"127.0.0.1:8000/gesprek/{gesprek.pk}" in text


def test_the_flyer_says_what_when_where_and_who_in_plain_dutch(cast, client, gesprek):
    cast.login(client, cast.facilitator)

    _, text, _ = read(client.get(flyer_url(gesprek)).content)

    # Sunday 11 October 2026, 19:30–21:00 in Amsterdam (17:30 UTC).
    assert "zondag 11 oktober 2026" in text.lower()
    assert "19:30" in text and "21:00" in text
    assert "Buurthuis De Pijl, Havenstraat 4" in text
    assert "Wonen en zorg" in text
    assert "Noor" in text
    assert "Achternaam" not in text
    assert "Oude Haven Aadorp" in text


def test_lang_en_gives_the_english_flyer(cast, client, gesprek):
    cast.login(client, cast.facilitator)

    _, text, codes = read(client.get(flyer_url(gesprek, size="a5", lang="en")).content)

    assert "Talk with your neighbours" in text
    assert "Sunday 11 October 2026, from 19:30 to 21:00" in text
    assert "Sign up with the QR code or at:" in text
    assert codes


def test_an_online_flyer_never_shows_the_video_link(cast):
    online = gesprek_led_by(
        cast.facilitator, cast.buurt_a, format="online", video_url="https://meet.example.org/geheim"
    )

    _, text, _ = read(flyer.flyer_pdf(online, size="A4", language="en"))

    assert "meet.example.org" not in text
    assert "You get the link when you have signed up." in text


def test_names_outside_the_pdf_font_are_transliterated_not_refused(cast, gesprek):
    gesprek.facilitator = UserFactory(first_name="Łucja")
    gesprek.place = "Café “De Hoek”, Straße 1 — İstanbul-plein"

    _, text, codes = read(flyer.flyer_pdf(gesprek, size="A5", language="nl"))

    assert "Lucja" in text
    assert "Café “De Hoek”" in text
    assert "Istanbul" in text
    assert codes


def lines_with_height(content: bytes) -> list[tuple[str, float]]:
    """Each line of text with the height of its baseline above the bottom, in points."""
    lines = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            lines.append((text.strip(), tm[5] * cm[3] + cm[5]))

    PdfReader(io.BytesIO(content)).pages[0].extract_text(visitor_text=visit)
    return lines


@pytest.mark.parametrize("size", ["A4", "A5"])
def test_long_notes_still_end_above_the_sign_up_block(gesprek, size):
    gesprek.place = "Buurthuis " * 30
    gesprek.accessibility_notes = "Rolstoeltoegankelijk met lift " * 16

    content = flyer.flyer_pdf(gesprek, size=size, language="en")

    lines = lines_with_height(content)
    texts = [text for text, _ in lines]
    sign_up = texts.index("Sign up with the QR code or at:")
    body, sign_up_height = lines[:sign_up], lines[sign_up][1]
    assert "Free of charge. There is room for 10 people." in texts[:sign_up]
    # The QR code's top edge lies above the sign-up line; the body ends above both.
    assert min(height for _, height in body) > sign_up_height + 20
    assert read(content)[2]


def test_a_draft_has_no_flyer_yet(cast, client):
    draft = gesprek_led_by(cast.facilitator, cast.buurt_a, status=Gesprek.Status.CONCEPT)
    cast.login(client, cast.facilitator)

    response = client.get(flyer_url(draft), follow=True)

    assert response.redirect_chain[-1][0] == reverse("werkruimte:gesprek", args=[draft.pk])
    assert "A flyer is for a published conversation" in response.text


@pytest.mark.parametrize("who", ["outsider_facilitator", "coordinator"])
def test_someone_elses_flyer_is_a_404(cast, client, gesprek, who):
    cast.login(client, getattr(cast, who))

    assert client.get(flyer_url(gesprek)).status_code == 404
