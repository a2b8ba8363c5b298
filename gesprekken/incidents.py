"""Incidents at gesprekken and the block list per gemeente.

A facilitator records an incident at a gesprek they lead (category and a short factual
text, no diagnosis); the coordinators of that gemeente see and resolve it and can block an
e-mail address from signing up in their gemeente for a while. The block list keeps no
addresses: a keyed hash to compare with, and a masked hint to recognise the entry by.
"""

import hashlib
import hmac
from datetime import date

from django.conf import settings

from .models import Blokkade


def email_digest(email: str) -> str:
    """A keyed SHA-256 of the normalised address: comparable, not readable."""
    key = hashlib.sha256(f"blokkade:{settings.SECRET_KEY}".encode()).digest()
    normalised = email.strip().lower().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()


def email_hint(email: str) -> str:
    """j…@example.nl: enough for a coordinator to recognise an entry, not to mail it."""
    local, _at, domain = email.strip().lower().rpartition("@")
    return f"{local[:1]}…@{domain}"[:100]


def is_blocked(*, buurt_id: int, email: str, today: date) -> bool:
    """Is this address blocked, today, in the gemeente of this buurt? One query."""
    return Blokkade.objects.filter(
        gemeente__buurten=buurt_id, email_digest=email_digest(email), expires_on__gte=today
    ).exists()
