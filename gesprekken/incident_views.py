"""Incidents and the block list: the facilitator's form, and the coordinators' pages.

/werkruimte/gesprek/<pk>/incident/  the facilitators of that gesprek (Gesprek.led_by) record
                                     an incident; anyone else gets 404.
/coordinatie/incidenten/…, /coordinatie/blokkades/…  the municipal coordinators of the
                                     gemeente (incidents.incident_gemeenten) only: a national
                                     coordinator, and anyone about another gemeente, gets 404.
Coordinators never see a participant's name or address: "a participant" and the masked
hint (incidents.email_hint). Every view: a form, one use case, a redirect with a message;
a refused form answers 400 and keeps what was typed.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from facilitators.decorators import coordinator_required, facilitator_required
from gemeenten.models import Gemeente

from . import incidents
from .incident_forms import AddressBlockForm, BlockForm, IncidentForm, ResolveForm
from .models import Blokkade, Gesprek, Incident

RESOLVED_SHOWN = 100


def _add_errors(form, error: ValidationError) -> None:
    for field, problems in error.message_dict.items():
        form.add_error(field if field in form.fields else None, problems)


# --- The facilitator -----------------------------------------------------------------------


@facilitator_required
@require_http_methods(["GET", "POST"])
def record(request, pk):
    """Record an incident at a gesprek I lead: what happened, who (optional), a short text."""
    led = Gesprek.objects.led_by(request.user).select_related("buurt__gemeente")
    gesprek = get_object_or_404(led, pk=pk)
    form = IncidentForm(request.POST if request.method == "POST" else None, gesprek=gesprek)
    warnings: list[str] = []
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            result = incidents.record_incident(
                gesprek=gesprek,
                by_user=request.user,
                category=data["category"],
                aanmelding=data["aanmelding"],
                text=data["text"],
                confirmed=data["confirm_personal_data"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        except incidents.IncidentError as error:
            form.add_error(None, str(error))
        else:
            if result.saved:
                messages.success(
                    request,
                    _(
                        "Thank you. The incident is recorded; the coordinators of "
                        "%(gemeente)s see it."
                    )
                    % {"gemeente": gesprek.buurt.gemeente.name},
                )
                return redirect("werkruimte:gesprek", pk=gesprek.pk)
            warnings = result.warnings
    recorded = gesprek.incidenten.select_related("aanmelding").order_by("-created_at")
    context = {"gesprek": gesprek, "form": form, "warnings": warnings, "recorded": recorded}
    status = 400 if form.errors or warnings else 200
    return render(request, "werkruimte/incident.html", context, status=status)


# --- The coordinators ----------------------------------------------------------------------


def _my_gemeenten(request) -> list[Gemeente]:
    """The gemeenten whose incidents I see; 404 for anyone who sees none (national)."""
    gemeenten = list(incidents.incident_gemeenten(request.user).order_by("name"))
    if not gemeenten:
        raise Http404
    return gemeenten


def _chosen_gemeente(request, gemeenten: list[Gemeente]) -> Gemeente | None:
    """?gemeente=<code> picks one (404 when it is not mine); the only one when I have one."""
    code = request.GET.get("gemeente")
    if code:
        for gemeente in gemeenten:
            if gemeente.pk == code:
                return gemeente
        raise Http404
    return gemeenten[0] if len(gemeenten) == 1 else None


def _blocks_url(gemeente: Gemeente) -> str:
    return f"{reverse('coordinatie:blocks')}?{urlencode({'gemeente': gemeente.pk})}"


def _rows(queryset) -> list[Incident]:
    """Incidents with `participant`: the masked hint of the participant concerned, or ""
    (the only thing of them a coordinator sees)."""
    rows = list(queryset.select_related("gesprek__buurt__gemeente", "aanmelding"))
    for incident in rows:
        incident.participant = incidents.participant_hint(incident.aanmelding)
        incident.concerns_someone = incident.aanmelding_id is not None
    return rows


@coordinator_required
@require_safe
def incident_list(request):
    """Incidents in my gemeenten: open ones first (newest first), then recently resolved."""
    gemeenten = _my_gemeenten(request)
    gemeente = _chosen_gemeente(request, gemeenten)
    shown = Incident.objects.filter(
        gesprek__buurt__gemeente__in=[gemeente] if gemeente else gemeenten
    )
    context = {
        "gemeenten": gemeenten,
        "gemeente": gemeente,
        "open": _rows(shown.filter(resolved_at__isnull=True).order_by("-created_at", "-pk")),
        "resolved": _rows(
            shown.filter(resolved_at__isnull=False).order_by("-resolved_at", "-pk")[:RESOLVED_SHOWN]
        ),
        "resolved_limit": RESOLVED_SHOWN,
    }
    return render(request, "coordinatie/incidents.html", context)


def _active_block(incident: Incident, today) -> Blokkade | None:
    if not incidents.address_is_kept(incident.aanmelding):
        return None
    return incidents.blocks(
        buurt_id=incident.gesprek.buurt_id, email=incident.aanmelding.email, today=today
    ).first()


@coordinator_required
@require_http_methods(["GET", "POST"])
def incident_detail(request, pk):
    """One incident: resolve it with a note; block the participant's address in the gemeente.

    POST with action=resolve or action=block."""
    _my_gemeenten(request)
    incident = get_object_or_404(
        incidents.incidents_for(request.user).select_related(
            "gesprek__buurt__gemeente", "aanmelding", "reported_by", "resolved_by"
        ),
        pk=pk,
    )
    today = timezone.localdate()
    action = request.POST.get("action") if request.method == "POST" else None
    resolve_form = ResolveForm(request.POST if action == "resolve" else None)
    block_form = BlockForm(
        request.POST if action == "block" else None,
        today=today,
        initial={"reason": incident.get_category_display()},
    )
    gemeente = incident.gesprek.buurt.gemeente
    if action == "resolve" and resolve_form.is_valid():
        try:
            incidents.resolve_incident(
                incident=incident,
                by_user=request.user,
                resolution=resolve_form.cleaned_data["resolution"],
            )
        except ValidationError as error:
            _add_errors(resolve_form, error)
        except incidents.IncidentError as error:
            messages.info(request, str(error))
            return redirect("coordinatie:incident", pk=incident.pk)
        else:
            messages.success(request, _("The incident is resolved."))
            return redirect("coordinatie:incidents")
    elif action == "block" and block_form.is_valid():
        try:
            blokkade = incidents.block_participant(
                incident=incident,
                by_user=request.user,
                reason=block_form.cleaned_data["reason"],
                expires_on=block_form.cleaned_data["expires_on"],
            )
        except ValidationError as error:
            _add_errors(block_form, error)
        except incidents.IncidentError as error:
            block_form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "The participant's address is blocked in %(gemeente)s until %(until)s. "
                    "They can no longer sign up there, and are not told why."
                )
                % {
                    "gemeente": gemeente.name,
                    "until": date_format(blokkade.expires_on, "DATE_FORMAT"),
                },
            )
            return redirect("coordinatie:incident", pk=incident.pk)
    elif request.method == "POST" and action not in {"resolve", "block"}:
        messages.error(request, _("Choose resolve or block."))
    incident.participant = incidents.participant_hint(incident.aanmelding)
    context = {
        "incident": incident,
        "gemeente": gemeente,
        "resolve_form": resolve_form,
        "block_form": block_form,
        "can_block": incidents.address_is_kept(incident.aanmelding),
        "active_block": _active_block(incident, today),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "coordinatie/incident.html", context, status=status)


@coordinator_required
@require_http_methods(["GET", "POST"])
def block_list(request):
    """A gemeente's block list: active entries (hint, reason, until), a form to add one."""
    gemeenten = _my_gemeenten(request)
    gemeente = _chosen_gemeente(request, gemeenten)
    if gemeente is None:
        context = {"gemeenten": gemeenten}
        status = 400 if request.method == "POST" else 200
        return render(request, "coordinatie/blokkade_gemeente.html", context, status=status)
    today = timezone.localdate()
    form = AddressBlockForm(request.POST if request.method == "POST" else None, today=today)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            blokkade = incidents.block_address(
                gemeente=gemeente,
                email=data["email"],
                reason=data["reason"],
                expires_on=data["expires_on"],
                by_user=request.user,
            )
        except ValidationError as error:
            _add_errors(form, error)
        except incidents.IncidentError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(hint)s is blocked in %(gemeente)s until %(until)s.")
                % {
                    "hint": blokkade.email_hint,
                    "gemeente": gemeente.name,
                    "until": date_format(blokkade.expires_on, "DATE_FORMAT"),
                },
            )
            return redirect(_blocks_url(gemeente))
    blocks = Blokkade.objects.filter(gemeente=gemeente, expires_on__gte=today).order_by(
        "expires_on", "pk"
    )
    context = {"gemeenten": gemeenten, "gemeente": gemeente, "form": form, "blocks": blocks}
    status = 400 if form.errors else 200
    return render(request, "coordinatie/blokkades.html", context, status=status)


@coordinator_required
@require_POST
def lift_block(request, pk):
    """Lift a block: the address can sign up again in that gemeente."""
    _my_gemeenten(request)
    mine = incidents.blocks_for(request.user).select_related("gemeente")
    blokkade = get_object_or_404(mine, pk=pk)
    try:
        incidents.lift_block(blokkade=blokkade, by_user=request.user)
    except incidents.IncidentError:
        raise Http404 from None
    messages.success(
        request,
        _("The block on %(hint)s is lifted: this address can sign up again in %(gemeente)s.")
        % {"hint": blokkade.email_hint, "gemeente": blokkade.gemeente.name},
    )
    return redirect(_blocks_url(blokkade.gemeente))
