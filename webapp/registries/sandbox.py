"""The sandbox copy of the state registries, read from sandbox/citizens.yaml."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from webapp.registries import (
    BankAccount,
    BirthRecord,
    Disability,
    Marriage,
    PensionAccount,
    Person,
    PersonName,
    Residence,
    SemipalatinskPeriod,
    Text,
    UnemploymentRegistration,
    WorkInjury,
)

DATA_FILE = Path(__file__).resolve().parent.parent / "sandbox" / "citizens.yaml"


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _text(value: dict | None) -> Text:
    """A registry text from its variants by language ({kk: …, ru: …, en: …})."""
    if not isinstance(value, dict) or not value.get("kk"):
        raise ValueError(f"a registry text needs its variants by language, at least kk: {value!r}")
    return Text(**{lang: str(value.get(lang) or "") for lang in ("kk", "ru", "en")})


def _person(raw: dict) -> Person:
    residence = raw.get("residence")
    disability = raw.get("disability")
    pension = raw.get("pension")
    unemployment = raw.get("unemployment")
    injury = raw.get("work_injury")
    return Person(
        iin=str(raw["iin"]),
        names={lang: PersonName(**parts) for lang, parts in raw["name"].items()},
        birth_date=_date(raw["birth_date"]),
        sex=raw["sex"],
        deceased_on=_date(raw.get("deceased_on")),
        categories=tuple(raw.get("categories", ())),
        residence=residence
        and Residence(
            region=_text(residence["region"]),
            locality=_text(residence["locality"]),
            address=_text(residence["address"]),
            baikonur=bool(residence.get("baikonur")),
            registered_on=_date(residence.get("registered_on")),
        ),
        births=tuple(
            BirthRecord(
                child_iin=str(b["child_iin"]),
                registered_on=_date(b["registered_on"]),
                registered_abroad=bool(b.get("registered_abroad")),
                adoption=bool(b.get("adoption")),
                guardianship=bool(b.get("guardianship")),
                deceased_on=_date(b.get("deceased_on")),
            )
            for b in raw.get("births", ())
        ),
        marriages=tuple(
            Marriage(
                spouse_iin=str(m["spouse_iin"]),
                registered_on=_date(m["registered_on"]),
                dissolved_on=_date(m.get("dissolved_on")),
            )
            for m in raw.get("marriages", ())
        ),
        unemployment=unemployment
        and UnemploymentRegistration(
            registered_on=_date(unemployment["registered_on"]),
            centre=_text(unemployment["centre"]),
            status=unemployment["status"],
        ),
        disability=disability
        and Disability(
            group=str(disability["group"]),
            cause=_text(disability["cause"]),
            established_on=_date(disability["established_on"]),
            until=_date(disability.get("until")),
        ),
        pension=pension
        and PensionAccount(
            enpf_account=str(pension["enpf_account"]),
            accruals_kzt=Decimal(str(pension.get("accruals_kzt", 0))),
            receives_state_pension=bool(pension.get("receives_state_pension")),
            has_unexecuted_application=bool(pension.get("has_unexecuted_application")),
        ),
        bank_accounts=tuple(
            BankAccount(
                iban=a["iban"], holder_iin=str(a["holder_iin"]), opened_on=_date(a.get("opened_on"))
            )
            for a in raw.get("bank_accounts", ())
        ),
        semipalatinsk=tuple(
            SemipalatinskPeriod(
                zone=p["zone"], locality=_text(p["locality"]), start=_date(p["from"]), end=_date(p["to"])
            )
            for p in raw.get("semipalatinsk", ())
        ),
        work_injury=injury
        and WorkInjury(
            employer=_text(injury["employer"]),
            employer_bin=str(injury["employer_bin"]),
            liquidated_on=_date(injury["liquidated_on"]),
            capitalization_ended_on=_date(injury["capitalization_ended_on"]),
            harm_percent=int(injury["harm_percent"]),
        ),
        good_for=tuple(raw.get("good_for", ())),
    )


class SandboxRegistries:
    """Reads the sandbox data file once and answers from memory."""

    def __init__(self, path: Path = DATA_FILE):
        self.path = path

    @cached_property
    def _raw(self) -> list[dict]:
        with self.path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)["people"]

    @cached_property
    def _people(self) -> dict[str, Person]:
        return {person.iin: person for person in map(_person, self._raw)}

    def person(self, iin: str) -> Person | None:
        """Everything the sandbox registries hold about one IIN, or None."""
        return self._people.get(iin)

    @cached_property
    def _account_holders(self) -> dict[str, str]:
        return {a.iban: a.holder_iin for p in self._people.values() for a in p.bank_accounts}

    def account_holder(self, iban: str) -> str | None:
        """The IIN of the person the bank account with that IBAN belongs to, or None."""
        return self._account_holders.get(iban)

    def test_citizens(self) -> list[tuple[Person, str, str | None]]:
        """Account holders with their sandbox password and registered phone."""
        return [
            (self._people[str(raw["iin"])], raw["account"]["password"], raw.get("phone"))
            for raw in self._raw
            if raw.get("account")
        ]
