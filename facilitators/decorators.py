"""Gatekeepers for every staff view (workspace, running a gesprek, coordination).

    @staff_required          facilitator or coordinator
    @facilitator_required    has a Facilitator profile
    @coordinator_required    has a coordinator Rol (municipal or national)

In this order:
1. not logged in → redirect to allauth's login page, with ?next= back here;
2. logged in without the role → 404 (never 403: the page's existence is not confirmed);
3. the role but no TOTP authenticator → redirect to allauth's TOTP set-up with a message,
   unless settings.STAFF_MFA_REQUIRED is False (the `make run` demo only).

Each decorator costs one query (facilitators.access.staff_roles) and leaves the result
on `request.staff_roles` for the view. Object-level checks (this gesprek, this gemeente)
stay in the view, through facilitators.access and Gesprek.objects.led_by / visible_to.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from .access import StaffRoles, staff_roles


def _gate(check, view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("account_login"))
        roles = staff_roles(request.user)
        request.staff_roles = roles
        if not check(roles):
            raise Http404
        if getattr(settings, "STAFF_MFA_REQUIRED", True) and not roles.has_totp:
            messages.info(
                request,
                _(
                    "Staff pages show people's personal details, so they need a second "
                    "step when you log in. Set up an authenticator app first."
                ),
            )
            return redirect("mfa_activate_totp")
        return view(request, *args, **kwargs)

    return wrapper


def staff_required(view):
    return _gate(lambda roles: roles.is_staff_member, view)


def facilitator_required(view):
    return _gate(lambda roles: roles.is_facilitator, view)


def coordinator_required(view):
    return _gate(lambda roles: roles.is_coordinator, view)


__all__ = ["StaffRoles", "coordinator_required", "facilitator_required", "staff_required"]
