"""Sectors and agreements are read once a minute per process (gesprekken.lists)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from gesprekken import lists
from gesprekken.models import Gespreksafspraak, Sector


def test_the_lists_are_read_once_and_then_come_from_memory(db):
    lists.active_agreements()
    lists.active_sectors()
    with CaptureQueriesContext(connection) as queries:
        agreements = lists.active_agreements()
        sectors = lists.active_sectors()
    assert len(queries) == 0
    assert [a.text for a in agreements] == list(
        Gespreksafspraak.objects.filter(active=True).values_list("text", flat=True)
    )
    assert len(sectors) == Sector.objects.filter(active=True).count() > 0


def test_a_change_in_this_process_is_seen_at_once(db):
    before = len(lists.active_agreements())
    Gespreksafspraak.objects.create(text="We laten elkaar uitpraten.")
    assert len(lists.active_agreements()) == before + 1

    sector = Sector.objects.first()
    sector.active = False
    sector.save()
    assert sector not in lists.active_sectors()


def test_a_change_elsewhere_is_seen_within_a_minute(db, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(lists.time, "monotonic", lambda: clock[0])
    before = len(lists.active_agreements())
    # Another process changed the table: no signal reaches this one.
    Gespreksafspraak.objects.filter(active=True).update(active=False)
    clock[0] += lists.LIST_SECONDS - 1
    assert len(lists.active_agreements()) == before
    clock[0] += 2
    assert lists.active_agreements() == []
