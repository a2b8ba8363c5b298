"""The gemeenten table's rows, written by the `gemeente_rows` tag, say what the template
loop they replace said: the same cells, links and escaping, in both languages."""

import re

import pytest
from django.template import Context, Template
from django.utils import translation

from dekking.queries import AreaRow
from dekking.views import bucket_labels
from tests.dekking.pages import CoveragePage

# The loop as includes/gemeenten_table.html wrote it before the tag.
TEMPLATE_LOOP = Template(
    """{% load i18n l10n coverage %}{% localize off %}{% for row in rows %}
<tr data-code="{{ row.code }}"><th scope="row">{% if public %}{{ row.name }}{% else %}
<a href="{{ gemeente_url }}{{ row.code }}/">{{ row.name }}</a>{% endif %}</th>
<td>{{ row.parent_name }}</td><td class="text-end">{{ row.held }}</td>
<td class="text-end">{{ row.planned }}</td>
<td class="text-end">{{ row.buurten_held }} / {{ row.buurten }}</td>
<td class="text-end">{% if public and row.participants_published is None %}
{% translate "fewer than 5" %}{% else %}{{ row.participants }}{% endif %}</td>
<td>{{ bucket_labels|get_item:row.bucket }}</td></tr>{% endfor %}{% endlocalize %}"""
)
TAG = Template("{% load coverage %}{% gemeente_rows rows public %}")

ROWS = [
    AreaRow(code="GM0001", name="Aadorp", parent_name="Overijssel", buurten=3),
    AreaRow(
        code="GM0002",
        name="<script>alert('x')</script> & \"Co\"",
        parent_name="Noord & <b>Zuid</b>",
        buurten=12,
        held=4,
        planned=2,
        buurten_held=7,
        participants=3,  # suppressed on the public page
    ),
    AreaRow(
        code='GM"0003',
        name="Zoë's dorp",
        parent_name="Fryslân",
        buurten=1234,
        held=1200,
        planned=1,
        buurten_held=1000,
        participants=12345,  # no grouping: 12345, not 12.345
    ),
]


def cells(html: str) -> dict[str, list[str]]:
    return CoveragePage(html).rows


def links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', html)


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("public", [True, False])
def test_the_tag_writes_the_rows_the_template_wrote(language, public):
    with translation.override(language):
        context = {
            "rows": ROWS,
            "public": public,
            "gemeente_url": "/dekking/gemeente/",
            "bucket_labels": bucket_labels(),
        }
        old = TEMPLATE_LOOP.render(Context(context))
        new = TAG.render(Context(context))

    assert cells(new) == cells(old)
    assert links(new) == links(old)
    assert "<script>" not in new and "<b>" not in new
    assert ("fewer than 5" in new or "minder dan 5" in new) is public
    assert cells(new)['GM"0003'][5] == "12345"
