from django import forms
from django.utils.translation import gettext_lazy as _

from .postcode import PostcodeError, format_postcode, parse_postcode

SHAPE = _("A postcode has 4 digits and 2 letters, for example 3511 AB.")


class PostcodeField(forms.CharField):
    """A Dutch postcode as a resident types it; cleaned to "3511 AB" (or "3511")."""

    default_error_messages = {
        "required": _("Enter your postcode, for example 3511 AB."),
        "max_length": SHAPE,
        "null_characters_not_allowed": SHAPE,
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Your postcode"))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("help_text", _("For example 3511 AB"))
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "autocomplete": "postal-code",
                    "autocapitalize": "characters",
                    "spellcheck": "false",
                }
            ),
        )
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            pc4, letters = parse_postcode(value)
        except PostcodeError as error:
            raise forms.ValidationError(error.args[0], code="invalid") from None
        return format_postcode(pc4, letters)


class PostcodeForm(forms.Form):
    postcode = PostcodeField()

    @property
    def pc4(self) -> str:
        return self.cleaned_data["postcode"][:4]
