"""Django's SMTP backend with the envelope's addresses worked out for less.

For every mail Django's backend parses the sender and each recipient again with the
email package's header parser (`sanitize_address`): some 60 µs for a sender with a display
name and 45 µs for a plain recipient, a tenth of a worker's CPU per reminder
(`python -m bench reminders`, docs/performance.md). Here the sender, the same for every
mail, is parsed once per process, and a recipient that is a plain address — dot-atom
local part, ASCII domain of LDH labels, nothing to encode nor quote, no "=?" that could
open an encoded word — is what `sanitize_address` would make of it, as it stands.
Anything else goes through `sanitize_address` as before. tests/buurtgesprek/test_mail.py
holds the two to the same answer (and the same refusal) for generated and hostile
addresses, and fails when Django's own `_send`, which EmailBackend._send follows, changes.
"""

import functools
import re
import smtplib

from django.conf import settings
from django.core.mail.backends import smtp
from django.core.mail.message import sanitize_address

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
# What sanitize_address() returns unchanged: an ASCII dot-atom, '@', labels of 1 to 63 LDH
# characters (what the idna codec passes through as they are).
_PLAIN_ADDRESS = re.compile(
    rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]{{1,63}}(?:\.[A-Za-z0-9-]{{1,63}})*"
)


@functools.lru_cache(maxsize=64)
def _sanitized(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


def envelope_address(address, encoding) -> str:
    """sanitize_address(address, encoding), for less where it can be had for less.

    Not the short cut: anything holding "=?", which the parser may decode as an RFC 2047
    encoded word ("=?utf-8?q?a=40b?=@x.nl" is "a@b"@x.nl to it). Not kept: answers for
    an encoding that is not a plain name (an email.charset.Charset cannot be a key)."""
    if type(address) is str and type(encoding) is str:
        if "=?" not in address and _PLAIN_ADDRESS.fullmatch(address):
            return address
        return _sanitized(address, encoding)
    return sanitize_address(address, encoding)


class EmailBackend(smtp.EmailBackend):
    """django.core.mail.backends.smtp.EmailBackend with envelope_address()."""

    def _send(self, email_message):
        # Django 5.2's _send, but for the addresses (test_mail.py pins Django's source).
        recipients = email_message.recipients()
        if not recipients:
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = envelope_address(email_message.from_email, encoding)
        recipients = [envelope_address(address, encoding) for address in recipients]
        message = email_message.message()
        try:
            self.connection.sendmail(from_email, recipients, message.as_bytes(linesep="\r\n"))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True
