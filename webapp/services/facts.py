"""What the state registries say about the applicant, as named facts.

Service definitions refer to these names in conditions, eligibility rules,
choice options and confirmation steps; a new service reuses them without
code. Facts are what the registries hold, with no service's rules in them:
a list of records (children) is every record, and a definition narrows it
with a selection (`selections:` in its `application:` section), such as the
births a service covers since a date. Each fact group also knows how to
show itself for confirmation and how to write itself into the application
XML. `flask services docs` writes the list of facts and their fields into
docs/service-definitions.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields
from functools import cached_property
from typing import Mapping

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from webapp.i18n import long_date
from webapp.registries import Disability, Person, StateRegistries
from webapp.services.conditions import evaluate

# Article 11 of the Social Code: 63 for men; 61 for women until 2028.
RETIREMENT_AGE = {"male": 63, "female": 61}

DISABILITY_GROUPS = {
    "1": _l("Group 1"),
    "2": _l("Group 2"),
    "3": _l("Group 3"),
    "child": _l("Child with a disability (under 18)"),
}
SEMIPALATINSK_ZONES = {
    "extreme": _l("Zone of extreme radiation risk"),
    "maximum": _l("Zone of maximum radiation risk"),
    "increased": _l("Zone of increased radiation risk"),
    "minimum": _l("Zone of minimum radiation risk"),
    "privileged": _l("Zone with a privileged socio-economic status"),
}
CATEGORIES = {
    "rehabilitated": _l("Rehabilitated victim of mass political repression"),
    "combat-veteran-other-states": _l("Veteran of combat operations on the territory of other states"),
    "chernobyl-liquidator": _l("Participant in the clean-up after the Chernobyl disaster"),
    "large-family-mother-altyn-alka": _l("Mother of many children awarded Altyn Alka or Kumis Alka"),
}
FACT_GROUPS = {
    "identity": _l("Identity"),
    "residence": _l("Registered address"),
    "marriage": _l("Marriage"),
    "breadwinner": _l("Death of the breadwinner"),
    "children": _l("Children"),
    "children_disability": _l("Disability of your children"),
    "unemployment": _l("Registration as unemployed"),
    "disability": _l("Disability"),
    "pension": _l("Pension savings in the ENPF"),
    "bank_accounts": _l("Bank accounts in your name"),
    "semipalatinsk": _l("Residence near the Semipalatinsk test site"),
    "work_injury": _l("Harm to health at work"),
    "categories": _l("Categories giving a right to benefits"),
}


@dataclass(frozen=True)
class Row:
    """One confirmed fact: a key for the XML, a label and a value for people."""

    key: str
    label: str
    value: str
    xml_value: str


def _doc(text: str):
    return field(metadata={"doc": text})


@dataclass(frozen=True)
class Child:
    """A living child under 18 whose birth record names the person as a parent."""

    iin: str = _doc("The child's IIN")
    name: str = _doc("Full name, in the application's language")
    birth_date: dt.date = _doc("Date of birth")
    age: int = _doc("Age in whole years today (0 in the first year)")
    registered_on: dt.date = _doc("The day the birth (or adoption) was registered")
    adoption: bool = _doc("The birth record shows the person adopted the child")
    guardianship: bool = _doc("The person is the child's guardian")
    disability_group: str | None = _doc("The child's disability group (`child`), in force or not; none without one")
    disability_in_force: bool = _doc("The child's disability is in force today")


# Facts that are lists of records, with the record each holds: a selection's `from`.
RECORDS = {"children": Child}


@dataclass(frozen=True)
class Selection:
    """The records of a list fact whose fields meet a condition, named by a service definition."""

    name: str
    source: str  # a fact in RECORDS, or a selection before this one
    where: Mapping


def record_type(name: str, selections: Mapping[str, Selection]) -> type | None:
    """The record a list fact or a selection holds; None for any other fact."""
    while name in selections:
        name = selections[name].source
    return RECORDS.get(name)


def record_fields(record: type) -> list[tuple[str, str, str]]:
    """(name, type, meaning) of each field of a record, for definitions and their docs."""
    return [(f.name, type_name(str(f.type)), f.metadata["doc"]) for f in fields(record)]


def type_name(annotation: str) -> str:
    """A fact's or field's type as the docs say it: `dt.date | None` is "date or none"."""
    text = annotation.replace("dt.", "").replace(" | None", " or none")
    return text.replace("list[", "list of ").replace("]", "")


def years_between(start: dt.date, end: dt.date) -> int:
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _no_answers(name: str):
    raise KeyError(f"a selection's condition names its records' fields, not the answer {name!r}")


def _no_facts(name: str):
    raise KeyError(f"a selection's condition names its records' fields, not the fact {name!r}")


def _date(value: dt.date | None) -> str:
    return long_date(value) if value else gettext("No end date")


class RegistryFacts:
    """Named facts about one person, as of one day, in one language."""

    def __init__(self, person: Person, registries: StateRegistries, today: dt.date, language: str,
                 selections: Mapping[str, Selection] | None = None):
        self.person = person
        self.registries = registries
        self.today = today
        self.language = language
        self.selections = selections or {}
        self._selected: dict[str, list] = {}

    @classmethod
    def names(cls) -> list[str]:
        """Every fact a definition may name, in the order they are written here."""
        return [name for name, value in vars(cls).items()
                if isinstance(value, cached_property) and not name.startswith("_")]

    @classmethod
    def describe(cls, name: str) -> tuple[str, str]:
        """A fact's type and meaning, from its annotation and docstring."""
        function = vars(cls)[name].func
        return type_name(str(function.__annotations__["return"])), (function.__doc__ or "").strip()

    @classmethod
    def known(cls, name: str) -> bool:
        return not name.startswith("_") and isinstance(vars(cls).get(name), cached_property)

    # Scalar facts and lists of records, for conditions and eligibility rules.

    def get(self, name: str):
        """The fact or selection with that name; a definition naming an unknown fact is a bug."""
        if name in self.selections:
            if name not in self._selected:
                selection = self.selections[name]
                self._selected[name] = [
                    record for record in self.get(selection.source)
                    if evaluate(selection.where, _no_answers, _no_facts, lambda f, r=record: getattr(r, f))
                ]
            return self._selected[name]
        if not self.known(name):
            raise KeyError(f"unknown registry fact {name!r}")
        return getattr(self, name)

    @cached_property
    def age(self) -> int:
        """Age in whole years today."""
        return years_between(self.person.birth_date, self.today)

    @cached_property
    def birth_date(self) -> dt.date:
        """Date of birth."""
        return self.person.birth_date

    @cached_property
    def sex(self) -> str:
        """`male` or `female`."""
        return self.person.sex

    @cached_property
    def retirement_age_reached(self) -> bool:
        """The retirement age of the Social Code (article 11) is reached: 63 for men, 61 for women."""
        return self.age >= RETIREMENT_AGE[self.person.sex]

    @cached_property
    def baikonur(self) -> bool:
        """The registered address is in Baikonur."""
        return bool(self.person.residence and self.person.residence.baikonur)

    @cached_property
    def _marriage(self):
        current = [m for m in self.person.marriages if m.dissolved_on is None]
        return max(current, key=lambda m: m.registered_on) if current else None

    @cached_property
    def married(self) -> bool:
        """A marriage is registered and not dissolved."""
        return self._marriage is not None

    @cached_property
    def marriage_registered_on(self) -> dt.date | None:
        """The day the current marriage (the latest, if several) was registered."""
        return self._marriage.registered_on if self._marriage else None

    @cached_property
    def spouse_deceased(self) -> bool:
        """A spouse of any recorded marriage has died."""
        spouses = (self.registries.person(m.spouse_iin) for m in self.person.marriages)
        return any(s is not None and s.deceased_on is not None for s in spouses)

    @cached_property
    def children(self) -> list[Child]:
        """Living children under 18 whose birth records name the person as a parent, youngest first."""
        found = []
        for record in self.person.births:
            child = self.registries.person(record.child_iin)
            if child is None or record.deceased_on or child.deceased_on:
                continue
            age = years_between(child.birth_date, self.today)
            if age >= 18:
                continue
            disability = child.disability
            found.append(
                Child(
                    iin=child.iin,
                    name=child.name(self.language).full,
                    birth_date=child.birth_date,
                    age=age,
                    registered_on=record.registered_on,
                    adoption=record.adoption,
                    guardianship=record.guardianship,
                    disability_group=disability.group if disability else None,
                    disability_in_force=bool(disability and (disability.until is None or disability.until >= self.today)),
                )
            )
        return sorted(found, key=lambda c: c.birth_date, reverse=True)

    @cached_property
    def children_count(self) -> int:
        """How many children (as in `children`)."""
        return len(self.children)

    @cached_property
    def _child_disabilities(self) -> list[tuple[Child, Disability]]:
        """Children with a child disability in force today, with its registry record."""
        found = []
        for child in self.children:
            record = self.registries.person(child.iin)
            if child.disability_group == "child" and child.disability_in_force and record:
                found.append((child, record.disability))
        return found

    @cached_property
    def unemployment_registered(self) -> bool:
        """Registered as unemployed at an employment centre (not removed from the register)."""
        record = self.person.unemployment
        return bool(record and record.status == "registered")

    @cached_property
    def disability_group(self) -> str | None:
        """The disability group in force today (`1`, `2`, `3`); none without one."""
        disability = self.person.disability
        if disability is None or (disability.until and disability.until < self.today):
            return None
        return disability.group

    @cached_property
    def disability_termless(self) -> bool:
        """The disability in force is established without a time limit."""
        return bool(self.disability_group and self.person.disability.until is None)

    @cached_property
    def pension_account(self) -> bool:
        """An account in the ENPF (the unified pension savings fund)."""
        return self.person.pension is not None

    @cached_property
    def pension_application_pending(self) -> bool:
        """The ENPF holds an application for pension payments not yet carried out."""
        return bool(self.person.pension and self.person.pension.has_unexecuted_application)

    @cached_property
    def own_bank_accounts(self) -> list[str]:
        """IBANs of the bank accounts held in the person's own name."""
        return [a.iban for a in self.person.bank_accounts if a.holder_iin == self.person.iin]

    @cached_property
    def semipalatinsk(self) -> bool:
        """Periods of residence near the Semipalatinsk test site are on record."""
        return bool(self.person.semipalatinsk)

    @cached_property
    def work_injury_recorded(self) -> bool:
        """Harm to health at work by an employer liquidated through bankruptcy is on record."""
        return self.person.work_injury is not None

    @cached_property
    def work_injury(self) -> bool:
        """Such harm is on record and the capitalised payments for it have ended (today or before)."""
        injury = self.person.work_injury
        return bool(injury and injury.capitalization_ended_on <= self.today)

    @cached_property
    def categories(self) -> list[str]:
        """Categories giving a right to benefits (rehabilitated, combat veteran, …), as codes."""
        return list(self.person.categories)

    # Options for choice fields.

    def options(self, source: str) -> list[tuple[str, str]]:
        """(value, label) pairs drawn from a fact, for a choice field."""
        value = self.get(source)
        if record_type(source, self.selections) is Child:
            return [
                (c.iin, gettext("%(name)s, born %(date)s", name=c.name, date=long_date(c.birth_date)))
                for c in value
            ]
        if source == "own_bank_accounts":
            return [(iban, iban) for iban in value]
        if source == "categories":
            return [(c, str(CATEGORIES.get(c, c))) for c in value]
        raise KeyError(f"registry fact {source!r} cannot give options")

    # Groups of facts shown for confirmation and written into the XML.

    def rows(self, group: str) -> list[Row]:
        """The rows a confirmation step shows for one group of facts."""
        return getattr(self, f"_rows_{group.replace('-', '_')}")()

    def _rows_identity(self) -> list[Row]:
        name = self.person.name(self.language)
        return [
            Row("iin", gettext("IIN"), self.person.iin, self.person.iin),
            Row("surname", gettext("Surname"), name.surname, name.surname),
            Row("givenName", gettext("Name"), name.given, name.given),
            Row("patronymic", gettext("Patronymic"), name.patronymic or gettext("None"), name.patronymic),
            Row("birthDate", gettext("Date of birth"), _date(self.person.birth_date), self.person.birth_date.isoformat()),
        ]

    def _rows_residence(self) -> list[Row]:
        residence = self.person.residence
        if residence is None:
            return [Row("address", gettext("Registered address"), gettext("Not registered"), "")]
        parts = (residence.address, residence.locality, residence.region)
        text = ", ".join(part for part in (p.in_language(self.language) for p in parts) if part)
        return [Row("address", gettext("Registered address"), text, text)]

    def _rows_marriage(self) -> list[Row]:
        if self._marriage is None:
            return [Row("married", gettext("Marriage"), gettext("No registered marriage"), "false")]
        spouse = self.registries.person(self._marriage.spouse_iin)
        spouse_name = spouse.name(self.language).full if spouse else self._marriage.spouse_iin
        return [
            Row("spouse", gettext("Spouse"), spouse_name, self._marriage.spouse_iin),
            Row("marriageRegisteredOn", gettext("Marriage registered on"),
                _date(self._marriage.registered_on), self._marriage.registered_on.isoformat()),
        ]

    def _rows_breadwinner(self) -> list[Row]:
        rows = []
        for marriage in self.person.marriages:
            spouse = self.registries.person(marriage.spouse_iin)
            if spouse is None or spouse.deceased_on is None:
                continue
            rows.append(Row("breadwinner", gettext("Breadwinner"), spouse.name(self.language).full, spouse.iin))
            rows.append(Row("breadwinnerDiedOn", gettext("Date of death"), _date(spouse.deceased_on), spouse.deceased_on.isoformat()))
        return rows or [Row("breadwinner", gettext("Breadwinner"), gettext("No death recorded"), "")]

    def _rows_children(self) -> list[Row]:
        if not self.children:
            return [Row("children", gettext("Children"), gettext("No children under 18"), "0")]
        rows = []
        for child in self.children:
            how = gettext("adopted") if child.adoption else gettext("under guardianship") if child.guardianship else ""
            text = gettext("%(name)s, born %(date)s", name=child.name, date=_date(child.birth_date))
            rows.append(Row("child", gettext("Child"), f"{text} ({how})" if how else text, child.iin))
        return rows

    def _rows_children_disability(self) -> list[Row]:
        if not self._child_disabilities:
            return [Row("childDisability", gettext("Children with a disability"), gettext("None recorded"), "")]
        rows = []
        for child, disability in self._child_disabilities:
            group = str(DISABILITY_GROUPS.get(disability.group, disability.group))
            if disability.until:
                text = gettext("%(group)s, from %(start)s until %(end)s", group=group,
                               start=_date(disability.established_on), end=_date(disability.until))
            else:
                text = gettext("%(group)s, from %(start)s, without a time limit", group=group,
                               start=_date(disability.established_on))
            until = disability.until.isoformat() if disability.until else ""
            rows.append(Row("childDisability", child.name, text,
                            f"{child.iin}|{disability.group}|{disability.established_on.isoformat()}|{until}"))
        return rows

    def _rows_unemployment(self) -> list[Row]:
        record = self.person.unemployment
        if record is None:
            return [Row("unemployed", gettext("Registered as unemployed"), gettext("No"), "false")]
        status = gettext("Registered") if record.status == "registered" else gettext("Removed from the register")
        centre = record.centre.in_language(self.language)
        return [
            Row("unemploymentStatus", gettext("Registered as unemployed"), status, record.status),
            Row("unemploymentRegisteredOn", gettext("Registered on"), _date(record.registered_on), record.registered_on.isoformat()),
            Row("employmentCentre", gettext("Employment centre"), centre, centre),
        ]

    def _rows_disability(self) -> list[Row]:
        disability = self.person.disability
        if disability is None:
            return [Row("disability", gettext("Disability"), gettext("None established"), "none")]
        return [
            Row("disabilityGroup", gettext("Disability group"), str(DISABILITY_GROUPS.get(disability.group, disability.group)), disability.group),
            Row("disabilityEstablishedOn", gettext("Established on"), _date(disability.established_on), disability.established_on.isoformat()),
            Row("disabilityUntil", gettext("Until"), _date(disability.until), disability.until.isoformat() if disability.until else ""),
        ]

    def _rows_pension(self) -> list[Row]:
        pension = self.person.pension
        if pension is None:
            return [Row("enpfAccount", gettext("ENPF account"), gettext("No account"), "")]
        return [
            Row("enpfAccount", gettext("ENPF account"), pension.enpf_account, pension.enpf_account),
            Row("retirementAgeReached", gettext("Retirement age reached"),
                gettext("Yes") if self.retirement_age_reached else gettext("No"),
                "true" if self.retirement_age_reached else "false"),
        ]

    def _rows_bank_accounts(self) -> list[Row]:
        accounts = self.own_bank_accounts
        if not accounts:
            return [Row("iban", gettext("Bank account"), gettext("No account in your name"), "")]
        return [Row("iban", gettext("Bank account"), iban, iban) for iban in accounts]

    def _rows_semipalatinsk(self) -> list[Row]:
        if not self.person.semipalatinsk:
            return [Row("semipalatinsk", gettext("Residence periods"), gettext("None recorded"), "")]
        return [
            Row(
                "residencePeriod",
                str(SEMIPALATINSK_ZONES.get(p.zone, p.zone)),
                gettext("%(place)s, from %(start)s to %(end)s", place=place, start=_date(p.start), end=_date(p.end)),
                f"{p.zone}|{place}|{p.start.isoformat()}|{p.end.isoformat()}",
            )
            for p in self.person.semipalatinsk
            for place in (p.locality.in_language(self.language),)
        ]

    def _rows_work_injury(self) -> list[Row]:
        injury = self.person.work_injury
        if injury is None:
            return [Row("workInjury", gettext("Harm to health at work"), gettext("None recorded"), "")]
        return [
            Row("employer", gettext("Former employer"), injury.employer.in_language(self.language), injury.employer_bin),
            Row("employerLiquidatedOn", gettext("Liquidated through bankruptcy on"), _date(injury.liquidated_on), injury.liquidated_on.isoformat()),
            Row("capitalizationEndedOn", gettext("Capitalised payments ended on"), _date(injury.capitalization_ended_on), injury.capitalization_ended_on.isoformat()),
            Row("harmPercent", gettext("Loss of ability to work"), f"{injury.harm_percent}%", str(injury.harm_percent)),
        ]

    def _rows_categories(self) -> list[Row]:
        if not self.person.categories:
            return [Row("category", gettext("Categories"), gettext("None recorded"), "")]
        return [Row("category", gettext("Category"), str(CATEGORIES.get(c, c)), c) for c in self.person.categories]
