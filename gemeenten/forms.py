from django import forms
from django.utils.translation import gettext_lazy as _

from .postcode import PostcodeError, format_postcode, parse_postcode


class PostcodeForm(forms.Form):
    postcode = forms.CharField(
        label=_("Your postcode"),
        max_length=20,
        help_text=_("For example 3511 AB"),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "postal-code",
                "inputmode": "text",
                "autocapitalize": "characters",
            }
        ),
        error_messages={
            "required": _("Enter your postcode, for example 3511 AB."),
            "max_length": _("A postcode has 4 digits and 2 letters, for example 3511 AB."),
            "null_characters_not_allowed": _(
                "A postcode has 4 digits and 2 letters, for example 3511 AB."
            ),
        },
    )

    def clean_postcode(self):
        try:
            pc4, letters = parse_postcode(self.cleaned_data["postcode"])
        except PostcodeError as error:
            raise forms.ValidationError(error.args[0], code="invalid") from None
        self.pc4 = pc4
        return format_postcode(pc4, letters)
