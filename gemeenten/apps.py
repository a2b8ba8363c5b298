from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GemeentenConfig(AppConfig):
    name = "gemeenten"
    verbose_name = _("Geography")
