"""Render a Bericht into an e-mail in the person's language.

Templates: templates/emails/<kind>/subject.txt, body.txt and body.html. Every date and
time is shown in Europe/Amsterdam. Links are absolute (settings.SITE_URL) and built from
the URL names of gesprekken/urls.py. What a resident typed (their name) only ever goes
into the body; a subject is collapsed to one line, so no header can be injected.

For "gewijzigd", `Bericht.context["previous"]` may hold the values before the change
(`starts_at` as ISO 8601, `place`, `format`), as services.change_gesprek writes them.
"""

import io
import re
import secrets
from collections import Counter
from collections.abc import Collection
from datetime import datetime, timedelta
from email.mime.image import MIMEImage
from email.utils import formatdate, make_msgid

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail.utils import DNS_NAME
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.html import conditional_escape

from . import effect, ics, lists
from .mime import POLICY, Mail
from .models import Aanmelding, Bericht, Gesprek, Verslag
from .queries import waiting_list_position

KINDS = (
    "bevestig_email",
    "bevestigd",
    "wachtlijst",
    "reserve",
    "plek_aangeboden",
    "herinnering",
    "gewijzigd",
    "afgelast",
    "bedankt",
    "interesse_bevestigen",
    "uitnodiging",
    "beheerlink",
)
# Kinds written to a facilitator, not to a resident: Bericht.context["user_id"] names
# them, there is no aanmelding (see staff_context).
STAFF_KINDS = ("verslag_herinnering", "digest")
# allauth's own mails (verification, password reset), rendered by the account adapter
# (buurtgesprek.adapters) and stored whole in Bericht.context: subject, body and html.
ALLAUTH_KIND = "allauth"
# Kinds that carry the calendar file, and which version of it.
CALENDAR_KINDS = {"bevestigd", "gewijzigd", "afgelast"}
# Kinds that repeat the conversation agreements (Gespreksafspraak).
AGREEMENT_KINDS = {"herinnering"}
# Kinds that may show the video link of an online gesprek (to confirmed seats only).
VIDEO_KINDS = {"bevestigd", "herinnering", "gewijzigd"}
# The links in a resident's mail that carry their registration's token.
PERSONAL_LINKS = {
    "manage_url": "gesprekken:manage",
    "confirm_url": "gesprekken:confirm",
    "claim_url": "gesprekken:claim",
    "ics_url": "gesprekken:ics",
}
# Kinds the beat sends to every seat of a gesprek at once. In one batch of the outbox
# (Batch) such a mail is rendered once per gesprek, language and state of the seat, with
# markers where each person's own text goes (MERGE_FIELDS), then filled in per person.
# A kind joins only with its cases in tests/gesprekken/test_emails_batch.py, which hold
# the filled-in mail to what render() gives; it must carry no calendar file nor QR image.
MERGED_KINDS = {"herinnering"}
MERGE_FIELDS = ("name", *PERSONAL_LINKS)


def absolute_url(name: str, *args) -> str:
    """An absolute link to a named URL, for use outside a request."""
    return settings.SITE_URL + reverse(name, args=args)


def one_line(text: str) -> str:
    """Collapse whitespace, CR and LF included: safe to put in a header."""
    return " ".join(text.split())


def local(value: datetime) -> datetime:
    return timezone.localtime(value, ics.AMSTERDAM)


def format_date(value: datetime) -> str:
    """'zaterdag 28 november 2026' / 'Saturday 28 November 2026' in the active language."""
    return formats.date_format(local(value), "l j F Y")


def format_time(value: datetime) -> str:
    return formats.time_format(local(value), "H:i")


def format_moment(value: datetime) -> str:
    """'zaterdag 28 november, 20:30': a deadline close to now."""
    return f"{formats.date_format(local(value), 'l j F')}, {format_time(value)}"


def _language(bericht: Bericht) -> str:
    known = {code for code, _ in settings.LANGUAGES}
    return bericht.language if bericht.language in known else settings.LANGUAGE_CODE


def _gesprek_of(bericht: Bericht) -> Gesprek | None:
    if bericht.gesprek_id:
        return bericht.gesprek
    if bericht.aanmelding_id:
        return bericht.aanmelding.gesprek
    if bericht.interesse_id and bericht.interesse.invited_to_id:
        return bericht.interesse.invited_to
    return None


def _personal_link(field: str, aanmelding: Aanmelding) -> str:
    return absolute_url(PERSONAL_LINKS[field], aanmelding.pk, aanmelding.token)


# What secrets.token_urlsafe writes, which reverse() puts in a path as it is.
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class _Links:
    """Personal links as _personal_link() writes them, with one reverse() per URL name
    instead of one per person: the name is reversed once with stand-ins for the pk and
    token, and each person's pk and token take their place. A token reverse() could
    write otherwise (not token_urlsafe's alphabet) goes through reverse() itself."""

    _STAND_IN = "/918273645/StandInForTheToken/"

    def __init__(self):
        self._around: dict[str, tuple[str, str] | None] = {}

    def url(self, field: str, aanmelding: Aanmelding) -> str:
        name = PERSONAL_LINKS[field]
        if name not in self._around:
            pk, token = self._STAND_IN.strip("/").split("/")
            head, found, tail = absolute_url(name, int(pk), token).partition(self._STAND_IN)
            self._around[name] = (head, tail) if found and self._STAND_IN not in tail else None
        around = self._around[name]
        if around is None or not _PLAIN_TOKEN.fullmatch(aanmelding.token):
            return _personal_link(field, aanmelding)
        return f"{around[0]}/{int(aanmelding.pk)}/{aanmelding.token}/{around[1]}"


def context_for(bericht: Bericht, links: "_Links | None" = None) -> dict:
    """Everything the templates of `bericht.kind` may use (call inside the language);
    the personal links through `links` when given (a batch's)."""
    aanmelding = bericht.aanmelding
    interesse = bericht.interesse
    gesprek = _gesprek_of(bericht)
    extra = bericht.context or {}
    context = {
        "bericht": bericht,
        "site_url": settings.SITE_URL,
        "aanmelding": aanmelding,
        "interesse": interesse,
        "gesprek": gesprek,
        "name": aanmelding.name if aanmelding else "",
        "buurt": gesprek.buurt if gesprek else (interesse.buurt if interesse else None),
    }
    if context["buurt"]:
        context["buurt_url"] = absolute_url("buurt", context["buurt"].code)
    if gesprek:
        context.update(
            date=format_date(gesprek.starts_at),
            start_time=format_time(gesprek.starts_at),
            end_time=format_time(gesprek.ends_at),
            format=gesprek.get_format_display(),
            is_online=gesprek.format == Gesprek.Format.ONLINE,
            detail_url=absolute_url("gesprekken:detail", gesprek.pk),
            video_url=(
                gesprek.video_url
                if bericht.kind in VIDEO_KINDS
                and gesprek.format == Gesprek.Format.ONLINE
                and aanmelding is not None
                and aanmelding.status in ics.CONFIRMED_STATUSES
                else ""
            ),
        )
    if aanmelding:
        context.update(
            {
                field: links.url(field, aanmelding) if links else _personal_link(field, aanmelding)
                for field in PERSONAL_LINKS
            },
            on_waiting_list=aanmelding.status == Aanmelding.Status.WACHTLIJST,
            waitlist_position=waiting_list_position(aanmelding),
            hold_until=format_moment(aanmelding.hold_expires_at)
            if aanmelding.hold_expires_at
            else "",
            offer_until=format_moment(aanmelding.offer_expires_at)
            if aanmelding.offer_expires_at
            else "",
        )
    if bericht.kind in ("reserve", "plek_aangeboden") and gesprek:
        # Why someone is a reserve ("sector", "stance" or "both"; never their answers),
        # and why a reserve is offered a seat now ("mix", or "release" near the start).
        context["reserve_reason"] = extra.get("reason", "")
        context["reserve_promoted"] = extra.get("reserve_promoted", "")
        release = gesprek.starts_at - timedelta(hours=settings.GESPREKKEN_RESERVE_RELEASE_HOURS)
        context["release_moment"] = format_moment(release)
    if bericht.kind in AGREEMENT_KINDS:
        # Rendered inside the person's language: `label` follows it.
        context["agreements"] = lists.active_agreements()
    if aanmelding and gesprek and bericht.kind in ("bevestigd", "bedankt"):
        # The anonymous effect survey (before / after), while it is open: `effect_url`.
        context.update(
            effect.mail_links(
                bericht.kind, aanmelding, gesprek, site_url=settings.SITE_URL, now=timezone.now()
            )
        )
    if interesse:
        context["interest_confirm_url"] = absolute_url(
            "gesprekken:interest_confirm", interesse.pk, interesse.token
        )
    previous = extra.get("previous") or {}
    previous_start = parse_datetime(previous.get("starts_at") or "")
    if previous_start:
        context["previous_date"] = format_date(previous_start)
        context["previous_time"] = format_time(previous_start)
    context["previous_place"] = previous.get("place") or ""
    if previous.get("format") in Gesprek.Format.values:
        context["previous_format"] = Gesprek.Format(previous["format"]).label
    return context


def reason_not_to_send(bericht: Bericht, now: datetime) -> str:
    """Why a time-bound mail no longer makes sense (empty when it does).

    A mail normally leaves seconds after it was queued, but one that waited for a retry or
    for Redis to come back may be overtaken by events: no reminder for a gesprek that was
    called off or has started, no offer of a seat that has passed on.
    """
    aanmelding = bericht.aanmelding
    gesprek = _gesprek_of(bericht)
    open_gesprek = gesprek and gesprek.status == Gesprek.Status.GEPLAND and gesprek.starts_at > now
    if bericht.kind == "herinnering" and aanmelding and gesprek:
        if not open_gesprek:
            return "the gesprek is no longer coming up"
        if aanmelding.status != Aanmelding.Status.BEVESTIGD:
            return "the seat is no longer confirmed"
    if bericht.kind == "plek_aangeboden" and aanmelding:
        expires = aanmelding.offer_expires_at
        if aanmelding.status != Aanmelding.Status.AANGEBODEN or (expires and expires <= now):
            return "the offer is no longer open"
    if bericht.kind == "reserve" and aanmelding and aanmelding.status != Aanmelding.Status.RESERVE:
        return "no longer a reserve"
    if bericht.kind == "uitnodiging" and gesprek and not open_gesprek:
        return "the gesprek is no longer open for sign-up"
    if bericht.kind == "verslag_herinnering" and gesprek:
        if gesprek.status not in (Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN):
            return "the gesprek did not take place"
        if Verslag.objects.filter(gesprek=gesprek).exists():
            return "the report has been written"
    return ""


def _calendar_part(bericht: Bericht, gesprek: Gesprek | None):
    aanmelding = bericht.aanmelding
    if bericht.kind not in CALENDAR_KINDS or gesprek is None or aanmelding is None:
        return None
    if bericht.kind == "bevestigd":
        return ics.attachment_for(gesprek, aanmelding=aanmelding, cancel=False)
    if bericht.kind == "gewijzigd":
        # Only people who have the entry in their calendar get the replacement.
        if aanmelding.status in ics.CONFIRMED_STATUSES:
            return ics.attachment_for(gesprek, aanmelding=aanmelding, cancel=False)
        return None
    # afgelast: remove the entry of everyone who was sent one.
    if aanmelding.confirmed_at:
        return ics.attachment_for(gesprek, aanmelding=aanmelding, cancel=True)
    return None


def _checkin_qr_part(bericht: Bericht, gesprek: Gesprek | None) -> MIMEImage | None:
    """The resident's check-in code as a QR image, for the "bevestigd" mail of a gesprek
    that people come to in person. The QR holds only the short code: scanned or read off,
    the facilitator types it on the check-in page; it opens nothing by itself."""
    aanmelding = bericht.aanmelding
    if bericht.kind != "bevestigd" or aanmelding is None or gesprek is None:
        return None
    if gesprek.format == Gesprek.Format.ONLINE:
        return None
    buffer = io.BytesIO()
    segno.make(aanmelding.short_code, error="m", micro=False).save(
        buffer, kind="png", scale=8, border=4
    )
    part = MIMEImage(buffer.getvalue(), "png")
    # Shown in the HTML body (cid:), and as an attachment where a client does not.
    part.add_header("Content-ID", f"<checkin-{aanmelding.pk}@buurtgesprek>")
    part.add_header("Content-Disposition", "inline", filename="buurtgesprek-code.png")
    return part


def staff_context(bericht: Bericht) -> dict:
    """The extra context of a mail to a facilitator: their first name and the links.

    `Bericht.context` holds `user_id`; a digest also `since`/`until` (ISO 8601) and
    `gesprekken`: [{"id", "new", "cancelled"}], counts only, never residents' details.
    """
    extra = bericht.context or {}
    user = get_user_model().objects.filter(pk=extra.get("user_id")).first()
    context = {
        "name": user.first_name if user else "",
        "workspace_url": absolute_url("werkruimte:home"),
    }
    gesprek = bericht.gesprek
    if gesprek is not None:
        context["report_url"] = absolute_url("uitvoering:report", gesprek.pk)
    if bericht.kind == "verslag_herinnering":
        context["last_reminder"] = extra.get("days", 0) >= 7
    if bericht.kind == "digest":
        since = parse_datetime(extra.get("since") or "")
        context["since"] = format_moment(since) if since else ""
        rows = {row["id"]: row for row in extra.get("gesprekken", [])}
        found = (
            Gesprek.objects.filter(pk__in=rows)
            .select_related("buurt")
            .annotate(
                seats_taken=Count(
                    "aanmeldingen",
                    filter=Q(aanmeldingen__status__in=Aanmelding.SEAT_STATUSES),
                ),
                waiting=Count(
                    "aanmeldingen", filter=Q(aanmeldingen__status=Aanmelding.Status.WACHTLIJST)
                ),
            )
            .order_by("starts_at", "pk")
        )
        context["digest"] = [
            {
                "gesprek": one,
                "date": format_date(one.starts_at),
                "start_time": format_time(one.starts_at),
                "new": rows[one.pk].get("new", 0),
                "cancelled": rows[one.pk].get("cancelled", 0),
                "url": absolute_url("werkruimte:gesprek", one.pk),
            }
            for one in found
        ]
    return context


def _headers(bericht: Bericht) -> dict:
    return {
        # Django's message() writes these two in this place unless a mail has them: here
        # they are the mail's own, so the mail alone says what its bytes are (_Frozen).
        "Date": formatdate(localtime=settings.EMAIL_USE_LOCALTIME),
        "Message-ID": make_msgid(domain=DNS_NAME),
        # No out-of-office replies to a no-reply address (RFC 3834).
        "Auto-Submitted": "auto-generated",
        "Content-Language": _language(bericht),
        "X-Buurtgesprek-Bericht": str(bericht.pk),
    }


def render_stored(bericht: Bericht) -> Mail:
    """A mail rendered before it was queued (allauth's): from `Bericht.context`.

    The subject is collapsed to one line here too, whatever was stored.
    """
    stored = bericht.context or {}
    subject = one_line(str(stored.get("subject") or ""))
    body = str(stored.get("body") or "")
    html = str(stored.get("html") or "")
    if not subject or not (body or html):
        raise ValueError(f"bericht {bericht.pk} has no stored subject and body")
    message = Mail(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[bericht.to],
        headers=_headers(bericht),
    )
    if html:
        message.attach_alternative(html, "text/html")
    return message


def _templates(kind: str, context: dict) -> tuple[str, str, str]:
    """The subject, text and html templates of `kind`, rendered as they are."""
    folder = f"emails/{kind}"
    return (
        render_to_string(f"{folder}/subject.txt", context),
        render_to_string(f"{folder}/body.txt", context),
        render_to_string(f"{folder}/body.html", context),
    )


def _compose(to: str, headers: dict, subject: str, text: str, html: str) -> Mail:
    # Templates leave blank lines where blocks were skipped; keep at most one.
    text = re.sub(r"\n[ \t]*(\n[ \t]*)+\n", "\n\n", text).strip() + "\n"
    message = Mail(
        subject=one_line(subject),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def render(bericht: Bericht) -> Mail:
    """The e-mail for `bericht`: subject, plain text, HTML and, where it fits, the .ics."""
    if bericht.kind == ALLAUTH_KIND:
        return render_stored(bericht)
    if bericht.kind not in KINDS and bericht.kind not in STAFF_KINDS:
        raise ValueError(f"unknown e-mail kind {bericht.kind!r}")
    with translation.override(_language(bericht)), timezone.override(ics.AMSTERDAM):
        context = context_for(bericht)
        if bericht.kind in STAFF_KINDS:
            context.update(staff_context(bericht))
        calendar = _calendar_part(bericht, context["gesprek"])
        context["has_calendar"] = calendar is not None
        checkin_qr = _checkin_qr_part(bericht, context["gesprek"])
        if checkin_qr is not None:
            context["checkin_qr_src"] = "cid:" + checkin_qr["Content-ID"].strip("<>")
        message = _compose(bericht.to, _headers(bericht), *_templates(bericht.kind, context))
    if calendar is not None:
        message.attach(calendar)
    if checkin_qr is not None:
        message.attach(checkin_qr)
    return message


# A marker stands in for a person's value while a merged mail is rendered. Where the
# template escapes it (HTML), its "&" comes out as "&amp;": so the fill knows to escape
# the value there too. The nonce keeps text typed into a gesprek from passing for one.
_NONCE = secrets.token_hex(8)
_MARKER = re.compile(f"\ue000{_NONCE}:(\\w+)(&|&amp;)\ue001")


def _marker(field: str) -> str:
    return f"\ue000{_NONCE}:{field}&\ue001"


def _joined(pieces: list, value):
    """A text split at its markers (re.split: the text before the first, then per marker
    its two groups and the text after it) put back together, each marker replaced by
    value(field, how) — text or bytes, as the pieces are."""
    out = [pieces[0]]
    for index in range(1, len(pieces), 3):
        field, how, text = pieces[index : index + 3]
        out += (value(field, how), text)
    return pieces[0][:0].join(out)


class _Merged:
    """A mail's subject, text and html rendered with markers, split at them: the text
    between them, and per marker the field and whether it was escaped."""

    def __init__(self, bericht: Bericht, links: _Links, *, freeze_at: int = 2):
        with translation.override(_language(bericht)), timezone.override(ics.AMSTERDAM):
            context = context_for(bericht, links)
            # Only the markers say who it is for: no template reaches the person, nor
            # their deadlines or place in line (the seat's state is part of the key).
            context.update(
                aanmelding=None,
                bericht=None,
                hold_until="",
                offer_until="",
                waitlist_position=None,
                has_calendar=False,
            )
            context.update({field: _marker(field) for field in MERGE_FIELDS})
            self.parts = [_MARKER.split(rendered) for rendered in _templates(bericht.kind, context)]
        self.fields = {field for part in self.parts for field in part[1::3]}
        # Written to bytes at the `freeze_at`th person's mail: the first when the batch
        # holds more than one, else the second (for one alone it costs more than it saves).
        self.freeze_at = freeze_at
        self.filled = 0
        self.frozen = None

    def fill(self, bericht: Bericht, links: _Links) -> Mail:
        aanmelding = bericht.aanmelding
        values = {
            field: aanmelding.name if field == "name" else links.url(field, aanmelding)
            for field in self.fields
        }
        escaped = {field: conditional_escape(value) for field, value in values.items()}
        filled = [
            _joined(pieces, lambda field, amp: escaped[field] if amp == "&amp;" else values[field])
            for pieces in self.parts
        ]
        message = _compose(bericht.to, _headers(bericht), *filled)
        self.filled += 1
        if self.filled == self.freeze_at:
            self.frozen = _Frozen.of(bericht, self.parts)
        if self.frozen is not None:
            message.written = self.frozen.fill(message, values, escaped)
        return message


# A frozen mail's markers (_Frozen): printable ASCII, which neither a header nor an 8-bit
# body changes; the flag says what goes in: the value (p), escaped for HTML (e), or a
# header's or the transfer encoding's text (h).
_BYTES_MARKER = re.compile(rb"\[" + _NONCE.encode() + rb"\.(\w+)\.([peh])\]")
_TRANSFER_ENCODINGS = (b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: 8bit")
# The headers a frozen mail leaves open, by marker field.
_OPEN_HEADERS = {"to": "To", "date": "Date", "msgid": "Message-ID", "pk": "X-Buurtgesprek-Bericht"}
# RFC 5322's line limit, past which Django writes a part quoted-printable.
_LONGEST_LINE = 998


def _bytes_marker(field: str, flag: str) -> str:
    return f"[{_NONCE}.{field}.{flag}]"


def _open_transfer_encodings(data: bytes, boundary: bytes) -> bytes | None:
    """`data`, a multipart/alternative message of a text and an HTML part, with each part's
    Content-Transfer-Encoding header line (7bit or 8bit) replaced by a marker (cte0, cte1);
    None when it is not that shape. Only the parts' headers are looked at: a body may hold
    any text, that header's among it."""
    first, *parts = data.split(b"\r\n--" + boundary + b"\r\n")
    if len(parts) != 2:
        return None
    marked = [first]
    for number, part in enumerate(parts):
        head, blank, body = part.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        found = [index for index, line in enumerate(lines) if line in _TRANSFER_ENCODINGS]
        if len(found) != 1:
            return None
        lines[found[0]] = _bytes_marker(f"cte{number}", "h").encode()
        marked.append(b"\r\n".join(lines) + blank + body)
    return (b"\r\n--" + boundary + b"\r\n").join(marked)


class _Frozen:
    """A merged mail written to bytes once (Mail.built_message, CRLF), with markers where
    each person's name and links, the mail's own headers (To, Date, Message-ID, its
    number) and each text part's transfer encoding go; `fill` writes one person's mail
    from it, the bytes Django's message would give, or None where it would write them
    otherwise (a value with a line break or surrounding blanks, a long line, a long or
    non-ASCII header, the boundary in the text): that mail is then built as usual."""

    def __init__(
        self, pieces: list, boundary: bytes, boundaries: int, ascii_parts: list, part_fields: list
    ):
        self.pieces = pieces
        self.boundary = boundary
        self.boundaries = boundaries
        self.ascii_parts = ascii_parts
        self.part_fields = part_fields

    @classmethod
    def of(cls, bericht: Bericht, parts: list) -> "_Frozen | None":
        if len(parts[0]) > 1:  # a person's value in the subject: a header of its own
            return None
        subject, text, html = (
            _joined(pieces, lambda field, amp: _bytes_marker(field, "e" if amp == "&amp;" else "p"))
            for pieces in parts
        )
        headers = _headers(bericht)
        headers.update({name: _bytes_marker(field, "h") for field, name in _OPEN_HEADERS.items()})
        mail = _compose(_bytes_marker("to", "h"), headers, subject, text, html)
        data = mail.built_message().as_bytes(linesep="\r\n")
        # The first boundary is the message's own: its headers come first.
        boundary = re.search(rb'boundary="([^"]+)"', data)
        if boundary is None:
            return None
        data = _open_transfer_encodings(data, boundary.group(1))
        if data is None:  # a part quoted-printable, or another shape
            return None
        split = _BYTES_MARKER.split(data)
        pieces = [split[0]]
        for field, flag, rest in zip(split[1::3], split[2::3], split[3::3], strict=True):
            pieces += (field.decode(), flag.decode(), rest)
        constant = [
            _BYTES_MARKER.sub(b"", part.encode("utf-8", "surrogateescape")).isascii()
            for part in (mail.body, mail.alternatives[0].content)
        ]
        fields = [set(parts[1][1::3]), set(parts[2][1::3])]
        return cls(pieces, boundary.group(1), data.count(boundary.group(1)), constant, fields)

    def fill(self, mail: Mail, values: dict, escaped: dict) -> bytes | None:
        headers = {
            "to": mail.to[0],
            "date": mail.extra_headers["Date"],
            "msgid": mail.extra_headers["Message-ID"],
            "pk": mail.extra_headers["X-Buurtgesprek-Bericht"],
        }
        for field, value in headers.items():
            if not (
                value.isascii()
                and value.isprintable()
                and len(_OPEN_HEADERS[field]) + 2 + len(value) <= POLICY.max_line_length
            ):
                return None
        for value in values.values():
            if not value or value != value.strip() or "\n" in value or "\r" in value:
                return None
        for number, (ascii_part, fields) in enumerate(
            zip(self.ascii_parts, self.part_fields, strict=True)
        ):
            plain = ascii_part and all(values[field].isascii() for field in fields)
            headers[f"cte{number}"] = f"Content-Transfer-Encoding: {'7bit' if plain else '8bit'}"
        try:
            written = {
                "p": {field: value.encode() for field, value in values.items()},
                "e": {field: str(value).encode() for field, value in escaped.items()},
                "h": {field: value.encode() for field, value in headers.items()},
            }
        except UnicodeEncodeError:  # a lone surrogate: Django's way says what becomes of it
            return None
        data = _joined(self.pieces, lambda field, flag: written[flag][field])
        if data.count(self.boundary) != self.boundaries:
            return None
        if max(map(len, data.split(b"\r\n"))) > _LONGEST_LINE:
            return None
        return data


class Batch:
    """Renders the mails of one outbox batch (outbox.deliver_many), each as render() does.

    A mail of MERGED_KINDS is rendered once per gesprek, language and state of the seat,
    then filled in with each person's name and links: the templates run once for a table
    of ten instead of ten times. The mail's bytes are filled in too (_Frozen): from the
    first person on when `berichten`, the batch's rows, hold more than one for the same
    gesprek, language and state, else from the second. Anything else, or a seat without a
    name, goes through render().
    tests/gesprekken/test_emails_batch.py holds the two to the same text and bytes.
    """

    def __init__(self, berichten: Collection[Bericht] = ()):
        self._merged: dict[tuple, _Merged] = {}
        self._links = _Links()
        self._sharing = Counter(self._key(bericht) for bericht in berichten)

    @staticmethod
    def _key(bericht: Bericht) -> tuple | None:
        """What a merged mail is rendered once for; None: the mail is not merged."""
        if bericht.kind not in MERGED_KINDS:
            return None
        aanmelding = bericht.aanmelding
        gesprek = _gesprek_of(bericht)
        if aanmelding is None or gesprek is None or not aanmelding.name:
            return None
        return (bericht.kind, _language(bericht), gesprek.pk, aanmelding.status)

    def render(self, bericht: Bericht) -> Mail:
        key = self._key(bericht)
        if key is None:
            return render(bericht)
        if key not in self._merged:
            freeze_at = 1 if self._sharing[key] > 1 else 2
            self._merged[key] = _Merged(bericht, self._links, freeze_at=freeze_at)
        return self._merged[key].fill(bericht, self._links)
