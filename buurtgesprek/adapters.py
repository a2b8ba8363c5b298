"""allauth adapter: staff accounts are created by invitation, never by open sign-up."""

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Facilitators join through an invitation from a coordinator (facilitators app),
        # which marks the session; everyone else sees allauth's "sign-up closed" page.
        return bool(request.session.get("invitation_token"))
