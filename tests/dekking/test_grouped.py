"""dekking.views.grouped: the map labels' numbers, as humanize's intcomma writes them."""

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils import translation

from dekking.views import grouped


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("number", [0, 7, 999, 1000, 14574, 931298, 12345678, -1234])
def test_grouped_writes_numbers_as_intcomma_does(language, number):
    with translation.override(language):
        assert grouped(number) == intcomma(number)


def test_grouped_follows_the_active_language():
    with translation.override("nl"):
        assert grouped(14574) == "14.574"
    with translation.override("en"):
        assert grouped(14574) == "14,574"
