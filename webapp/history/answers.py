"""The answers of a sent application, as the check-your-answers page showed them.

`Application.answers` is keyed by field id; the service's wizard gives each
field its label and type. Choices drawn from registry facts (a child, a
bank account) are labelled from the registries as they are now, falling
back to the stored value.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import current_app
from flask_babel import format_decimal, gettext

from webapp.clock import today
from webapp.i18n import current_language, long_date, money
from webapp.models import Application
from webapp.services import ServicePassport
from webapp.services.facts import RegistryFacts
from webapp.services.fields import YES_NO, Field

log = logging.getLogger(__name__)


class _Choices:
    """Labels of choice fields; registry facts are read once, and only when a field needs them."""

    def __init__(self, application: Application, service: ServicePassport):
        self.application = application
        self.selections = service.wizard.selections
        self._facts = None

    def _registry_options(self, source: str) -> dict[str, str]:
        try:
            if self._facts is None:
                registries = current_app.extensions["state_registries"]
                person = registries.person(self.application.iin)
                self._facts = RegistryFacts(person, registries, today(), current_language(),
                                            self.selections) if person else False
            return dict(self._facts.options(source)) if self._facts else {}
        except Exception:  # a label is a nicety: the stored value still shows
            log.warning("no registry options %r for application %s", source, self.application.number, exc_info=True)
            return {}

    def label(self, f: Field, value: str) -> str:
        if f.type == "yesno":
            return str(dict(YES_NO).get(value, value))
        if f.options_from:
            found = self._registry_options(f.options_from)
        else:
            found = {key: gettext(label) for key, label in f.options}
        if f.other_option:
            found["other"] = gettext(f.other_option)
        return found.get(value, value)


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return gettext("%(size)s MB", size=format_decimal(round(size / 1024 / 1024, 1)))
    return gettext("%(size)s KB", size=format_decimal(max(1, round(size / 1024))))


def _display(f: Field, value: Any, application: Application, choices: _Choices) -> Any:
    if value is None or value == [] or value == "":
        return gettext("Not given")
    try:
        if f.type in ("choice", "yesno"):
            return choices.label(f, str(value))
        if f.type == "date":
            return long_date(dt.date.fromisoformat(str(value)))
        if f.type == "money":
            return money(value)
        if f.type == "iban":
            text = str(value)
            return " ".join(text[i:i + 4] for i in range(0, len(text), 4))
        if f.multiline:
            return [line for line in str(value).split("\n") if line]
        if f.type == "file":
            ids = set(value) if isinstance(value, list) else {value}
            return [f"{a.original_name} ({_size(a.size)})" for a in application.attachments if a.public_id in ids] \
                or gettext("Not given")
        if f.type == "group" and isinstance(value, list):
            label = gettext(f.item_label or f.label)
            return [
                f"{label} {n}: " + "; ".join(
                    f"{gettext(part.title or part.label)}: {_display(part, item.get(part.id), application, choices)}"
                    for part in f.fields
                )
                for n, item in enumerate(value, start=1) if isinstance(item, dict)
            ]
    except (ValueError, TypeError, ArithmeticError):
        pass
    return str(value)


def sections(application: Application, service: ServicePassport | None) -> list[dict]:
    """[{title, rows: [{key, value}]}] for each step of the wizard the application answered."""
    if service is None:
        return [{"title": "", "rows": [{"key": key, "value": str(value)} for key, value in application.answers.items()]}]
    answers = application.answers or {}
    choices = _Choices(application, service)
    out = []
    for step in service.wizard.steps:
        fields = [f for f in step.fields if f.id in answers]
        if not fields:
            continue
        title = gettext(step.title) if step.title and len(step.fields) > 1 else ""
        rows = [{"key": gettext(f.title or f.label), "value": _display(f, answers[f.id], application, choices)}
                for f in fields]
        if out and not title and not out[-1]["title"]:
            out[-1]["rows"].extend(rows)  # one-question steps share one list
        else:
            out.append({"title": title, "rows": rows})
    return out
