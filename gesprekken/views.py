"""Resident pages: find a gesprek, sign up without an account, manage it by a secret link.

Views stay thin: find the object (404 when it is not there or the token is wrong),
validate a form, call one service, redirect with a message. Services raise ServiceError
subclasses whose text is meant for the resident.
"""

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from gemeenten.forms import PostcodeForm
from gemeenten.models import Buurt, Gemeente
from gemeenten.postcode import lookup_pc4

from . import balance, lists, ratelimit, services
from .forms import InterestForm, LanguageForm, ResendLinkForm, SignUpForm, current_language
from .ics import FILENAME, calendar_for
from .models import Aanmelding, Gesprek
from .queries import (
    Proximity,
    gesprekken_for_pages,
    nearby_upcoming,
    public_gesprekken,
    public_theme,
    waiting_list_position,
)

# Registrations that may see the place of a confirmed participant: the video link.
SEE_VIDEO_LINK = {Aanmelding.Status.BEVESTIGD, Aanmelding.Status.AANWEZIG}
# Registrations that still hold (or wait for) a seat and can be cancelled.
CANCELLABLE = {
    Aanmelding.Status.ONBEVESTIGD,
    Aanmelding.Status.BEVESTIGD,
    Aanmelding.Status.WACHTLIJST,
    Aanmelding.Status.RESERVE,
    Aanmelding.Status.AANGEBODEN,
}


def _too_many_attempts() -> str:
    return _("Too many attempts from this address or e-mail. Please wait an hour and try again.")


def _within_limits(request, action: str, email: str) -> bool:
    """Count this attempt per client address and per e-mail; False when over either limit."""
    return ratelimit.hit_all(
        [("ip", action, ratelimit.client_ip(request)), ("email", action, email)]
    )


# --- Finding --------------------------------------------------------------------------


def gemeente_detail(request, code):
    """The gemeenten page (wijken and buurten) plus the upcoming gesprekken in it."""
    gemeente = get_object_or_404(Gemeente.objects.select_related("provincie"), code=code)
    wijken = gemeente.wijken.prefetch_related(
        Prefetch("buurten", queryset=Buurt.objects.order_by("name"))
    ).order_by("name")
    context = {
        "gemeente": gemeente,
        "wijken": wijken,
        "gesprekken": nearby_upcoming(gemeenten=[gemeente]),
    }
    return render(request, "gesprekken/gemeente.html", context)


def _buurt_page(request, buurt: Buurt, interest_form: InterestForm, status: int = 200):
    gesprekken = nearby_upcoming(gemeenten=[buurt.gemeente], buurten=[buurt])
    context = {
        "buurt": buurt,
        "gesprekken": gesprekken,
        "nearby_planned": any(g.proximity <= Proximity.WIJK for g in gesprekken),
        "interest_form": interest_form,
    }
    return render(request, "gesprekken/buurt.html", context, status=status)


def _buurt_or_404(code: str) -> Buurt:
    return get_object_or_404(Buurt.objects.select_related("wijk", "gemeente__provincie"), code=code)


def buurt_detail(request, code):
    """The buurt page: gesprekken here first, then in the wijk and gemeente; or 'I want one'."""
    return _buurt_page(request, _buurt_or_404(code), InterestForm())


def postcode_search(request):
    """Where does this postcode lie, and which gesprekken are near it? GET, works without JS."""
    if "postcode" not in request.GET:
        return redirect("home")
    form = PostcodeForm(request.GET)
    if not form.is_valid():
        return render(request, "gesprekken/postcode.html", {"form": form}, status=400)
    result = lookup_pc4(form.pc4)
    context = {
        "form": form,
        "result": result,
        "postcode": form.cleaned_data["postcode"],
        "gesprekken": (
            nearby_upcoming(gemeenten=result.gemeenten, buurten=result.buurten)
            if result.gemeente
            else []
        ),
    }
    return render(
        request, "gesprekken/postcode.html", context, status=200 if result.gemeente else 404
    )


# --- The gesprek page and signing up ---------------------------------------------------


def _sign_up_form(thema_id: int | None, data=None, **kwargs) -> SignUpForm:
    # The statements residents may answer for a gesprek: its theme's active ones.
    return SignUpForm(data, stellingen=lists.active_stellingen(thema_id), **kwargs)


def _gesprek_page(request, gesprek: Gesprek, form: SignUpForm, status: int = 200):
    context = {
        "gesprek": gesprek,
        "form": form,
        "agreements": lists.active_agreements(),
        "hold_minutes": settings.GESPREKKEN_HOLD_MINUTES,
        "list_seconds": lists.LIST_SECONDS,
    }
    return render(request, "gesprekken/gesprek_detail.html", context, status=status)


@require_safe
def gesprek_detail(request, pk):
    gesprek = get_object_or_404(public_gesprekken(), pk=pk)
    # Coming from the postcode search, the postcode is filled in already.
    form = _sign_up_form(
        gesprek.thema_id, initial={"postcode": request.GET.get("postcode", "")[:20]}
    )
    return _gesprek_page(request, gesprek, form)


@require_http_methods(["GET", "POST"])
def sign_up(request, pk):
    if request.method == "GET":
        return redirect("gesprekken:detail", pk=pk)
    # The service locks and reads the gesprek; here only its theme is needed (the form's
    # statements), and the page's read (seats left, place, facilitator) only to show the
    # form again.
    thema_ids = public_theme(pk)
    if not thema_ids:
        raise Http404
    form = _sign_up_form(thema_ids[0], request.POST)
    if not form.is_valid():
        return _gesprek_page(request, public_gesprekken().get(pk=pk), form, status=400)
    data = form.cleaned_data
    if not _within_limits(request, "sign_up", data["email"]):
        form.add_error(None, _too_many_attempts())
        return _gesprek_page(request, public_gesprekken().get(pk=pk), form, status=429)
    try:
        aanmelding = services.sign_up(
            gesprek=pk,
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            postcode=data["postcode"],
            language=data["language"],
            sector=data["sector"],
            age_band=data["age_band"],
            stance=data["stance"],
            stance_consent=bool(data.get("stance_consent")),
            # The one consent tick accepts the agreements listed just above it.
            agreements_accepted=True,
        )
    except services.ServiceError as error:
        form.add_error(None, str(error))
        return _gesprek_page(request, public_gesprekken().get(pk=pk), form, status=400)
    if aanmelding.status == Aanmelding.Status.WACHTLIJST:
        messages.info(request, _("This conversation is full. You are on the waiting list."))
    elif aanmelding.status == Aanmelding.Status.RESERVE:
        messages.info(
            request,
            _(
                "You are a reserve for this conversation. There are seats left, but we want "
                "a mixed table: people from different walks of life and with different views. "
                "We e-mail you a seat as soon as the mix allows it, or shortly before the start."
            ),
        )
    return redirect("gesprekken:signed_up", pk=pk)


@require_safe
def signed_up(request, pk):
    """'Check your e-mail': the only page after signing up; the link comes by e-mail."""
    gesprek = get_object_or_404(public_gesprekken(), pk=pk)
    return render(request, "gesprekken/signed_up.html", {"gesprek": gesprek})


# --- The personal manage page (secret link, no account) ------------------------------


def _aanmelding_or_404(pk: int, token: str) -> Aanmelding:
    aanmelding = services.get_aanmelding_by_token(pk, token)
    if aanmelding is None:
        raise Http404
    return aanmelding


def _to_manage(aanmelding: Aanmelding):
    return redirect("gesprekken:manage", pk=aanmelding.pk, token=aanmelding.token)


@never_cache
@require_safe
def manage(request, pk, token):
    aanmelding = _aanmelding_or_404(pk, token)
    gesprek = gesprekken_for_pages().get(pk=aanmelding.gesprek_id)
    context = {
        "aanmelding": aanmelding,
        "gesprek": gesprek,
        "position": waiting_list_position(aanmelding),
        "show_video_link": (
            aanmelding.status in SEE_VIDEO_LINK
            and gesprek.status == Gesprek.Status.GEPLAND
            and bool(gesprek.video_url)
        ),
        "can_cancel": aanmelding.status in CANCELLABLE and gesprek.is_open_for_sign_up,
        "reserve_release_at": _reserve_release_at(aanmelding, gesprek),
        "can_confirm": _can_confirm(aanmelding),
        "language_form": LanguageForm(initial={"language": aanmelding.language}),
    }
    return render(request, "gesprekken/manage.html", context)


def _reserve_release_at(aanmelding: Aanmelding, gesprek: Gesprek):
    """When a reserve is offered a seat at the latest (if one is free then); None when that
    moment has passed or this is no reserve."""
    if aanmelding.status != Aanmelding.Status.RESERVE:
        return None
    release = balance.release_at(gesprek)
    return release if release > timezone.now() else None


def _can_confirm(aanmelding: Aanmelding) -> bool:
    """Held, or a hold that ran out: services.confirm still gives a seat when one is free."""
    expired_hold = (
        aanmelding.status == Aanmelding.Status.VERLOPEN and aanmelding.offer_expires_at is None
    )
    return aanmelding.gesprek.is_open_for_sign_up and (
        aanmelding.status == Aanmelding.Status.ONBEVESTIGD or expired_hold
    )


def _action_page(request, aanmelding: Aanmelding, template: str, allowed: bool):
    """GET of a link from an e-mail: a page with one button (mail scanners prefetch GETs)."""
    if not allowed:
        return _to_manage(aanmelding)
    return render(request, template, {"aanmelding": aanmelding, "gesprek": aanmelding.gesprek})


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, pk, token):
    aanmelding = _aanmelding_or_404(pk, token)
    if request.method == "GET":
        return _action_page(
            request, aanmelding, "gesprekken/confirm.html", _can_confirm(aanmelding)
        )
    try:
        aanmelding = services.confirm(aanmelding=aanmelding)
    except services.ServiceError as error:
        messages.error(request, str(error))
        return _to_manage(aanmelding)
    if aanmelding.status in SEE_VIDEO_LINK:
        messages.success(request, _("Thank you! Your seat is confirmed."))
    elif aanmelding.status == Aanmelding.Status.WACHTLIJST:
        messages.info(
            request,
            _(
                "Your e-mail address is confirmed. "
                "The conversation is full: you are on the waiting list."
            ),
        )
    elif aanmelding.status == Aanmelding.Status.RESERVE:
        messages.info(
            request,
            _(
                "Your e-mail address is confirmed. You are a reserve: this conversation "
                "aims for a mixed table, and we e-mail you a seat as soon as the mix allows it."
            ),
        )
    return _to_manage(aanmelding)


@never_cache
@require_http_methods(["GET", "POST"])
def claim(request, pk, token):
    aanmelding = _aanmelding_or_404(pk, token)
    if request.method == "GET":
        return _action_page(
            request,
            aanmelding,
            "gesprekken/claim.html",
            aanmelding.status == Aanmelding.Status.AANGEBODEN,
        )
    try:
        aanmelding = services.claim_offer(aanmelding=aanmelding)
    except services.ServiceError as error:
        messages.error(request, str(error))
        return _to_manage(aanmelding)
    messages.success(request, _("Thank you! Your seat is confirmed."))
    return _to_manage(aanmelding)


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request, pk, token):
    aanmelding = _aanmelding_or_404(pk, token)
    if request.method == "GET":
        return _action_page(
            request, aanmelding, "gesprekken/cancel.html", aanmelding.status in CANCELLABLE
        )
    try:
        aanmelding = services.cancel(aanmelding=aanmelding)
    except services.ServiceError as error:
        messages.error(request, str(error))
        return _to_manage(aanmelding)
    messages.success(request, _("Your registration is cancelled. Thank you for letting us know."))
    return _to_manage(aanmelding)


@never_cache
@require_safe
def ics(request, pk, token):
    """The calendar entry, for a confirmed seat only."""
    aanmelding = _aanmelding_or_404(pk, token)
    if aanmelding.status not in SEE_VIDEO_LINK:
        raise Http404
    content = calendar_for(aanmelding.gesprek, aanmelding=aanmelding)
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{FILENAME}"'
    return response


@never_cache
@require_POST
def withdraw_stance(request, pk, token):
    """Delete my answers to the statements: consent withdrawn, the answers are gone at once."""
    aanmelding = _aanmelding_or_404(pk, token)
    if services.withdraw_stance(aanmelding=aanmelding):
        messages.success(request, _("Your answers to the statements are deleted."))
    else:
        messages.info(request, _("We hold no answers to the statements from you."))
    return _to_manage(aanmelding)


@never_cache
@require_POST
def change_language(request, pk, token):
    """The language of the e-mails; the page follows it too."""
    aanmelding = _aanmelding_or_404(pk, token)
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose Dutch or English."))
        return _to_manage(aanmelding)
    language = form.cleaned_data["language"]
    # One column of one row, no lock or mail: no service needed.
    Aanmelding.objects.filter(pk=aanmelding.pk).update(language=language)
    response = _to_manage(aanmelding)
    # As Django's set_language view does, so the pages follow the choice too.
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    with translation.override(language):
        messages.success(request, _("We will e-mail you in the language you chose."))
    return response


@require_http_methods(["GET", "POST"])
def resend(request):
    """'Lost your link?': always the same answer, whether or not the address is known."""
    # A POST without any field is a bound, invalid form too (`request.POST or None` is not).
    form = ResendLinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        address = ratelimit.client_ip(request)
        if not ratelimit.hit(scope="resend_ip", action="resend", value=address):
            form.add_error(None, _too_many_attempts())
            return render(request, "gesprekken/resend.html", {"form": form}, status=429)
        services.resend_manage_link(email=form.cleaned_data["email"])
        messages.info(
            request,
            _(
                "If you signed up with this address, we have sent your personal link to it. "
                "Check your inbox, and your spam folder too."
            ),
        )
        return redirect("gesprekken:resend")
    status = 400 if form.is_bound else 200
    return render(request, "gesprekken/resend.html", {"form": form}, status=status)


# --- 'I want a conversation in my street' -------------------------------------------------


@require_POST
def interest(request, code):
    buurt = _buurt_or_404(code)
    form = InterestForm(request.POST)
    if not form.is_valid():
        return _buurt_page(request, buurt, form, status=400)
    data = form.cleaned_data
    if not _within_limits(request, "interest", data["email"]):
        form.add_error(None, _too_many_attempts())
        return _buurt_page(request, buurt, form, status=429)
    try:
        services.register_interest(
            buurt=buurt, street=data["street"], email=data["email"], language=current_language()
        )
    except services.ServiceError as error:
        form.add_error(None, str(error))
        return _buurt_page(request, buurt, form, status=400)
    messages.success(
        request,
        _("Thank you! Check your e-mail and click the link to confirm your interest."),
    )
    return redirect(buurt.get_absolute_url())


@never_cache
@require_http_methods(["GET", "POST"])
def interest_confirm(request, pk, token):
    interesse = services.get_interesse_by_token(pk, token)
    if interesse is None:
        raise Http404
    if request.method == "GET" and interesse.confirmed_at is None:
        return render(request, "gesprekken/interest_confirm.html", {"interesse": interesse})
    if interesse.confirmed_at is None:
        services.confirm_interest(interesse=interesse)
    messages.success(
        request, _("Your interest is confirmed. We will e-mail you when a conversation is planned.")
    )
    return redirect(interesse.buurt.get_absolute_url())


@require_safe
def privacy(request):
    context = {
        "retention_days": settings.GESPREKKEN_RETENTION_DAYS,
        "contact_email": settings.GESPREKKEN_PRIVACY_EMAIL,
    }
    return render(request, "gesprekken/privacy.html", context)


# --- Privacy: download or delete your details (the personal link proves who you are) ------


@never_cache
@require_safe
def export_data(request, pk, token):
    """The resident's details as a JSON download (AVG: the rights of access and portability)."""
    aanmelding = _aanmelding_or_404(pk, token)
    data = services.export_personal_data(aanmelding=aanmelding)
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = 'attachment; filename="buurtgesprek-mijn-gegevens.json"'
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def erase(request, pk, token):
    """Delete your details: a page with one button; the POST anonymises (and cancels)."""
    aanmelding = _aanmelding_or_404(pk, token)
    if request.method == "GET":
        context = {
            "aanmelding": aanmelding,
            "gesprek": aanmelding.gesprek,
            "will_cancel": aanmelding.status in CANCELLABLE
            and aanmelding.gesprek.starts_at > timezone.now(),
        }
        return render(request, "gesprekken/erase.html", context)
    services.erase_registration(aanmelding=aanmelding)
    return redirect("gesprekken:erased")


@require_safe
def erased(request):
    context = {"contact_email": settings.GESPREKKEN_PRIVACY_EMAIL}
    return render(request, "gesprekken/erased.html", context)
