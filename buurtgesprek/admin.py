"""The admin site: behind the same log-in as the rest of the staff pages.

Django staff and national coordinators (who manage organisations, facilitators, roles
and themes without being Django staff; facilitators.backends decides per model) get in,
after allauth's log-in with a verified e-mail and, unless STAFF_MFA_REQUIRED is off, a
second factor. Django's own password-only admin log-in form is never shown.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from facilitators.access import is_national_coordinator, staff_roles


def _may_administer(user) -> bool:
    return user.is_active and (user.is_staff or is_national_coordinator(user))


def _has_second_factor(user) -> bool:
    return not settings.STAFF_MFA_REQUIRED or staff_roles(user).has_totp


class AdminSite(admin.AdminSite):
    site_header = _("Buurtgesprek administration")
    site_title = "Buurtgesprek"

    def has_permission(self, request):
        user = request.user
        return user.is_authenticated and _may_administer(user) and _has_second_factor(user)

    def login(self, request, extra_context=None):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(
                request.GET.get("next") or reverse("admin:index"), reverse("account_login")
            )
        if self.has_permission(request):
            return super().login(request, extra_context)
        if _may_administer(user):
            return redirect("mfa_activate_totp")
        raise PermissionDenied
