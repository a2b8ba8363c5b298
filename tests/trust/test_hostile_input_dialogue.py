"""Hostile input at what issue 6 added to the resident's side, property-based, as in
test_hostile_input: the mixed-table part of the sign-up (sector, age band, statements and
their own consent) and the effect survey. Never a 500; a refusal is 400 with a message;
nothing half-saved; a stance is stored only with its consent tick, and only valid answers.
"""

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import example, given

from gesprekken import effect
from gesprekken.models import Aanmelding, Effectmeting, Sector, Standpunt, Stelling
from tests.gesprekken.factories import AanmeldingFactory, GesprekFactory, ThemaFactory
from tests.gesprekken.pages import cache_table, empty_cache  # noqa: F401
from tests.trust.test_hostile_input import (
    HYPOTHESIS,
    assert_refused_with_a_message,
    form_data,
)

VALID = {
    "name": "Anna",
    "email": "anna@example.org",
    "postcode": "3511 AB",
    "language": "nl",
    "consent": "on",
}


@pytest.fixture
def mixed(utrecht, empty_cache, settings):  # noqa: F811
    settings.GESPREKKEN_RATE_LIMITS = {
        "ip": (10**9, 3600),
        "email": (10**9, 3600),
        "resend_ip": (10**9, 3600),
    }
    thema = ThemaFactory()
    stelling = Stelling.objects.create(thema=thema, text="Meer bankjes op het plein")
    gesprek = GesprekFactory(buurt=utrecht.buurten[0], thema=thema, balance=True)
    return gesprek, stelling, Sector.objects.first()


def mix_fields(stelling, sector):
    return {
        "sector": (str(sector.pk), "", "0", "999999999999999999999", "-1"),
        "age_band": ("25-39", "70plus", "", "18"),
        f"stelling_{stelling.pk}": ("eens", "oneens", "neutraal", "", "misschien"),
        f"stelling_{stelling.pk + 1}": ("eens",),
        "stance_consent": ("on", "", "0"),
    }


def rows():
    return (Aanmelding.objects.count(), Standpunt.objects.count())


@pytest.mark.django_db
def test_the_mixed_table_fields_never_break_and_never_half_save(mixed):
    gesprek, stelling, sector = mixed
    url = reverse("gesprekken:sign_up", kwargs={"pk": gesprek.pk})
    answer = f"stelling_{stelling.pk}"

    @HYPOTHESIS
    @given(extra=form_data(mix_fields(stelling, sector)))
    @example(extra={answer: "eens", "stance_consent": "on", "sector": str(sector.pk)})
    @example(extra={answer: "eens"})
    # Django's checkbox reads "0" as ticked: found by a random draw; consent is only "on".
    @example(extra={answer: "eens", "stance_consent": "0"})
    @example(extra={answer: "eens", "stance_consent": "no", "consent": "on"})
    @example(extra={"consent": "0"})
    def run(extra):
        Aanmelding.objects.filter(email="anna@example.org").delete()
        before = rows()
        response = Client().post(url, {**VALID, **extra})

        assert response.status_code < 500
        if response.status_code == 302:
            aanmelding = Aanmelding.objects.get(email="anna@example.org")
            stance = Standpunt.objects.filter(aanmelding=aanmelding).first()
            if stance is not None:
                # Only with its own tick, and only the valid answer to this theme's statement.
                assert extra.get("stance_consent") == "on"
                assert stance.answers == {str(stelling.pk): extra[answer]}
            assert rows()[0] == before[0] + 1
        else:
            assert_refused_with_a_message(response)
            assert rows() == before

    run()


def survey_fields():
    numbers = ("0", "50", "100", "101", "-1", "1e2", "５０", "")
    scale = ("1", "3", "5", "0", "6", "x", "")
    return {"thermometer": numbers, "trust": scale, "argument": scale}


@pytest.mark.django_db
def test_the_survey_never_breaks_and_stores_only_answers_in_range(mixed):
    gesprek, _stelling, _sector = mixed
    aanmelding = AanmeldingFactory(gesprek=gesprek, status=Aanmelding.Status.BEVESTIGD)
    key = effect.pairing_key(aanmelding)
    url = reverse("gesprekken:effect_before", kwargs={"pk": gesprek.pk, "key": key})

    @HYPOTHESIS
    @given(data=form_data(survey_fields()))
    @example(data={"thermometer": "40", "trust": "3"})
    def run(data):
        Effectmeting.objects.all().delete()
        response = Client().post(url, data)

        assert response.status_code < 500
        row = Effectmeting.objects.first()
        if row is None:
            assert response.status_code == 400
            assert_refused_with_a_message(response)
        else:
            assert response.status_code == 200
            assert 0 <= row.before_thermometer <= 100 and 1 <= row.before_trust <= 5
            assert row.after_thermometer is None

    run()
