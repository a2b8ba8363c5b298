"""Outbox mails flattened to bytes: the bytes Django's own message gives, for less work.

Django builds a message on the email package's `compat32` policy. Writing it out, that
policy sends every header, however short and plain, through `email.header.Header` (some
15 µs a header, about 19 a mail), and the generator picks each multipart boundary by
compiling a regular expression for it and running it over the parts. For the reminders
of a busy evening that was a quarter of a worker's time per mail.

`Mail` is Django's `EmailMultiAlternatives` whose message carries `POLICY`: compat32, except
that a header of printable ASCII short enough for one line is written as it stands (which is
what `Header` makes of it too); anything else goes the compat32 way. Its boundaries are
drawn up front in the generator's own format and checked against the parts' text.
tests/gesprekken/test_mime.py compares the bytes with Django's for every kind of mail.

A `Mail` may also carry its bytes written ahead (`Mail.written`: emails.Batch writes a
reminder's from a copy made once per gesprek and language); its message() is then a
`Written`, which hands those bytes to the SMTP backend and builds the message only when
asked for anything else.
"""

import random
import sys
from email.message import Message
from email.policy import Compat32

from django.core.mail import EmailMultiAlternatives

# The generator's format: 15 '=', a random number as wide as sys.maxsize, '=='.
_BOUNDARY = "=" * 15 + "%0" + str(len(repr(sys.maxsize - 1))) + "d=="


class HeaderPolicy(Compat32):
    """compat32 with a short cut for headers that need no folding nor encoding."""

    def fold_binary(self, name: str, value) -> bytes:
        if (
            isinstance(value, str)
            and value.isascii()
            and value.isprintable()  # no control characters: no line breaks of any kind
            and len(name) + 2 + len(value) <= (self.max_line_length or 78)
        ):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


POLICY = HeaderPolicy()


def _boundary(part: Message) -> str:
    """A boundary for the multipart `part` that none of its parts' text contains."""
    texts = [
        leaf.get_payload()
        for leaf in part.walk()
        if not leaf.is_multipart() and isinstance(leaf.get_payload(), str)
    ]
    while True:
        boundary = _BOUNDARY % random.randrange(sys.maxsize)
        if not any(boundary in text for text in texts):
            return boundary


class Mail(EmailMultiAlternatives):
    """An e-mail with alternatives whose message is flattened the cheaper way.

    `written`, when set, holds the bytes this mail's message flattens to with CRLF line
    ends (what Django's SMTP backend sends), written ahead by whoever built the mail
    (emails.Batch); message() then hands those out instead of building the message. The
    Date and Message-ID must then be among the mail's headers, so both agree.
    """

    written: bytes | None = None

    def message(self):
        if self.written is not None:
            return Written(self, self.written)
        return self.built_message()

    def built_message(self):
        """The message as Django builds it, with this module's policy and boundaries."""
        message = super().message()
        message.policy = POLICY
        for part in message.walk():
            if part.is_multipart() and part.get_boundary() is None:
                part.set_boundary(_boundary(part))
        return message


class Written:
    """Mail.message() for a mail written ahead: its bytes with CRLF line ends as they are;
    anything else is asked of the message Django builds (Mail.built_message)."""

    def __init__(self, mail: Mail, data: bytes):
        self._mail = mail
        self._data = data
        self._built = None

    def _message(self):
        if self._built is None:
            self._built = self._mail.built_message()
        return self._built

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if linesep == "\r\n" and not unixfrom:
            return self._data
        return self._message().as_bytes(unixfrom=unixfrom, linesep=linesep)

    def __getattr__(self, name):
        if name.startswith("_"):  # not set yet (a copy being made): not the message's
            raise AttributeError(name)
        return getattr(self._message(), name)

    def __getitem__(self, name):
        return self._message()[name]

    def __contains__(self, name) -> bool:
        return name in self._message()
