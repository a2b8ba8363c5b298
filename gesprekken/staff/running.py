"""Running a gesprek: check-in on the day, the report, the street flyer and the calendar feed.

Every page is for the facilitators of the gesprek only: @facilitator_required (login, the
role, a second factor) and then Gesprek.objects.led_by(user), so anyone else's gesprek is
a 404. The calendar feed is the exception: calendar apps cannot log in, so it opens with
the facilitator's secret token (compared in constant time) and holds no resident's data.
The check-in works with JavaScript off: every button is a small POST form.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)

from facilitators.decorators import facilitator_required
from facilitators.models import Facilitator

from .. import flyer, ics, services
from ..models import Aanmelding, Gesprek
from .running_forms import CheckInCodeForm, MarkForm, ReportForm, id_out_of_range

Status = Aanmelding.Status
# Who appears on the check-in list: everyone still expected, on the waiting list (they
# may turn up and there may be room), or already marked.
ON_THE_LIST = Aanmelding.ACTIVE_STATUSES
FLYER_SIZES = {"a4": "A4", "a5": "A5"}
# The calendar feed: past gesprekken for a year, and everything to come.
FEED_PAST = timedelta(days=365)


def _led(request, pk, *related) -> Gesprek:
    """A gesprek the user leads or co-leads; else 404."""
    led = Gesprek.objects.led_by(request.user).select_related("buurt", *related)
    return get_object_or_404(led, pk=pk)


def _check_in_url(gesprek: Gesprek, *, q: str = "", anchor: str = "") -> str:
    url = reverse("uitvoering:check_in", args=[gesprek.pk])
    if q:
        url += "?" + urlencode({"q": q})
    return url + (f"#{anchor}" if anchor else "")


# --- check-in ------------------------------------------------------------------------------


@facilitator_required
@require_http_methods(["GET", "POST"])
def check_in(request, pk):
    """The list for the day, by name, with present / not-here buttons and a code box.

    POST here checks someone in by their code (services.check_in_by_code); a wrong code
    shows the form again with the error."""
    gesprek = _led(request, pk)
    q = request.GET.get("q", "").strip()[:100]
    form = CheckInCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            aanmelding = services.check_in_by_code(
                gesprek=gesprek, code=form.cleaned_data["code"], by_user=request.user
            )
        except services.ServiceError as error:
            form.add_error("code", str(error))
        else:
            messages.success(request, _("%(name)s is checked in.") % {"name": aanmelding.name})
            return redirect(_check_in_url(gesprek, anchor=f"aanmelding-{aanmelding.pk}"))
    # Everyone in one query: the head count covers all, the name filter only the list.
    everyone = list(gesprek.aanmeldingen.filter(status__in=ON_THE_LIST).order_by("name", "pk"))
    people = [a for a in everyone if q.casefold() in a.name.casefold()] if q else everyone
    context = {
        "gesprek": gesprek,
        "form": form,
        "q": q,
        "people": people,
        "present": sum(1 for a in everyone if a.status == Status.AANWEZIG),
        "open": timezone.now() >= services.check_in_opens_at(gesprek),
    }
    return render(request, "werkruimte/uitvoering/check_in.html", context)


@facilitator_required
@require_POST
def mark(request, pk, aanmelding_pk):
    """Mark one person present or not here, then back to the same place in the list."""
    gesprek = _led(request, pk)
    aanmelding = get_object_or_404(gesprek.aanmeldingen, pk=aanmelding_pk)
    form = MarkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose present or not here."))
        return redirect(_check_in_url(gesprek))
    present = form.cleaned_data["present"]
    try:
        services.check_in(aanmelding=aanmelding, present=present, by_user=request.user)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        done = _("%(name)s is checked in.") if present else _("%(name)s is marked as not here.")
        messages.success(request, done % {"name": aanmelding.name})
    return redirect(
        _check_in_url(gesprek, q=form.cleaned_data["q"], anchor=f"aanmelding-{aanmelding.pk}")
    )


# --- the report ----------------------------------------------------------------------------


def _report_initial(gesprek: Gesprek) -> dict:
    verslag = getattr(gesprek, "verslag", None)
    if verslag is not None:
        return {
            "attendance": verslag.attendance,
            "themes": list(verslag.themes.all()),
            "themes_text": verslag.themes_text,
            "outcome": verslag.outcome,
            "follow_up": verslag.follow_up,
        }
    return {
        "attendance": gesprek.aanmeldingen.filter(status=Status.AANWEZIG).count(),
        "themes": [gesprek.thema] if gesprek.thema_id else [],
    }


@facilitator_required
@require_http_methods(["GET", "POST"])
def report(request, pk):
    """The short report after the gesprek: attendance prefilled from the check-in.

    When the text seems to hold an e-mail address or phone number, the page says so and
    saves only after the facilitator removed it or ticked that it is nobody's."""
    gesprek = _led(request, pk, "thema", "verslag")
    can_report = (
        gesprek.status in (Gesprek.Status.GEPLAND, Gesprek.Status.GEHOUDEN)
        and gesprek.starts_at <= timezone.now()
    )
    form = ReportForm(
        request.POST if can_report and request.method == "POST" else None,
        gesprek=gesprek,
        initial=_report_initial(gesprek),
    )
    warnings = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.save_report(
                gesprek=gesprek,
                by_user=request.user,
                attendance=data["attendance"],
                themes=data["themes"],
                themes_text=data["themes_text"],
                outcome=data["outcome"],
                follow_up=data["follow_up"],
                confirmed=data["confirm_personal_data"],
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            if result.saved:
                messages.success(request, _("Thank you! The report is saved."))
                return redirect("werkruimte:gesprek", gesprek.pk)
            warnings = {form[name].label: found for name, found in result.warnings.items()}
    context = {"gesprek": gesprek, "form": form, "can_report": can_report, "warnings": warnings}
    status = 400 if form.errors else 200
    return render(request, "werkruimte/uitvoering/report.html", context, status=status)


# --- the flyer -----------------------------------------------------------------------------


@facilitator_required
@require_safe
def flyer_pdf(request, pk):
    """The street flyer as PDF: ?size=a4 (default) or a5, ?lang=en for English."""
    gesprek = _led(request, pk, "thema", "facilitator", "co_facilitator")
    if gesprek.status != Gesprek.Status.GEPLAND:
        messages.error(
            request,
            _("A flyer is for a published conversation: its QR code leads to the public page."),
        )
        return redirect("werkruimte:gesprek", gesprek.pk)
    size = FLYER_SIZES.get(request.GET.get("size", "a4").lower(), "A4")
    language = request.GET.get("lang") or gesprek.language
    content = flyer.flyer_pdf(gesprek, size=size, language=language)
    response = HttpResponse(content, content_type="application/pdf")
    filename = f"buurtgesprek-flyer-{gesprek.pk}-{size}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the calendar feed ---------------------------------------------------------------------


def _feed_url(request, facilitator: Facilitator) -> str:
    path = reverse("uitvoering:feed", args=[facilitator.user_id, facilitator.calendar_token])
    return request.build_absolute_uri(path)


@facilitator_required
@require_safe
def calendar(request):
    """My personal calendar feed URL, to subscribe to in a calendar app."""
    facilitator = get_object_or_404(Facilitator, user=request.user)
    feed_url = _feed_url(request, facilitator)
    webcal_url = "webcal://" + feed_url.split("://", 1)[-1]
    return render(
        request,
        "werkruimte/uitvoering/calendar.html",
        {"feed_url": feed_url, "webcal_url": webcal_url},
    )


@facilitator_required
@require_POST
def calendar_renew(request):
    """Revoke the feed URL (shared by mistake, phone lost) and make a new one."""
    facilitator = get_object_or_404(Facilitator, user=request.user)
    services.renew_calendar_token(facilitator=facilitator)
    messages.success(
        request,
        _(
            "You have a new calendar link. The old one no longer works: subscribe again "
            "with the new link."
        ),
    )
    return redirect("uitvoering:calendar")


@never_cache
@require_safe
def feed(request, user_pk, token):
    """The facilitator's gesprekken as an iCalendar feed; 404 for a wrong or revoked token."""
    if id_out_of_range(user_pk, Facilitator._meta.get_field("user").related_model):
        raise Http404
    facilitator = (
        Facilitator.objects.select_related("user")
        .filter(user_id=user_pk, user__is_active=True)
        .first()
    )
    if facilitator is None or not constant_time_compare(token, facilitator.calendar_token):
        raise Http404
    user = facilitator.user
    gesprekken = list(
        Gesprek.objects.led_by(user)
        .filter(ends_at__gte=timezone.now() - FEED_PAST)
        .select_related("buurt", "thema")
        .order_by("starts_at", "pk")
    )
    name = _("Buurtgesprek: %(name)s") % {"name": user.get_full_name() or user.email}
    response = HttpResponse(
        ics.feed_for(gesprekken, name=name), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="buurtgesprek.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
