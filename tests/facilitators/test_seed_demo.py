"""seed_demo gives the demo log-ins their staff roles, the same way every time."""

from io import StringIO

import pytest
from django.core.management import call_command

from dekking.management.commands import seed_demo
from facilitators import access
from facilitators.models import Facilitator, Rol
from gesprekken.models import Gesprek
from tests.gemeenten.factories import BuurtFactory, GemeenteFactory, WijkFactory


@pytest.fixture
def demo_geography(db):
    for code in seed_demo.DEMO_GEMEENTEN:
        wijk = WijkFactory(gemeente=GemeenteFactory(code=code, name=f"Demo {code}"))
        for _number in range(3):
            BuurtFactory(wijk=wijk)


def run() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_demo_log_ins_get_their_roles_and_are_printed(demo_geography, django_user_model):
    output = run()
    users = {u.email: u for u in django_user_model.objects.all()}
    facilitator = users[seed_demo.FACILITATOR]
    assert sorted(access.served_gemeenten(facilitator).values_list("code", flat=True)) == sorted(
        seed_demo.DEMO_GEMEENTEN
    )
    assert access.is_national_coordinator(users[seed_demo.NATIONAL])
    coordinated = access.coordinated_gemeenten(users[seed_demo.COORDINATOR])
    assert list(coordinated.values_list("code", flat=True)) == ["GM0344"]
    for email, *_rest in seed_demo.DEMO_USERS:
        assert f"{email} / {seed_demo.DEMO_PASSWORD}" in output


def test_running_it_twice_changes_nothing(demo_geography):
    run()
    counts = (Facilitator.objects.count(), Rol.objects.count(), Gesprek.objects.count())
    run()
    assert (Facilitator.objects.count(), Rol.objects.count(), Gesprek.objects.count()) == counts
    assert counts[:2] == (1, 2)


def test_it_says_whether_the_demo_log_ins_skip_the_second_factor(demo_geography, settings):
    settings.STAFF_MFA_REQUIRED = False
    assert "skip the second factor" in run()
    settings.STAFF_MFA_REQUIRED = True
    assert "set up an authenticator app" in run()


def test_held_demo_gesprekken_get_anonymous_survey_answers_of_those_who_came(demo_geography):
    run()
    held = Gesprek.objects.filter(status=Gesprek.Status.GEHOUDEN)
    assert held.exists()
    for gesprek in held:
        answers = gesprek.effectmetingen.all()
        assert answers.count() == round(gesprek.present * 2 / 3)
        assert not answers.filter(pairing_digest__isnull=False).exists()
        assert not answers.filter(after_thermometer__isnull=True).exists()
    # Running it again adds none.
    total = sum(gesprek.effectmetingen.count() for gesprek in held)
    run()
    assert sum(g.effectmetingen.count() for g in Gesprek.objects.filter(pk__in=held)) == total
