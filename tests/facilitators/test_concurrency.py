"""Coordinators inviting the same address at the same moment, on real PostgreSQL connections."""

import pytest

from facilitators import services
from facilitators.models import Uitnodiging
from tests.gesprekken.test_concurrency import at_once, pool_for_every_thread  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_invitations_to_one_address_at_once_make_one(cast):
    def invite(i):
        inviter = cast.coordinator if i % 2 else cast.national
        try:
            services.invite_facilitator(
                inviter=inviter, email="Samen@Example.org", gemeenten=[cast.gemeente_a]
            )
        except services.InvitationError:
            return "refused"
        return "invited"

    for _round in range(3):
        Uitnodiging.objects.all().delete()
        results, pids = at_once(8, invite)
        assert len(set(pids)) == 8
        assert sorted(results) == ["invited"] + ["refused"] * 7
        assert Uitnodiging.objects.count() == 1
