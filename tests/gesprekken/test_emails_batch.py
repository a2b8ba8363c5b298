"""emails.Batch: a reminder rendered once per gesprek and filled in per person is the mail
render() gives that person, to the byte, and never carries someone else's name or link."""

import copy
import re
from datetime import timedelta

import pytest
from django.test.signals import template_rendered
from django.utils import timezone

from gesprekken import emails
from gesprekken.models import Aanmelding, Bericht, Gesprek
from tests.gesprekken.factories import (
    AanmeldingFactory,
    GesprekFactory,
    ThemaFactory,
    reminder_for,
)

pytestmark = pytest.mark.django_db

S = Aanmelding.Status
# Typed by a facilitator: markup, quotes, and text shaped like the batch's own markers
# and like a part's header (which once made writing the mail ahead fail).
HOSTILE = (
    "<b>Plein</b> & \"hoek\" 'x' \ue000deadbeefdeadbeef:name&\ue001 {{ name }} \\1 "
    "[deadbeefdeadbeef.to.h] Content-Transfer-Encoding: 8bit"
)
NAMES = [
    "Anna de Vries",
    "<script>alert('x')</script>",
    'Jan & Piet "de" O\'Brien',
    "Zoë Çelik 😀",
    "\ue000deadbeefdeadbeef:manage_url&amp;\ue001",
    "{{ manage_url }} {% now 'Y' %} %s \\1 \\g<0>",
    "Anna\r\nBcc: victim@example.org",
    "x" * Aanmelding._meta.get_field("name").max_length,
]


def fields(message) -> tuple:
    """What a mail says; its Date and Message-ID are its own (drawn for each mail)."""
    return (
        message.subject,
        message.body,
        message.alternatives,
        message.to,
        message.from_email,
        {k: v for k, v in message.extra_headers.items() if k not in ("Date", "Message-ID")},
        message.attachments,
    )


def same_boundaries(raw: bytes, like: bytes) -> bytes:
    """`raw` with the multipart boundary of `like` (each message draws its own)."""
    (ours,) = set(re.findall(rb'boundary="([^"]+)"', raw))
    (theirs,) = set(re.findall(rb'boundary="([^"]+)"', like))
    return raw.replace(ours, theirs)


def written_as_built(message) -> bool:
    """The bytes the mail hands the SMTP backend are those Django's message gives for it;
    True when they were written ahead (emails._Frozen), not built."""
    sent = message.message().as_bytes(linesep="\r\n")
    built = message.built_message().as_bytes(linesep="\r\n")
    assert same_boundaries(sent, built) == built
    return message.written is not None


def loaded(berichten: list[Bericht]) -> list[Bericht]:
    """As the outbox loads a batch: fresh rows with their registration and gesprek."""
    return list(
        Bericht.objects.select_related(
            "aanmelding", "interesse__buurt", "gesprek__buurt", "gesprek__thema"
        )
        .filter(pk__in=[b.pk for b in berichten])
        .order_by("pk")
    )


@pytest.fixture
def gesprekken():
    tafel = GesprekFactory(
        place=HOSTILE,
        street="Lindelaan",
        route="Start bij de kerk & loop naar <het> park",
        accessibility_notes=HOSTILE,
        thema=ThemaFactory(name="Wonen & <zorg>"),
        max_participants=20,
    )
    online = GesprekFactory(
        format=Gesprek.Format.ONLINE,
        video_url="https://meet.example.org/abc?x=1&y=2",
        max_participants=20,
    )
    return tafel, online


@pytest.fixture
def record_templates():
    names = []

    def record(sender, template, context, **kwargs):
        names.append(template.name)

    template_rendered.connect(record)
    yield names
    template_rendered.disconnect(record)


def test_a_merged_reminder_is_what_render_gives_each_person(gesprekken):
    berichten = [
        reminder_for(AanmeldingFactory(gesprek=gesprek, name=name, language=language))
        for gesprek in gesprekken
        for name in NAMES
        for language in ("nl", "en", "xx")
    ]

    batch = emails.Batch()
    seen, written, expected = set(), [], []
    for bericht in loaded(berichten):
        merged = batch.render(bericht)
        alone = emails.render(bericht)
        assert fields(merged) == fields(alone), bericht.aanmelding.name
        assert emails._NONCE not in merged.body + merged.alternatives[0].content
        written.append(written_as_built(merged))
        assert emails._NONCE.encode() not in merged.message().as_bytes(linesep="\r\n")
        # Built the usual way: the first mail of each gesprek and language (one alone is
        # not worth writing ahead), and the name with a line break.
        key = (bericht.gesprek_id, emails._language(bericht))
        expected.append(key in seen and "\n" not in bericht.aanmelding.name)
        seen.add(key)
    assert written == expected
    # Built: per gesprek the first of nl (xx falls back to it) and of en, and the name
    # with a line break in each of the three languages.
    assert sum(written) == len(written) - len(gesprekken) * (2 + 3)


def test_the_templates_run_once_per_gesprek_and_language(gesprekken, record_templates):
    tafel, online = gesprekken
    berichten = [
        reminder_for(AanmeldingFactory(gesprek=gesprek, language=language))
        for gesprek in (tafel, online)
        for language in ("nl", "nl", "nl", "en", "en")
    ]

    batch = emails.Batch()
    messages = [batch.render(bericht) for bericht in loaded(berichten)]

    assert record_templates.count("emails/herinnering/body.html") == 4
    assert record_templates.count("emails/herinnering/subject.txt") == 4
    # Each person has their own link, and no one else's.
    links = [emails._personal_link("manage_url", b.aanmelding) for b in berichten]
    for message, link in zip(messages, links, strict=True):
        assert link in message.body
        assert link in message.alternatives[0].content
        assert [other for other in links if other in message.body] == [link]


def test_other_states_of_the_seat_are_rendered_apart(gesprekken, record_templates):
    """The video link goes to confirmed seats only: the seat's state is part of the key."""
    _tafel, online = gesprekken
    offered = AanmeldingFactory(
        gesprek=online,
        status=S.AANGEBODEN,
        offer_expires_at=timezone.now() + timedelta(hours=3),
    )
    berichten = [reminder_for(AanmeldingFactory(gesprek=online)), reminder_for(offered)]

    batch = emails.Batch()
    confirmed, offer = (batch.render(bericht) for bericht in loaded(berichten))

    assert "meet.example.org" in confirmed.body
    assert "meet.example.org" not in offer.body
    for bericht, merged in zip(loaded(berichten), (confirmed, offer), strict=True):
        assert fields(merged) == fields(emails.render(bericht))
    assert record_templates.count("emails/herinnering/body.html") == 2 + 2


@pytest.mark.parametrize("name", ["", "   "])
def test_a_seat_without_a_name_is_greeted_as_render_greets_it(gesprekken, name):
    tafel, _online = gesprekken
    bericht = reminder_for(AanmeldingFactory(gesprek=tafel, name=name, language="nl"))

    (loaded_bericht,) = loaded([bericht])
    merged = emails.Batch().render(loaded_bericht)

    assert fields(merged) == fields(emails.render(loaded_bericht))


def test_kinds_that_are_not_merged_go_through_render(gesprekken, record_templates):
    tafel, _online = gesprekken
    aanmelding = AanmeldingFactory(gesprek=tafel)
    bevestigd = Bericht.objects.create(
        key="b", kind="bevestigd", to=aanmelding.email, aanmelding=aanmelding, gesprek=tafel
    )

    batch = emails.Batch()
    (loaded_bericht,) = loaded([bevestigd])
    first = batch.render(loaded_bericht)
    second = batch.render(loaded_bericht)

    assert record_templates.count("emails/bevestigd/body.html") == 2
    assert [a.get_content_type() for a in first.attachments] == [
        a.get_content_type() for a in second.attachments
    ]


TOKENS = [
    "abcDEF123_-",
    "x" * 64,
    # Not what new_token() writes: reverse() quotes or refuses these, so they go through it.
    "a b",
    "ä/ö",
    "%2F..%00",
    "<script>",
    "tok:en",
    "",
]


@pytest.mark.parametrize("field", sorted(emails.PERSONAL_LINKS))
def test_each_personal_link_is_what_reverse_writes(field):
    links = emails._Links()
    for pk in (1, 7, 918273645, 10**12):
        for token in TOKENS:
            aanmelding = Aanmelding(pk=pk, token=token)
            try:
                expected = emails._personal_link(field, aanmelding)
            except Exception as error:  # NoReverseMatch for an empty token
                with pytest.raises(type(error)):
                    links.url(field, aanmelding)
                continue
            assert links.url(field, aanmelding) == expected, (pk, token)


def test_a_batch_reverses_each_personal_url_once(gesprekken, monkeypatch):
    tafel, _online = gesprekken
    berichten = [reminder_for(AanmeldingFactory(gesprek=tafel)) for _ in range(6)]
    reversed_names = []
    reverse = emails.reverse

    def counting(name, *args, **kwargs):
        reversed_names.append(name)
        return reverse(name, *args, **kwargs)

    monkeypatch.setattr(emails, "reverse", counting)
    batch = emails.Batch()
    for bericht in loaded(berichten):
        batch.render(bericht)

    personal = [name for name in reversed_names if name in emails.PERSONAL_LINKS.values()]
    assert personal and len(personal) == len(set(personal))


def test_a_part_all_ascii_is_7bit_and_a_name_beyond_makes_it_8bit(gesprekken):
    _tafel, online = gesprekken
    berichten = [
        reminder_for(AanmeldingFactory(gesprek=online, name=name, language="en"))
        for name in ("First", "Anna", "Zoë")
    ]

    batch = emails.Batch()
    _first, anna, zoe = (batch.render(bericht) for bericht in loaded(berichten))

    assert written_as_built(anna) and written_as_built(zoe)
    encodings = [
        re.findall(rb"Content-Transfer-Encoding: (\w+)", m.message().as_bytes(linesep="\r\n"))
        for m in (anna, zoe)
    ]
    assert encodings[0] != encodings[1]
    assert b"7bit" in encodings[0] and b"7bit" not in encodings[1]


def test_a_line_past_998_bytes_makes_every_mail_of_the_gesprek_built(gesprekken):
    tafel, _online = gesprekken
    tafel.route = "Loop " + "langs de gracht en " * 60  # one line of 1,145 bytes
    tafel.save()
    bericht = reminder_for(AanmeldingFactory(gesprek=tafel, language="nl"))

    (loaded_bericht,) = loaded([bericht])
    merged = emails.Batch().render(loaded_bericht)

    assert not written_as_built(merged)  # Django writes that part quoted-printable
    assert b"quoted-printable" in merged.message().as_bytes(linesep="\r\n")
    assert fields(merged) == fields(emails.render(loaded_bericht))


@pytest.mark.parametrize(
    "to",
    [
        "a" * 70 + "@example.org",  # "To: …" does not fit one line
        "zoë@bücher.example",  # not ASCII: Django encodes it
    ],
)
def test_an_address_that_needs_more_than_one_plain_line_is_built(gesprekken, to):
    tafel, _online = gesprekken
    aanmelding = AanmeldingFactory(gesprek=tafel, email=to)
    bericht = reminder_for(aanmelding)
    bericht.to = to
    bericht.save()

    (loaded_bericht,) = loaded([bericht])
    merged = emails.Batch().render(loaded_bericht)

    assert not written_as_built(merged)
    assert fields(merged) == fields(emails.render(loaded_bericht))


def test_a_name_holding_the_boundary_is_built(gesprekken):
    """Hostile, and only possible by knowing the batch's random boundary: the mail is
    built, with a boundary of its own, rather than broken open."""
    tafel, _online = gesprekken
    batch = emails.Batch()
    before = [reminder_for(AanmeldingFactory(gesprek=tafel, language="nl")) for _ in range(2)]
    assert [written_as_built(batch.render(b)) for b in loaded(before)] == [False, True]
    (merged_mail,) = batch._merged.values()
    boundary = merged_mail.frozen.boundary.decode()
    second = reminder_for(AanmeldingFactory(gesprek=tafel, language="nl", name=boundary))

    (loaded_second,) = loaded([second])
    mail = batch.render(loaded_second)

    assert not written_as_built(mail)
    assert boundary in mail.body
    assert fields(mail) == fields(emails.render(loaded_second))


def test_a_written_mail_still_answers_as_a_message(gesprekken):
    tafel, _online = gesprekken
    first, bericht = (reminder_for(AanmeldingFactory(gesprek=tafel, language="nl")) for _ in "12")
    batch = emails.Batch()
    _first, mail = (batch.render(b) for b in loaded([first, bericht]))

    message = mail.message()

    assert mail.written is not None
    assert message["X-Buurtgesprek-Bericht"] == str(bericht.pk)
    assert "Message-ID" in message
    assert message.get("To") == bericht.to
    # Other line ends (the file and console backends): the message Django builds.
    built = message.as_bytes()
    written = message.as_bytes(linesep="\r\n").replace(b"\r\n", b"\n")
    assert same_boundaries(written, built) == built


def test_a_mail_is_written_ahead_from_the_second_of_its_gesprek_and_language(gesprekken):
    tafel, online = gesprekken
    berichten = [
        reminder_for(AanmeldingFactory(gesprek=gesprek, language=language))
        for gesprek, language in [
            (tafel, "nl"),
            (tafel, "en"),
            (tafel, "nl"),
            (online, "nl"),
            (tafel, "nl"),
            (tafel, "en"),
        ]
    ]

    batch = emails.Batch()
    written = [written_as_built(batch.render(bericht)) for bericht in loaded(berichten)]

    assert written == [False, False, True, False, True, True]


def test_a_batch_that_knows_its_rows_writes_ahead_from_the_first_of_several(gesprekken):
    tafel, online = gesprekken
    berichten = loaded(
        [
            reminder_for(AanmeldingFactory(gesprek=gesprek, language=language, name=name))
            for gesprek, language, name in [
                (tafel, "nl", NAMES[1]),
                (tafel, "en", NAMES[3]),
                (tafel, "nl", NAMES[2]),
                (online, "nl", NAMES[0]),
                (tafel, "nl", NAMES[6]),  # a line break: built, whoever comes first
                (online, "en", NAMES[5]),
                (online, "en", NAMES[4]),
            ]
        ]
    )

    batch = emails.Batch(berichten)
    mails = [batch.render(bericht) for bericht in berichten]

    # The first of tafel/nl and of online/en too; tafel/en and online/nl are alone.
    assert [written_as_built(mail) for mail in mails] == [
        True,
        False,
        True,
        False,
        False,
        True,
        True,
    ]
    for mail, bericht in zip(mails, berichten, strict=True):
        assert fields(mail) == fields(emails.render(bericht))


def test_a_written_message_can_be_copied(gesprekken):
    tafel, _online = gesprekken
    berichten = [reminder_for(AanmeldingFactory(gesprek=tafel, language="nl")) for _ in "12"]
    batch = emails.Batch()
    _first, mail = (batch.render(b) for b in loaded(berichten))

    message = copy.copy(mail.message())

    assert message.as_bytes(linesep="\r\n") == mail.written
