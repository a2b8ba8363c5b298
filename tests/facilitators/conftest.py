import pytest


@pytest.fixture(autouse=True)
def _english_pages(client):
    """Assertions read the English source strings, whatever the Dutch catalogue says."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
