"""Helpers for the resident page tests: the database cache table, an HTML reader, form data."""

from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.core.management import call_command


@pytest.fixture(scope="session")
def cache_table(django_db_setup, django_db_blocker):
    # Rate limits count in the database cache; pytest-django does not create its table.
    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)


@pytest.fixture
def empty_cache(cache_table, db):
    """A database cache table without counts from earlier tests."""
    cache.clear()
    yield
    cache.clear()


class Elements(HTMLParser):
    """The start tags of a page, in order, as (tag, attributes)."""

    def __init__(self, html: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(key) == value for key, value in attrs.items())
        ]


def sign_up_data(**overrides) -> dict[str, str]:
    data = {
        "name": "Fatima",
        "email": "fatima@example.org",
        "postcode": "3511 AB",
        "phone": "",
        "language": "nl",
        "consent": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
