from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from gemeenten.models import Provincie
from gesprekken.models import Gesprek, Thema

from .queries import Scope

# The period a filter may name: wide enough for any conversation, far enough from the
# calendar's ends (year 1, year 9999) for the weeks and months around a date to exist.
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_IN_RANGE = _("Choose a date from 1 January 2000 up to 31 December 2099.")


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(
            attrs={"type": "date", "min": EARLIEST.isoformat(), "max": LATEST.isoformat()}
        ),
        validators=[
            MinValueValidator(EARLIEST, message=_IN_RANGE),
            MaxValueValidator(LATEST, message=_IN_RANGE),
        ],
    )


class CoverageFilterForm(forms.Form):
    """The dashboards' filters, sent as GET parameters (the page works without JavaScript).

    Choices are read with one query each (provinces, themes), whatever is chosen.
    """

    start = _date_field(_("From"))
    end = _date_field(_("Up to and including"))
    provincie = forms.ChoiceField(label=_("Province"), required=False)
    thema = forms.TypedChoiceField(label=_("Theme"), required=False, coerce=int, empty_value=None)
    vorm = forms.ChoiceField(
        label=_("Format"),
        required=False,
        choices=[("", _("All formats")), *Gesprek.Format.choices],
    )

    def __init__(self, data=None, *, with_provincie: bool = True):
        super().__init__(data)
        for field in self.fields.values():
            field.widget.attrs["class"] = (
                "form-control" if isinstance(field.widget, forms.DateInput) else "form-select"
            )
        if with_provincie:
            self.fields["provincie"].choices = [
                ("", _("All provinces")),
                *Provincie.objects.order_by("name").values_list("code", "name"),
            ]
        else:
            del self.fields["provincie"]
        self.fields["thema"].choices = [
            ("", _("All themes")),
            *Thema.objects.order_by("name").values_list("pk", "name"),
        ]
        for name in self.errors if self.is_bound else ():
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {"aria-invalid": "true", "aria-describedby": f"id_{name}_error"}
                )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date is before the start date."))
        return cleaned

    def scope(self, *, gemeente: str | None = None) -> Scope:
        """The filters as a Scope; a field that did not validate is left out."""
        if not self.is_bound:
            return Scope(gemeente=gemeente)
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return Scope(
            start=data.get("start"),
            end=data.get("end") if "end" not in self.errors else None,
            provincie=data.get("provincie") or None,
            gemeente=gemeente,
            thema=data.get("thema") or None,
            format=data.get("vorm") or None,
        )

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
