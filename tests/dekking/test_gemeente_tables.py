"""The municipal dashboard's tables per wijk and per buurt, written by the `wijk_rows` and
`buurt_groups` tags, say what the template loops they replace said: the same rows, cells,
links, row groups and escaping, in both languages."""

import re

import pytest
from django.template import Context, Template
from django.utils import translation

from dekking.queries import AreaRow
from dekking.views import buurt_labels
from tests.dekking.pages import CoveragePage

# The loops as dekking/gemeente.html wrote them before the tags.
WIJK_LOOP = Template(
    """{% load l10n coverage %}{% localize off %}{% for wijk in wijken %}
<tr data-code="{{ wijk.code }}">
<th scope="row"><a href="#{{ wijk.code }}">{{ wijk.name }}</a></th>
<td class="text-end">{{ wijk.buurten_held }} / {{ wijk.buurten }}</td>
<td class="bar-column">{% share_bar wijk.buurten_held wijk.buurten %}</td>
<td class="text-end">{{ wijk.held }}</td><td class="text-end">{{ wijk.planned }}</td>
<td class="text-end">{{ wijk.participants }}</td>
<td class="text-end">{{ wijk.open_interest }}</td></tr>{% endfor %}{% endlocalize %}"""
)
BUURT_LOOP = Template(
    """{% load l10n coverage %}{% localize off %}{% for wijk in wijken %}
<tbody id="{{ wijk.code }}"><tr class="table-light">
<th scope="rowgroup" colspan="6">{{ wijk.name }}</th></tr>{% for buurt in wijk.children %}
<tr data-code="{{ buurt.code }}"><th scope="row">{{ buurt.name }}</th>
<td class="text-end">{{ buurt.held }}</td><td class="text-end">{{ buurt.planned }}</td>
<td class="text-end">{{ buurt.participants }}</td>
<td class="text-end">{{ buurt.open_interest }}</td>
<td>{{ bucket_labels|get_item:buurt.bucket }}</td></tr>{% endfor %}
</tbody>{% endfor %}{% endlocalize %}"""
)
WIJK_TAG = Template("{% load coverage %}{% wijk_rows wijken %}")
BUURT_TAG = Template("{% load coverage %}{% buurt_groups wijken %}")

HOSTILE = "<script>alert('x')</script> & \"Co\" {{ x }}"


def wijken() -> list[AreaRow]:
    noord = AreaRow(code="WK000101", name="Noord & <b>Oost</b>", buurten=3, held=1234)
    noord.children = [
        AreaRow(code="BU00010101", name=HOSTILE, held=1200, participants=12345),
        AreaRow(code='BU"0001', name="Zoë's hof", planned=2, open_interest=7),
        AreaRow(code="BU00010103", name="Veld", held=1, planned=1, participants=3),
    ]
    noord.buurten_held, noord.participants, noord.open_interest = 2, 12348, 7
    leeg = AreaRow(code="WK000102", name="Leeg", buurten=0)  # a wijk without buurten
    zuid = AreaRow(code="WK000103", name="Zuid", buurten=1)
    zuid.children = [AreaRow(code="BU00010301", name="Haven")]
    return [noord, leeg, zuid]


def row_groups(html: str) -> list[tuple[str, str]]:
    """(tbody id, its header row's text) in order."""
    return [
        (code, " ".join(re.sub(r"<[^>]+>", " ", name).split()))
        for code, name in re.findall(
            r'<tbody id="([^"]*)">\s*<tr class="table-light">\s*'
            r'<th scope="rowgroup" colspan="6">(.*?)</th>',
            html,
            re.S,
        )
    ]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_wijk_rows_are_what_the_template_wrote(language):
    with translation.override(language):
        context = Context({"wijken": wijken()})
        old, new = WIJK_LOOP.render(context), WIJK_TAG.render(context)

    assert CoveragePage(new).rows == CoveragePage(old).rows
    assert re.findall(r'href="([^"]*)"', new) == re.findall(r'href="([^"]*)"', old)
    assert re.findall(r"<svg.*?</svg>", new) == re.findall(r"<svg.*?</svg>", old)
    assert "<b>" not in new
    assert CoveragePage(new).rows["WK000101"][3] == "1234"  # no grouping


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_buurt_groups_are_what_the_template_wrote(language):
    with translation.override(language):
        context = Context({"wijken": wijken(), "bucket_labels": buurt_labels()})
        old, new = BUURT_LOOP.render(context), BUURT_TAG.render(context)

    assert CoveragePage(new).rows == CoveragePage(old).rows
    assert row_groups(new) == row_groups(old)
    assert [code for code, _name in row_groups(new)] == ["WK000101", "WK000102", "WK000103"]
    assert new.count("<tbody") == new.count("</tbody>") == 3
    assert "<script>" not in new and "<b>" not in new
    assert "{{ x }}" in CoveragePage(new).rows["BU00010101"][0]
    assert CoveragePage(new).rows["BU00010101"][3] == "12345"
    # Each buurt's coverage in the page's language.
    expected = {"nl": "Nog niets gehouden of gepland", "en": "Nothing held or planned"}
    assert CoveragePage(new).rows["BU00010301"][5] == expected[language]
