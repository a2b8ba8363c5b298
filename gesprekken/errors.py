"""The refusal every use case raises: its `str()` is a translated message for the person."""

from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """A use case refused. `str(error)` is a translated message meant for the reader
    (the resident in gesprekken.services, the staff member in gesprekken.incidents)."""

    default_message = _("Something went wrong. Please try again.")

    def __init__(self, message=None):
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)
