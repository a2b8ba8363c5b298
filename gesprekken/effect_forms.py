"""The effect survey's forms: three numbers, no free text, nothing about the person."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .effect import SCALE_RANGE, THERMOMETER_RANGE
from .forms import ResidentForm

# A thermometer answer is at most "100"; anything much longer is not an answer.
MAX_INPUT_LENGTH = 6

THERMOMETER_MESSAGE = _("Enter a whole number from 0 to 100.")
SCALE_MESSAGE = _("Choose one of the five answers.")

# How true a statement is, from 1 to 5 (trust, and the argument that made you think).
SCALE_CHOICES = [
    (1, _("Not at all")),
    (2, _("A little")),
    (3, _("Partly")),
    (4, _("Mostly")),
    (5, _("Completely")),
]


class ThermometerField(forms.IntegerField):
    def __init__(self, **kwargs):
        low, high = THERMOMETER_RANGE
        super().__init__(
            min_value=low,
            max_value=high,
            error_messages={
                key: THERMOMETER_MESSAGE
                for key in ("required", "invalid", "min_value", "max_value", "step_size")
            },
            widget=forms.NumberInput(
                attrs={
                    "inputmode": "numeric",
                    "min": low,
                    "max": high,
                    "step": 1,
                    "class": "form-control form-control-lg w-auto",
                    "size": 4,
                }
            ),
            **kwargs,
        )

    def to_python(self, value):
        if isinstance(value, str) and len(value.strip()) > MAX_INPUT_LENGTH:
            raise forms.ValidationError(THERMOMETER_MESSAGE, code="invalid")
        return super().to_python(value)


class ScaleField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            choices=SCALE_CHOICES,
            coerce=int,
            empty_value=None,
            error_messages={"required": SCALE_MESSAGE, "invalid_choice": SCALE_MESSAGE},
            widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
            **kwargs,
        )

    def clean(self, value):
        if isinstance(value, str) and len(value) > MAX_INPUT_LENGTH:
            raise forms.ValidationError(SCALE_MESSAGE, code="invalid_choice")
        value = super().clean(value)
        low, high = SCALE_RANGE
        if value is not None and not low <= value <= high:
            raise forms.ValidationError(SCALE_MESSAGE, code="invalid_choice")
        return value


class BeforeForm(ResidentForm):
    thermometer = ThermometerField(
        label=_(
            "How warm or cold do you feel towards people who see this theme differently from you?"
        ),
        help_text=_("0 is very cold, 50 is neither warm nor cold, 100 is very warm."),
    )
    trust = ScaleField(
        label=_("“Most people in my neighbourhood can be trusted.” How true is that for you?"),
    )


class AfterForm(BeforeForm):
    argument = ScaleField(
        label=_(
            "“In the conversation I heard an argument that made me think.” "
            "How true is that for you?"
        ),
    )
