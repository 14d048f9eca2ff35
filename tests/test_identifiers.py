import datetime as dt

import pytest

from webapp.identifiers import (
    has_valid_check_digit,
    iin_birth_date,
    iin_sex,
    is_valid_iin,
    make_iin,
    normalise_digits,
)

TODAY = dt.date(2026, 11, 23)  # the day the tests pin


def test_made_iins_are_valid_and_encode_birth_and_sex():
    iin = make_iin(dt.date(1990, 5, 17), "female", 123)
    assert is_valid_iin(iin, TODAY)
    assert iin_birth_date(iin) == dt.date(1990, 5, 17)
    assert iin_sex(iin) == "female"
    assert iin_sex(make_iin(dt.date(2026, 2, 3), "male", 1)) == "male"


def test_a_changed_digit_breaks_the_check_digit():
    iin = make_iin(dt.date(1985, 1, 29), "female", 7)
    broken = iin[:11] + str((int(iin[11]) + 1) % 10)
    assert not has_valid_check_digit(broken)


def test_second_weight_sequence_is_used_when_the_first_gives_ten():
    iin = "680315313503"  # the first weights give 10; the second give 3
    assert sum(int(d) * w for d, w in zip(iin, range(1, 12))) % 11 == 10
    assert is_valid_iin(iin, TODAY)
    assert not has_valid_check_digit(iin[:11] + "10"[:1])


@pytest.mark.parametrize(
    "iin",
    [
        "123456789011",  # the national test CA's IIN: wrong check digit
        "12345678901",  # too short
        "90051740137a",
        "901317401370",  # month 13
    ],
)
def test_invalid_iins(iin):
    assert not is_valid_iin(iin, TODAY)


def test_future_birth_date_is_not_plausible():
    iin = make_iin(dt.date(2030, 1, 1), "male", 1)
    assert has_valid_check_digit(iin)
    assert not is_valid_iin(iin, TODAY)


def test_normalise_digits_drops_spaces_and_hyphens():
    assert normalise_digits(" 900517-401 370 ") == "900517401370"
