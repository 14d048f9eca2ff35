"""A service's Request Online wizard, read from its definition.

The definition's `application` section lists eligibility rules and steps;
each step asks one question (or one tight group) or shows registry facts
for confirmation. Which steps show depends on earlier answers and on
registry facts, through conditions (see conditions.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from webapp.services.conditions import check_syntax, evaluate, names
from webapp.services.facts import FACT_GROUPS, RegistryFacts, Selection, record_fields, record_type
from webapp.services.fields import FIELD_TYPES, GROUP_PART_TYPES, Field, bound_reference
from webapp.text_input import writable

CONFIRM_FIELD = "confirmed"
# Step ids share the URL space with the wizard's own pages.
STEP_KEYS = {"id", "kind", "title", "description", "facts", "when", "fields"}
RESERVED_STEP_IDS = {"start", "check", "not-eligible", "application.xml"}


@dataclass(frozen=True)
class Step:
    """One page of the wizard."""

    id: str
    title: str
    fields: tuple[Field, ...] = ()
    kind: str = "question"  # or "confirm": registry facts shown for confirmation
    facts: tuple[str, ...] = ()
    description: str = ""
    when: dict | None = None

    @property
    def single_question(self) -> bool:
        """One field whose label is the page's heading."""
        return self.kind == "question" and len(self.fields) == 1


@dataclass(frozen=True)
class EligibilityRule:
    """Who may apply online; a rule that fails sends the citizen offline."""

    id: str
    when: dict
    reason: str


FIRST_OPTION = "first-option"


@dataclass(frozen=True)
class Proactive:
    """How the provider's SMS offer fills the wizard (the proactive service).

    `offer`: answers the offer carries, by field id: a value, or
    "first-option" for the first of the field's registry options (the event
    behind the offer, such as the registered birth). `account` and `iban`:
    the fields for the bank account; the citizen's reply may carry an IBAN,
    otherwise the account comes from the bank registry.
    """

    offer: dict[str, str]
    account: str
    iban: str


@dataclass(frozen=True)
class Wizard:
    steps: tuple[Step, ...]
    eligibility: tuple[EligibilityRule, ...] = ()
    proactive: Proactive | None = None
    # The definition's own narrowings of registry records, by name (RegistryFacts takes them).
    selections: dict[str, Selection] = field(default_factory=dict)

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


@dataclass
class Progress:
    """Where a draft stands: the steps it shows, what is answered, what fails."""

    wizard: Wizard
    answers: dict[str, Any]
    fact: Callable[[str], Any]
    visible: list[Step] = field(init=False)

    def __post_init__(self):
        # Walk the steps in order: a step's condition sees only the answers of
        # steps shown before it, so an answer left on a step that is no longer
        # shown (after a changed choice) decides nothing.
        self.visible = []
        self._live: set[str] = set()
        # Answers still to come: of steps shown but not answered yet, and of
        # steps whose showing waits for such an answer. While a step waits,
        # the number of steps is not known.
        pending: set[str] = set()
        self.settled = True
        for step in self.wizard.steps:
            shown = evaluate(step.when, self._answer, self.fact)
            if shown is True:
                self.visible.append(step)
                self._live |= {f.id for f in step.fields}
                if not self.answered(step):
                    pending |= {f.id for f in step.fields}
            elif shown is None and names(step.when, "answer") & pending:
                self.settled = False
                pending |= {f.id for f in step.fields}

    def _answer(self, name: str) -> Any:
        return self.answers.get(name) if name in self._live else None

    def answered(self, step: Step) -> bool:
        if step.kind == "confirm":
            return self.answers.get(f"{step.id}.{CONFIRM_FIELD}") == "yes"
        # An answer saved before characters XML cannot carry were refused is not an answer yet:
        # the citizen is led back to its step, never to a document that cannot be built.
        return all(
            f.id in self.answers and (f.optional or self.answers[f.id] not in (None, []))
            and writable(self.answers[f.id])
            for f in step.fields
        )

    def first_unanswered(self) -> Step | None:
        return next((s for s in self.visible if not self.answered(s)), None)

    def may_open(self, step: Step) -> bool:
        """A step opens only when it shows and every step before it is answered."""
        if step not in self.visible:
            return False
        before = self.visible[: self.visible.index(step)]
        return all(self.answered(s) for s in before)

    def position(self, step: Step) -> tuple[int, int | None]:
        """'Step N of M'; M is None while an answer still to give can add or remove steps.

        So M never jumps from one step to the next: it is shown once the
        answers so far decide every step (GOV.UK's advice: no "of M" that
        cannot be known).
        """
        return self.visible.index(step) + 1, len(self.visible) if self.settled else None

    def previous(self, step: Step) -> Step | None:
        index = self.visible.index(step)
        return self.visible[index - 1] if index else None

    def next(self, step: Step) -> Step | None:
        index = self.visible.index(step)
        return self.visible[index + 1] if index + 1 < len(self.visible) else None

    def failed_rules(self) -> list[EligibilityRule]:
        """Rules that are already known to fail (unknown ones wait for their answers)."""
        return [r for r in self.wizard.eligibility if evaluate(r.when, self._answer, self.fact) is False]

    def rejected_facts(self) -> list[Step]:
        """Confirmation steps where the citizen said the registry data is wrong."""
        return [s for s in self.visible if s.kind == "confirm" and self.answers.get(f"{s.id}.{CONFIRM_FIELD}") == "no"]

    def complete(self) -> bool:
        return self.first_unanswered() is None and not self.failed_rules() and not self.rejected_facts()

    def relevant_answers(self) -> dict[str, Any]:
        """Answers of the steps these answers show, in step order (others are stale)."""
        names = [f.id for s in self.visible for f in s.fields]
        return {name: self.answers[name] for name in names if name in self.answers}


def _field(data: dict, where: str, types: set[str] = FIELD_TYPES) -> Field:
    data = dict(data)
    if data.get("type") not in types:
        raise ValueError(f"{where}: field type {data.get('type')!r} is unknown or not allowed here")
    if data["type"] == "group" and not data.get("fields"):
        raise ValueError(f"{where}: a group needs fields")
    if data["type"] in ("choice",) and not (data.get("options") or data.get("options_from")):
        raise ValueError(f"{where}: a choice needs options or options_from")
    if data.get("multiline") and data["type"] != "text":
        raise ValueError(f"{where}: only a text field can be multiline")
    data["options"] = tuple((o["value"], o["label"]) for o in data.get("options", ()))
    parts: dict[str, Field] = {}
    for raw in data.get("fields", ()):
        part = _field(raw, f"{where}.{raw.get('id')}", GROUP_PART_TYPES)
        _check_range(part, parts, f"{where}.{part.id}")
        parts[part.id] = part
    data["fields"] = tuple(parts.values())
    return Field(**data)


RANGE_KEYS = ("not_future", "not_before", "not_after", "after")


def _check_range(f: Field, earlier: dict[str, Field], where: str) -> None:
    """A date's range may name only dates asked before it (in its group item, or before it in the
    wizard) and registry facts that exist; the titles of the dates it names are kept for messages."""
    if f.type != "date":
        if any(getattr(f, key) for key in RANGE_KEYS):
            raise ValueError(f"{where}: only a date field has a date range")
        return
    named = [f.after] if f.after else []
    for bound in (f.not_before, f.not_after):
        if not bound:
            continue
        try:
            kind, name = bound_reference(bound)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        if kind == "field":
            named.append(name)
        elif kind == "fact" and not RegistryFacts.known(name):
            raise ValueError(f"{where}: the date range names the unknown fact {name!r}")
    for name in named:
        other = earlier.get(name)
        if other is None or other.type != "date":
            raise ValueError(f"{where}: the date range names {name!r}, which is not a date asked before it")
        f.compared_with[name] = other.title or other.label


APPLICATION_KEYS = {"steps", "eligibility", "proactive", "selections"}


def _selections(raw: dict, where: str) -> dict[str, Selection]:
    """A definition's selections: each names the records of a list fact (or of an earlier
    selection) whose fields meet its condition, e.g. the births a service covers."""
    found: dict[str, Selection] = {}
    for name, spec in (raw or {}).items():
        here = f"{where}: selection {name}"
        if not isinstance(spec, dict) or set(spec) != {"from", "where"}:
            raise ValueError(f"{here}: a selection has `from` (a list of records) and `where` (a condition)")
        if RegistryFacts.known(name) or name in found:
            raise ValueError(f"{here}: the name is already a registry fact or a selection")
        record = record_type(spec["from"], found)
        if record is None:
            raise ValueError(f"{here}: {spec['from']!r} is not a list of records or an earlier selection")
        check_syntax(spec["where"], here, subjects=("field",))
        unknown = names(spec["where"], "field") - {f for f, _type, _doc in record_fields(record)}
        if unknown:
            raise ValueError(f"{here}: {record.__name__} has no fields {sorted(unknown)}")
        found[name] = Selection(name, spec["from"], spec["where"])
    return found


def load_wizard(data: dict, where: str) -> Wizard:
    """Build and check a wizard from a definition's `application` section."""
    if set(data) - APPLICATION_KEYS:
        raise ValueError(f"{where}: application: unknown keys {sorted(set(data) - APPLICATION_KEYS)}")
    selections = _selections(data.get("selections"), where)
    steps = []
    seen_fields: set[str] = set()
    earlier: dict[str, Field] = {}
    for raw in data["steps"]:
        step_where = f"{where}: step {raw.get('id')}"
        if set(raw) - STEP_KEYS:
            raise ValueError(f"{step_where}: unknown keys {sorted(set(raw) - STEP_KEYS)}")
        if raw.get("when"):
            check_syntax(raw["when"], step_where)
        fields = tuple(_field(f, f"{step_where}.{f.get('id')}") for f in raw.get("fields", ()))
        for f in fields:
            _check_range(f, earlier, f"{step_where}.{f.id}")
            earlier[f.id] = f
        duplicate = seen_fields & {f.id for f in fields}
        if duplicate:
            raise ValueError(f"{step_where}: field ids used twice: {sorted(duplicate)}")
        seen_fields |= {f.id for f in fields}
        kind = raw.get("kind", "question")
        if kind == "question" and not fields:
            raise ValueError(f"{step_where}: a question step needs fields")
        if kind == "confirm" and not raw.get("facts"):
            raise ValueError(f"{step_where}: a confirm step needs facts")
        steps.append(
            Step(
                id=raw["id"],
                title=raw.get("title") or (fields[0].label if len(fields) == 1 else ""),
                fields=fields,
                kind=kind,
                facts=tuple(raw.get("facts", ())),
                description=raw.get("description", ""),
                when=raw.get("when"),
            )
        )
    ids = [s.id for s in steps]
    if len(ids) != len(set(ids)) or RESERVED_STEP_IDS & set(ids):
        raise ValueError(f"{where}: step ids must be unique and not one of {sorted(RESERVED_STEP_IDS)}")
    rules = []
    for raw in data.get("eligibility", ()):
        check_syntax(raw["when"], f"{where}: rule {raw.get('id')}")
        rules.append(EligibilityRule(id=raw["id"], when=raw["when"], reason=raw["reason"]))
    _check_references(steps, rules, selections, where)
    return Wizard(steps=tuple(steps), eligibility=tuple(rules), proactive=_proactive(data.get("proactive"), steps, where),
                  selections=selections)


def _proactive(raw: dict | None, steps: list[Step], where: str) -> Proactive | None:
    if raw is None:
        return None
    if set(raw) - {"offer", "account", "iban"}:
        raise ValueError(f"{where}: proactive: unknown keys {sorted(set(raw) - {'offer', 'account', 'iban'})}")
    fields = {f.id for s in steps for f in s.fields}
    named = set(raw.get("offer", {})) | {raw.get("account"), raw.get("iban")}
    if named - fields:
        raise ValueError(f"{where}: proactive names unknown fields {sorted(str(n) for n in named - fields)}")
    # A YES confirms the registry steps and the offer and the reply fill these fields;
    # a step every applicant sees that asks for anything else can never be done by SMS.
    for step in steps:
        if step.when is None and step.kind != "confirm" and {f.id for f in step.fields} - named:
            raise ValueError(f"{where}: proactive: step {step.id} is shown to every applicant and asks for "
                             "what an SMS reply cannot carry")
    return Proactive(offer={k: str(v) for k, v in raw.get("offer", {}).items()}, account=raw["account"], iban=raw["iban"])


def _check_references(steps: list[Step], rules: list[EligibilityRule], selections: dict[str, Selection],
                      where: str) -> None:
    """Every fact, fact group and answer a definition names must exist."""
    conditions = [s.when for s in steps] + [r.when for r in rules]
    fields = {f.id for s in steps for f in s.fields}
    facts = set().union(*(names(c, "fact") for c in conditions))
    facts |= {f.options_from for s in steps for f in s.fields if f.options_from}
    unknown_facts = {f for f in facts if f not in selections and not RegistryFacts.known(f)}
    unknown_groups = {g for s in steps for g in s.facts if g not in FACT_GROUPS}
    unknown_answers = set().union(*(names(c, "answer") for c in conditions)) - fields
    if unknown_facts or unknown_groups or unknown_answers:
        raise ValueError(
            f"{where}: unknown facts {sorted(unknown_facts)}, fact groups {sorted(unknown_groups)}, "
            f"answers {sorted(unknown_answers)}"
        )
