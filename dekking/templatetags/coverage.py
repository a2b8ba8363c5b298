from django import template
from django.utils.http import urlencode

from dekking.charts import share_bar as _share_bar

register = template.Library()


@register.simple_tag(takes_context=True)
def export_url(context, table: str) -> str:
    """This page's URL with its filters and ?export=<table>: the table as CSV."""
    query = context["request"].GET.copy()
    query["export"] = table
    return "?" + urlencode(sorted(query.lists()), doseq=True)


@register.simple_tag
def share_bar(part, whole, extra=0):
    return _share_bar(part, whole, extra)


@register.filter
def percent(part, whole) -> str:
    """part / whole as a whole percentage ("" when whole is 0)."""
    if not whole:
        return ""
    return f"{round(100 * part / whole)}%"


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")
