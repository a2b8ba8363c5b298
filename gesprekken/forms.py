"""Resident forms: short, no free text where health or political statements could creep in."""

import re
import unicodedata

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gemeenten.forms import PostcodeField

# Bidirectional overrides and isolates can make a name display as something else.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Digits, spaces and the usual separators; an optional + for an international number.
_PHONE = re.compile(r"\+?[0-9 ()\-./]+", re.ASCII)

EMAIL_MESSAGES = {
    "required": _("Enter your e-mail address. We send the link to confirm there."),
    "invalid": _("Enter an e-mail address like name@example.nl."),
    "max_length": _("An e-mail address can be at most 254 characters long."),
    "null_characters_not_allowed": _("Enter an e-mail address like name@example.nl."),
}
CONSENT_HELP = _("Read the privacy statement: what we keep, why and for how long.")
CONSENT_MESSAGES = {
    "required": _(
        "Tick the box to agree with the privacy statement. Without it we cannot sign you up."
    )
}


def has_control_characters(value: str) -> bool:
    """Line breaks, tabs, other control characters and text-direction tricks."""
    return any(
        unicodedata.category(char) in {"Cc", "Zl", "Zp"} or char in _BIDI_CONTROLS for char in value
    )


def language_choices():
    # Each language in its own words, as in the language switch.
    autonyms = {"nl": "Nederlands", "en": "English"}
    return [(code, autonyms.get(code, name)) for code, name in settings.LANGUAGES]


def current_language() -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    language = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return language if language in codes else settings.LANGUAGE_CODE


class ResidentForm(forms.Form):
    """Shared wiring: inputs with Bootstrap classes; Django adds aria-invalid/describedby."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-lg"
            else:
                css = "form-control form-control-lg"
            widget.attrs.setdefault("class", css)

    def full_clean(self):
        super().full_clean()
        # Red borders on the fields that need attention (Bootstrap), next to aria-invalid.
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class SignUpForm(ResidentForm):
    name = forms.CharField(
        label=_("Your name"),
        max_length=100,
        # Stripping first would hide a line break at the start (header injection).
        strip=False,
        help_text=_("Your first name is enough. The facilitator uses it on the day."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter your name."),
            "max_length": _("Your name can be at most 100 characters long."),
            "null_characters_not_allowed": _(
                "Your name cannot contain line breaks or other special characters."
            ),
        },
    )
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        help_text=_("We send you a link to confirm. We do not use it for anything else."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages=EMAIL_MESSAGES,
    )
    postcode = PostcodeField()
    phone = forms.CharField(
        label=_("Your phone number (optional)"),
        max_length=20,
        required=False,
        help_text=_("Only if you want the facilitator to be able to call you, e.g. on the day."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}),
        error_messages={
            "max_length": _("Enter a phone number like 06 12345678, or leave the field empty."),
            "null_characters_not_allowed": _(
                "Enter a phone number like 06 12345678, or leave the field empty."
            ),
        },
    )
    language = forms.ChoiceField(
        label=_("Language of our e-mails"),
        choices=language_choices,
        error_messages={
            "required": _("Choose Dutch or English."),
            "invalid_choice": _("Choose Dutch or English."),
        },
    )
    consent = forms.BooleanField(
        label=_(
            "I have read the privacy statement and agree that my details are used "
            "for this conversation."
        ),
        help_text=CONSENT_HELP,
        error_messages=CONSENT_MESSAGES,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = current_language()

    def clean_name(self):
        name = self.cleaned_data["name"]
        if has_control_characters(name):
            raise forms.ValidationError(
                _("Your name cannot contain line breaks or other special characters."),
                code="control",
            )
        name = name.strip()
        if any(char in name for char in "<>@"):
            raise forms.ValidationError(
                _("Your name cannot contain the characters < > or @."), code="characters"
            )
        if not any(char.isalpha() for char in name):
            raise forms.ValidationError(_("Enter your name."), code="required")
        return name

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if not phone:
            return ""
        digits = sum(char.isdigit() for char in phone)
        if not _PHONE.fullmatch(phone) or not 9 <= digits <= 15:
            raise forms.ValidationError(
                _("Enter a phone number like 06 12345678, or leave the field empty."),
                code="invalid",
            )
        return phone


class InterestForm(ResidentForm):
    """'I want a conversation in my street': the buurt comes from the page address."""

    street = forms.CharField(
        label=_("Your street (optional)"),
        max_length=200,
        required=False,
        strip=False,
        help_text=_("So the facilitator knows where the interest is. Leave out your house number."),
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
        error_messages={
            "max_length": _("A street name can be at most 200 characters long."),
            "null_characters_not_allowed": _(
                "A street name cannot contain line breaks or other special characters."
            ),
        },
    )
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        help_text=_("We e-mail you once when a conversation is planned near you."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages=EMAIL_MESSAGES,
    )
    consent = forms.BooleanField(
        label=_(
            "I have read the privacy statement and agree that my e-mail address is kept for this."
        ),
        help_text=CONSENT_HELP,
        error_messages=CONSENT_MESSAGES,
    )

    def clean_street(self):
        street = self.cleaned_data["street"]
        if has_control_characters(street) or any(char in street for char in "<>"):
            raise forms.ValidationError(
                _("A street name cannot contain line breaks or other special characters."),
                code="control",
            )
        return street.strip()


class ResendLinkForm(ResidentForm):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        help_text=_("The address you signed up with."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
        error_messages=EMAIL_MESSAGES,
    )


class LanguageForm(ResidentForm):
    language = forms.ChoiceField(
        label=_("Language of our e-mails"),
        choices=language_choices,
        error_messages={
            "required": _("Choose Dutch or English."),
            "invalid_choice": _("Choose Dutch or English."),
        },
    )
