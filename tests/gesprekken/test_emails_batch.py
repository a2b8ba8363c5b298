"""emails.Batch: a reminder rendered once per gesprek and filled in per person is the mail
render() gives that person, to the byte, and never carries someone else's name or link."""

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
# Typed by a facilitator: markup, quotes, and text shaped like the batch's own markers.
HOSTILE = "<b>Plein</b> & \"hoek\" 'x' \ue000deadbeefdeadbeef:name&\ue001 {{ name }} \\1"
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
    return (
        message.subject,
        message.body,
        message.alternatives,
        message.to,
        message.from_email,
        message.extra_headers,
        message.attachments,
    )


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
    for bericht in loaded(berichten):
        merged = batch.render(bericht)
        alone = emails.render(bericht)
        assert fields(merged) == fields(alone), bericht.aanmelding.name
        assert emails._NONCE not in merged.body + merged.alternatives[0].content


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
