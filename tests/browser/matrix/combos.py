"""Which pages the matrix checks in which combinations of language, size and JavaScript."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from dataclasses import dataclass

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.matrix import world as world_module

FULL = os.environ.get("QYZMET_MATRIX") == "full"
LANGUAGES = ["kk", "ru", "en"]
SIZES = {"1280": DESKTOP, "360": PHONE}


@dataclass(frozen=True)
class Combination:
    lang: str
    size: str
    javascript: bool

    @property
    def id(self) -> str:
        return f"{self.lang}-{self.size}-{'js' if self.javascript else 'nojs'}"


# Ordered so that consecutive pages of the slice differ in all three.
COMBINATIONS = [Combination(lang, size, js) for js, size, lang in itertools.product([True, False], SIZES, LANGUAGES)]
COMBINATIONS = [COMBINATIONS[(i * 5) % 12] for i in range(12)]


def slice_offset() -> int:
    """Which combination the slice starts from: it turns by one each day, so a
    week of runs sees every page in every combination; QYZMET_MATRIX_OFFSET pins it
    (to rerun a failure seen on another day)."""
    return int(os.environ.get("QYZMET_MATRIX_OFFSET", dt.date.today().toordinal() % 12))


def matrix_cases() -> list[tuple[str, Combination]]:
    names = world_module.page_names()
    if FULL:
        return [(name, combo) for name in names for combo in COMBINATIONS]
    offset = slice_offset()
    return [(name, COMBINATIONS[(i + offset) % 12]) for i, name in enumerate(names)]
