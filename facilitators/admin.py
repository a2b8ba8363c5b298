"""Admin for national coordinators: organisations, facilitators, roles and invitations.

Invitations are made on /coordinatie/uitnodigen/ (which sends the mail); here they can be
looked at and revoked. The token never shows: it is the secret in the e-mailed link.
"""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Facilitator, Organisatie, Rol, Uitnodiging


@admin.register(Organisatie)
class OrganisatieAdmin(admin.ModelAdmin):
    list_display = ["name", "kind"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(Facilitator)
class FacilitatorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user_email", "training_done", "is_active"]
    list_filter = ["training_done", "user__is_active", "organisaties"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    filter_horizontal = ["gemeenten", "organisaties"]

    @admin.display(description=_("e-mail address"), ordering="user__email")
    def user_email(self, obj):
        return obj.user.email

    @admin.display(description=_("active"), boolean=True, ordering="user__is_active")
    def is_active(self, obj):
        return obj.user.is_active


@admin.register(Rol)
class RolAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "gemeente"]
    list_filter = ["kind"]
    search_fields = ["user__email", "gemeente__name", "gemeente__code"]
    list_select_related = ["user", "gemeente"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["gemeente"]


@admin.register(Uitnodiging)
class UitnodigingAdmin(admin.ModelAdmin):
    list_display = ["email", "status_display", "invited_by", "created_at", "sent_at"]
    list_filter = ["created_at", "accepted_at", "revoked_at"]
    search_fields = ["email"]
    list_select_related = ["invited_by"]
    date_hierarchy = "created_at"
    exclude = ["token"]
    readonly_fields = [
        "email",
        "gemeenten",
        "organisatie",
        "invited_by",
        "language",
        "created_at",
        "expires_at",
        "sent_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
    ]
    actions = ["revoke_selected"]

    def has_add_permission(self, request):
        # Made on /coordinatie/uitnodigen/, which checks the gemeenten and sends the mail.
        return False

    @admin.display(description=_("status"))
    def status_display(self, obj):
        return obj.get_status_display()

    @admin.action(description=_("Revoke the selected invitations"))
    def revoke_selected(self, request, queryset):
        count = (
            queryset.model.objects.pending()
            .filter(pk__in=queryset.values("pk"))
            .update(revoked_at=timezone.now())
        )
        self.message_user(
            request,
            ngettext("%d invitation revoked.", "%d invitations revoked.", count) % count,
            messages.SUCCESS,
        )
