"""Coordinator pages under /coordinatie/: facilitators in my gemeenten, invitations.

Everything is limited to the gemeenten the coordinator coordinates (facilitators.access);
a facilitator or invitation outside them answers 404. Coordinators see who works where,
never residents' data.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import services
from .access import coordinated_gemeenten, is_national_coordinator
from .decorators import coordinator_required
from .forms import InviteForm, current_language
from .models import Facilitator, Rol, Uitnodiging


@require_safe
@coordinator_required
def index(request):
    """The facilitators serving my gemeenten: name, organisations, gemeenten, training."""
    coordinated = coordinated_gemeenten(request.user)
    facilitators = (
        Facilitator.objects.filter(gemeenten__in=coordinated, user__is_active=True)
        .distinct()
        .select_related("user")
        # May this coordinator erase them (services.can_erase_facilitator)? Not when they
        # serve a gemeente outside mine or hold a coordinator role.
        .annotate(
            serves_elsewhere=Exists(
                Facilitator.gemeenten.through.objects.filter(facilitator=OuterRef("pk")).exclude(
                    gemeente__in=coordinated
                )
            ),
            holds_role=Exists(Rol.objects.filter(user=OuterRef("user"))),
        )
        .prefetch_related(
            "organisaties",
            # Only the gemeenten this coordinator coordinates, not the facilitator's others.
            Prefetch("gemeenten", queryset=coordinated.order_by("name")),
        )
        .order_by("user__first_name", "user__last_name", "user__email")
    )
    return render(request, "coordinatie/index.html", {"facilitators": facilitators})


@require_POST
@coordinator_required
def deactivate(request, pk):
    facilitator = get_object_or_404(
        Facilitator.objects.filter(gemeenten__in=coordinated_gemeenten(request.user)).distinct(),
        pk=pk,
    )
    name = str(facilitator)
    if services.deactivate_facilitator(coordinator=request.user, facilitator=facilitator):
        messages.success(request, _("%(name)s can no longer log in.") % {"name": name})
    else:
        messages.success(
            request,
            _("%(name)s no longer works in your municipalities.") % {"name": name},
        )
    return redirect("coordinatie:index")


@require_http_methods(["GET", "POST"])
@coordinator_required
def erase(request, pk):
    """Erase a facilitator's account: a confirmation page (GET), then the erasure (POST)."""
    if is_national_coordinator(request.user):
        candidates = Facilitator.objects.all()
    else:
        candidates = Facilitator.objects.filter(
            gemeenten__in=coordinated_gemeenten(request.user)
        ).distinct()
    facilitator = get_object_or_404(candidates.select_related("user"), pk=pk)
    name = str(facilitator)
    if not services.can_erase_facilitator(by=request.user, facilitator=facilitator):
        messages.error(
            request,
            _(
                "%(name)s also works for other coordinators, so you cannot erase their "
                "account. Stop them in your municipalities, or ask a national coordinator."
            )
            % {"name": name},
        )
        return redirect("coordinatie:index")
    if request.method == "POST":
        try:
            services.erase_facilitator(by=request.user, facilitator=facilitator)
        except services.InvitationError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("The account of %(name)s is erased. Their gesprekken still count.")
                % {"name": name},
            )
        return redirect("coordinatie:index")
    return render(request, "coordinatie/erase.html", {"facilitator": facilitator})


@require_http_methods(["GET", "POST"])
@coordinator_required
def invite(request):
    form = InviteForm(request.POST if request.method == "POST" else None, inviter=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                invitation = services.invite_facilitator(
                    inviter=request.user,
                    email=form.cleaned_data["email"],
                    gemeenten=form.cleaned_data["gemeenten"],
                    organisatie=form.cleaned_data["organisatie"],
                    language=current_language(),
                )
            except services.InvitationError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _("The invitation is on its way to %(email)s.") % {"email": invitation.email},
                )
                return redirect("coordinatie:invitations")
        status = 400
    return render(request, "coordinatie/invite.html", {"form": form}, status=status)


@require_safe
@coordinator_required
def invitations(request):
    """Invitations for my gemeenten, newest first: pending, accepted, expired, revoked."""
    coordinated = coordinated_gemeenten(request.user)
    invitations = (
        Uitnodiging.objects.for_gemeenten(coordinated)
        .select_related("invited_by", "organisatie")
        .prefetch_related(Prefetch("gemeenten", queryset=coordinated))
        .order_by("-created_at", "-pk")[:200]
    )
    return render(request, "coordinatie/invitations.html", {"invitations": invitations})


@require_POST
@coordinator_required
def revoke(request, pk):
    coordinated = coordinated_gemeenten(request.user)
    invitation = get_object_or_404(Uitnodiging.objects.for_gemeenten(coordinated), pk=pk)
    if services.revoke_invitation(coordinator=request.user, invitation=invitation):
        messages.success(
            request, _("The invitation to %(email)s is revoked.") % {"email": invitation.email}
        )
    else:
        messages.info(request, _("This invitation was no longer waiting for an answer."))
    return redirect("coordinatie:invitations")


@never_cache
@require_http_methods(["GET", "POST"])
def accept(request, pk, token):
    """The link in the invitation mail: remember the invitation, then allauth's sign-up."""
    invitation = services.pending_invitation(pk, token)
    if invitation is None:
        raise Http404
    if request.user.is_authenticated:
        if request.method == "POST":
            logout(request)
            return redirect(request.path)
        return render(request, "coordinatie/accept_logged_in.html", {"invitation": invitation})
    request.session[services.INVITATION_SESSION_KEY] = {
        "pk": invitation.pk,
        "token": invitation.token,
    }
    return redirect(f"{reverse('account_signup')}?{urlencode({'email': invitation.email})}")
