"""Forms for running a gesprek: the check-in code, marking a person, and the report."""

from django import forms
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import Thema, Verslag
from .forms import PLAIN_TEXT, plain_text

# The report's free text is plain text, as a gesprek's place and route are.
TEXT_MESSAGES = {"null_characters_not_allowed": PLAIN_TEXT}


def id_out_of_range(value, model) -> bool:
    """Whether `value` is a whole number that no row of `model` can have as its id (past the
    database's range for the pk, as queries.public_theme checks): it names no row, and
    SQLite cannot even compare with it (OverflowError), so it is turned away before any
    query. Anything else (a word, an empty value) is left to the field or URL that refuses it."""
    try:
        number = int(str(value).strip())
    except ValueError:
        return False
    low, high = connection.ops.integer_field_range(model._meta.pk.get_internal_type())
    return not low <= number <= high


class ThemesField(forms.ModelMultipleChoiceField):
    """Themes by id, each id checked to be a possible one before the choices are looked up."""

    def clean(self, value):
        model = self.queryset.model
        if isinstance(value, list | tuple) and any(id_out_of_range(pk, model) for pk in value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().clean(value)


class CheckInCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Check-in code"),
        help_text=_("The six letters and digits in the resident's confirmation e-mail."),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
                "class": "form-control form-control-lg checkin-code",
            }
        ),
    )


class MarkForm(forms.Form):
    """The 'present' / 'not here' buttons next to a name (`present` is "1" or "0")."""

    present = forms.TypedChoiceField(
        choices=[("1", _("Present")), ("0", _("Not here"))], coerce=lambda value: value == "1"
    )
    # The name filter the list was showing, to come back to the same list.
    q = forms.CharField(required=False, max_length=100)


class ReportForm(forms.Form):
    attendance = forms.IntegerField(
        label=_("How many people came?"),
        help_text=_("Filled in from the check-in. Count everyone who joined, also walk-ins."),
        min_value=0,
        max_value=services.MAX_ATTENDANCE,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    themes = ThemesField(
        label=_("Which themes came up?"),
        queryset=Thema.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "invalid_choice": _("Choose a theme from the list."),
            "invalid_pk_value": _("Choose a theme from the list."),
        },
    )
    themes_text = forms.CharField(
        label=_("Themes in your own words"),
        help_text=_("Optional. At most 500 characters."),
        required=False,
        max_length=Verslag._meta.get_field("themes_text").max_length,
        error_messages=TEXT_MESSAGES,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
    )
    outcome = forms.CharField(
        label=_("What did the neighbours come up with?"),
        help_text=_("Ideas, agreements, things they want to do together. At most 2000 characters."),
        max_length=Verslag._meta.get_field("outcome").max_length,
        error_messages=TEXT_MESSAGES,
        widget=forms.Textarea(attrs={"rows": 6, "class": "form-control"}),
    )
    follow_up = forms.CharField(
        label=_("Follow-up"),
        help_text=_("Optional: what happens next, and who takes it up. At most 1000 characters."),
        required=False,
        max_length=Verslag._meta.get_field("follow_up").max_length,
        error_messages=TEXT_MESSAGES,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )
    confirm_personal_data = forms.BooleanField(
        label=_(
            "I checked it: this is nobody's personal contact detail (for example the "
            "number of the community centre). Save the report as it is."
        ),
        required=False,
    )

    def __init__(self, *args, gesprek, **kwargs):
        super().__init__(*args, **kwargs)
        # Active themes, and whatever this report or gesprek already has (even if retired).
        chosen = Q(verslagen__gesprek=gesprek) | Q(gesprekken=gesprek)
        self.fields["themes"].queryset = (
            Thema.objects.filter(Q(active=True) | chosen).distinct().order_by("name")
        )

    # Plain text, with line breaks: the same checks and messages as a gesprek's route.
    def clean_themes_text(self):
        return plain_text(self.cleaned_data["themes_text"])

    def clean_outcome(self):
        return plain_text(self.cleaned_data["outcome"])

    def clean_follow_up(self):
        return plain_text(self.cleaned_data["follow_up"])
