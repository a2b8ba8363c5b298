"""The short lists coordinators keep in the admin (sectors, conversation agreements, a
theme's statements), read once a minute per process instead of on every page and every mail.

They change a few times a year; a worker sending thousands of reminders, or a gesprek page
opened by a whole street, then needs no query for them. A change made in this process
(the admin) is seen at once (the memo is cleared on save and delete); other processes see it
within LIST_SECONDS. The sign-up form's HTML, which shows them, is kept as long
(the "template_fragments" cache; cleared with the lists).
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db.models.signals import post_delete, post_save

from .models import Gespreksafspraak, Sector, Stelling, Thema

LIST_SECONDS = 60

_memo: dict[str, tuple[float, list]] = {}


def _remember(name: str, load: Callable[[], list]) -> list:
    loaded_at, rows = _memo.get(name, (float("-inf"), []))
    if time.monotonic() - loaded_at > LIST_SECONDS:
        rows = load()
        _memo[name] = (time.monotonic(), rows)
    return rows


def active_agreements() -> list[Gespreksafspraak]:
    return _remember("agreements", lambda: list(Gespreksafspraak.objects.filter(active=True)))


def active_sectors() -> list[Sector]:
    return _remember("sectors", lambda: list(Sector.objects.filter(active=True)))


def active_stellingen(thema_id: int | None) -> list[Stelling]:
    """The active statements of a theme (none without one)."""
    if thema_id is None:
        return []
    return _remember(
        f"stellingen:{thema_id}",
        lambda: list(Stelling.objects.filter(thema_id=thema_id, active=True)),
    )


def forget(**_kwargs) -> None:
    """Read the lists again on next use (after a change, and between tests). The sign-up
    form's kept HTML shows them, so it goes too."""
    _memo.clear()
    if "template_fragments" in settings.CACHES:
        caches["template_fragments"].clear()


for _model in (Gespreksafspraak, Sector, Stelling, Thema):
    post_save.connect(forget, sender=_model, dispatch_uid=f"lists-{_model.__name__}-save")
    post_delete.connect(forget, sender=_model, dispatch_uid=f"lists-{_model.__name__}-delete")
