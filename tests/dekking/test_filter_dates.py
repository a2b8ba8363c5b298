"""A dashboard filter's dates far from today (a typo, a probe) are a clear error on the
page, never a 500 from the weeks and months worked out around them."""

import pytest
from django.urls import reverse

from dekking.forms import CoverageFilterForm
from tests.dekking.pages import text

NATIONAL = reverse("dekking:national")
AADORP = reverse("dekking:gemeente", args=["GM0001"])
OUT_OF_RANGE = "Choose a date from 1 January 2000 up to 31 December 2099."
EXTREMES = [
    {"end": "9999-12-31"},
    {"end": "0001-01-01"},
    {"start": "0001-01-01"},
    {"start": "0001-01-01", "end": "0001-01-01"},
    {"start": "9999-12-31"},
    {"start": "1999-12-31"},
    {"end": "2100-01-01"},
]


@pytest.mark.parametrize("query", EXTREMES)
@pytest.mark.parametrize("user, url", [("national", NATIONAL), ("coordinator", AADORP)])
def test_a_date_out_of_range_is_an_error_on_the_page(client, world, user, url, query):
    client.force_login(getattr(world, user))

    response = client.get(url, query)

    assert response.status_code == 200
    assert OUT_OF_RANGE in text(response)
    assert 'aria-invalid="true"' in response.content.decode()


@pytest.mark.parametrize("query", [{"start": "2000-01-01", "end": "2099-12-31"}, {}])
def test_the_first_and_last_day_of_the_range_are_fine(client, world, query):
    client.force_login(world.coordinator)

    response = client.get(AADORP, query)

    assert response.status_code == 200
    assert OUT_OF_RANGE not in text(response)


@pytest.mark.django_db
def test_the_range_is_refused_in_dutch_too():
    from django.utils import translation

    with translation.override("nl"):
        form = CoverageFilterForm({"end": "9999-12-31"}, with_provincie=False)
        assert not form.is_valid()
        (message,) = form.errors["end"]
    assert message == "Kies een datum van 1 januari 2000 tot en met 31 december 2099."
    # The scope leaves the refused date out, as it does an unreadable one.
    assert form.scope(gemeente="GM0001").end is None
