"""Generated test citizens for load runs: many distinct mothers of babies, each with a phone.

The sandbox has about twenty hand-written test citizens, and SMS passwords are
limited per citizen (a few an hour), so a load run of hundreds of simulated
citizens needs as many real-looking ones. With SANDBOX_SYNTHETIC_CITIZENS=N
every portal and worker process adds the same N generated people to the
sandbox registries (deterministic: citizen i is always the same person), and
`flask sandbox load-synthetic` creates their accounts and registered phones.

Citizen i is a mother with a valid IIN, unmarried, whose baby (also in the
registries) was born in 2026 and registered a week later, and with one own
Kazpost account: eligible for the child-care service online. All of them log
in with SYNTHETIC_PASSWORD and have the phone +7 747 NNN NN NN.
"""

from __future__ import annotations

import datetime as dt
from functools import cached_property

from schwifty import IBAN
from werkzeug.security import generate_password_hash

from webapp.extensions import db
from webapp.identifiers import make_iin
from webapp.models import CitizenAccount, MobilePhone
from webapp.registries import Person
from webapp.registries.sandbox import _person

SYNTHETIC_PASSWORD = "Sandbox1!"
KAZPOST = "563"  # the bank code of the Kazpost accounts in citizens.yaml
MAX_COUNT = 100_000  # plenty for a load run; generating them takes a few seconds
_FIRST_MOTHER = dt.date(1980, 1, 1)
_FIRST_BABY = dt.date(2026, 1, 1)
_SERIAL = 7000  # IIN serials the hand-written citizens do not use (theirs are below 1000)


def phone(index: int) -> str:
    return f"+7747{index:07d}"


def _raw_people(count: int, taken: set[str]) -> list[tuple[dict, dict]]:
    """(mother, baby) raw records in citizens.yaml's shape, IINs unique and not in `taken`."""
    used = set(taken)

    def unique_iin(born: dt.date, sex: str, serial: int) -> str:
        while True:
            iin = make_iin(born, sex, serial)
            if iin not in used:
                used.add(iin)
                return iin
            serial = int(iin[7:11]) + 1

    pairs = []
    for index in range(count):
        mother_born = _FIRST_MOTHER + dt.timedelta(days=index % 7000)
        baby_born = _FIRST_BABY + dt.timedelta(days=index % 240)  # January to August 2026
        mother = unique_iin(mother_born, "female", _SERIAL + index // 7000 * 20)
        baby = unique_iin(baby_born, "male" if index % 2 else "female", _SERIAL + index // 240 % 2900)
        iban = str(IBAN.generate("KZ", bank_code=KAZPOST, account_code=f"{7_000_000_000_000 + index:013d}"))
        astana = {"kk": "Астана", "ru": "Астана", "en": "Astana"}
        street = {"kk": f"Сынақ көшесі, {index + 1}-үй", "ru": f"улица Тестовая, д. {index + 1}",
                  "en": f"Load Test Street {index + 1}"}
        residence = {"region": astana, "locality": astana, "address": street, "baikonur": False,
                     "registered_on": "2020-01-01"}
        pairs.append((
            {
                "iin": mother,
                "name": {
                    "kk": {"surname": "Сынақова", "given": "Айгерім", "patronymic": f"№{index + 1}"},
                    "ru": {"surname": "Тестова", "given": "Айгерим", "patronymic": f"№{index + 1}"},
                    "en": {"surname": "Testova", "given": "Aigerim", "patronymic": f"No. {index + 1}"},
                },
                "birth_date": mother_born.isoformat(),
                "sex": "female",
                "residence": residence,
                "births": [{"child_iin": baby, "registered_on": (baby_born + dt.timedelta(days=7)).isoformat()}],
                "bank_accounts": [{"iban": iban, "holder_iin": mother, "opened_on": "2020-01-01"}],
                "good_for": ["Load runs: child care under one, eligible online; signs by SMS"],
            },
            {
                "iin": baby,
                "name": {lang: {"surname": surname, "given": "Нұр" if lang == "kk" else ("Нур" if lang == "ru" else "Nur"),
                                "patronymic": None}
                         for lang, surname in (("kk", "Сынақов"), ("ru", "Тестов"), ("en", "Testov"))},
                "birth_date": baby_born.isoformat(),
                "sex": "male" if index % 2 else "female",
                "residence": residence,
            },
        ))
    return pairs


class WithSyntheticCitizens:
    """The sandbox registries plus `count` generated citizens (the hand-written ones first)."""

    def __init__(self, base, count: int):
        if not 0 < count <= MAX_COUNT:
            raise ValueError(f"SANDBOX_SYNTHETIC_CITIZENS must be 1 to {MAX_COUNT}")
        self.base = base
        self.count = count

    @cached_property
    def _pairs(self) -> list[tuple[Person, Person]]:
        taken = {person.iin for person, _password, _phone in self.base.test_citizens()}
        taken |= {b.child_iin for person, _password, _phone in self.base.test_citizens() for b in person.births}
        return [(_person(mother), _person(baby)) for mother, baby in _raw_people(self.count, taken)]

    @cached_property
    def _people(self) -> dict[str, Person]:
        people = {}
        for mother, baby in self._pairs:
            people[mother.iin] = mother
            people[baby.iin] = baby
        return people

    @cached_property
    def _account_holders(self) -> dict[str, str]:
        return {a.iban: a.holder_iin for mother, _baby in self._pairs for a in mother.bank_accounts}

    def person(self, iin: str) -> Person | None:
        return self.base.person(iin) or self._people.get(iin)

    def account_holder(self, iban: str) -> str | None:
        return self.base.account_holder(iban) or self._account_holders.get(iban)

    def test_citizens(self):
        """Only the hand-written ones: the testers' page stays readable."""
        return self.base.test_citizens()

    def synthetic_citizens(self) -> list[tuple[Person, str, str]]:
        """The generated mothers with their password and phone, citizen 0 first."""
        return [(mother, SYNTHETIC_PASSWORD, phone(index)) for index, (mother, _baby) in enumerate(self._pairs)]

    def __getattr__(self, name):
        return getattr(self.base, name)


def load_synthetic_citizens(registries: WithSyntheticCitizens) -> int:
    """Create the accounts and phones of the generated citizens that have none (a few queries, not N)."""
    citizens = registries.synthetic_citizens()
    iins = [person.iin for person, _password, _phone in citizens]
    have_account, have_phone = set(), set()
    for start in range(0, len(iins), 5000):
        chunk = iins[start:start + 5000]
        have_account |= set(db.session.scalars(db.select(CitizenAccount.iin).where(CitizenAccount.iin.in_(chunk))))
        have_phone |= set(db.session.scalars(db.select(MobilePhone.iin).where(MobilePhone.iin.in_(chunk))))
    # One hash for all: they share the password, and hashing is deliberately slow.
    password_hash = generate_password_hash(SYNTHETIC_PASSWORD) if len(have_account) < len(iins) else None
    missing_accounts = [{"iin": iin, "password_hash": password_hash} for iin in iins if iin not in have_account]
    if missing_accounts:
        db.session.execute(db.insert(CitizenAccount), missing_accounts)
    missing_phones = [{"iin": person.iin, "phone": number} for person, _pw, number in citizens
                      if person.iin not in have_phone]
    if missing_phones:
        db.session.execute(db.insert(MobilePhone), missing_phones)
    db.session.commit()
    return len(citizens)
