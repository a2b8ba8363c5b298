"""gesprekken.mime.Mail writes the bytes Django's own EmailMultiAlternatives writes.

Its header policy takes a short cut for short printable-ASCII headers and its boundaries
are drawn before flattening; neither may change what a mail client receives. Date,
Message-ID and the random boundaries differ per call and are normalised before comparing.
"""

import re
from email import message_from_bytes
from email.policy import compat32

import pytest
from django.core.mail import EmailMultiAlternatives
from hypothesis import given, settings
from hypothesis import strategies as st

from gesprekken import emails, mime
from gesprekken.models import Bericht
from tests.gesprekken.factories import GesprekFactory, ThemaFactory
from tests.gesprekken.test_emails_content import CASES, bericht_for

pytestmark = pytest.mark.django_db

HEADER_NAMES = ["Subject", "To", "From", "X-Buurtgesprek-Bericht", "Content-Type"]


def normalised(raw: bytes) -> bytes:
    raw = re.sub(rb"(?m)^(Date|Message-ID): .*$", rb"\1: -", raw)
    for number, boundary in enumerate(dict.fromkeys(re.findall(rb'boundary="([^"]+)"', raw))):
        raw = raw.replace(boundary, b"BOUNDARY-%d" % number)
    return raw


def as_django_would(mail: mime.Mail) -> bytes:
    plain = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body,
        from_email=mail.from_email,
        to=mail.to,
        headers=mail.extra_headers,
        alternatives=mail.alternatives,
        attachments=mail.attachments,
    )
    return plain.message().as_bytes(linesep="\r\n")


def ours(mail: mime.Mail) -> bytes:
    return mail.message().as_bytes(linesep="\r\n")


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize(
    ("kind", "status"), [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_every_kind_of_mail_flattens_to_djangos_bytes(kind, status, language):
    gesprek = GesprekFactory(thema=ThemaFactory(name="Wonen & zorg"), place="Buurthuis 'De Linde'")
    bericht = bericht_for(kind, language, gesprek, **({"status": status} if status else {}))
    mail = emails.render(bericht)

    assert isinstance(mail, mime.Mail)
    assert normalised(ours(mail)) == normalised(as_django_would(mail))


@pytest.mark.parametrize(
    ("subject", "to"),
    [
        # Non-ASCII: encoded words; long: folded over lines; both through compat32.
        ("Bevestig je e-mailadres — één klik, Zoë", "anna@example.org"),
        ("Reset " + "lang " * 40 + "einde", "anna@example.org"),
        ("Plain short subject", "anna@bücher.example"),
        ("Tabs\tand  double  spaces ", "anna@example.org"),
    ],
)
def test_unusual_headers_flatten_to_djangos_bytes(subject, to):
    bericht = Bericht(
        pk=7,
        kind=emails.ALLAUTH_KIND,
        to=to,
        language="nl",
        context={"subject": subject, "body": "Tekst\n", "html": "<p>Tekst</p>"},
    )
    mail = emails.render(bericht)

    assert normalised(ours(mail)) == normalised(as_django_would(mail))
    parsed = message_from_bytes(ours(mail))
    assert parsed["X-Buurtgesprek-Bericht"] == "7"
    assert parsed.is_multipart()


@settings(max_examples=2000, deadline=None)
@given(
    name=st.sampled_from(HEADER_NAMES),
    value=st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=90)
    | st.text(alphabet=" \t=?:;\"'<>,abcXYZ", max_size=90)
    | st.text(max_size=40),
)
def test_a_header_folds_as_compat32_folds_it(name, value):
    """Control characters (line breaks of any kind), non-ASCII and long values take
    compat32's path; what compat32 refuses is refused alike."""

    def fold(policy):
        try:
            return policy.clone(linesep="\r\n").fold_binary(name, value)
        except Exception as error:  # compared below, not swallowed
            return type(error)

    assert fold(mime.POLICY) == fold(compat32)


def test_a_boundary_that_occurs_in_the_text_is_not_used(monkeypatch):
    taken = mime._BOUNDARY % 1
    draws = iter([1, 1, 2])
    monkeypatch.setattr(mime.random, "randrange", lambda _stop: next(draws))
    mail = mime.Mail(subject="S", body=f"Look: {taken}\n", to=["a@example.org"])
    mail.attach_alternative("<p>Hallo</p>", "text/html")

    raw = ours(mail)

    assert f'boundary="{mime._BOUNDARY % 2}"'.encode() in raw
    assert raw.count(taken.encode()) == 1  # only in the text
    assert next(draws, None) is None
