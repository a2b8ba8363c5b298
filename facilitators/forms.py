"""Coordinator forms (inviting) and the sign-up form an invited facilitator fills in."""

from allauth.account.forms import SignupForm
from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from .access import coordinated_gemeenten
from .models import Organisatie

EMAIL_MESSAGES = {
    "required": _("Enter the e-mail address of the person you invite."),
    "invalid": _("Enter an e-mail address like name@example.nl."),
    "max_length": _("An e-mail address can be at most 254 characters long."),
    "null_characters_not_allowed": _("Enter an e-mail address like name@example.nl."),
}


class StaffForm(forms.Form):
    """Bootstrap classes on every input; Django adds aria-invalid and aria-describedby."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault("class", css)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class InviteForm(StaffForm):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        error_messages=EMAIL_MESSAGES,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    gemeenten = forms.ModelMultipleChoiceField(
        label=_("Municipalities"),
        help_text=_("Where they will plan and lead conversations."),
        queryset=None,
        to_field_name="code",
        error_messages={
            "required": _("Choose at least one municipality."),
            "invalid_choice": _(
                "You can only invite people for the municipalities you coordinate."
            ),
            "invalid_pk_value": _(
                "You can only invite people for the municipalities you coordinate."
            ),
        },
    )
    organisatie = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisatie.objects.all(),
        required=False,
        empty_label=_("(none)"),
        error_messages={"invalid_choice": _("Choose an organisation from the list.")},
    )

    # With this many gemeenten or fewer, checkboxes; otherwise a list to scroll through.
    CHECKBOX_LIMIT = 12

    def __init__(self, *args, inviter, **kwargs):
        super().__init__(*args, **kwargs)
        gemeenten = coordinated_gemeenten(inviter).order_by("name")
        field = self.fields["gemeenten"]
        field.queryset = gemeenten
        if gemeenten.count() <= self.CHECKBOX_LIMIT:
            field.widget = forms.CheckboxSelectMultiple()
            field.widget.choices = field.choices
        else:
            field.widget.attrs["size"] = 10


class InvitedSignupForm(SignupForm):
    """allauth's sign-up form with the name (the flyer shows the first name).

    The e-mail address is prefilled with the invited one and shown read-only; the
    adapter (buurtgesprek.adapters) refuses any other address.
    """

    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)

    field_order = ["first_name", "last_name", "email", "password1", "password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].widget.attrs.update({"autocomplete": "given-name"})
        self.fields["last_name"].widget.attrs.update({"autocomplete": "family-name"})
        if "email" in self.fields:
            self.fields["email"].widget.attrs["readonly"] = True

    def clean_first_name(self):
        return _one_line(self.cleaned_data["first_name"])

    def clean_last_name(self):
        return _one_line(self.cleaned_data["last_name"])


def _one_line(value: str) -> str:
    # A name ends up in e-mails and on a flyer: no line breaks or control characters.
    if any(ord(char) < 32 or char in "\u2028\u2029\x7f" for char in value):
        raise forms.ValidationError(_("Use letters, spaces and hyphens only, on one line."))
    return value.strip()


def current_language() -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in codes else settings.LANGUAGE_CODE
