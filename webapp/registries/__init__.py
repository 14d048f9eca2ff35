"""What the state registries know about a person, behind one adapter interface.

The portal only reads registries. The sandbox adapter serves a data file;
a production adapter would query the real state databases through the
e-government gateway and return the same records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class Text:
    """A registry's text in each language it keeps it in: addresses, place names, bodies, employers.

    The state registries write such records in Kazakh and Russian (some in
    English too); the portal shows the variant of the page's language.
    """

    kk: str
    ru: str = ""
    en: str = ""

    def in_language(self, language: str) -> str:
        """The variant in that language; the Kazakh, then the Russian one, when the registry has no such variant."""
        return {"kk": self.kk, "ru": self.ru, "en": self.en}.get(language) or self.kk or self.ru


@dataclass(frozen=True)
class PersonName:
    surname: str
    given: str
    patronymic: str = ""

    @property
    def full(self) -> str:
        return " ".join(part for part in (self.surname, self.given, self.patronymic) if part)


@dataclass(frozen=True)
class Residence:
    region: Text
    locality: Text
    address: Text
    baikonur: bool
    registered_on: dt.date | None


@dataclass(frozen=True)
class BirthRecord:
    """A civil-registry birth record naming the person as a parent."""

    child_iin: str
    registered_on: dt.date
    registered_abroad: bool = False
    adoption: bool = False
    guardianship: bool = False
    deceased_on: dt.date | None = None


@dataclass(frozen=True)
class Marriage:
    spouse_iin: str
    registered_on: dt.date
    dissolved_on: dt.date | None = None


@dataclass(frozen=True)
class UnemploymentRegistration:
    registered_on: dt.date
    centre: Text
    status: str


@dataclass(frozen=True)
class Disability:
    group: str  # "1", "2", "3" or "child"
    cause: Text
    established_on: dt.date
    until: dt.date | None  # None: termless


@dataclass(frozen=True)
class PensionAccount:
    enpf_account: str
    accruals_kzt: Decimal
    receives_state_pension: bool
    has_unexecuted_application: bool


@dataclass(frozen=True)
class BankAccount:
    iban: str
    holder_iin: str
    opened_on: dt.date | None


@dataclass(frozen=True)
class SemipalatinskPeriod:
    zone: str
    locality: Text
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class WorkInjury:
    employer: Text
    employer_bin: str
    liquidated_on: dt.date
    capitalization_ended_on: dt.date
    harm_percent: int


@dataclass(frozen=True)
class Person:
    """An individual as the state database of individuals (GBD FL) knows them."""

    iin: str
    names: dict[str, PersonName]  # by language: kk, ru, en
    birth_date: dt.date
    sex: str
    residence: Residence | None = None
    deceased_on: dt.date | None = None
    categories: tuple[str, ...] = ()
    births: tuple[BirthRecord, ...] = ()
    marriages: tuple[Marriage, ...] = ()
    unemployment: UnemploymentRegistration | None = None
    disability: Disability | None = None
    pension: PensionAccount | None = None
    bank_accounts: tuple[BankAccount, ...] = ()
    semipalatinsk: tuple[SemipalatinskPeriod, ...] = ()
    work_injury: WorkInjury | None = None
    good_for: tuple[str, ...] = field(default=(), compare=False)

    def name(self, language: str) -> PersonName:
        """The name as written in that language (Kazakh when unknown)."""
        return self.names.get(language) or self.names["kk"]


class StateRegistries(Protocol):
    """The portal's one way to ask the state what it knows."""

    def person(self, iin: str) -> Person | None:
        """Everything the registries hold about one IIN, or None."""
        ...

    def account_holder(self, iban: str) -> str | None:
        """The IIN of the bank account's holder, per the banks' registry, or None."""
        ...
