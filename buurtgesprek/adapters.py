"""allauth adapter: staff accounts are created by invitation, never by open sign-up."""

from allauth.account.adapter import DefaultAccountAdapter
from django import forms
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from facilitators import services
from facilitators.access import staff_roles
from facilitators.services import INVITATION_SESSION_KEY

# Where a facilitator lands after logging in (the workspace, built by the gesprekken app);
# its decorator asks for a second factor first. Coordinators without it: /coordinatie/.
FACILITATOR_HOME = "werkruimte:home"


class AccountAdapter(DefaultAccountAdapter):
    def invitation(self, request):
        """The pending invitation remembered in this session (facilitators.views.accept)."""
        stored = request.session.get(INVITATION_SESSION_KEY) if request else None
        if not isinstance(stored, dict):
            return None
        return services.pending_invitation(stored.get("pk"), str(stored.get("token", "")))

    def is_open_for_signup(self, request):
        # Facilitators join through an invitation from a coordinator (facilitators app),
        # which marks the session; everyone else sees allauth's "sign-up closed" page.
        return self.invitation(request) is not None

    def clean_email(self, email):
        email = super().clean_email(email)
        invitation = self.invitation(self.request)
        if invitation is not None and email.lower() != invitation.email.lower():
            raise forms.ValidationError(
                _("Sign up with the address the invitation was sent to: %(email)s")
                % {"email": invitation.email}
            )
        return email

    def save_user(self, request, user, form, commit=True):
        """Create the account and, from the invitation, its Facilitator profile."""
        user = super().save_user(request, user, form, commit=commit)
        stored = request.session.get(INVITATION_SESSION_KEY)
        if commit and isinstance(stored, dict):
            services.accept_invitation(
                pk=stored.get("pk"), token=str(stored.get("token", "")), user=user
            )
            request.session.pop(INVITATION_SESSION_KEY, None)
        return user

    def get_login_redirect_url(self, request):
        roles = staff_roles(request.user)
        home = None
        if roles.is_facilitator:
            try:
                home = reverse(FACILITATOR_HOME)
            except NoReverseMatch:
                home = None
        if home is None and roles.is_coordinator:
            home = reverse("coordinatie:index")
        needs_totp = settings.STAFF_MFA_REQUIRED and not roles.has_totp
        if home is None and roles.is_staff_member and needs_totp:
            home = reverse("mfa_activate_totp")
        return home or super().get_login_redirect_url(request)
