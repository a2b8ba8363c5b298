"""facilitators.access per role: who serves, coordinates and sees which gemeente."""

import pytest

from facilitators import access
from gemeenten.models import Gemeente
from tests.facilitators.factories import UserFactory
from tests.gesprekken.factories import GesprekFactory


def codes(queryset):
    return sorted(queryset.values_list("code", flat=True))


@pytest.mark.parametrize(
    ("role", "served", "coordinated", "visible", "national"),
    [
        ("facilitator", ["GM9101"], [], ["GM9101"], False),
        ("co_facilitator", ["GM9101"], [], ["GM9101"], False),
        ("outsider_facilitator", ["GM9102"], [], ["GM9102"], False),
        ("coordinator", [], ["GM9101"], ["GM9101"], False),
        ("outsider_coordinator", [], ["GM9102"], ["GM9102"], False),
        ("national", [], ["GM9101", "GM9102"], ["GM9101", "GM9102"], True),
    ],
)
def test_each_role_serves_coordinates_and_sees_its_own_gemeenten(
    cast, role, served, coordinated, visible, national
):
    user = getattr(cast, role)
    assert codes(access.served_gemeenten(user)) == served
    assert codes(access.coordinated_gemeenten(user)) == coordinated
    assert codes(access.gemeenten_visible_to(user)) == visible
    assert access.is_national_coordinator(user) is national
    assert access.is_staff_member(user) is True


@pytest.mark.parametrize(
    "role", ["facilitator", "coordinator", "national", "outsider_coordinator", "co_facilitator"]
)
def test_staff_roles_agrees_with_the_separate_helpers(cast, role):
    user = getattr(cast, role)
    roles = access.staff_roles(user)
    assert roles.is_facilitator == hasattr(user, "facilitator")
    assert roles.is_coordinator == access.coordinated_gemeenten(user).exists()
    assert roles.is_national == access.is_national_coordinator(user)
    assert roles.is_staff_member == access.is_staff_member(user)
    assert roles.has_totp


def test_a_national_coordinator_does_not_coordinate_dissolved_gemeenten(cast):
    Gemeente.objects.filter(pk=cast.gemeente_b.pk).update(ended_on="2021-01-01")
    assert codes(access.coordinated_gemeenten(cast.national)) == ["GM9101"]


def test_anonymous_and_plain_users_see_nothing(cast, db):
    from django.contrib.auth.models import AnonymousUser

    for user in (AnonymousUser(), UserFactory()):
        assert not access.is_staff_member(user)
        assert not access.served_gemeenten(user).exists()
        assert not access.coordinated_gemeenten(user).exists()
        assert not access.gemeenten_visible_to(user).exists()
        assert not access.staff_roles(user).is_staff_member


ROLES = [
    "facilitator",
    "co_facilitator",
    "outsider_facilitator",
    "coordinator",
    "outsider_coordinator",
    "national",
]


def test_gesprekken_are_led_by_their_facilitators_and_visible_to_their_coordinators(cast):
    from gesprekken.models import Gesprek

    gesprek = GesprekFactory(
        buurt=cast.buurt_a, facilitator=cast.facilitator, co_facilitator=cast.co_facilitator
    )

    def roles_for(query):
        return {role for role in ROLES if query(getattr(cast, role)).filter(pk=gesprek.pk).exists()}

    assert roles_for(Gesprek.objects.led_by) == {"facilitator", "co_facilitator"}
    assert roles_for(Gesprek.objects.visible_to) == {
        "facilitator",
        "co_facilitator",
        "coordinator",
        "national",
    }
