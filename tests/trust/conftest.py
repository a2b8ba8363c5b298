import pytest


@pytest.fixture
def buurt(utrecht):
    """A buurt with fixed CBS codes: the factories' own gemeente codes run out of digits
    (GM9000 + n) in a long session on PostgreSQL, which checks the column length."""
    return utrecht.buurten[0]
