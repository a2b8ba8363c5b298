"""allauth adapter: staff accounts are created by invitation, never by open sign-up.

allauth's own mails (address verification, password reset) go through the outbox of
gesprekken (kind "allauth"): rendered here as allauth renders them, stored as a Bericht
and sent with the same claim-once / retry / sweep path as every other mail.
"""

from uuid import uuid4

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django import forms
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from facilitators import services
from facilitators.access import staff_roles
from facilitators.services import INVITATION_SESSION_KEY

# Where a facilitator lands after logging in (the workspace, built by the gesprekken app);
# its decorator asks for a second factor first. Coordinators without it: /coordinatie/.
FACILITATOR_HOME = "werkruimte:home"


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        """Render allauth's mail as allauth does, then queue it as a Bericht and send it.

        It is sent right away (allauth's users wait for the link), through
        outbox.deliver, so it is claimed once; a temporary SMTP failure leaves it for the
        retry and the sweep instead of a server error. The task that queue enqueues after
        commit then finds it sent and does nothing.
        """
        from gesprekken import outbox

        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
        message = self.render_mail(template_prefix, email, ctx)
        html = ""
        for content, mimetype in getattr(message, "alternatives", None) or []:
            if mimetype == "text/html":
                html = content
                break
        if getattr(message, "content_subtype", "plain") == "html":
            # allauth sends an HTML-only message when there is no .txt template.
            html, body = message.body, ""
        else:
            body = message.body
        bericht = outbox.queue(
            kind="allauth",
            key=f"allauth:{template_prefix}:{uuid4()}"[:200],
            to=email,
            language=(translation.get_language() or settings.LANGUAGE_CODE)[:2],
            context={"subject": message.subject, "body": body, "html": html},
        )
        if bericht is not None:
            outbox.deliver(bericht.pk)

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
