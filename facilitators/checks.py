"""Say so loudly when staff pages open without a second factor (the `make run` demo)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def staff_mfa_required(app_configs, **kwargs):
    if getattr(settings, "STAFF_MFA_REQUIRED", True):
        return []
    return [
        checks.Warning(
            "STAFF_MFA_REQUIRED is off: staff pages open without a second factor.",
            hint="Only for the local demo of `make run`; never set STAFF_MFA_REQUIRED=0 "
            "in production.",
            id="facilitators.W001",
        )
    ]
