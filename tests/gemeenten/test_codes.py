import pytest
from django.core.exceptions import ValidationError

from gemeenten.models import (
    buurt_code_validator,
    gemeente_code_validator,
    provincie_code_validator,
    wijk_code_validator,
)

GOOD = [
    (provincie_code_validator, "PV26"),
    (gemeente_code_validator, "GM0344"),
    (gemeente_code_validator, "GM1992"),
    (wijk_code_validator, "WK034401"),
    (wijk_code_validator, "WK0363AD"),  # Amsterdam uses capitals in its wijk codes
    (buurt_code_validator, "BU03440100"),
    (buurt_code_validator, "BU0363AD03"),  # and in its buurt codes
    (buurt_code_validator, "BU0363MK03"),
]

BAD = [
    (provincie_code_validator, "PV2"),
    (provincie_code_validator, "pv26"),
    (provincie_code_validator, "26"),
    (gemeente_code_validator, "GM344"),
    (gemeente_code_validator, "GM03440"),
    (gemeente_code_validator, "gm0344"),
    (gemeente_code_validator, "0344"),
    (gemeente_code_validator, "GM0344\n"),
    (gemeente_code_validator, " GM0344"),
    (wijk_code_validator, "WK03441"),
    (wijk_code_validator, "WK0363ad"),
    (wijk_code_validator, "BU034401"),
    (wijk_code_validator, "WK034401\n"),
    (buurt_code_validator, "BU0344010"),
    (buurt_code_validator, "BU0363ad03"),
    (buurt_code_validator, "BU036AD003"),
    (buurt_code_validator, "WK03440100"),
]


@pytest.mark.parametrize(("validator", "code"), GOOD)
def test_official_cbs_codes_are_accepted(validator, code):
    validator(code)


@pytest.mark.parametrize(("validator", "code"), BAD)
def test_malformed_codes_are_rejected(validator, code):
    with pytest.raises(ValidationError):
        validator(code)
