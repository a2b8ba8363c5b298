"""Permissions of national coordinators in the admin.

They manage organisations, facilitators, roles, invitations, themes with their statements,
the sector list and the conversation agreements — and nothing with residents in it
(registrations, interests, e-mails; stances, survey answers and incidents are not in the
admin at all): coordinators see aggregates, never people.
"""

from django.contrib.auth.backends import BaseBackend

from .access import is_national_coordinator

MODULES = {"facilitators", "gesprekken"}
# The gesprekken models they keep: lists and texts, no people.
GESPREKKEN_MODELS = ("thema", "stelling", "sector", "gespreksafspraak")


def _allowed(app_label: str, codename: str) -> bool:
    return app_label == "facilitators" or (
        app_label == "gesprekken" and codename.rpartition("_")[2] in GESPREKKEN_MODELS
    )


class NationalCoordinatorBackend(BaseBackend):
    def has_perm(self, user_obj, perm, obj=None):
        app_label, _, codename = perm.partition(".")
        return (
            user_obj.is_active
            and _allowed(app_label, codename)
            and is_national_coordinator(user_obj)
        )

    def has_module_perms(self, user_obj, app_label):
        return user_obj.is_active and app_label in MODULES and is_national_coordinator(user_obj)
