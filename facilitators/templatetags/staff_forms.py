"""Render allauth's form fields with the site's Bootstrap classes (templates/allauth/)."""

from django import forms, template

register = template.Library()


@register.filter
def bootstrap_widget(field):
    """The field's widget with form-control / form-check-input, plus is-invalid on errors."""
    widget = field.field.widget
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select):
        css = "form-select form-select-lg"
    else:
        css = "form-control form-control-lg"
    if field.errors:
        css += " is-invalid"
    existing = widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})
