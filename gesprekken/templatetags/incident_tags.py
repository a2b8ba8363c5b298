"""The open-incident count in the coordinators' menu (templates/coordinatie/includes/nav.html)."""

from django import template

from .. import incidents

register = template.Library()


@register.simple_tag(takes_context=True)
def open_incident_count(context) -> int | None:
    """Open incidents in the gemeenten the user coordinates as a municipal coordinator; None
    for anyone who sees no incidents (a national coordinator): the menu then has no link.
    One query on a page behind the staff decorators (they leave request.staff_roles)."""
    request = context.get("request")
    if request is None:
        return None
    return incidents.open_incident_count(request.user, getattr(request, "staff_roles", None))
