"""Admin for gesprekken. State changes go through services, so staff trigger the same
locks and e-mails as residents do; registrations and e-mails are read-only here."""

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import (
    Aanmelding,
    Bericht,
    Gesprek,
    Gespreksafspraak,
    Interesse,
    Sector,
    Stelling,
    Thema,
    Verslag,
)

# Standpunt (opinions), Effectmeting (survey answers), Incident and Blokkade are not here on
# purpose: opinions are never shown per person, survey answers only as aggregates, and
# incidents and blocks only to the coordinators of their own gemeente (/coordinatie/).


class StellingInline(admin.TabularInline):
    model = Stelling
    fields = ["text", "text_en", "order", "active"]
    extra = 0
    max_num = 5


@admin.register(Thema)
class ThemaAdmin(admin.ModelAdmin):
    list_display = ["name", "active"]
    list_filter = ["active"]
    search_fields = ["name"]
    inlines = [StellingInline]


@admin.register(Sector, Gespreksafspraak)
class BilingualListAdmin(admin.ModelAdmin):
    list_display = ["text", "text_en", "order", "active"]
    list_editable = ["order", "active"]
    list_filter = ["active"]


@admin.register(Gesprek)
class GesprekAdmin(admin.ModelAdmin):
    list_display = ["__str__", "format", "starts_at", "status", "seats", "sequence"]
    list_filter = ["status", "format", "language"]
    search_fields = ["buurt__name", "buurt__code", "place", "street"]
    date_hierarchy = "starts_at"
    list_select_related = ["buurt"]
    # 14,500 buurten: never render them as one select.
    autocomplete_fields = ["buurt"]
    raw_id_fields = ["facilitator", "co_facilitator"]
    # Status moves through the actions below, which inform residents.
    readonly_fields = ["status", "uid", "sequence", "created_at", "updated_at"]
    actions = ["publish_selected", "cancel_selected"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                seats_taken=Count(
                    "aanmeldingen",
                    filter=Q(aanmeldingen__status__in=Aanmelding.SEAT_STATUSES),
                )
            )
        )

    @admin.display(description=_("seats taken"))
    def seats(self, obj):
        return f"{obj.seats_taken} / {obj.max_participants}"

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        # The form has already put the new values on obj; the service compares them with
        # the stored row, bumps the calendar sequence and tells registered residents.
        changes = {
            field: form.cleaned_data[field]
            for field in form.changed_data
            if field in services.CHANGEABLE_FIELDS
        }
        services.change_gesprek(gesprek=obj, **changes)

    @admin.action(description=_("Publish selected conversations (and invite those interested)"))
    def publish_selected(self, request, queryset):
        self._run(request, queryset, services.publish, _("published"))

    @admin.action(description=_("Call off selected conversations (and tell everyone registered)"))
    def cancel_selected(self, request, queryset):
        self._run(request, queryset, services.cancel_gesprek, _("called off"))

    def _run(self, request, queryset, service, done):
        count = 0
        for gesprek in queryset:
            try:
                service(gesprek=gesprek)
                count += 1
            except services.ServiceError as error:
                self.message_user(request, f"{gesprek}: {error}", messages.ERROR)
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d conversation %(done)s.", "%(count)d conversations %(done)s.", count
                )
                % {"count": count, "done": done},
                messages.SUCCESS,
            )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Aanmelding)
class AanmeldingAdmin(ReadOnlyAdmin):
    # E-mail and phone stay off the list (shoulder-surfing, screenshots); the detail page
    # shows them to staff who need to reach the person. Search by exact address only.
    list_display = ["name", "gesprek", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "=email"]
    list_select_related = ["gesprek__buurt"]
    raw_id_fields = ["gesprek"]
    # Leefwereld is shown to staff only as counts (gesprekken.balance.mix).
    exclude = ["token", "sector", "age_band"]
    actions = ["cancel_selected"]

    @admin.action(description=_("Cancel selected registrations (frees their seats)"))
    def cancel_selected(self, request, queryset):
        count = 0
        for aanmelding in queryset:
            try:
                services.cancel(aanmelding=aanmelding)
                count += 1
            except services.ServiceError as error:
                self.message_user(request, f"{aanmelding}: {error}", messages.ERROR)
        if count:
            self.message_user(
                request,
                ngettext(
                    "%(count)d registration cancelled.", "%(count)d registrations cancelled.", count
                )
                % {"count": count},
                messages.SUCCESS,
            )

    def has_delete_permission(self, request, obj=None):
        # Deleting would skip the waiting list; cancel instead (erasure comes with retention).
        return False


@admin.register(Interesse)
class InteresseAdmin(ReadOnlyAdmin):
    list_display = ["buurt", "street", "created_at", "confirmed_at", "invited_at"]
    list_filter = [
        ("confirmed_at", admin.EmptyFieldListFilter),
        ("invited_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["buurt__name", "buurt__code", "street", "=email"]
    list_select_related = ["buurt"]
    raw_id_fields = ["buurt", "invited_to"]
    exclude = ["token"]


@admin.register(Bericht)
class BerichtAdmin(ReadOnlyAdmin):
    list_display = [
        "key",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["key", "=to"]
    raw_id_fields = ["aanmelding", "interesse", "gesprek"]
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Verslag)
class VerslagAdmin(ReadOnlyAdmin):
    """Reports are written by the facilitator in the workspace; the admin only reads them."""

    list_display = ["gesprek", "attendance", "created_at"]
    list_select_related = ["gesprek__buurt"]
    list_filter = ["themes"]
    date_hierarchy = "created_at"
