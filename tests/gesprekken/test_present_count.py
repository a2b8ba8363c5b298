"""Gesprek.present, the stored count of who came: the check-in services keep it under the
gesprek's lock, recount_present puts a wrong one right, the migration fills it, the seeds
write it, and the coverage numbers read it."""

import importlib
import logging
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection

from dekking import queries
from dekking.management.commands import seed_demo
from dekking.seed_national import seed_national
from gesprekken import services, tasks
from gesprekken.models import Aanmelding, Gesprek
from tests.dekking.conftest import frozen  # noqa: F401 - the fixture, for the seed
from tests.dekking.test_seed_national import geography  # noqa: F401 - the fixture
from tests.gemeenten.factories import BuurtFactory, GemeenteFactory, WijkFactory
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory

from .staff.running_helpers import AFTER, BEFORE, ON_THE_DAY, gesprek_led_by

S = Aanmelding.Status
fill = importlib.import_module("gesprekken.migrations.0005_gesprek_present").fill_present


def stored(gesprek) -> int:
    return Gesprek.objects.values_list("present", flat=True).get(pk=gesprek.pk)


def actual(gesprek) -> int:
    return Aanmelding.objects.filter(gesprek=gesprek, status=S.AANWEZIG).count()


@pytest.fixture
def gesprek(cast):
    return gesprek_led_by(cast.facilitator, cast.buurt_a, co_facilitator=cast.co_facilitator)


def check_in(cast, aanmelding, present=True, now=ON_THE_DAY, by=None):
    return services.check_in(
        aanmelding=aanmelding, present=present, by_user=by or cast.facilitator, now=now
    )


# --- the services keep it -------------------------------------------------------------------


def test_checking_in_counts_once_and_a_correction_counts_back(cast, gesprek):
    anna, bram = AanmeldingFactory.create_batch(2, gesprek=gesprek)
    assert stored(gesprek) == 0

    check_in(cast, anna)
    assert stored(gesprek) == 1
    check_in(cast, anna)  # tapped twice: still one
    check_in(cast, bram, by=cast.co_facilitator)
    assert stored(gesprek) == 2
    check_in(cast, anna, present=False)  # a wrong tap corrected: not there after all
    assert stored(gesprek) == 1 == actual(gesprek)
    check_in(cast, anna)
    assert stored(gesprek) == 2 == actual(gesprek)


def test_no_show_counts_only_when_the_resident_had_been_marked_present(cast, gesprek):
    came, absent = AanmeldingFactory.create_batch(2, gesprek=gesprek)
    check_in(cast, came)

    services.mark_no_show(aanmelding=absent, by_user=cast.facilitator, now=ON_THE_DAY)
    assert stored(gesprek) == 1
    services.mark_no_show(aanmelding=absent, by_user=cast.facilitator, now=ON_THE_DAY)
    assert stored(gesprek) == 1
    services.mark_no_show(aanmelding=came, by_user=cast.facilitator, now=ON_THE_DAY)
    assert stored(gesprek) == 0 == actual(gesprek)


def test_check_in_by_code_counts_like_by_name_whatever_the_code_looks_like(cast, gesprek):
    AanmeldingFactory(gesprek=gesprek, short_code="K7M2QX")
    waiting = AanmeldingFactory(gesprek=gesprek, short_code="W8N3PY", status=S.WACHTLIJST)

    services.check_in_by_code(gesprek=gesprek, code="k7m-2qx", by_user=cast.facilitator)
    services.check_in_by_code(gesprek=gesprek, code="K7M 2QX", by_user=cast.facilitator)
    # Someone from the waiting list who turned up is at the table, so counted.
    services.check_in_by_code(gesprek=gesprek, code=waiting.short_code, by_user=cast.facilitator)

    assert stored(gesprek) == 2 == actual(gesprek)


@pytest.fixture
def _on_the_day(time_machine):
    time_machine.move_to(ON_THE_DAY, tick=False)


@pytest.mark.usefixtures("_on_the_day")
@pytest.mark.parametrize("code", ["", "   ", "ZZZZZZ", "K7M2QX" * 200, "' OR 1=1 --", "\x00"])
def test_an_unknown_empty_or_hostile_code_counts_nobody(cast, gesprek, code):
    AanmeldingFactory(gesprek=gesprek, short_code="K7M2QX")

    with pytest.raises(services.UnknownCode):
        services.check_in_by_code(gesprek=gesprek, code=code, by_user=cast.facilitator)

    assert stored(gesprek) == 0


def test_a_refused_check_in_changes_no_count(cast, gesprek):
    anna = AanmeldingFactory(gesprek=gesprek)
    cancelled = AanmeldingFactory(gesprek=gesprek, status=S.GEANNULEERD)

    with pytest.raises(services.NotYourGesprek):
        check_in(cast, anna, by=cast.outsider_facilitator)
    with pytest.raises(services.CheckInClosed):
        check_in(cast, anna, now=BEFORE)
    with pytest.raises(services.RegistrationCancelled):
        check_in(cast, cancelled)

    assert stored(gesprek) == 0 == actual(gesprek)


def test_counts_stay_with_their_own_gesprek(cast, gesprek):
    other = gesprek_led_by(cast.facilitator, cast.buurt_a)
    here = AanmeldingFactory(gesprek=gesprek)
    there = AanmeldingFactory(gesprek=other, email=here.email)

    check_in(cast, here)
    check_in(cast, there)
    check_in(cast, there, present=False)

    assert (stored(gesprek), stored(other)) == (1, 0)


def test_a_count_already_too_low_stops_at_zero_instead_of_failing_the_check_in(cast, gesprek):
    came = AanmeldingFactory(gesprek=gesprek, status=S.AANWEZIG)
    Gesprek.objects.filter(pk=gesprek.pk).update(present=0)  # written around the services

    check_in(cast, came, present=False)

    assert stored(gesprek) == 0
    assert Aanmelding.objects.get(pk=came.pk).status == S.NIET_VERSCHENEN


def test_the_report_and_cancelling_after_the_check_in_keep_the_count(cast, gesprek):
    anna, bram = AanmeldingFactory.create_batch(2, gesprek=gesprek)
    check_in(cast, anna)
    check_in(cast, bram)

    services.save_report(
        gesprek=gesprek,
        by_user=cast.facilitator,
        attendance=5,  # the facilitator's head count may differ from the check-ins
        themes=[],
        themes_text="",
        outcome="Een buurtmoestuin.",
        follow_up="",
        now=AFTER,
    )
    with pytest.raises(services.GesprekClosed):
        services.cancel(aanmelding=anna, now=AFTER)
    services.erase_registration(aanmelding=bram, now=AFTER)

    assert stored(gesprek) == 2 == actual(gesprek)


def test_the_dashboards_count_what_the_check_in_stored(cast, gesprek):
    for aanmelding in AanmeldingFactory.create_batch(3, gesprek=gesprek):
        check_in(cast, aanmelding)
    scope = queries.Scope(gemeente=cast.gemeente_a.code)

    totals = queries.coverage(scope, AFTER).totals

    assert (totals.held, totals.participants) == (1, 3)
    # A gesprek that ended with nobody checked in was not held.
    for aanmelding in Aanmelding.objects.filter(gesprek=gesprek):
        check_in(cast, aanmelding, present=False)
    assert queries.coverage(scope, AFTER).totals.held == 0


# --- the factories keep it, for tests that make present registrations directly --------------


def test_the_factory_counts_present_registrations_it_makes(gesprek):
    AanmeldingFactory.create_batch(3, gesprek=gesprek, status=S.AANWEZIG)
    AanmeldingFactory(gesprek=gesprek, status=S.NIET_VERSCHENEN)

    assert stored(gesprek) == 3 == gesprek.present


# --- the nightly recount ---------------------------------------------------------------------


def test_recount_finds_and_fixes_wrong_counts_and_says_which(db, caplog):
    too_high, too_low, right, empty = GesprekFactory.create_batch(4)
    for target, came in ((too_high, 1), (too_low, 3), (right, 2)):
        AanmeldingFactory.create_batch(came, gesprek=target, status=S.AANWEZIG)
    AanmeldingFactory(gesprek=empty, status=S.NIET_VERSCHENEN)
    Gesprek.objects.filter(pk=too_high.pk).update(present=4)
    Gesprek.objects.filter(pk=too_low.pk).update(present=0)

    with caplog.at_level(logging.WARNING, logger="gesprekken.services"):
        assert services.recount_present() == 2

    assert [stored(g) for g in (too_high, too_low, right, empty)] == [1, 3, 2, 0]
    assert f"gesprek {too_high.pk}: present was 4, 1 registrations are AANWEZIG" in caplog.text
    assert f"gesprek {right.pk}:" not in caplog.text
    assert services.recount_present() == 0


def test_recount_of_some_gesprekken_leaves_the_others_alone(db):
    first, second = GesprekFactory.create_batch(2)
    Gesprek.objects.update(present=7)

    assert services.recount_present([first.pk]) == 1
    assert (stored(first), stored(second)) == (0, 7)
    assert services.recount_present([]) == 0
    assert services.recount_present([first.pk, 10**9]) == 0


def test_the_nightly_task_recounts_and_logs(db, caplog):
    gesprek = GesprekFactory()
    AanmeldingFactory(gesprek=gesprek, status=S.AANWEZIG)
    Gesprek.objects.filter(pk=gesprek.pk).update(present=0)

    with caplog.at_level(logging.INFO, logger="gesprekken.tasks"):
        assert tasks.recount_present() == 1
        assert tasks.recount_present() == 0

    assert stored(gesprek) == 1
    assert "1 gesprekken were off" in caplog.text
    assert "every gesprek was right" in caplog.text


# --- the migration's fill ---------------------------------------------------------------------


def test_the_migration_fills_the_count_from_the_registrations(db):
    two, one, nobody = GesprekFactory.create_batch(3)
    AanmeldingFactory.create_batch(2, gesprek=two, status=S.AANWEZIG)
    AanmeldingFactory(gesprek=two, status=S.NIET_VERSCHENEN)
    AanmeldingFactory(gesprek=one, status=S.AANWEZIG)
    AanmeldingFactory(gesprek=one, status=S.GEANNULEERD)
    AanmeldingFactory(gesprek=nobody)
    # As just after the column was added: 0 everywhere.
    Gesprek.objects.update(present=0)

    fill(None, SimpleNamespace(connection=connection))

    assert [stored(g) for g in (two, one, nobody)] == [2, 1, 0]
    assert services.recount_present() == 0


# --- the seeds write it -----------------------------------------------------------------------


def test_seed_demo_writes_the_count_of_who_came(db):
    for code in seed_demo.DEMO_GEMEENTEN:
        wijk = WijkFactory(gemeente=GemeenteFactory(code=code, name=f"Demo {code}"))
        BuurtFactory.create_batch(3, wijk=wijk)

    call_command("seed_demo", stdout=StringIO())

    assert Gesprek.objects.filter(present__gt=0).exists()
    assert services.recount_present() == 0


def test_the_national_seed_writes_the_count_of_who_came(geography):  # noqa: F811
    seed_national(seed=7, gesprekken=200)

    assert Gesprek.objects.filter(present__gt=0).count() > 50
    assert services.recount_present() == 0
