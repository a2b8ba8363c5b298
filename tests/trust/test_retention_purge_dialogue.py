"""The retention purge also covers what issue 6 added: stances, leefwereld, survey pairing
keys, resolved incidents and expired blocks — and leaves what must stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gesprekken import effect, incidents, services
from gesprekken.models import (
    AgeBand,
    Blokkade,
    Effectmeting,
    Incident,
    Sector,
    Standpunt,
)
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

pytestmark = pytest.mark.django_db


def _past_gesprek(days_ago):
    ends = timezone.now() - timedelta(days=days_ago)
    return GesprekFactory(starts_at=ends - timedelta(hours=2), ends_at=ends)


def test_the_purge_deletes_stances_and_leefwereld_with_the_rest(settings):
    settings.GESPREKKEN_RETENTION_DAYS = 90
    old = AanmeldingFactory(
        gesprek=_past_gesprek(91), sector=Sector.objects.first(), age_band=AgeBand.FROM_40
    )
    recent = AanmeldingFactory(
        gesprek=_past_gesprek(10), sector=Sector.objects.first(), age_band=AgeBand.FROM_40
    )
    for aanmelding in (old, recent):
        Standpunt.objects.create(
            aanmelding=aanmelding, answers={"1": "eens"}, side="eens", consent_at=timezone.now()
        )

    result = services.purge_personal_data()

    assert result.anonymised == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.sector, old.age_band) == (None, "")
    assert not Standpunt.objects.filter(aanmelding=old).exists()
    assert recent.sector is not None and recent.age_band == AgeBand.FROM_40
    assert Standpunt.objects.filter(aanmelding=recent).exists()


def test_the_purge_destroys_old_pairing_keys_but_keeps_the_answers(settings):
    settings.GESPREKKEN_RETENTION_DAYS = 90
    old = AanmeldingFactory(gesprek=_past_gesprek(91))
    recent = AanmeldingFactory(gesprek=_past_gesprek(10))
    for aanmelding in (old, recent):
        Effectmeting.objects.create(
            gesprek=aanmelding.gesprek,
            pairing_digest=effect.digest_of(effect.pairing_key(aanmelding)),
            before_thermometer=40,
            before_trust=3,
        )

    result = services.purge_personal_data()

    assert result.pairing_keys_destroyed == 1
    assert Effectmeting.objects.get(gesprek=old.gesprek).pairing_digest is None
    assert Effectmeting.objects.get(gesprek=recent.gesprek).pairing_digest is not None
    assert Effectmeting.objects.count() == 2


def test_the_purge_deletes_resolved_incidents_and_expired_blocks(settings, cast):
    settings.GESPREKKEN_RETENTION_DAYS = 90
    now = timezone.now()
    gesprek = GesprekFactory()
    long_ago = Incident.objects.create(
        gesprek=gesprek,
        category="verstoring",
        text="Riep steeds door.",
        resolved_at=now - timedelta(days=91),
    )
    still_open = Incident.objects.create(
        gesprek=gesprek,
        category="verstoring",
        text="Riep steeds door.",
        created_at=now - timedelta(days=200),
    )
    expired = Blokkade.objects.create(
        gemeente=cast.gemeente_a,
        email_digest=incidents.email_digest("oud@example.org"),
        email_hint="o…@example.org",
        reason="Herhaald verstoord",
        expires_on=timezone.localdate() - timedelta(days=1),
    )
    current = Blokkade.objects.create(
        gemeente=cast.gemeente_a,
        email_digest=incidents.email_digest("nu@example.org"),
        email_hint="n…@example.org",
        reason="Herhaald verstoord",
        expires_on=timezone.localdate() + timedelta(days=10),
    )

    result = services.purge_personal_data()

    assert (result.incidents_deleted, result.blocks_deleted) == (1, 1)
    assert not Incident.objects.filter(pk=long_ago.pk).exists()
    assert Incident.objects.filter(pk=still_open.pk).exists()
    assert not Blokkade.objects.filter(pk=expired.pk).exists()
    assert Blokkade.objects.filter(pk=current.pk).exists()


def test_erasing_a_registration_destroys_its_pairing_key():
    aanmelding = AanmeldingFactory()
    Effectmeting.objects.create(
        gesprek=aanmelding.gesprek,
        pairing_digest=effect.digest_of(effect.pairing_key(aanmelding)),
        before_thermometer=70,
        before_trust=4,
    )

    services.erase_registration(aanmelding=aanmelding)

    row = Effectmeting.objects.get(gesprek=aanmelding.gesprek)
    assert row.pairing_digest is None
    assert (row.before_thermometer, row.before_trust) == (70, 4)
