"""The retention purge: personal data goes GESPREKKEN_RETENTION_DAYS after the gesprek."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from gesprekken import services, tasks
from gesprekken.models import Aanmelding, Bericht, Gesprek, Interesse
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, InteresseFactory

pytestmark = pytest.mark.django_db

Status = Aanmelding.Status
DAY = timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def retention():
    return timedelta(days=settings.GESPREKKEN_RETENTION_DAYS)


def _ended(buurt, now, ago: timedelta, **fields) -> Gesprek:
    ends_at = now - ago
    return GesprekFactory(
        buurt=buurt,
        starts_at=ends_at - timedelta(hours=2),
        ends_at=ends_at,
        status=Gesprek.Status.GEHOUDEN,
        **fields,
    )


def _mail(aanmelding, kind="bevestigd", status=Bericht.Status.SENT, error=""):
    return Bericht.objects.create(
        key=f"{kind}:{aanmelding.pk}",
        kind=kind,
        to=aanmelding.email,
        aanmelding=aanmelding,
        gesprek=aanmelding.gesprek,
        status=status,
        last_error=error,
    )


def test_the_retention_is_90_days_by_default():
    assert settings.GESPREKKEN_RETENTION_DAYS == 90


def test_the_purge_runs_daily_from_beat():
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "gesprekken.tasks.purge_personal_data" in schedule


def test_registrations_are_anonymised_once_the_retention_has_passed(now, retention, buurt):
    gesprek = _ended(buurt, now, retention + DAY)
    came = AanmeldingFactory(
        gesprek=gesprek,
        name="Fatima de Vries",
        email="fatima@example.org",
        phone="0612345678",
        postcode="3511AB",
        status=Status.AANWEZIG,
    )
    away = AanmeldingFactory(gesprek=gesprek, status=Status.NIET_VERSCHENEN)
    cancelled = AanmeldingFactory(gesprek=gesprek, status=Status.GEANNULEERD)
    old_token = came.token

    result = services.purge_personal_data(now=now)

    assert result.anonymised == 3
    came.refresh_from_db()
    assert came.name == ""
    assert came.phone == ""
    assert came.postcode == ""
    assert came.email == f"verwijderd-{came.pk}@invalid"
    assert came.token != old_token
    assert services.get_aanmelding_by_token(came.pk, old_token) is None
    # What the numbers need stays: statuses, times, the gesprek itself.
    assert came.status == Status.AANWEZIG
    assert came.consent_at is not None
    assert Gesprek.objects.filter(pk=gesprek.pk).exists()
    assert sorted(gesprek.aanmeldingen.values_list("status", flat=True)) == sorted(
        [Status.AANWEZIG, Status.NIET_VERSCHENEN, Status.GEANNULEERD]
    )
    # Every row gets its own placeholder: no two share an address.
    emails = set(gesprek.aanmeldingen.values_list("email", flat=True))
    assert emails == {f"verwijderd-{a.pk}@invalid" for a in (came, away, cancelled)}


def test_nothing_of_the_person_remains_anywhere_in_the_row(now, retention, buurt):
    aanmelding = AanmeldingFactory(
        gesprek=_ended(buurt, now, retention + DAY),
        name="Uniekenaam Qwerty",
        email="uniek.qwerty@example.org",
        phone="0687654321",
        postcode="3511QW",
    )
    _mail(aanmelding, error="SMTP 550 uniek.qwerty@example.org: no such user")
    services.purge_personal_data(now=now)

    values = [
        str(value)
        for row in Aanmelding.objects.filter(pk=aanmelding.pk).values()
        for value in row.values()
    ]
    values += [
        str(value)
        for row in Bericht.objects.filter(aanmelding=aanmelding).values()
        for value in row.values()
    ]
    for personal in ("Uniekenaam", "Qwerty", "qwerty@", "0687654321", "3511QW", "3511"):
        assert not any(personal.lower() in value.lower() for value in values), personal


def test_registrations_within_the_retention_are_kept(now, retention, buurt):
    recent = AanmeldingFactory(gesprek=_ended(buurt, now, retention - DAY), name="Nog Even")
    upcoming = AanmeldingFactory(gesprek=GesprekFactory(buurt=buurt), name="Komt Nog")
    result = services.purge_personal_data(now=now)
    assert result.anonymised == 0
    recent.refresh_from_db()
    upcoming.refresh_from_db()
    assert recent.name == "Nog Even"
    assert upcoming.name == "Komt Nog"


def test_the_retention_is_configurable(now, settings, buurt):
    settings.GESPREKKEN_RETENTION_DAYS = 10
    aanmelding = AanmeldingFactory(gesprek=_ended(buurt, now, timedelta(days=11)), name="Elf Dagen")
    services.purge_personal_data(now=now)
    aanmelding.refresh_from_db()
    assert aanmelding.name == ""


def test_called_off_gesprekken_are_purged_too(now, retention, buurt):
    gesprek = _ended(buurt, now, retention + DAY)
    Gesprek.objects.filter(pk=gesprek.pk).update(status=Gesprek.Status.AFGELAST)
    aanmelding = AanmeldingFactory(gesprek=gesprek, name="Afgelast")
    services.purge_personal_data(now=now)
    aanmelding.refresh_from_db()
    assert aanmelding.name == ""


def test_the_outbox_keeps_the_mails_but_not_the_address(now, retention, buurt):
    aanmelding = AanmeldingFactory(gesprek=_ended(buurt, now, retention + DAY))
    sent = _mail(aanmelding)
    stuck = _mail(aanmelding, kind="bedankt", status=Bericht.Status.PENDING)
    failed = _mail(aanmelding, kind="herinnering", status=Bericht.Status.FAILED, error="x@y.nl")
    services.purge_personal_data(now=now)
    placeholder = f"verwijderd-{aanmelding.pk}@invalid"
    for bericht in (sent, stuck, failed):
        bericht.refresh_from_db()
        assert bericht.to == placeholder
        assert "@y.nl" not in bericht.last_error
    assert sent.status == Bericht.Status.SENT
    # A mail still waiting would go nowhere now: it is given up, not sent.
    assert stuck.status == Bericht.Status.FAILED


def test_running_the_purge_again_changes_nothing(now, retention, buurt):
    aanmelding = AanmeldingFactory(gesprek=_ended(buurt, now, retention + DAY))
    services.purge_personal_data(now=now)
    aanmelding.refresh_from_db()
    token = aanmelding.token
    again = services.purge_personal_data(now=now)
    assert again.anonymised == 0
    assert again.interests_deleted == 0
    aanmelding.refresh_from_db()
    assert aanmelding.token == token


def test_interests_are_deleted_after_the_gesprek_they_were_invited_to(now, retention, buurt):
    past = _ended(buurt, now, retention + DAY)
    recent = _ended(buurt, now, retention - DAY)
    done = InteresseFactory(
        buurt=buurt, confirmed=True, invited_at=past.starts_at - DAY, invited_to=past
    )
    kept = InteresseFactory(
        buurt=buurt, confirmed=True, invited_at=now - retention - 30 * DAY, invited_to=recent
    )
    Bericht.objects.create(
        key=f"uitnodiging:{done.pk}",
        kind="uitnodiging",
        to=done.email,
        interesse=done,
        gesprek=past,
        status=Bericht.Status.SENT,
    )

    result = services.purge_personal_data(now=now)

    assert result.interests_deleted == 1
    assert not Interesse.objects.filter(pk=done.pk).exists()
    assert Interesse.objects.filter(pk=kept.pk).exists()
    # The invitation mail (and its address) went with it.
    assert not Bericht.objects.filter(to=done.email).exists()


def test_open_interests_are_deleted_the_retention_after_they_were_made(now, retention, buurt):
    old = InteresseFactory(buurt=buurt, confirmed=True, created_at=now - retention - DAY)
    unconfirmed = InteresseFactory(buurt=buurt, created_at=now - retention - DAY)
    fresh = InteresseFactory(buurt=buurt, confirmed=True, created_at=now - retention + DAY)
    orphan = InteresseFactory(
        buurt=buurt,
        confirmed=True,
        created_at=now - 2 * retention,
        invited_at=now - retention - DAY,
    )
    result = services.purge_personal_data(now=now)
    assert result.interests_deleted == 3
    assert list(Interesse.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not Interesse.objects.filter(pk__in=[old.pk, unconfirmed.pk, orphan.pk]).exists()


def test_the_beat_task_runs_the_purge(now, retention, buurt):
    aanmelding = AanmeldingFactory(gesprek=_ended(buurt, timezone.now(), retention + DAY))
    InteresseFactory(buurt=buurt, created_at=timezone.now() - retention - DAY)
    outcome = tasks.purge_personal_data.delay().get()
    assert outcome == {
        "anonymised": 1,
        "interests_deleted": 1,
        "account_mails_deleted": 0,
        "pairing_keys_destroyed": 0,
        "incidents_deleted": 0,
        "blocks_deleted": 0,
    }
    aanmelding.refresh_from_db()
    assert aanmelding.name == ""


def test_staff_account_mails_leave_the_outbox_a_week_after_they_were_made(now):
    def account_mail(age: timedelta, status=Bericht.Status.SENT) -> Bericht:
        return Bericht.objects.create(
            key=f"allauth:test:{age}",
            kind="allauth",
            to="begeleider@example.org",
            context={"subject": "Reset", "body": "https://example.org/reset/abc"},
            status=status,
            created_at=now - age,
        )

    old = account_mail(8 * DAY, status=Bericht.Status.FAILED)
    recent = account_mail(DAY)

    result = services.purge_personal_data(now=now)

    assert result.account_mails_deleted == 1
    assert not Bericht.objects.filter(pk=old.pk).exists()
    assert Bericht.objects.filter(pk=recent.pk).exists()
