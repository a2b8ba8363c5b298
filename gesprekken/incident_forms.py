"""Forms for incidents and the block list: the facilitator's report of an incident, and the
coordinator's resolution, block of a participant's address and block of a typed address.

The texts are checked here already (incidents.check_text) so that a refusal shows on its
field; the use cases in gesprekken/incidents.py check again.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from facilitators.forms import StaffForm

from . import incidents
from .models import Aanmelding, Incident

SINGLE_LINE_INVALID = _("Use plain text, without special characters or text-direction marks.")
DATE_MESSAGES = {
    "required": _("Enter the date until which the block lasts."),
    "invalid": _("Enter a date like 2027-03-31."),
}


def _text_messages(required: str) -> dict:
    return {
        "required": required,
        # Django fills in the limit when the message is shown (in the page's language).
        "max_length": _("Use at most %(limit_value)s characters."),
        "null_characters_not_allowed": SINGLE_LINE_INVALID,
    }


class ParticipantField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Aanmelding) -> str:
        # As on the list of participants: the name they gave, and where they stand.
        return f"{obj.name} ({obj.get_status_display()})"


class IncidentForm(StaffForm):
    category = forms.ChoiceField(
        label=_("What happened?"),
        choices=[("", _("Choose")), *Incident.Category.choices],
        error_messages={
            "required": _("Choose what happened."),
            "invalid_choice": _("Choose what happened."),
        },
    )
    aanmelding = ParticipantField(
        label=_("Participant concerned (optional)"),
        help_text=_(
            "Only if it is about one person; needed for a repeated no-show. The coordinators "
            "see a masked e-mail address, never the name."
        ),
        queryset=Aanmelding.objects.none(),
        required=False,
        empty_label=_("Nobody in particular"),
        error_messages={
            "invalid_choice": _("Choose a participant of this conversation from the list.")
        },
    )
    text = forms.CharField(
        label=_("What happened, in a few sentences"),
        help_text=_(
            "Describe what happened, not what you think is wrong with someone: no diagnosis, "
            "no health information, no names. At most 500 characters."
        ),
        max_length=incidents.TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages=_text_messages(_("Describe in a few sentences what happened.")),
    )
    confirm_personal_data = forms.BooleanField(
        label=_(
            "I checked it: this is nobody's personal contact detail (for example the number "
            "of the community centre). Save it as it is."
        ),
        required=False,
    )

    def __init__(self, *args, gesprek, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["aanmelding"].queryset = incidents.participant_choices(gesprek)
        self.names = [a.name for a in self.fields["aanmelding"].queryset]

    def clean_text(self):
        try:
            return incidents.check_text(
                self.cleaned_data["text"], max_length=incidents.TEXT_LIMIT, names=self.names
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class ResolveForm(StaffForm):
    resolution = forms.CharField(
        label=_("How was it resolved?"),
        help_text=_(
            "A short note for the other coordinators: what was done. At most 500 characters."
        ),
        max_length=incidents.RESOLUTION_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=_text_messages(_("Write in a few words how it was resolved.")),
    )

    def clean_resolution(self):
        try:
            return incidents.check_text(
                self.cleaned_data["resolution"], max_length=incidents.RESOLUTION_LIMIT
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None


class BlockForm(StaffForm):
    """Block the address of an incident's participant: a reason and an end date."""

    reason = forms.CharField(
        label=_("Reason"),
        help_text=_("For the other coordinators; the resident is never told. One line."),
        max_length=incidents.REASON_LIMIT,
        error_messages=_text_messages(_("Write in a few words why the address is blocked.")),
    )
    expires_on = forms.DateField(
        label=_("Blocked until"),
        input_formats=["%Y-%m-%d", "%d-%m-%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages=DATE_MESSAGES,
    )

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["expires_on"].initial = incidents.default_block_until(today)
        self.fields["expires_on"].widget.attrs.update(
            {
                "min": today.isoformat(),
                "max": incidents.latest_block_until(today).isoformat(),
            }
        )

    def clean_reason(self):
        try:
            return incidents.check_text(
                self.cleaned_data["reason"], max_length=incidents.REASON_LIMIT, multiline=False
            )
        except ValidationError as error:
            raise ValidationError(error.messages) from None

    def clean_expires_on(self):
        expires_on = self.cleaned_data["expires_on"]
        latest = incidents.latest_block_until(self.today)
        if not self.today <= expires_on <= latest:
            raise ValidationError(
                _("Choose a date from today up to %(latest)s.")
                % {"latest": date_format(latest, "DATE_FORMAT")}
            )
        return expires_on


class AddressBlockForm(BlockForm):
    """Block a typed address (the block list page)."""

    email = forms.CharField(
        label=_("E-mail address"),
        help_text=_("Only a masked form is kept, like j…@example.nl."),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        error_messages={
            "required": _("Enter the e-mail address to block."),
            "max_length": _("An e-mail address can be at most 254 characters long."),
            "null_characters_not_allowed": _("Enter an e-mail address like name@example.nl."),
        },
    )
    field_order = ["email", "reason", "expires_on"]

    def clean_email(self):
        try:
            return incidents.normalise_address(self.cleaned_data["email"])
        except ValidationError as error:
            raise ValidationError(error.messages) from None
