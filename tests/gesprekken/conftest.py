import pytest

from gesprekken.models import Bericht


@pytest.fixture
def queued():
    """The keys of the e-mails queued so far, optionally of one kind, in queue order."""

    def keys(kind: str | None = None) -> list[str]:
        berichten = Bericht.objects.order_by("pk")
        if kind is not None:
            berichten = berichten.filter(kind=kind)
        return list(berichten.values_list("key", flat=True))

    return keys
