"""Calendar files (.ics) for a gesprek, built with the icalendar library.

One UID per gesprek for its whole life (`<gesprek.uid>@buurtgesprek`) and SEQUENCE =
`gesprek.sequence` (one more for the cancellation), so a calendar replaces the entry
when the time, place or format changes, and removes it on METHOD:CANCEL. Times carry
TZID=Europe/Amsterdam with a VTIMEZONE, so the wall time is right on both sides of a DST
change. The file never holds a personal manage link: calendars get shared, synced and
forwarded. The video link of an online gesprek is only written for someone whose seat
is confirmed.
"""

from datetime import MAXYEAR, MINYEAR, date
from email.mime.text import MIMEText
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Aanmelding, Gesprek

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Registrations that may see the video link.
CONFIRMED_STATUSES = (Aanmelding.Status.BEVESTIGD, Aanmelding.Status.AANWEZIG)
FILENAME = "buurtgesprek.ics"


def uid_for(gesprek: Gesprek) -> str:
    return f"{gesprek.uid}@buurtgesprek"


def _description(gesprek: Gesprek, *, show_video: bool, cancel: bool) -> str:
    lines = []
    if cancel:
        lines.append(_("This conversation has been cancelled."))
    lines.append(gesprek.get_format_display())
    if gesprek.thema_id:
        lines.append(_("Theme: %(theme)s") % {"theme": gesprek.thema.name})
    if gesprek.route:
        lines.append(_("Route: %(route)s") % {"route": gesprek.route})
    if gesprek.accessibility_notes:
        lines.append(_("Accessibility: %(notes)s") % {"notes": gesprek.accessibility_notes})
    if show_video:
        lines.append(_("Video link: %(url)s") % {"url": gesprek.video_url})
    detail_url = settings.SITE_URL + reverse("gesprekken:detail", args=[gesprek.pk])
    lines.append(_("More information: %(url)s") % {"url": detail_url})
    return "\n".join(lines)


def _location(gesprek: Gesprek) -> str:
    if gesprek.format == Gesprek.Format.ONLINE:
        return _("Online video call")
    return gesprek.place


def calendar_for(
    gesprek: Gesprek, *, aanmelding: Aanmelding | None = None, cancel: bool | None = None
) -> bytes:
    """The .ics file for `gesprek` in the active language.

    `aanmelding` decides whether the video link is included (confirmed seats only).
    `cancel` (default: the gesprek is cancelled) writes METHOD:CANCEL and STATUS:CANCELLED.
    """
    if cancel is None:
        cancel = gesprek.status == Gesprek.Status.AFGELAST
    show_video = bool(
        gesprek.format == Gesprek.Format.ONLINE
        and gesprek.video_url
        and not cancel
        and aanmelding is not None
        and aanmelding.status in CONFIRMED_STATUSES
    )
    calendar = _calendar(method="CANCEL" if cancel else "PUBLISH")
    calendar.add_component(event_for(gesprek, show_video=show_video, cancel=cancel))
    _add_timezones(calendar, [gesprek])
    return calendar.to_ical()


def _calendar(*, method: str) -> icalendar.Calendar:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Buurtgesprek//buurtgesprek.nl//NL")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def _add_timezones(calendar: icalendar.Calendar, gesprekken: list[Gesprek]) -> None:
    # Only the rules around the gesprekken, not 70 years of them. The years are taken as
    # stored (a year's margin covers the hour to Amsterdam; moving a moment in the last
    # hours of the year 9999 there would overflow) and kept within what dates can hold: a
    # row planned far ahead before the planning horizon existed must not break a calendar.
    # 1 January 9999 is as far as icalendar can go: it looks past the last date it is given.
    if not gesprekken:
        return
    first = min(g.starts_at for g in gesprekken)
    last = max(g.ends_at for g in gesprekken)
    calendar.add_missing_timezones(
        first_date=date(max(first.year - 1, MINYEAR), 1, 1),
        last_date=date(min(last.year + 2, MAXYEAR), 1, 1),
    )


def event_for(gesprek: Gesprek, *, show_video: bool, cancel: bool) -> icalendar.Event:
    """The VEVENT of `gesprek` (UID, SEQUENCE, TZID times), as every calendar file has it."""
    starts_at = gesprek.starts_at.astimezone(AMSTERDAM)
    ends_at = gesprek.ends_at.astimezone(AMSTERDAM)
    event = icalendar.Event()
    event.add("uid", uid_for(gesprek))
    # A cancellation is one more change (RFC 5546 wants SEQUENCE to rise on CANCEL);
    # cancel_gesprek does not raise gesprek.sequence, so the file does.
    event.add("sequence", gesprek.sequence + 1 if cancel else gesprek.sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add(
        "summary", _("Neighbourhood conversation in %(buurt)s") % {"buurt": gesprek.buurt.name}
    )
    location = _location(gesprek)
    if location:
        event.add("location", location)
    event.add("description", _description(gesprek, show_video=show_video, cancel=cancel))
    event.add("url", settings.SITE_URL + reverse("gesprekken:detail", args=[gesprek.pk]))
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    # iTIP wants an organizer on a CANCEL; the no-reply sender is the honest one.
    organizer = icalendar.vCalAddress("mailto:" + parseaddr(settings.DEFAULT_FROM_EMAIL)[1])
    organizer.params["cn"] = "Buurtgesprek"
    event.add("organizer", organizer)
    return event


def feed_for(gesprekken: list[Gesprek], *, name: str) -> bytes:
    """A subscribable calendar (a facilitator's feed) with one VEVENT per gesprek.

    The same UID and SEQUENCE as the residents' files, so an entry moves when the
    gesprek moves. A called-off gesprek stays in the feed as STATUS:CANCELLED. The video
    link is written (the facilitator hosts the call); nobody's registration is.
    """
    calendar = _calendar(method="PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Amsterdam")
    for gesprek in gesprekken:
        cancel = gesprek.status == Gesprek.Status.AFGELAST
        show_video = bool(gesprek.format == Gesprek.Format.ONLINE and gesprek.video_url)
        event = event_for(gesprek, show_video=show_video and not cancel, cancel=cancel)
        if gesprek.status == Gesprek.Status.CONCEPT:
            # A draft is not announced yet: in the planner's calendar, but tentative.
            event["status"] = icalendar.vText("TENTATIVE")
        calendar.add_component(event)
    _add_timezones(calendar, gesprekken)
    return calendar.to_ical()


def attachment_for(
    gesprek: Gesprek, *, aanmelding: Aanmelding | None = None, cancel: bool | None = None
) -> MIMEText:
    """The .ics as an e-mail part with the iTIP method in its content type."""
    content = calendar_for(gesprek, aanmelding=aanmelding, cancel=cancel)
    method = "CANCEL" if b"METHOD:CANCEL" in content else "PUBLISH"
    part = MIMEText(content.decode("utf-8"), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename=FILENAME)
    return part
