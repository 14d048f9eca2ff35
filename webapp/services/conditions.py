"""Conditions in service definitions, evaluated against answers and registry facts.

A condition is a small mapping, never code:
  {fact: married}                       the fact is truthy
  {fact: age, at_least: 63}             comparisons: equals, in, at_least, at_most,
  {answer: risk, equals: job-loss}        before, on_or_after, empty, not_empty
  {all: [...]}, {any: [...]}, {not: {...}}
  {field: registered_on, on_or_after: 2007-08-13}
                                        in a selection's `where`: a field of each record
A condition on an answer not given yet is unknown (None): eligibility rules
wait for it, and a step shown only under it stays hidden.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Mapping

COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda value, expected: value == expected,
    "in": lambda value, expected: value in expected,
    "at_least": lambda value, expected: value is not None and value >= expected,
    "at_most": lambda value, expected: value is not None and value <= expected,
    "before": lambda value, expected: value is not None and value < _as_date(expected),
    "on_or_after": lambda value, expected: value is not None and value >= _as_date(expected),
    "empty": lambda value, expected: (not value) == bool(expected),
    "not_empty": lambda value, expected: bool(value) == bool(expected),
}
SUBJECTS = ("fact", "answer", "field")
KEYS = {*SUBJECTS, "all", "any", "not", *COMPARISONS}


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def check_syntax(condition: Mapping, where: str, subjects: tuple[str, ...] = ("fact", "answer")) -> None:
    """Refuse a malformed condition when the definition loads, not when a citizen meets it.

    `subjects`: what it may name: facts and answers in a wizard, fields in a selection.
    """
    if not isinstance(condition, Mapping) or not condition:
        raise ValueError(f"{where}: a condition must be a mapping")
    unknown = set(condition) - (KEYS - set(SUBJECTS)) - set(subjects)
    if unknown:
        raise ValueError(f"{where}: unknown condition keys {sorted(unknown)}")
    for key in ("all", "any"):
        for part in condition.get(key, ()):
            check_syntax(part, where, subjects)
    if "not" in condition:
        check_syntax(condition["not"], where, subjects)
    if sum(s in condition for s in subjects) != 1 and not {"all", "any", "not"} & set(condition):
        raise ValueError(f"{where}: a condition names one {' or one '.join(subjects)}")


def evaluate(condition: Mapping | None, answer: Callable[[str], Any], fact: Callable[[str], Any],
             field: Callable[[str], Any] | None = None) -> bool | None:
    """True, False, or None when it depends on an answer not given yet."""
    if condition is None:
        return True
    if "all" in condition:
        results = [evaluate(part, answer, fact, field) for part in condition["all"]]
        return False if False in results else None if None in results else True
    if "any" in condition:
        results = [evaluate(part, answer, fact, field) for part in condition["any"]]
        return True if True in results else None if None in results else False
    if "not" in condition:
        result = evaluate(condition["not"], answer, fact, field)
        return None if result is None else not result
    if "fact" in condition:
        value = fact(condition["fact"])
    elif "field" in condition:
        value = field(condition["field"])
    else:
        value = answer(condition["answer"])
        if value is None:
            return None
    comparisons = [(op, expected) for op, expected in condition.items() if op in COMPARISONS]
    if not comparisons:
        return bool(value)
    return all(COMPARISONS[op](value, expected) for op, expected in comparisons)


def names(condition: Mapping | None, kind: str) -> set[str]:
    """The facts, answers or fields (kind 'fact', 'answer', 'field') a condition refers to."""
    if not condition:
        return set()
    found = {condition[kind]} if kind in condition else set()
    for key in ("all", "any"):
        for part in condition.get(key, ()):
            found |= names(part, kind)
    return found | names(condition.get("not"), kind)
