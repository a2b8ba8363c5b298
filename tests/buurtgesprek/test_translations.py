"""The Dutch catalogue is complete and the compiled .mo matches the .po."""

import ast
import gettext
import re
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "nl" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _unquote(lines: list[str]) -> str:
    # PO string escapes (\" \\ \n \t) are a subset of Python's.
    return "".join(ast.literal_eval(line.strip()) for line in lines)


def _entries():
    """(msgid, [msgstr…], fuzzy) for every active entry in the .po file."""
    text = PO.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, list[str]] = {}
        current = None
        for line in lines:
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) (".*")$', line)
            if match:
                current = match.group(1)
                fields[current] = [match.group(2)]
            elif line.startswith('"') and current:
                fields[current].append(line)
        if "msgid" not in fields:
            continue
        msgid = _unquote(fields["msgid"])
        if not msgid:
            continue  # the header
        strs = [_unquote(v) for k, v in sorted(fields.items()) if k.startswith("msgstr")]
        yield msgid, strs, fuzzy


def test_every_user_facing_string_has_a_dutch_translation():
    untranslated = [msgid for msgid, strs, fuzzy in _entries() if fuzzy or not all(strs)]
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_po_file():
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [
        msgid
        for msgid, strs, _ in _entries()
        if len(strs) == 1 and strs[0] and compiled.gettext(msgid) != strs[0]
    ]
    assert stale == [], "run `make messages` to compile the catalogue"
