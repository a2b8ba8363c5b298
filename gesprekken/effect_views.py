"""The effect survey's pages: before the gesprek (link in "bevestigd"), after it (link in
"bedankt"). Anonymous: no account, no personal link; the pairing key in the address is
checked against the gesprek's registrations and is all that ties the two answers together
(see gesprekken/effect.py).

A key that is malformed, forged or of another gesprek gives 404; a closed survey 410;
invalid answers 400 with the form and a clear message; nothing is stored in those cases.
"""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import effect
from .effect_forms import AfterForm, BeforeForm
from .models import Gesprek


def _gesprek_or_404(pk: int, key: str) -> Gesprek:
    if not effect.looks_like_key(key):
        raise Http404
    gesprek = Gesprek.objects.select_related("buurt", "thema").filter(pk=pk).first()
    if gesprek is None or not effect.is_valid_key(gesprek, key):
        raise Http404
    return gesprek


def _message(request, gesprek: Gesprek, heading: str, text: str, *, status: int = 200):
    context = {"gesprek": gesprek, "heading": heading, "text": text}
    return render(request, "gesprekken/effect_message.html", context, status=status)


def _closed(request, gesprek: Gesprek):
    return _message(
        request,
        gesprek,
        _("This questionnaire is closed"),
        _("Thank you for your interest. Answers can no longer be given."),
        status=410,
    )


def _form_page(request, gesprek: Gesprek, form, *, after: bool, status: int = 200):
    context = {"gesprek": gesprek, "form": form, "after": after}
    return render(request, "gesprekken/effect_form.html", context, status=status)


def _bound(request, form_class):
    # A POST without any field is a bound, invalid form too (`request.POST or None` is not).
    return form_class(request.POST if request.method == "POST" else None)


@never_cache
@require_http_methods(["GET", "POST"])
def before(request, pk, key):
    """The questionnaire before the gesprek: open until it starts; one answer per key."""
    gesprek = _gesprek_or_404(pk, key)
    if not effect.before_open(gesprek, timezone.now()):
        return _closed(request, gesprek)
    already = (
        _("You have already answered"),
        _("Thank you! Your answers were saved before. Nothing has been changed."),
    )
    if effect.has_before(gesprek, key):
        return _message(request, gesprek, *already)
    form = _bound(request, BeforeForm)
    if not form.is_bound:
        return _form_page(request, gesprek, form, after=False)
    if not form.is_valid():
        return _form_page(request, gesprek, form, after=False, status=400)
    saved = effect.record_before(
        gesprek,
        key,
        thermometer=form.cleaned_data["thermometer"],
        trust=form.cleaned_data["trust"],
    )
    if not saved:
        return _message(request, gesprek, *already)
    return _message(
        request,
        gesprek,
        _("Thank you!"),
        _(
            "Your answers are saved. After the conversation we will send you three short "
            "questions, so we can see what the conversation brought."
        ),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def after(request, pk, key):
    """The questionnaire after the gesprek: open from its end for AFTER_SURVEY_DAYS days,
    only for a key that answered before; answering destroys the key."""
    gesprek = _gesprek_or_404(pk, key)
    now = timezone.now()
    if not effect.after_open(gesprek, now):
        if gesprek.status in effect.COUNTED_GESPREK_STATUSES and now < gesprek.ends_at:
            return _message(
                request,
                gesprek,
                _("Not open yet"),
                _("This questionnaire opens when the conversation has ended."),
            )
        return _closed(request, gesprek)
    used = (
        _("Thank you"),
        _("This link has already been used, or there was no first questionnaire."),
    )
    if not effect.has_before(gesprek, key):
        return _message(request, gesprek, *used)
    form = _bound(request, AfterForm)
    if not form.is_bound:
        return _form_page(request, gesprek, form, after=True)
    if not form.is_valid():
        return _form_page(request, gesprek, form, after=True, status=400)
    saved = effect.record_after(
        gesprek,
        key,
        thermometer=form.cleaned_data["thermometer"],
        trust=form.cleaned_data["trust"],
        argument=form.cleaned_data["argument"],
    )
    if not saved:
        return _message(request, gesprek, *used)
    return _message(
        request,
        gesprek,
        _("Thank you!"),
        _(
            "Your answers are saved. The link no longer works, and your answers cannot be "
            "traced back to you. We only publish averages of at least 5 people."
        ),
    )
