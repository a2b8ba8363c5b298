"""Workspace forms: planning and changing a gesprek. Checks that need the database or
span several fields (served gemeente, end after start, min ≤ max, what a format needs)
live in services.plan_gesprek / replan_gesprek; their errors come back onto these fields."""

import re
from datetime import datetime

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from facilitators.access import served_gemeenten
from gemeenten.models import Buurt, Gemeente

from ..forms import ResidentForm, has_control_characters
from ..models import Gesprek, Thema
from ..services import (
    AMSTERDAM,
    MAX_BALANCE_SHARE,
    MAX_GROUP_SIZE,
    MAX_SERIES_WEEKS,
    MIN_BALANCE_SHARE,
    MIN_GROUP_SIZE,
    PLAN_FIELDS,
)

# A tag or comment start: the text is shown escaped anyway, but markup in a flyer or
# an e-mail is never what a facilitator meant.
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]")

SINGLE_LINE = _("Use one line of plain text, without line breaks or special characters.")
NO_MARKUP = _("Leave out HTML: plain text only.")
PLAIN_TEXT = _("Use plain text, without special characters.")

# Service errors are keyed by Gesprek field; these form fields show them.
_SERVICE_FIELD = {"starts_at": "date", "ends_at": "end_time"}


def _length_messages(limit: int) -> dict:
    return {
        "max_length": _("This can be at most %(limit)s characters long.") % {"limit": limit},
        "null_characters_not_allowed": SINGLE_LINE,
    }


def _group_size_messages() -> dict:
    return {
        "required": _("Enter a number."),
        "invalid": _("Enter a whole number, for example 8."),
        "min_value": _("Enter a number of at least %(limit_value)s."),
        "max_value": _("Enter a number of at most %(limit_value)s."),
    }


def _share_text() -> str:
    return gettext("Enter a whole number from %(min)s to %(max)s, for example 60.") % {
        "min": MIN_BALANCE_SHARE,
        "max": MAX_BALANCE_SHARE,
    }


# Lazy: the class attributes below are built once, the message in each request's language.
_share_message = lazy(_share_text, str)


def _weeks_choices():
    return [
        (
            weeks,
            _("Only once")
            if weeks == 1
            else ngettext(
                "%(weeks)s week in a row, same day and time",
                "%(weeks)s weeks in a row, same day and time",
                weeks,
            )
            % {"weeks": weeks},
        )
        for weeks in range(1, MAX_SERIES_WEEKS + 1)
    ]


def plain_text(value: str) -> str:
    """Text of several lines (a route, a report), stripped, every line break a newline;
    ValidationError for markup or any other control or text-direction character."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _MARKUP.search(value):
        raise ValidationError(NO_MARKUP, code="markup")
    if has_control_characters(value.replace("\n", "")):
        raise ValidationError(PLAIN_TEXT, code="control")
    return value.strip()


def grouped_buurten(buurten) -> list:
    """Select choices with an <optgroup> per wijk: Amsterdam has some 500 buurten."""
    groups: dict[str, list] = {}
    for buurt in buurten:
        groups.setdefault(buurt.wijk.name, []).append((buurt.code, buurt.name))
    return [("", _("Choose a neighbourhood")), *groups.items()]


class BuurtSearchForm(forms.Form):
    """Step one of planning, by GET: which gemeente (for those serving several) and an
    optional search that narrows the list of buurten. Works without JavaScript."""

    gemeente = forms.ChoiceField(
        label=_("Municipality"),
        error_messages={
            "required": _("Choose a municipality."),
            "invalid_choice": _("Choose one of the municipalities you serve."),
        },
    )
    q = forms.CharField(
        label=_("Search a neighbourhood (optional)"),
        required=False,
        max_length=100,
        help_text=_("Part of the name is enough, e.g. “haven”."),
        error_messages=_length_messages(100),
    )

    def __init__(self, *args, gemeenten: list[Gemeente], **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.gemeenten = {gemeente.code: gemeente for gemeente in gemeenten}
        self.fields["gemeente"].choices = [("", _("Choose a municipality"))] + [
            (gemeente.code, gemeente.name) for gemeente in gemeenten
        ]
        self.fields["gemeente"].widget.attrs["class"] = "form-select form-select-lg"
        self.fields["q"].widget.attrs.update({"class": "form-control", "type": "search"})

    @property
    def chosen_gemeente(self) -> Gemeente | None:
        if len(self.gemeenten) == 1:
            return next(iter(self.gemeenten.values()))
        if self.is_bound and self.is_valid():
            return self.gemeenten[self.cleaned_data["gemeente"]]
        return None

    @property
    def query(self) -> str:
        return self.cleaned_data.get("q", "").strip() if self.is_bound and self.is_valid() else ""


class GesprekForm(ResidentForm):
    """The fields of a gesprek a facilitator sets; PlanForm adds the buurt and the series."""

    format = forms.ChoiceField(
        label=_("Format"),
        choices=Gesprek.Format.choices,
        initial=Gesprek.Format.TAFEL,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={
            "required": _("Choose a table, a walk or an online conversation."),
            "invalid_choice": _("Choose a table, a walk or an online conversation."),
        },
    )
    street = forms.CharField(
        label=_("Street (optional)"),
        required=False,
        max_length=200,
        strip=False,
        help_text=_("When the conversation is for one street."),
        error_messages=_length_messages(200),
    )
    place = forms.CharField(
        label=_("Address or meeting point"),
        required=False,
        max_length=300,
        strip=False,
        help_text=_(
            "Table: the address, e.g. Buurthuis De Pijl, Pijlstraat 4. "
            "Walk: where you meet. Everyone can see it."
        ),
        error_messages=_length_messages(300),
    )
    route = forms.CharField(
        label=_("Route (walks only)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Where the walk goes, and where there is a place to sit."),
        error_messages=_length_messages(2000),
    )
    video_url = forms.URLField(
        label=_("Video link (online only)"),
        required=False,
        max_length=200,
        assume_scheme="https",
        help_text=_("Only people with a confirmed seat see this link."),
        widget=forms.URLInput(attrs={"spellcheck": "false"}),
        error_messages={
            "invalid": _("Enter a web address like https://meet.example.nl/buurt."),
            **_length_messages(200),
        },
    )
    date = forms.DateField(
        label=_("Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the date."),
            "invalid": _("Enter a date like 2026-10-11."),
        },
    )
    start_time = forms.TimeField(
        label=_("Start time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": _("Enter the start time."),
            "invalid": _("Enter a time like 19:30."),
        },
    )
    end_time = forms.TimeField(
        label=_("End time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": _("Enter the end time."),
            "invalid": _("Enter a time like 21:00."),
        },
    )
    min_participants = forms.IntegerField(
        label=_("Minimum group size"),
        initial=4,
        min_value=MIN_GROUP_SIZE,
        max_value=MAX_GROUP_SIZE,
        help_text=_("Below this number you may call it off."),
        error_messages=_group_size_messages(),
    )
    max_participants = forms.IntegerField(
        label=_("Maximum group size"),
        initial=10,
        min_value=MIN_GROUP_SIZE,
        max_value=MAX_GROUP_SIZE,
        help_text=_("Who signs up after that goes on the waiting list."),
        error_messages=_group_size_messages(),
    )
    co_facilitator = forms.ModelChoiceField(
        label=_("Co-facilitator (optional)"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("Nobody"),
        error_messages={
            "invalid_choice": _("Choose another facilitator who serves this municipality."),
        },
    )
    thema = forms.ModelChoiceField(
        label=_("Theme (optional)"),
        queryset=Thema.objects.filter(active=True),
        required=False,
        empty_label=_("No particular theme"),
        error_messages={"invalid_choice": _("Choose a theme from the list.")},
    )
    language = forms.ChoiceField(
        label=_("Language of the conversation"),
        choices=Gesprek.Language.choices,
        initial=Gesprek.Language.NL,
        error_messages={
            "required": _("Choose Dutch or English."),
            "invalid_choice": _("Choose Dutch or English."),
        },
    )
    accessibility_notes = forms.CharField(
        label=_("Accessibility (optional)"),
        required=False,
        max_length=500,
        strip=False,
        help_text=_("E.g. step-free entrance, hearing loop, benches along the walk."),
        error_messages=_length_messages(500),
    )
    # The balance rule (gesprekken.balance). The help texts are set in __init__: they
    # name the settings of this installation.
    balance = forms.BooleanField(label=_("Mixed table"), required=False)
    balance_max_share = forms.IntegerField(
        label=_("Maximum share of one sector or one view (%)"),
        required=False,
        initial=60,
        min_value=MIN_BALANCE_SHARE,
        max_value=MAX_BALANCE_SHARE,
        error_messages={
            "invalid": _share_message(),
            "min_value": _share_message(),
            "max_value": _share_message(),
        },
    )

    def __init__(self, *args, gemeente: Gemeente, lead, **kwargs):
        super().__init__(*args, **kwargs)
        facilitators = get_user_model().objects.filter(facilitator__gemeenten=gemeente)
        if lead is not None:
            facilitators = facilitators.exclude(pk=lead.pk)
        self.fields["co_facilitator"].queryset = facilitators.order_by(
            "first_name", "last_name", "pk"
        ).distinct()
        self.fields["co_facilitator"].label_from_instance = lambda user: (
            user.get_full_name() or user.email
        )
        self.fields["video_url"].widget.attrs["inputmode"] = "url"
        self.fields["balance"].help_text = _(
            "Aim for neighbours from different sectors and with different views on the "
            "theme at one table. Someone who would make one sector or one view too large "
            "becomes a reserve: they get a seat as soon as the mix allows it, or else "
            "%(hours)s hours before the start if a seat is still free. Only residents who "
            "chose to share their sector or view count; nobody sees who answered what."
        ) % {"hours": settings.GESPREKKEN_RESERVE_RELEASE_HOURS}
        self.fields["balance_max_share"].help_text = _(
            "From %(min)s to %(max)s. At 60, no sector and no view takes more than 60 %% of "
            "the seats; the first few people of a small table may be alike."
        ) % {"min": MIN_BALANCE_SHARE, "max": MAX_BALANCE_SHARE}
        self.fields["balance_max_share"].widget.attrs["inputmode"] = "numeric"

    # Plain text: one line where a line is expected, never markup.
    def _single_line(self, name: str) -> str:
        value = self.cleaned_data[name]
        if has_control_characters(value):
            raise ValidationError(SINGLE_LINE, code="control")
        if _MARKUP.search(value):
            raise ValidationError(NO_MARKUP, code="markup")
        return value.strip()

    def clean_street(self):
        return self._single_line("street")

    def clean_place(self):
        return self._single_line("place")

    def clean_accessibility_notes(self):
        return self._single_line("accessibility_notes")

    def clean_route(self):
        return plain_text(self.cleaned_data["route"])

    def clean(self):
        data = super().clean()
        if (
            data.get("balance")
            and data.get("balance_max_share") is None
            and "balance_max_share" not in self.errors
        ):
            self.add_error(
                "balance_max_share",
                ValidationError(
                    _("A mixed table needs a maximum share: %(message)s")
                    % {"message": _share_message()},
                    code="required",
                ),
            )
        day, start, end = data.get("date"), data.get("start_time"), data.get("end_time")
        if day and start and end:
            # The clock in Amsterdam, also for a facilitator travelling elsewhere.
            data["starts_at"] = datetime.combine(day, start, tzinfo=AMSTERDAM)
            data["ends_at"] = datetime.combine(day, end, tzinfo=AMSTERDAM)
        return data

    def gesprek_fields(self) -> dict:
        """The cleaned values as services.plan_gesprek / replan_gesprek take them."""
        # The buurt is chosen apart (per served gemeente), the rest as the service names it.
        fields = PLAN_FIELDS - {"buurt"}
        chosen = {name: value for name, value in self.cleaned_data.items() if name in fields}
        if chosen.get("balance_max_share") is None:
            # Left empty with the rule off: keep the share as it is (or the default).
            chosen.pop("balance_max_share", None)
        return chosen

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the fields it is about."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            field = _SERVICE_FIELD.get(field, field)
            self.add_error(field if field in self.fields else None, errors)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid"


class PlanForm(GesprekForm):
    buurt = forms.CharField(
        label=_("Neighbourhood"),
        max_length=10,
        widget=forms.Select,
        error_messages={
            "required": _("Choose the neighbourhood."),
            "max_length": _("Choose a neighbourhood from the list."),
            "null_characters_not_allowed": _("Choose a neighbourhood from the list."),
        },
    )
    weeks = forms.TypedChoiceField(
        label=_("Repeat weekly"),
        coerce=int,
        choices=_weeks_choices,
        initial=1,
        help_text=_("Plan a short series in one go; you can change or cancel each one later."),
        error_messages={
            "required": _("Choose how many weeks."),
            "invalid_choice": _("Choose how many weeks."),
        },
    )

    field_order = ["format", "buurt", "street", "place", "route", "video_url", "date"]

    def __init__(self, *args, user, gemeente: Gemeente, query: str = "", **kwargs):
        super().__init__(*args, gemeente=gemeente, lead=user, **kwargs)
        self.user = user
        buurten = Buurt.objects.filter(gemeente=gemeente).select_related("wijk")
        if query:
            buurten = buurten.filter(name__icontains=query)
        self.fields["buurt"].widget.choices = grouped_buurten(
            buurten.order_by("wijk__name", "name", "code")
        )
        self.fields["buurt"].widget.attrs["class"] = "form-select form-select-lg"

    def clean_buurt(self):
        # Any buurt of a served gemeente, also one the search has hidden from the list.
        buurt = (
            Buurt.objects.filter(
                code=self.cleaned_data["buurt"],
                gemeente__in=served_gemeenten(self.user).values("pk"),
            )
            .select_related("gemeente")
            .first()
        )
        if buurt is None:
            raise ValidationError(
                _("Choose a neighbourhood in a municipality you serve."), code="invalid"
            )
        return buurt

    def gesprek_fields(self) -> dict:
        return {**super().gesprek_fields(), "buurt": self.cleaned_data["buurt"]}


class EditForm(GesprekForm):
    """Change a gesprek: everything but the buurt (plan a new one in another buurt)."""

    @staticmethod
    def initial_for(gesprek: Gesprek) -> dict:
        start = timezone.localtime(gesprek.starts_at, AMSTERDAM)
        end = timezone.localtime(gesprek.ends_at, AMSTERDAM)
        initial = {
            field: getattr(gesprek, field)
            for field in (
                "format",
                "street",
                "place",
                "route",
                "video_url",
                "min_participants",
                "max_participants",
                "language",
                "accessibility_notes",
                "balance",
                "balance_max_share",
            )
        }
        return {
            **initial,
            "date": start.date(),
            "start_time": start.time(),
            "end_time": end.time(),
            "thema": gesprek.thema_id,
            "co_facilitator": gesprek.co_facilitator_id,
        }

    def __init__(self, *args, gesprek: Gesprek, **kwargs):
        kwargs.setdefault("initial", self.initial_for(gesprek))
        super().__init__(*args, gemeente=gesprek.buurt.gemeente, lead=gesprek.facilitator, **kwargs)
        if gesprek.thema is not None and not gesprek.thema.active:
            # A theme retired after planning stays selectable for this gesprek.
            self.fields["thema"].queryset = Thema.objects.filter(
                pk=gesprek.thema_id
            ) | Thema.objects.filter(active=True)
