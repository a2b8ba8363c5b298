from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitatorsConfig(AppConfig):
    name = "facilitators"
    verbose_name = _("Facilitators")

    def ready(self):
        from . import checks  # noqa: F401, PLC0415 (registers the system check)
