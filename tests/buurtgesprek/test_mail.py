"""The SMTP backend works out the envelope's addresses as Django's does, for less."""

import hashlib
import inspect
import os
import re
import smtplib
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address
from django.utils.functional import lazy
from hypothesis import given
from hypothesis import strategies as st

from buurtgesprek import mail
from buurtgesprek.mail import envelope_address

# sha256 of django.core.mail.backends.smtp.EmailBackend._send's source in Django 5.2.19.
DJANGOS_SEND = "0a3f2774a3b9669a81b6bfc2deb6d75a25f1fc15eccdf81149cf61a06dc13e16"

HOSTILE = [
    "",
    "a",
    "@",
    "a@",
    "@b.nl",
    "bewoner@example.nl",
    "Bewoner@Example.NL",
    "o'brien+buurt@example.nl",
    "a.b.c@sub.example.nl",
    "a..b@example.nl",
    ".a@example.nl",
    "a.@example.nl",
    "a@b..nl",
    "a@.nl",
    "a@b.nl.",
    "a@-b-.nl",
    "a@" + "x" * 63 + ".nl",
    "a@" + "x" * 64 + ".nl",
    "a@nl." + "x" * 64,
    "é@example.nl",
    "a@bücher.de",
    "a@xn--bcher-kva.de",
    '"a b"@example.nl',
    '"a"@example.nl',
    "a b@example.nl",
    "a@b@c.nl",
    "Naam <a@example.nl>",
    '"Naam, Achternaam" <a@example.nl>',
    "Zoë <a@bücher.de>",
    "a@example.nl\r\nBcc: b@example.nl",
    "a@example.nl\n",
    " a@example.nl",
    "a@example.nl ",
    "a@[127.0.0.1]",
    "a(comment)@example.nl",
    "<a@example.nl>",
    "a@example.nl, b@example.nl",
    "a\x00@example.nl",
    "a@exa_mple.nl",
    # RFC 2047 encoded words, which the parser decodes (and Django then refuses or quotes).
    "=?utf-8?q?abc?=@example.nl",
    "=?utf-8?q?victim=40other.org?=@example.nl",
    "=?utf-8?q?a=0Ab?=@example.nl",
    "=?iso-8859-1?q?j=E9r=F4me?=@example.nl",
    "a.=?utf-8?q?b?=@example.nl",
    "=?utf-8?b?YWJj?=@example.nl",
]


def _same(address, encoding="utf-8"):
    """envelope_address and sanitize_address agree: the same text, or both refuse (with
    the same error: for '"' Django's is an IndexError)."""
    try:
        expected = sanitize_address(address, encoding)
    except Exception as error:
        with pytest.raises(type(error)):
            envelope_address(address, encoding)
        return
    assert envelope_address(address, encoding) == expected
    # Asked again (the sender's answer is kept): the same.
    assert envelope_address(address, encoding) == expected


@pytest.mark.parametrize("address", HOSTILE)
def test_hostile_and_odd_addresses_get_what_django_gives_them(address):
    _same(address)


@pytest.mark.parametrize("encoding", ["utf-8", "iso-8859-1"])
def test_display_names_and_tuples_are_djangos_in_either_encoding(encoding):
    for address in (
        "Buurtgesprek <noreply@buurtgesprek.nl>",
        "Zoë Buurman <zoe@example.nl>",
        ("Zoë Buurman", "zoe@example.nl"),
        ("", "plain@example.nl"),
        ("Naam", "geen-apenstaartje"),
    ):
        _same(address, encoding)


def test_an_encoding_given_as_a_charset_is_djangos():
    from email.charset import Charset

    for address in ("Buurtgesprek <noreply@buurtgesprek.nl>", "plain@example.nl"):
        assert envelope_address(address, Charset("utf-8")) == sanitize_address(
            address, Charset("utf-8")
        )


def test_djangos_send_is_still_the_one_the_backend_follows():
    """EmailBackend._send is Django 5.2's with other address handling: when an upgrade
    changes Django's, this fails, so that ours is read against it again."""
    source = inspect.getsource(smtp.EmailBackend._send)
    assert hashlib.sha256(source.encode()).hexdigest() == DJANGOS_SEND


def test_a_lazy_address_is_djangos():
    _same(lazy(lambda: "Buurtgesprek <noreply@buurtgesprek.nl>", str)())
    _same(lazy(lambda: "plain@example.nl", str)())


@given(st.from_regex(mail._PLAIN_ADDRESS, fullmatch=True))
def test_every_address_the_short_cut_takes_is_what_django_makes_of_it(address):
    assert envelope_address(address, "utf-8") == address
    assert sanitize_address(address, "utf-8") == address


@given(
    st.lists(
        st.sampled_from(
            list("aZ09.@-_+'\"<> ,()[]\\\r\néü\x00\t=?")
            + ["xn--", "x" * 63, "=?utf-8?q?", "=?utf-8?b?", "?=", "=40", "=0A", "YWJj"]
        ),
        max_size=30,
    ).map("".join)
)
def test_any_text_gets_what_django_gives_it(address):
    _same(address)


@given(
    st.sampled_from(["", "a.", "a"]),
    st.sampled_from(["utf-8", "iso-8859-1", "us-ascii", "x"]),
    st.sampled_from("qQbB"),
    st.text(alphabet="abAB09=_.-+/", max_size=12),
    st.sampled_from(["", ".b", "b"]),
)
def test_an_encoded_word_in_the_local_part_gets_what_django_gives_it(
    head, charset, encoding, text, tail
):
    _same(f"{head}=?{charset}?{encoding}?{text}?={tail}@example.nl")


class Recording:
    """An smtplib connection that records what would be sent, or fails as told."""

    def __init__(self, error=None):
        self.sent = []
        self.error = error

    def sendmail(self, from_addr, to_addrs, msg):
        if self.error:
            raise self.error
        self.sent.append((from_addr, to_addrs, msg))


def _sent_by(backend_class, message, **options):
    backend = backend_class(**options)
    backend.connection = Recording(options.pop("error", None))
    answer = backend._send(message)
    # Each message() draws its own multipart boundary.
    return answer, [
        (sender, recipients, re.sub(rb"={15}\d+==", b"=BOUNDARY=", data))
        for sender, recipients, data in backend.connection.sent
    ]


def _messages():
    plain = EmailMessage("Onderwerp", "Tekst", "noreply@buurtgesprek.nl", ["a@example.nl"])
    named = EmailMultiAlternatives(
        "Herinnering",
        "Tekst",
        "Buurtgesprek <noreply@buurtgesprek.nl>",
        ["Zoë <zoe@bücher.de>", "b@example.nl"],
        cc=["c@example.nl"],
        bcc=["Naam <bcc@example.nl>"],
        headers={"Message-ID": "<1@buurtgesprek.nl>", "Date": "Sun, 29 Nov 2026 09:00:00 +0100"},
    )
    named.attach_alternative("<p>Tekst</p>", "text/html")
    latin = EmailMessage("Onderwerp", "Tekst", "Zoë <noreply@buurtgesprek.nl>", ["a@example.nl"])
    latin.encoding = "iso-8859-1"
    for message in (plain, latin):
        message.extra_headers.update(
            {"Message-ID": "<2@buurtgesprek.nl>", "Date": "Sun, 29 Nov 2026 09:00:00 +0100"}
        )
    return [plain, named, latin]


@pytest.mark.parametrize("index", range(3))
def test_the_backend_sends_what_djangos_sends(index):
    ours = _sent_by(mail.EmailBackend, _messages()[index])
    djangos = _sent_by(smtp.EmailBackend, _messages()[index])
    assert ours == djangos
    assert ours[0] is True and len(ours[1]) == 1


def test_no_recipients_sends_nothing():
    message = EmailMessage("Onderwerp", "Tekst", "noreply@buurtgesprek.nl", [])
    assert _sent_by(mail.EmailBackend, message) == (False, [])


def test_a_hostile_recipient_is_refused_as_django_refuses_it():
    message = EmailMessage("O", "T", "noreply@buurtgesprek.nl", ["a@example.nl\r\nBcc: x@y.nl"])
    with pytest.raises(ValueError):
        _sent_by(mail.EmailBackend, message)
    with pytest.raises(ValueError):
        _sent_by(smtp.EmailBackend, message)


def test_a_refusal_by_the_server_is_raised_or_swallowed_as_asked():
    error = smtplib.SMTPRecipientsRefused({"a@example.nl": (550, b"no")})
    message = _messages()[0]
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _sent_by(mail.EmailBackend, message, error=error)
    assert _sent_by(mail.EmailBackend, message, error=error, fail_silently=True) == (False, [])


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("smtp://127.0.0.1:2525", "buurtgesprek.mail.EmailBackend"),
        ("smtp+tls://u:p@mail.example.nl:587", "buurtgesprek.mail.EmailBackend"),
        ("consolemail://", "django.core.mail.backends.console.EmailBackend"),
        ("", "django.core.mail.backends.filebased.EmailBackend"),
    ],
)
def test_an_smtp_email_url_gets_this_backend(url, backend):
    code = (
        "import django; django.setup(); "
        "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    )
    env = {**os.environ, "EMAIL_URL": url, "DJANGO_SETTINGS_MODULE": "buurtgesprek.settings"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == backend
