"""The street flyer: a printable invitation (PDF, A4 or A5) with a QR code to sign up.

For letterboxes and notice boards, for neighbours who are not online or do not look for
conversations themselves. Plain language (B1), Dutch or English, everything a neighbour
needs to decide and come: what, when (Europe/Amsterdam), where (the place or meeting
point, never the video link: that goes to confirmed participants only), who leads it (the
first name only), the conversation agreements and how to sign up (a QR code and a short
address to type).

Built with fpdf2 and segno, no files from outside: fpdf2's built-in Helvetica in the
Windows-1252 encoding covers Dutch, English and most Western European names; any other
character is transliterated ("Łódź" → "Lodz"), so a flyer is always produced.
"""

import io
import unicodedata
from dataclasses import dataclass

import segno
from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from . import lists
from .ics import AMSTERDAM
from .models import Gesprek

ENCODING = "cp1252"
FONT = "helvetica"
# Width and height in millimetres (fpdf2 warns about its own A5 constant, so not by name).
SIZES = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}
BLUE = (11, 79, 138)
INK = (26, 26, 26)
GREY = (85, 85, 85)
# Letters the Unicode decomposition leaves alone.
SUBSTITUTES = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ø": "O", "ø": "o", "ß": "ss"}


def printable(text: str) -> str:
    """`text` in what the built-in font can print: as is where possible, else transliterated."""
    out = []
    for char in text:
        try:
            char.encode(ENCODING)
        except UnicodeEncodeError:
            char = SUBSTITUTES.get(char) or "".join(
                part
                for part in unicodedata.normalize("NFKD", char)
                if not unicodedata.combining(part)
            )
            try:
                char.encode(ENCODING)
            except UnicodeEncodeError:
                char = "?"
        out.append(char)
    return "".join(out)


def sign_up_url(gesprek: Gesprek) -> str:
    """The gesprek's public page, where neighbours read more and sign up."""
    return settings.SITE_URL + gesprek.get_absolute_url()


def short_address(url: str) -> str:
    """What to type: the address without 'https://' (browsers add it)."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return url[len(scheme) :].rstrip("/")
    return url.rstrip("/")


def qr_png(data: str) -> bytes:
    """A QR code as PNG: medium error correction (a folded or smudged flyer still scans)."""
    buffer = io.BytesIO()
    segno.make(data, error="m", micro=False).save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


@dataclass
class FlyerText:
    """Everything the flyer says, in the active language."""

    heading: str
    subheading: str
    intro: str
    when: str
    where: str
    lines: list[str]
    agreements_heading: str
    agreements: list[str]
    sign_up: str
    address: str
    footer: str


def _intro(gesprek: Gesprek) -> str:
    if gesprek.format == Gesprek.Format.WANDELING:
        return _(
            "We take a walk through the neighbourhood and talk on the way: about what "
            "goes well here, and what could be better. Everyone is welcome, whatever you think."
        )
    if gesprek.format == Gesprek.Format.ONLINE:
        return _(
            "We talk by video call with neighbours from the area: about what goes well "
            "here, and what could be better. Everyone is welcome, whatever you think."
        )
    return _(
        "We sit around a table with neighbours from the street: about what goes well "
        "here, and what could be better. Everyone is welcome, whatever you think."
    )


def flyer_text(gesprek: Gesprek) -> FlyerText:
    """The words of the flyer in the active language (call inside translation.override)."""
    starts_at = gesprek.starts_at.astimezone(AMSTERDAM)
    ends_at = gesprek.ends_at.astimezone(AMSTERDAM)
    date = formats.date_format(starts_at, "l j F Y")
    when = _("When: %(date)s, from %(start)s to %(end)s") % {
        "date": date[:1].upper() + date[1:],
        "start": formats.time_format(starts_at, "H:i"),
        "end": formats.time_format(ends_at, "H:i"),
    }
    if gesprek.format == Gesprek.Format.ONLINE:
        where = _("Where: online, by video call. You get the link when you have signed up.")
    elif gesprek.format == Gesprek.Format.WANDELING:
        where = _("Meeting point: %(place)s") % {"place": gesprek.place or "-"}
    else:
        where = _("Where: %(place)s") % {"place": gesprek.place or "-"}
    lines = [_("What: %(format)s") % {"format": gesprek.get_format_display()}]
    if gesprek.thema_id:
        lines.append(_("Theme: %(theme)s") % {"theme": gesprek.thema.name})
    if gesprek.street:
        lines.append(_("For the neighbours of %(street)s") % {"street": gesprek.street})
    lead = gesprek.facilitator or gesprek.co_facilitator
    if lead is not None and lead.first_name:
        lines.append(_("Your host: %(name)s") % {"name": lead.first_name})
    if gesprek.accessibility_notes:
        lines.append(_("Accessibility: %(notes)s") % {"notes": gesprek.accessibility_notes})
    lines.append(
        _("Free of charge. There is room for %(max)s people.") % {"max": gesprek.max_participants}
    )
    if gesprek.language == Gesprek.Language.EN:
        lines.append(_("The conversation is in English."))
    return FlyerText(
        heading=_("Talk with your neighbours"),
        subheading=_("A neighbourhood conversation in %(buurt)s") % {"buurt": gesprek.buurt.name},
        intro=_intro(gesprek),
        when=when,
        where=where,
        lines=lines,
        agreements_heading=_("Our conversation agreements"),
        # The coordinators' list, in the flyer's language (`label` follows the active one).
        agreements=[agreement.label for agreement in lists.active_agreements()],
        sign_up=_("Sign up with the QR code or at:"),
        address=short_address(sign_up_url(gesprek)),
        footer=_("Buurtgesprek: conversations between neighbours, in every municipality."),
    )


class _Flyer(FPDF):
    def __init__(self, size: str, *, shrink: float = 1.0):
        width, height = SIZES[size]
        super().__init__(orientation="P", unit="mm", format=(width, height))
        self.core_fonts_encoding = ENCODING
        # Everything is scaled from the A4 design; type shrinks less than the page, so
        # an A5 flyer stays readable (body text about 10 pt), and only as far as needed
        # when long notes would not fit otherwise (`shrink`).
        self.scale = width / SIZES["A4"][0]
        self.type_scale = max(self.scale, 0.8) * shrink
        self.margin = 18 * self.scale
        self.set_margins(self.margin, self.margin, self.margin)
        self.set_auto_page_break(auto=False)

    def write_block(self, text: str, *, size: float, style: str = "", color=INK, gap=0.4):
        self.set_font(FONT, style=style, size=size * self.type_scale)
        self.set_text_color(*color)
        line_height = size * self.type_scale * 0.5
        self.multi_cell(0, line_height, printable(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(gap * line_height)


def _draw(pdf: _Flyer, text: FlyerText, url: str) -> bool:
    """Lay the flyer out on one page; False when the text ran into the sign-up block."""
    pdf.add_page()
    s, t = pdf.scale, pdf.type_scale
    width = pdf.w - 2 * pdf.margin

    pdf.set_fill_color(*BLUE)
    pdf.rect(0, 0, pdf.w, 8 * s, style="F")
    pdf.set_y(pdf.margin)
    pdf.write_block(text.heading, size=34, style="B", color=BLUE, gap=0.2)
    pdf.write_block(text.subheading, size=18, style="B")
    pdf.write_block(text.intro, size=14, gap=0.8)
    pdf.write_block(text.when, size=17, style="B", gap=0.1)
    pdf.write_block(text.where, size=15, style="B", gap=0.6)
    for line in text.lines:
        pdf.write_block(line, size=13, gap=0.25)
    if text.agreements:
        pdf.ln(1.5 * s)
        pdf.write_block(text.agreements_heading, size=13, style="B", color=BLUE, gap=0.1)
        for agreement in text.agreements:
            pdf.write_block(f"\u2022 {agreement}", size=11.5, gap=0.1)

    # The sign-up block at the foot: the QR code on the left, the address beside it.
    qr_size = 62 * s
    top = pdf.h - pdf.margin - qr_size - 6 * s
    fits = pdf.get_y() + 6 * s <= top
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.6 * s)
    pdf.line(pdf.margin, top - 4 * s, pdf.margin + width, top - 4 * s)
    pdf.image(io.BytesIO(qr_png(url)), x=pdf.margin, y=top, w=qr_size, h=qr_size)
    text_x = pdf.margin + qr_size + 6 * s
    text_width = width - qr_size - 6 * s
    pdf.set_xy(text_x, top + 4 * s)
    pdf.set_font(FONT, style="B", size=16 * t)
    pdf.set_text_color(*INK)
    pdf.multi_cell(
        text_width, 8 * t, printable(text.sign_up), align="L", new_x="LEFT", new_y="NEXT"
    )
    pdf.set_xy(text_x, pdf.get_y() + 3 * s)
    pdf.set_font(FONT, style="B", size=15 * t)
    pdf.set_text_color(*BLUE)
    pdf.multi_cell(
        text_width, 7.5 * t, printable(text.address), align="L", new_x="LEFT", new_y="NEXT"
    )

    pdf.set_xy(pdf.margin, pdf.h - 10 * s)
    pdf.set_font(FONT, size=9 * t)
    pdf.set_text_color(*GREY)
    pdf.cell(width, 5 * s, printable(text.footer), align="C")
    return fits


def flyer_pdf(gesprek: Gesprek, *, size: str = "A4", language: str | None = None) -> bytes:
    """The flyer of `gesprek` as a one-page PDF in `size` ("A4" or "A5") and `language`
    (a code from settings.LANGUAGES; default the site's). Reads thema, buurt and the
    facilitators: select_related them."""
    if size not in SIZES:
        raise ValueError(f"unknown flyer size {size!r}")
    known = dict(settings.LANGUAGES)
    language = language if language in known else settings.LANGUAGE_CODE
    with translation.override(language):
        text = flyer_text(gesprek)
    url = sign_up_url(gesprek)
    for shrink in (1.0, 0.9, 0.8, 0.7, 0.6, 0.5):
        pdf = _Flyer(size, shrink=shrink)
        pdf.set_title(printable(text.heading))
        pdf.set_author("Buurtgesprek")
        pdf.set_creator("Buurtgesprek")
        pdf.set_lang(language)
        if _draw(pdf, text, url):
            break
    return bytes(pdf.output())
