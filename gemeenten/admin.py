from django.contrib import admin

from .models import Buurt, Gemeente, Import, Postcodegebied, Provincie, Wijk


@admin.register(Provincie)
class ProvincieAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Gemeente)
class GemeenteAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "provincie", "inwoners", "ended_on"]
    list_filter = ["provincie", ("ended_on", admin.EmptyFieldListFilter)]
    search_fields = ["code", "name"]
    exclude = ["boundary"]
    list_select_related = ["provincie"]


@admin.register(Wijk)
class WijkAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "gemeente", "inwoners"]
    search_fields = ["code", "name"]
    list_select_related = ["gemeente"]
    raw_id_fields = ["gemeente"]


@admin.register(Buurt)
class BuurtAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "wijk", "gemeente", "inwoners", "pc4"]
    search_fields = ["code", "name", "pc4"]
    list_select_related = ["wijk", "gemeente"]
    raw_id_fields = ["wijk", "gemeente"]


@admin.register(Postcodegebied)
class PostcodegebiedAdmin(admin.ModelAdmin):
    list_display = ["pc4", "gemeente", "rank"]
    search_fields = ["pc4"]
    raw_id_fields = ["gemeente"]


@admin.register(Import)
class ImportAdmin(admin.ModelAdmin):
    list_display = ["started_at", "source"]
    readonly_fields = ["started_at", "source", "files", "summary"]
