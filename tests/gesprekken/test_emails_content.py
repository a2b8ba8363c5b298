"""Every e-mail, in Dutch and English: the right date in Europe/Amsterdam, the right links.

The Dutch sentences asserted here are the translations in the catalogue
(locale/nl/LC_MESSAGES/django.po); the day and month names come from Django's own.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from gesprekken import emails
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gemeenten.factories import BuurtFactory
from tests.gesprekken.factories import (
    AanmeldingFactory,
    GesprekFactory,
    InteresseFactory,
    ThemaFactory,
)

pytestmark = pytest.mark.django_db

S = Aanmelding.Status
# Saturday 5 December 2026, 19:30–21:30 in Amsterdam (UTC+1).
STARTS_AT = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
DATE = {"nl": "zaterdag 5 december 2026", "en": "Saturday 5 December 2026"}


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def gesprek():
    return GesprekFactory(
        buurt=BuurtFactory(code="BU03440621", name="Wijk C"),
        starts_at=STARTS_AT,
        ends_at=STARTS_AT + timedelta(hours=2),
        place="Buurthuis De Linde, Lindelaan 4",
        thema=ThemaFactory(name="Wonen en zorg"),
        accessibility_notes="Rolstoeltoegankelijk",
    )


def link(name, *args):
    return settings.SITE_URL + reverse(name, args=args)


def bericht_for(kind, language, gesprek, *, status=S.BEVESTIGD, context=None, **fields):
    """A Bericht as the services queue it: for a registration, or for an interest."""
    if kind in ("interesse_bevestigen", "uitnodiging"):
        interesse = InteresseFactory(buurt=gesprek.buurt, language=language, street="Lindelaan")
        return Bericht.objects.create(
            key=f"{kind}:{interesse.pk}",
            kind=kind,
            to=interesse.email,
            language=language,
            interesse=interesse,
            gesprek=gesprek if kind == "uitnodiging" else None,
            context=context or {},
        )
    aanmelding = AanmeldingFactory(
        gesprek=gesprek, name="Anna de Vries", language=language, status=status, **fields
    )
    return Bericht.objects.create(
        key=f"{kind}:{aanmelding.pk}",
        kind=kind,
        to=aanmelding.email,
        language=language,
        aanmelding=aanmelding,
        gesprek=gesprek,
        context=context or {},
    )


def expected_link(kind, bericht):
    a, i = bericht.aanmelding, bericht.interesse
    return {
        "bevestig_email": lambda: link("gesprekken:confirm", a.pk, a.token),
        "bevestigd": lambda: link("gesprekken:manage", a.pk, a.token),
        "wachtlijst": lambda: link("gesprekken:manage", a.pk, a.token),
        "reserve": lambda: link("gesprekken:manage", a.pk, a.token),
        "plek_aangeboden": lambda: link("gesprekken:claim", a.pk, a.token),
        "herinnering": lambda: link("gesprekken:manage", a.pk, a.token),
        "gewijzigd": lambda: link("gesprekken:manage", a.pk, a.token),
        "afgelast": lambda: link("buurt", "BU03440621"),
        "bedankt": lambda: link("buurt", "BU03440621"),
        "interesse_bevestigen": lambda: link("gesprekken:interest_confirm", i.pk, i.token),
        "uitnodiging": lambda: link("gesprekken:detail", bericht.gesprek.pk),
        "beheerlink": lambda: link("gesprekken:manage", a.pk, a.token),
    }[kind]()


# kind, registration status, {language: (part of the subject, a sentence of the body)}
CASES = [
    (
        "bevestig_email",
        S.ONBEVESTIGD,
        {
            "nl": ("Bevestig je aanmelding voor", "Bedankt voor je aanmelding voor een gesprek"),
            "en": (
                "Please confirm your sign-up for",
                "Thank you for signing up",
            ),
        },
    ),
    (
        "bevestigd",
        S.BEVESTIGD,
        {
            "nl": ("Je plek is bevestigd", "Goed nieuws: je plek is bevestigd."),
            "en": ("Your seat is confirmed", "Good news: your seat is confirmed."),
        },
    ),
    (
        "wachtlijst",
        S.WACHTLIJST,
        {
            "nl": ("Je staat op de wachtlijst voor", "Je staat op de wachtlijst."),
            "en": ("You are on the waiting list for", "You are on the waiting list."),
        },
    ),
    (
        "plek_aangeboden",
        S.AANGEBODEN,
        {
            "nl": ("Er is een plek vrij voor jou", "Goed nieuws: er is een plek vrijgekomen"),
            "en": ("A seat is free for you", "Good news: a seat has become free"),
        },
    ),
    (
        "herinnering",
        S.BEVESTIGD,
        {
            "nl": ("Herinnering: gesprek op", "Binnenkort praat je met je buren."),
            "en": ("Reminder: conversation on", "Soon you will talk with your neighbours."),
        },
    ),
    (
        "gewijzigd",
        S.BEVESTIGD,
        {
            "nl": ("Gewijzigd: gesprek op", "De nieuwe gegevens:"),
            "en": ("Changed: conversation on", "The new details:"),
        },
    ),
    (
        "afgelast",
        S.BEVESTIGD,
        {
            "nl": ("Afgelast: gesprek op", "gaat niet door."),
            "en": ("Cancelled: conversation on", "will not take place."),
        },
    ),
    (
        "bedankt",
        S.AANWEZIG,
        {
            "nl": ("Bedankt voor het gesprek met je buren", "Bedankt dat je meedeed"),
            "en": ("Thank you for talking with your neighbours", "Thank you for joining"),
        },
    ),
    (
        "interesse_bevestigen",
        None,
        {
            "nl": (
                "Bevestig: je wilt een gesprek in Wijk C",
                "Je liet ons weten dat je",
            ),
            "en": ("Please confirm: you want a conversation in Wijk C", "You told us you want a"),
        },
    ),
    (
        "uitnodiging",
        None,
        {
            "nl": ("Er is een gesprek gepland in Wijk C", "Nu is er een!"),
            "en": ("A conversation is planned in Wijk C", "Now there is one!"),
        },
    ),
    (
        "reserve",
        S.RESERVE,
        {
            "nl": ("Je bent reserve voor", "Dit gesprek wil een gemengde tafel"),
            "en": ("You are a reserve for", "This conversation aims for a mixed table"),
        },
    ),
    (
        "beheerlink",
        S.BEVESTIGD,
        {
            "nl": ("Je persoonlijke link voor het gesprek op", "Deel deze link niet."),
            "en": ("Your personal link for the conversation on", "Do not share this link."),
        },
    ),
]
# Subjects that name the date (the others name the buurt or nothing).
DATED_SUBJECTS = {kind for kind, _, _ in CASES} - {
    "bedankt",
    "interesse_bevestigen",
    "uitnodiging",
}


def test_every_kind_has_a_case():
    assert sorted(kind for kind, _, _ in CASES) == sorted(emails.KINDS)


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize(("kind", "status", "texts"), CASES, ids=[c[0] for c in CASES])
def test_email_is_in_the_persons_language_with_local_date_and_links(
    kind, status, texts, language, gesprek
):
    if kind == "afgelast":
        gesprek.status = Gesprek.Status.AFGELAST
        gesprek.save()
    bericht = bericht_for(kind, language, gesprek, status=status)

    message = emails.render(bericht)

    subject_part, body_part = texts[language]
    html = message.alternatives[0].content
    assert subject_part in message.subject
    if kind in DATED_SUBJECTS:
        assert DATE[language] in message.subject
    assert body_part in message.body
    assert body_part.replace("'", "&#x27;") in html
    if kind != "interesse_bevestigen":
        assert DATE[language] in message.body
        assert DATE[language] in html
    if kind not in ("interesse_bevestigen", "bedankt"):
        assert "19:30" in message.body  # Amsterdam wall time, not 18:30 UTC
        assert "18:30" not in message.body
    url = expected_link(kind, bericht)
    assert url.startswith("http")
    assert url in message.body
    assert f'href="{url}"' in html
    assert message.to == [bericht.to]
    assert message.extra_headers["Content-Language"] == language
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize(
    ("language", "greeting", "details"),
    [
        ("nl", "Hallo Anna de Vries,", "Wanneer: zaterdag 5 december 2026, van 19:30 tot 21:30"),
        ("en", "Hello Anna de Vries,", "When: Saturday 5 December 2026, from 19:30 to 21:30"),
    ],
)
def test_body_greets_by_name_and_lists_the_details(language, greeting, details, gesprek):
    message = emails.render(bericht_for("bevestigd", language, gesprek))

    assert message.body.startswith(greeting)
    assert details in message.body
    assert "Buurthuis De Linde, Lindelaan 4" in message.body
    assert "Wonen en zorg" in message.body
    assert "Rolstoeltoegankelijk" in message.body


def test_dutch_details_are_translated(gesprek):
    message = emails.render(bericht_for("bevestigd", "nl", gesprek))

    assert "Wat: Aan tafel" in message.body
    assert "Waar: Buurthuis De Linde, Lindelaan 4" in message.body
    assert "Buurt: Wijk C" in message.body
    assert "Met vriendelijke groet," in message.body


def test_unknown_language_falls_back_to_dutch(gesprek):
    message = emails.render(bericht_for("bevestigd", "xx", gesprek))

    assert DATE["nl"] in message.subject


def test_local_time_is_right_on_the_day_summer_time_starts():
    # 29 March 2026: clocks go from 02:00 to 03:00. 12:00 UTC is 14:00 in Amsterdam.
    starts_at = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    gesprek = GesprekFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2))

    message = emails.render(bericht_for("herinnering", "en", gesprek))

    assert message.subject == "Reminder: conversation on Sunday 29 March 2026 at 14:00"
    assert "from 14:00 to 16:00" in message.body


def test_local_time_is_right_on_the_day_summer_time_ends():
    # 25 October 2026: clocks go from 03:00 back to 02:00. 12:00 UTC is 13:00 in Amsterdam.
    starts_at = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)
    gesprek = GesprekFactory(starts_at=starts_at, ends_at=starts_at + timedelta(hours=2))

    message = emails.render(bericht_for("herinnering", "en", gesprek))

    assert message.subject.endswith("Sunday 25 October 2026 at 13:00")


def test_confirm_email_says_how_long_the_seat_is_held(gesprek):
    bericht = bericht_for(
        "bevestig_email",
        "en",
        gesprek,
        status=S.ONBEVESTIGD,
        confirmed_at=None,
        hold_expires_at=NOW + timedelta(hours=1),
    )

    message = emails.render(bericht)

    # 12:00 UTC on 28 November is 13:00 in Amsterdam.
    assert "We are keeping a seat for you until Saturday 28 November, 13:00." in message.body


def test_confirm_email_for_the_waiting_list_says_so(gesprek):
    bericht = bericht_for("bevestig_email", "en", gesprek, status=S.WACHTLIJST, confirmed_at=None)

    assert "so you are on the waiting list" in emails.render(bericht).body


def test_waiting_list_email_gives_the_position(gesprek):
    AanmeldingFactory.create_batch(2, gesprek=gesprek, status=S.WACHTLIJST)
    bericht = bericht_for("wachtlijst", "en", gesprek, status=S.WACHTLIJST)

    assert "Your place on the waiting list: 3." in emails.render(bericht).body


def test_offer_email_gives_the_deadline(gesprek):
    bericht = bericht_for(
        "plek_aangeboden",
        "nl",
        gesprek,
        status=S.AANGEBODEN,
        offer_expires_at=datetime(2026, 11, 29, 11, 0, tzinfo=UTC),
    )

    body = emails.render(bericht).body

    assert "Neem de plek vóór zondag 29 november, 12:00." in body


def test_changed_email_says_what_it_was_before(gesprek):
    previous = {
        "starts_at": "2026-12-04T18:30:00+00:00",
        "place": "Bibliotheek",
        "format": "online",
    }
    bericht = bericht_for("gewijzigd", "en", gesprek, context={"previous": previous})

    body = emails.render(bericht).body

    assert "Before the change: Friday 4 December 2026 at 19:30." in body
    assert "Before the change, the place was: Bibliotheek." in body
    assert "Before the change, the form was: Online video call." in body


def test_video_link_only_for_confirmed_seats_and_never_in_an_invitation():
    gesprek = GesprekFactory(format=Gesprek.Format.ONLINE, video_url="https://meet.example.org/x")

    confirmed = emails.render(bericht_for("bevestigd", "en", gesprek))
    reminder = emails.render(bericht_for("herinnering", "en", gesprek))
    waiting = emails.render(bericht_for("wachtlijst", "en", gesprek, status=S.WACHTLIJST))
    held = emails.render(
        bericht_for("bevestig_email", "en", gesprek, status=S.ONBEVESTIGD, confirmed_at=None)
    )
    invitation = emails.render(bericht_for("uitnodiging", "en", gesprek))

    assert "https://meet.example.org/x" in confirmed.body
    assert "https://meet.example.org/x" in reminder.body
    assert "Where: online, by video call" in waiting.body
    for message in (waiting, held, invitation):
        assert "meet.example.org" not in message.body
        assert "meet.example.org" not in message.alternatives[0].content


def test_invitation_and_interest_emails_hold_no_registration_link(gesprek):
    for kind in ("uitnodiging", "interesse_bevestigen"):
        message = emails.render(bericht_for(kind, "en", gesprek))
        assert "/aanmelding/" not in message.body


@pytest.mark.parametrize(
    "name",
    [
        "Anna\r\nBcc: victim@example.org",
        "Anna\nSubject: win a prize",
        "Anna\rX-Injected: yes",
    ],
)
def test_a_name_with_line_breaks_cannot_inject_headers(name, gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek, name=name)
    bericht = Bericht.objects.create(
        key="x", kind="bevestigd", to=aanmelding.email, aanmelding=aanmelding, gesprek=gesprek
    )

    message = emails.render(bericht)
    raw = message.message().as_string()  # Django raises BadHeaderError on a broken header

    assert "\r" not in message.subject and "\n" not in message.subject
    assert "Anna" not in message.subject
    headers = raw.split("\n\n", 1)[0]
    assert "victim@example.org" not in headers
    assert "win a prize" not in headers
    assert "X-Injected" not in headers


def test_a_buurt_name_with_line_breaks_stays_on_one_subject_line():
    gesprek = GesprekFactory(buurt=BuurtFactory(name="Wijk C\r\nBcc: victim@example.org"))

    message = emails.render(bericht_for("uitnodiging", "en", gesprek))
    headers = message.message().as_string().split("\n\n", 1)[0]

    assert message.subject == "A conversation is planned in Wijk C Bcc: victim@example.org"
    assert "\nBcc:" not in headers


def test_html_in_a_name_is_escaped_in_the_html_part_and_plain_in_the_text(gesprek):
    aanmelding = AanmeldingFactory(gesprek=gesprek, name="<b>Anna</b> & 'Bob'")
    bericht = Bericht.objects.create(
        key="x", kind="bevestigd", to=aanmelding.email, aanmelding=aanmelding, gesprek=gesprek
    )

    message = emails.render(bericht)

    assert "<b>Anna</b> & 'Bob'" in message.body
    assert "&lt;b&gt;Anna&lt;/b&gt; &amp; &#x27;Bob&#x27;" in message.alternatives[0].content
    assert "<b>Anna</b>" not in message.alternatives[0].content


def test_calendar_file_goes_with_confirmed_changed_and_cancelled_only(gesprek):
    def calendar_parts(message):
        return [
            part
            for part in message.attachments
            if not isinstance(part, tuple) and part.get_content_type() == "text/calendar"
        ]

    confirmed = emails.render(bericht_for("bevestigd", "en", gesprek))
    changed = emails.render(bericht_for("gewijzigd", "en", gesprek))
    changed_waiting = emails.render(
        bericht_for("gewijzigd", "en", gesprek, status=S.WACHTLIJST, confirmed_at=None)
    )
    reminder = emails.render(bericht_for("herinnering", "en", gesprek))
    gesprek.status = Gesprek.Status.AFGELAST
    gesprek.save()
    cancelled = emails.render(bericht_for("afgelast", "en", gesprek))
    cancelled_unconfirmed = emails.render(
        bericht_for("afgelast", "en", gesprek, status=S.ONBEVESTIGD, confirmed_at=None)
    )

    [part] = calendar_parts(confirmed)
    assert part.get_param("method") == "PUBLISH"
    assert part.get_filename() == "buurtgesprek.ics"
    assert "calendar file" in confirmed.body
    assert len(calendar_parts(changed)) == 1
    [cancel] = calendar_parts(cancelled)
    assert cancel.get_param("method") == "CANCEL"
    assert "remove the conversation from your calendar" in cancelled.body
    for message in (changed_waiting, reminder, cancelled_unconfirmed):
        assert calendar_parts(message) == []
        assert "calendar file" not in message.body


def test_unknown_kind_is_refused(gesprek):
    bericht = bericht_for("bevestigd", "en", gesprek)
    bericht.kind = "spam"

    with pytest.raises(ValueError, match="unknown e-mail kind"):
        emails.render(bericht)
