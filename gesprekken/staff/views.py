"""The facilitator workspace: my gesprekken, plan, change, call off, who is coming, demand.

Every view: @facilitator_required (login, role, second factor), then the gesprek through
Gesprek.objects.led_by(user), so another facilitator's gesprek is a 404; a form; one
service call; a redirect with a message.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from facilitators.access import served_gemeenten
from facilitators.decorators import facilitator_required
from gemeenten.models import Buurt, Gemeente, buurt_code_validator

from .. import balance, services
from ..models import Gesprek
from . import queries
from .forms import BuurtSearchForm, EditForm, PlanForm

# What can still change or be called off: drafts and planned gesprekken not yet over.
OPEN_STATUSES = (Gesprek.Status.CONCEPT, Gesprek.Status.GEPLAND)


def _mine(request, pk) -> Gesprek:
    """A gesprek this user leads or co-leads, with what its pages show; else 404."""
    led = Gesprek.objects.led_by(request.user).select_related(
        "buurt__wijk", "buurt__gemeente", "thema", "facilitator", "co_facilitator"
    )
    return get_object_or_404(led, pk=pk)


def _posted(request):
    # An empty POST is still a submission: it must show what is missing.
    return request.POST if request.method == "POST" else None


def _is_open(gesprek: Gesprek) -> bool:
    return gesprek.status in OPEN_STATUSES and gesprek.ends_at > timezone.now()


@facilitator_required
@require_safe
def home(request):
    """My gesprekken, upcoming and past, with what needs doing."""
    workspace = queries.my_gesprekken(request.user, now=timezone.now())
    context = {"workspace": workspace, "past_limit": queries.PAST_LIMIT}
    return render(request, "werkruimte/home.html", context)


def _planned_message(planned: list[Gesprek], published: bool) -> str:
    count = {"count": len(planned)}
    if len(planned) > 1 and published:
        return (
            _(
                "%(count)s conversations published, one a week. Residents who asked for a "
                "conversation nearby get an invitation."
            )
            % count
        )
    if len(planned) > 1:
        return (
            _("%(count)s drafts saved, one a week. Nobody sees them until you publish them.")
            % count
        )
    if published:
        return _("Published: residents who asked for a conversation nearby get an invitation.")
    return _("Saved as a draft: nobody sees it until you publish it.")


def _served_buurt(request, gemeenten: list[Gemeente]) -> Buurt | None:
    """The buurt of ?buurt= ("plan here"), None without one; 404 for a buurt or gemeente in
    the address that the user does not serve, as for every staff page, and for anything
    that is no buurt code at all (a NUL, which PostgreSQL refuses to compare, or a code
    with more behind it), without a query."""
    served = [gemeente.pk for gemeente in gemeenten]
    if request.GET.get("gemeente") and request.GET["gemeente"] not in served:
        raise Http404
    if "buurt" not in request.GET:
        return None
    code = request.GET["buurt"]
    if not buurt_code_validator.regex.fullmatch(code):
        raise Http404
    buurten = Buurt.objects.filter(gemeente__in=served).select_related("gemeente")
    return get_object_or_404(buurten, code=code)


@facilitator_required
@require_http_methods(["GET", "POST"])
def plan(request):
    """Plan a gesprek (or a weekly series) in a buurt of a gemeente the user serves.

    Step one (GET ?gemeente=, for those serving several) picks the gemeente; ?q= narrows
    its buurten; ?buurt= (from the demand page) prefills one."""
    gemeenten = list(served_gemeenten(request.user).order_by("name"))
    search = BuurtSearchForm(request.GET or None, gemeenten=gemeenten)
    buurt = _served_buurt(request, gemeenten)
    gemeente = buurt.gemeente if buurt else search.chosen_gemeente
    if gemeente is None:
        context = {"search": search, "gemeenten": gemeenten}
        return render(request, "werkruimte/plan_gemeente.html", context)
    form = PlanForm(
        _posted(request),
        user=request.user,
        gemeente=gemeente,
        query=search.query,
        initial={"buurt": buurt.code} if buurt else {},
    )
    if form.is_bound and form.is_valid():
        publish = request.POST.get("action") == "publish"
        try:
            planned = services.plan_series(
                facilitator_user=request.user,
                weeks=form.cleaned_data["weeks"],
                publish=publish,
                **form.gesprek_fields(),
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _planned_message(planned, publish))
            if len(planned) > 1:
                return redirect("werkruimte:home")
            return redirect("werkruimte:gesprek", pk=planned[0].pk)
    context = {"form": form, "search": search, "gemeente": gemeente, "gemeenten": gemeenten}
    return render(request, "werkruimte/plan.html", context, status=400 if form.errors else 200)


@facilitator_required
@require_safe
def gesprek(request, pk):
    """One gesprek: the facts, who is coming (with contact details), the waiting list, how
    many reserves (never who), and the mix at the table as counts only (balance.mix)."""
    gesprek = _mine(request, pk)
    seated, waiting, gone, reserves = queries.participants(gesprek)
    context = {
        "gesprek": gesprek,
        "seated": seated,
        "waiting": waiting,
        "gone": gone,
        "reserves": reserves,
        "mix": balance.mix(gesprek),
        "is_open": _is_open(gesprek),
    }
    return render(request, "werkruimte/gesprek.html", context)


@facilitator_required
@require_safe
def day_list(request, pk):
    """The list for the day, to print: one page, no navigation."""
    gesprek = _mine(request, pk)
    seated, waiting, _gone, reserves = queries.participants(gesprek)
    context = {"gesprek": gesprek, "seated": seated, "waiting": waiting, "reserves": reserves}
    return render(request, "werkruimte/day_list.html", context)


@facilitator_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    """Change time, place, format…: everyone registered is told, with a new calendar entry."""
    gesprek = _mine(request, pk)
    if not _is_open(gesprek):
        messages.error(request, _("This conversation is over or called off: it cannot change."))
        return redirect("werkruimte:gesprek", pk=gesprek.pk)
    sequence = gesprek.sequence
    form = EditForm(_posted(request), gesprek=gesprek)
    if form.is_bound and form.is_valid():
        try:
            services.replan_gesprek(
                gesprek=gesprek, facilitator_user=request.user, **form.gesprek_fields()
            )
        except ValidationError as error:
            form.add_service_errors(error)
        except services.ServiceError as error:
            form.add_error(None, str(error))
        else:
            told = gesprek.sequence > sequence and gesprek.status == Gesprek.Status.GEPLAND
            messages.success(
                request,
                _("Saved. Everyone registered gets an e-mail with the new details.")
                if told
                else _("Saved."),
            )
            return redirect("werkruimte:gesprek", pk=gesprek.pk)
    context = {"form": form, "gesprek": gesprek}
    return render(request, "werkruimte/edit.html", context, status=400 if form.errors else 200)


@facilitator_required
@require_http_methods(["GET", "POST"])
def cancel(request, pk):
    """Call a gesprek off, after a confirmation page; everyone registered is told once."""
    gesprek = _mine(request, pk)
    if not _is_open(gesprek):
        messages.error(request, _("This conversation is over or called off already."))
        return redirect("werkruimte:gesprek", pk=gesprek.pk)
    if request.method == "POST":
        try:
            services.cancel_gesprek(gesprek=gesprek)
        except services.ServiceError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, _("The conversation is called off. Everyone registered gets an e-mail.")
            )
        return redirect("werkruimte:gesprek", pk=gesprek.pk)
    informed = gesprek.aanmeldingen.filter(status__in=services.INFORMED_STATUSES).count()
    return render(request, "werkruimte/cancel.html", {"gesprek": gesprek, "informed": informed})


@facilitator_required
@require_POST
def publish(request, pk):
    """Publish a draft: it appears on the public pages and interested residents are invited."""
    gesprek = _mine(request, pk)
    try:
        services.publish(gesprek=gesprek)
    except services.ServiceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Published. Residents who asked for a conversation nearby get an invitation."),
        )
    return redirect("werkruimte:gesprek", pk=gesprek.pk)


@facilitator_required
@require_safe
def demand(request):
    """Where residents asked for a conversation and nothing is planned: most demand first."""
    buurten = queries.demand(request.user, now=timezone.now())
    return render(request, "werkruimte/demand.html", {"buurten": buurten})
