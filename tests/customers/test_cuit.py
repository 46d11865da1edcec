"""The CUIT: 11 digits, a known prefix and the right check digit; stored without dashes."""

import pytest
from django.core.exceptions import ValidationError

from customers import cuit


@pytest.mark.parametrize(
    "given, stored",
    [
        ("30-71234567-1", "30712345671"),
        ("20123456786", "20123456786"),
        (" 20.12345678.6 ", "20123456786"),
        ("30-50000000-3", "30500000003"),
    ],
)
def test_a_valid_cuit_is_stored_as_eleven_digits(given, stored):
    assert cuit.normalise(given) == stored
    assert cuit.formatted(stored) == f"{stored[:2]}-{stored[2:10]}-{stored[10]}"


@pytest.mark.parametrize(
    "given, code",
    [
        ("30-71234567-2", "cuit_check_digit"),
        ("20-12345678-0", "cuit_check_digit"),
        ("20-27272727-0", "cuit_check_digit"),  # the remainder gives 10: no digit is right
        ("10-12345678-6", "cuit_prefix"),
        ("3071234567", "cuit_length"),
        ("30-7123456a-1", "cuit_length"),
        ("", "cuit_length"),
    ],
)
def test_a_wrong_cuit_is_refused_with_its_reason(given, code):
    with pytest.raises(ValidationError) as raised:
        cuit.normalise(given)
    assert raised.value.code == code


def test_the_check_digit_rule():
    assert cuit.check_digit("3071234567") == 1
    assert cuit.check_digit("3050000000") == 3
    assert cuit.check_digit("2027272727") is None
