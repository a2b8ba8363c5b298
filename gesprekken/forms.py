"""Resident forms: short, no free text where health or political statements could creep in."""

import re
import unicodedata

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from gemeenten.forms import PostcodeField

from . import lists
from .models import AgeBand, Sector, Standpunt

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
# What the separate tick for the answers to the statements means, in plain words.
STANCE_CONSENT_HELP = _(
    "Your answers are your opinion. We use them only to make a mixed table and in totals. "
    "We never show them to anyone, not even to the facilitator. They are deleted with your "
    "other details after the retention period, and you can delete them yourself at any time "
    "on your personal page."
)
# Statements are fields named stelling_<pk>.
STELLING_PREFIX = "stelling_"
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
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-lg"
            else:
                css = "form-control form-control-lg"
            widget.attrs.setdefault("class", css)

    def _ticked(self, name: str) -> bool:
        """A consent box as the browser sends it when ticked ("on"). Django's checkbox
        reads any other text as ticked too ("0", "no"); consent is never read into a value
        that did not give it."""
        return self.cleaned_data[name] and self.data.get(self.add_prefix(name)) == "on"

    def clean_consent(self) -> bool:
        if not self._ticked("consent"):
            raise forms.ValidationError(
                self.fields["consent"].error_messages["required"], "required"
            )
        return True

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
    # Optional, in "Help us make a mixed table": never required, never free text.
    sector = forms.ChoiceField(
        label=_("The sector you work or live in"),
        required=False,
        help_text=_("For example care, hospitality, education, or retired."),
        error_messages={
            "invalid_choice": _("Choose a sector from the list, or “I'd rather not say”.")
        },
    )
    age_band = forms.ChoiceField(
        label=_("Your age"),
        required=False,
        choices=[("", _("I'd rather not say")), *AgeBand.choices],
        error_messages={
            "invalid_choice": _("Choose an age from the list, or “I'd rather not say”.")
        },
    )
    stance_consent = forms.BooleanField(
        label=_("Yes, you may use my answers to the statements to make a mixed table."),
        required=False,
        help_text=STANCE_CONSENT_HELP,
    )
    # One tick for both: the privacy statement and the conversation agreements listed
    # just above it (services.sign_up records agreements_accepted_at).
    consent = forms.BooleanField(
        label=_(
            "I accept the conversation agreements above. I have read the privacy statement "
            "and agree that my details are used for this conversation."
        ),
        help_text=CONSENT_HELP,
        error_messages=CONSENT_MESSAGES,
    )

    def __init__(self, *args, stellingen=(), **kwargs):
        """`stellingen`: the active statements of the gesprek's theme (may be empty)."""
        super().__init__(*args, **kwargs)
        self.fields["language"].initial = current_language()
        self.sectors = {str(sector.pk): sector for sector in lists.active_sectors()}
        self.fields["sector"].choices = [
            ("", _("I'd rather not say")),
            *[(pk, sector.label) for pk, sector in self.sectors.items()],
        ]
        self.stellingen = list(stellingen)
        for stelling in self.stellingen:
            self.fields[f"{STELLING_PREFIX}{stelling.pk}"] = forms.ChoiceField(
                label=stelling.label,
                required=False,
                initial="",
                choices=[*Standpunt.Side.choices, ("", _("No answer"))],
                widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                error_messages={
                    "invalid_choice": _("Choose agree, neutral, disagree or no answer.")
                },
            )
        if not self.stellingen:
            # Nothing to consent to: no tick.
            del self.fields["stance_consent"]
        # The optional section comes before the tick, in the page and in the error summary.
        mix = ["sector", "age_band", *self.stelling_names, "stance_consent"]
        self.order_fields(
            [name for name in self.fields if name not in mix and name != "consent"]
            + [name for name in mix if name in self.fields]
            + ["consent"]
        )

    @property
    def stelling_names(self) -> list[str]:
        return [f"{STELLING_PREFIX}{stelling.pk}" for stelling in self.stellingen]

    def stelling_fields(self):
        return [self[name] for name in self.stelling_names]

    def mix_is_open(self) -> bool:
        """Open the optional section when it needs attention or holds what was entered."""
        if not self.is_bound:
            return False
        names = ["sector", "age_band", *self.stelling_names, "stance_consent"]
        if any(name in self.errors for name in names):
            return True
        if any(error.code == "unknown_statement" for error in self.non_field_errors().as_data()):
            return True
        return any(self.data.get(name) for name in names)

    def clean_sector(self) -> Sector | None:
        value = self.cleaned_data["sector"]
        return self.sectors.get(value) if value else None

    def clean_stance_consent(self) -> bool:
        return self._ticked("stance_consent")

    def clean(self):
        cleaned = super().clean()
        # A statement that is not one of this gesprek's (another theme's, an inactive one,
        # a made-up number): not an answer we can keep, so nothing is saved.
        unknown = [
            key for key in self.data if key.startswith(STELLING_PREFIX) and key not in self.fields
        ]
        if unknown:
            raise forms.ValidationError(
                _(
                    "One of the statements does not belong to this conversation. "
                    "Reload the page and try again."
                ),
                code="unknown_statement",
            )
        answers = {
            stelling.pk: cleaned[name]
            for stelling, name in zip(self.stellingen, self.stelling_names, strict=True)
            if cleaned.get(name)
        }
        if answers and not cleaned.get("stance_consent"):
            self.add_error(
                "stance_consent",
                forms.ValidationError(
                    _(
                        "You answered statements: tick this box to let us use your answers, "
                        "or set every statement to “No answer”."
                    ),
                    code="required",
                ),
            )
        # Only with its own consent; the answers go to services.sign_up as {pk: side}.
        cleaned["stance"] = answers if cleaned.get("stance_consent") else {}
        return cleaned

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
