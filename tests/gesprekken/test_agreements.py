"""The conversation agreements (gespreksafspraken): accepted with the one consent tick at
sign-up, and shown on the gesprek page, in the reminder mail and on the flyer.

The list is the coordinators' (Gespreksafspraak, in the admin): only active agreements
appear, in the reader's language (`label`: English where it was given, else Dutch).
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from gesprekken import emails, flyer
from gesprekken.models import Aanmelding, Bericht, Gesprek, Gespreksafspraak
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, reminder_for
from tests.gesprekken.pages import Elements, cache_table, empty_cache, sign_up_data  # noqa: F401
from tests.gesprekken.staff.test_flyer import lines_with_height, read

pytestmark = pytest.mark.usefixtures("empty_cache")

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
LISTEN = ("Wij luisteren om te begrijpen.", "We listen to understand.")
SELF = ("Ik spreek voor mezelf.", "I speak for myself.")
RETIRED = "Een afspraak die niet meer geldt."


@pytest.fixture
def agreements(db):
    """A known list instead of the starting list from the data migration."""
    Gespreksafspraak.objects.all().delete()
    Gespreksafspraak.objects.create(text=LISTEN[0], text_en=LISTEN[1], order=1)
    Gespreksafspraak.objects.create(text=SELF[0], text_en=SELF[1], order=2)
    Gespreksafspraak.objects.create(text=RETIRED, order=3, active=False)


@pytest.fixture
def gesprek(utrecht, agreements):
    return GesprekFactory(buurt=utrecht.buurten[0], place="Buurthuis De Pijl")


def test_the_starting_list_is_there_without_anyone_adding_it(db):
    # The data migration gives every installation the four agreements of the issue.
    texts = " ".join(Gespreksafspraak.objects.filter(active=True).values_list("text", flat=True))
    for words in ["luisteren", "voor mezelf", "respectvol", "blijft hier"]:
        assert words in texts


# --- The gesprek page and the sign-up form ---------------------------------------------------


@pytest.mark.parametrize(("language", "index"), [("nl", 0), ("en", 1)])
def test_the_gesprek_page_lists_the_active_agreements_in_the_readers_language(
    client, gesprek, language, index
):
    page = client.get(gesprek.get_absolute_url(), HTTP_ACCEPT_LANGUAGE=language).text

    assert LISTEN[index] in page
    assert SELF[index] in page
    assert LISTEN[1 - index] not in page
    assert RETIRED not in page
    assert page.index(LISTEN[index]) < page.index(SELF[index])


def test_the_agreements_stand_just_above_the_one_consent_tick(client, gesprek):
    page = client.get(gesprek.get_absolute_url(), **EN).text

    optional = page.index("Help us make a mixed table (optional)")
    listed = page.index(SELF[1])
    tick = page.index('name="consent"')
    assert optional < page.index(LISTEN[1]) < listed < tick
    # No other field between the list and the tick.
    assert 'name="' not in page[listed:tick]
    label = page[tick : page.index("</label>", tick)]
    assert "I accept the conversation agreements above." in label
    assert "I have read the privacy statement" in label
    # Still one tick: no second required box for the agreements.
    elements = Elements(page)
    required = [i["name"] for i in elements.find("input", type="checkbox") if "required" in i]
    assert required == ["consent"]


@pytest.mark.parametrize(
    "changes",
    [{"status": Gesprek.Status.AFGELAST}, {"status": Gesprek.Status.GEHOUDEN}],
    ids=["cancelled", "held"],
)
def test_the_agreements_stay_visible_when_signing_up_is_closed(client, gesprek, changes):
    Gesprek.objects.filter(pk=gesprek.pk).update(**changes)

    page = client.get(gesprek.get_absolute_url(), **EN).text

    assert 'name="consent"' not in page
    assert "Our conversation agreements" in page
    assert LISTEN[1] in page


def test_signing_up_records_that_the_agreements_were_accepted(client, gesprek):
    before = timezone.now()

    response = client.post(reverse("gesprekken:sign_up", args=[gesprek.pk]), sign_up_data())

    assert response.status_code == 302
    aanmelding = Aanmelding.objects.get()
    assert aanmelding.agreements_accepted_at is not None
    assert aanmelding.agreements_accepted_at >= before
    assert aanmelding.agreements_accepted_at == aanmelding.consent_at


def test_without_the_tick_nobody_is_signed_up_and_the_agreements_are_still_shown(client, gesprek):
    response = client.post(
        reverse("gesprekken:sign_up", args=[gesprek.pk]), sign_up_data(consent=None), **EN
    )

    assert response.status_code == 400
    assert "Tick the box to agree" in response.text
    assert LISTEN[1] in response.text
    assert not Aanmelding.objects.exists()
    assert not Bericht.objects.exists()


def test_an_empty_list_leaves_no_empty_heading(client, utrecht):
    Gespreksafspraak.objects.update(active=False)
    gesprek = GesprekFactory(buurt=utrecht.buurten[0])

    page = client.get(gesprek.get_absolute_url(), **EN).text

    assert "Our conversation agreements" not in page
    assert 'name="consent"' in page


# --- The reminder mail -----------------------------------------------------------------------


def reminder(gesprek, language):
    return emails.render(reminder_for(AanmeldingFactory(gesprek=gesprek, language=language)))


@pytest.mark.parametrize(("language", "index"), [("nl", 0), ("en", 1)])
def test_the_reminder_repeats_the_agreements_in_text_and_html(gesprek, language, index):
    message = reminder(gesprek, language)
    html = message.alternatives[0][0]

    for body in (message.body, html):
        assert LISTEN[index] in body
        assert SELF[index] in body
        assert RETIRED not in body
        assert LISTEN[1 - index] not in body
    assert f"- {LISTEN[index]}\n- {SELF[index]}\n" in message.body
    assert f"<li>{SELF[index]}</li>" in html
    # The rest of the reminder is still there.
    aanmelding = gesprek.aanmeldingen.get()
    assert reverse("gesprekken:manage", args=[aanmelding.pk, aanmelding.token]) in message.body


def test_a_coordinators_wording_is_escaped_in_the_html_mail(gesprek):
    Gespreksafspraak.objects.create(text_en="We <b>never</b> shout & <script>.", order=9)

    html = reminder(gesprek, "en").alternatives[0][0]

    assert "We &lt;b&gt;never&lt;/b&gt; shout &amp; &lt;script&gt;." in html


def test_other_mails_do_not_carry_the_list(gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek, language="en")
    bericht = Bericht.objects.create(
        key=f"bevestigd:{aanmelding.pk}",
        kind="bevestigd",
        to=aanmelding.email,
        language="en",
        aanmelding=aanmelding,
        gesprek=gesprek,
    )

    assert LISTEN[1] not in emails.render(bericht).body


# --- The flyer -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["A4", "A5"])
@pytest.mark.parametrize(("language", "index"), [("nl", 0), ("en", 1)])
def test_the_flyer_prints_the_agreements_above_the_sign_up_block(gesprek, size, language, index):
    content = flyer.flyer_pdf(gesprek, size=size, language=language)

    _size, text, codes = read(content)
    assert LISTEN[index] in text
    assert SELF[index] in text
    assert RETIRED not in text
    assert codes, "the QR code still scans"
    with override(language):
        words = flyer.flyer_text(gesprek)
    assert words.agreements_heading in text
    lines = lines_with_height(content)
    texts = [line for line, _ in lines]
    # The sign-up line (it may wrap on A5: its first part).
    sign_up = next(
        i for i, line in enumerate(texts) if len(line) > 8 and words.sign_up.startswith(line)
    )
    agreement = next(i for i, line in enumerate(texts) if SELF[index] in line)
    assert agreement < sign_up
    assert lines[agreement][1] > lines[sign_up][1] + 20


@pytest.mark.parametrize("size", ["A4", "A5"])
def test_long_notes_and_long_agreements_still_fit_on_one_page(gesprek, size):
    gesprek.place = "Buurthuis " * 30
    gesprek.accessibility_notes = "Rolstoeltoegankelijk met lift " * 16
    for number in range(4):
        Gespreksafspraak.objects.create(
            text="lang",
            text_en=f"Agreement {number}: " + "we take turns and let others finish " * 3,
        )

    content = flyer.flyer_pdf(gesprek, size=size, language="en")

    lines = lines_with_height(content)
    texts = [line for line, _ in lines]
    sign_up = texts.index("Sign up with the QR code or at:")
    body, sign_up_height = lines[:sign_up], lines[sign_up][1]
    assert any("Agreement 3" in line for line in texts[:sign_up])
    assert min(height for _, height in body) > sign_up_height + 20
    assert read(content)[2]


def test_an_online_flyer_has_the_agreements_too(gesprek):
    gesprek.format = Gesprek.Format.ONLINE
    gesprek.starts_at = timezone.now() + timedelta(days=3)
    gesprek.ends_at = gesprek.starts_at + timedelta(hours=1)

    _size, text, _codes = read(flyer.flyer_pdf(gesprek, size="A5", language="en"))

    assert LISTEN[1] in text
