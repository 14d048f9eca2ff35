"""Kazakh personal and business identifiers (IIN, BIN).

Hand-written: no maintained PyPI library validates IINs or BINs. The rules
are in ../shared/reference/ncalayer-and-certificates.md: twelve digits, a
check digit computed mod 11 with two weight sequences.
"""

from __future__ import annotations

import datetime as dt
import re

_FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
_CENTURY = {1: 1800, 2: 1800, 3: 1900, 4: 1900, 5: 2000, 6: 2000}
_NOISE = re.compile(r"[\s\-‐-―.]")


def normalise_digits(value: str) -> str:
    """Drop spaces, hyphens and dots a person may type between digits."""
    return _NOISE.sub("", value or "")


def check_digit(first_eleven: str) -> int | None:
    """The control digit for eleven digits, or None if none exists."""
    digits = [int(c) for c in first_eleven]
    for weights in (_FIRST_WEIGHTS, _SECOND_WEIGHTS):
        control = sum(d * w for d, w in zip(digits, weights)) % 11
        if control != 10:
            return control
    return None


def has_valid_check_digit(number: str) -> bool:
    """True for twelve digits whose last one is the right control digit."""
    if not (len(number) == 12 and number.isdigit()):
        return False
    return check_digit(number[:11]) == int(number[11])


def iin_birth_date(iin: str) -> dt.date | None:
    """The birth date an IIN encodes, or None if it encodes none."""
    if not (len(iin) == 12 and iin.isdigit()):
        return None
    century = _CENTURY.get(int(iin[6]))
    if century is None:
        return None
    try:
        return dt.date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        return None


def iin_sex(iin: str) -> str | None:
    """'male' or 'female' from the century digit, or None."""
    digit = int(iin[6]) if len(iin) == 12 and iin.isdigit() else 0
    if digit not in _CENTURY:
        return None
    return "male" if digit % 2 else "female"


def is_valid_iin(iin: str, today: dt.date) -> bool:
    """Twelve digits, a right check digit and a birth date not after `today` (the portal's clock.today())."""
    born = iin_birth_date(iin)
    return has_valid_check_digit(iin) and born is not None and born <= today


def make_iin(born: dt.date, sex: str, serial: int) -> str:
    """Build a valid IIN for the sandbox; tries serials until one has a check digit."""
    century_digit = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100]
    century_digit += 0 if sex == "male" else 1
    for candidate in range(serial, serial + 10000):
        first = f"{born:%y%m%d}{century_digit}{candidate % 10000:04d}"
        control = check_digit(first)
        if control is not None:
            return first + str(control)
    raise ValueError("no serial gives a check digit")  # cannot happen in practice
