"""An application being filled in: a service's wizard, the citizen's draft and registry facts together.

Views ask this object what to show and hand it what the citizen sent; it
knows nothing of HTTP beyond reading a form.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l

from webapp.applications import drafts
from webapp.applications.document import AnswerValue, ApplicationDocument, AttachedFile, FactGroup
from webapp.i18n import long_date, money
from webapp.models import ApplicationDraft
from webapp.registries import Person, StateRegistries
from webapp.services import ServicePassport
from webapp.services.facts import FACT_GROUPS, RegistryFacts
from webapp.services.fields import Context, Field, FieldError, FileAnswer, GroupErrors
from webapp.services.wizard import CONFIRM_FIELD, Progress, Step
from webapp.text_input import message as unwritable_message
from webapp.text_input import without_unwritable, writable

CONFIRM_CHOICES = (("yes", _l("Yes, it is correct")), ("no", _l("No, something is wrong")))


@dataclass
class Outcome:
    """What became of a submitted step: saved, or shown again with errors and the input kept."""

    saved: bool
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)


def anchor(f: Field) -> str:
    """The id of the input an error summary links to for a field."""
    if f.type == "date":
        return f"{f.id}-day"
    return f.id


class ApplicationInProgress:
    """One citizen's draft of one service's application."""

    def __init__(self, passport: ServicePassport, draft: ApplicationDraft, person: Person,
                 registries: StateRegistries, today, language: str):
        self.passport = passport
        self.wizard = passport.wizard
        self.draft = draft
        self.person = person
        self.facts = RegistryFacts(person, registries, today, language, self.wizard.selections)
        self.context = Context(
            iin=person.iin, today=today, bank_account_holder=registries.account_holder, options=self.facts.options,
            fact=self.facts.get,
        )
        self.language = language
        self._refresh()

    def _refresh(self) -> None:
        self.progress = Progress(self.wizard, dict(self.draft.answers), self.facts.get)

    # Where the citizen stands.

    @property
    def eligible(self) -> bool:
        return not self.progress.failed_rules() and not self.progress.rejected_facts()

    def not_eligible_reasons(self) -> list[str]:
        reasons = [gettext(rule.reason) for rule in self.progress.failed_rules()]
        for step in self.progress.rejected_facts():
            groups = ", ".join(str(FACT_GROUPS[g]).lower() for g in step.facts)
            reasons.append(gettext(
                "You told us the information from the state database is not correct (%(groups)s). "
                "It has to be corrected in the state database first, which the portal cannot do.",
                groups=groups,
            ))
        return reasons

    def where_to_go(self) -> str:
        """'not-eligible', 'check', or the id of the first step not answered yet."""
        if not self.eligible:
            return "not-eligible"
        step = self.progress.first_unanswered()
        return step.id if step else "check"

    def after(self, step: Step, return_to_check: bool) -> str:
        """Where to go once a step is saved."""
        if not self.eligible:
            return "not-eligible"
        if step not in self.progress.visible:
            return self.where_to_go()
        following = self.progress.next(step)
        if return_to_check or following is None:
            return self.where_to_go()
        return following.id

    # A step's page.

    def values_for(self, step: Step) -> dict[str, Any]:
        """What the step's inputs show: the saved answers, written as the form expects them."""
        answers = self.draft.answers
        if step.kind == "confirm":
            return {CONFIRM_FIELD: answers.get(f"{step.id}.{CONFIRM_FIELD}")}
        return {f.id: self._form_value(f, answers.get(f.id)) for f in step.fields}

    def saved_problems(self, step: Step) -> list[tuple[str, str]]:
        """Errors for answers saved before characters XML cannot carry were refused (shown without them)."""
        answers = self.draft.answers
        return [(anchor(f), unwritable_message(f.error_title)) for f in step.fields if not writable(answers.get(f.id))]

    def _form_value(self, f: Field, value: Any) -> Any:
        if value is None and f.type == "group":
            # A group starts with as many empty items as it needs at least.
            return [{part.id: self._form_value(part, None) for part in f.fields}] * max(f.min_items, 1)
        if value is None:
            return [] if f.type == "file" else ({} if f.type == "date" else "")
        if f.type == "date":
            year, month, day = value.split("-")
            return {"day": str(int(day)), "month": str(int(month)), "year": year}
        if f.type == "group":
            return [{part.id: self._form_value(part, item.get(part.id)) for part in f.fields} for item in value]
        if f.type == "file":
            return [a for a in self.draft.attachments if a.public_id in value]
        return without_unwritable(str(value))

    def fact_rows(self, step: Step) -> list[tuple[str, list]]:
        """For a confirmation step: each group of facts with its rows."""
        return [(str(FACT_GROUPS[group]), self.facts.rows(group)) for group in step.facts]

    def choices(self, f: Field) -> list[tuple[str, str]]:
        return f.choices(self.context)

    def submit(self, step: Step, form, files) -> Outcome:
        """Check what the citizen sent for a step; save it when it is right."""
        if step.kind == "confirm":
            return self._submit_confirmation(step, form)
        raws = {f.id: f.read(form, files) for f in step.fields}
        action = form.get("action", "")
        changed = self._apply_action(step, raws, action)
        if changed:
            return Outcome(saved=False, values=self._redisplay(step, raws))
        answers: dict[str, Any] = {}
        uploads: dict[str, FileAnswer] = {}
        errors: list[tuple[str, str]] = []
        for f in step.fields:
            raw = raws[f.id]
            if f.is_blank(raw):
                if f.optional:
                    answers[f.id] = None
                    if f.type == "file":
                        uploads[f.id] = FileAnswer()
                else:
                    errors.append((anchor(f), f.blank_error.message(f.error_title, f.errors)))
                continue
            try:
                # A date's range may refer to answers before it: on earlier steps, or on this one.
                value = f.check(raw, self.context.with_answers({**self.progress.relevant_answers(), **answers}))
            except FieldError as error:
                errors.append((anchor(f), error.message(f.error_title, f.errors)))
            except GroupErrors as error:
                errors.extend(error.errors)
            else:
                if f.type == "file":
                    uploads[f.id] = value
                else:
                    answers[f.id] = value
        if errors:
            return Outcome(saved=False, values=self._redisplay(step, raws), errors=errors)
        drafts.save(self.draft, answers, uploads)
        self._refresh()
        return Outcome(saved=True)

    def _submit_confirmation(self, step: Step, form) -> Outcome:
        value = form.get(CONFIRM_FIELD, "")
        if value not in {v for v, _ in CONFIRM_CHOICES}:
            message = gettext("Say whether the information from the state database is correct")
            return Outcome(saved=False, values={CONFIRM_FIELD: ""}, errors=[(CONFIRM_FIELD, message)])
        drafts.save(self.draft, {f"{step.id}.{CONFIRM_FIELD}": value})
        self._refresh()
        return Outcome(saved=True)

    def _apply_action(self, step: Step, raws: dict, action: str) -> bool:
        """Add or remove a group item, or remove an attached file; True if the page is shown again."""
        for f in step.fields:
            if f.type == "group" and action == f"add-{f.id}":
                if len(raws[f.id]) < f.max_items:
                    raws[f.id].append({})
                return True
            if f.type == "group":
                match = re.fullmatch(rf"remove-{re.escape(f.id)}-(\d+)", action)
                if match and int(match.group(1)) < len(raws[f.id]):
                    del raws[f.id][int(match.group(1))]
                    return True
            if f.type == "file" and action.startswith(f"remove-{f.id}-"):
                file_id = action.removeprefix(f"remove-{f.id}-")
                kept = tuple(i for i in raws[f.id].kept if i != file_id)
                remaining = FileAnswer(kept=kept)
                drafts.save(self.draft, {}, {f.id: remaining})
                self._refresh()
                raws[f.id] = remaining
                return True
        return False

    def _redisplay(self, step: Step, raws: dict) -> dict[str, Any]:
        """The input as typed, so nothing the citizen entered is lost."""
        values = {}
        for f in step.fields:
            raw = raws[f.id]
            if f.type == "file":
                values[f.id] = [a for a in self.draft.attachments if a.field == f.id and a.public_id in raw.kept]
            elif f.type == "group":
                values[f.id] = [
                    {part.id: item.get(part.id, {} if part.type == "date" else "") for part in f.fields} for item in raw
                ]
            else:
                values[f.id] = raw
        # Shown again without what XML (and so HTML) cannot carry; the error says it was taken out.
        return without_unwritable(values)

    # Check your answers.

    def summary(self) -> list[dict]:
        """Sections for the check-your-answers page, one per step shown."""
        sections = []
        for step in self.progress.visible:
            if step.kind == "confirm":
                rows = [
                    {"key": row.label, "value": row.value}
                    for group in step.facts for row in self.facts.rows(group)
                ]
                sections.append({"step": step, "confirmed": True, "rows": rows})
                continue
            rows = [
                {"key": gettext(f.title or f.label), "value": self.display(f, self.draft.answers.get(f.id)), "field": f}
                for f in step.fields
            ]
            sections.append({"step": step, "confirmed": False, "rows": rows})
        return sections

    def display(self, f: Field, value: Any) -> Any:
        """An answer written for people, in the page's language."""
        if value is None or value == []:
            return gettext("Not given")
        if f.type in ("choice", "yesno"):
            return dict(self.choices(f)).get(value, value)
        if f.type == "date":
            return long_date(dt.date.fromisoformat(value))
        if f.type == "money":
            return money(value)
        if f.type == "iban":
            return " ".join(value[i:i + 4] for i in range(0, len(value), 4))
        if f.multiline:
            return [line for line in str(value).split("\n") if line]
        if f.type == "file":
            return [f"{a.original_name} ({_size(a.size)})" for a in self.draft.attachments if a.public_id in value]
        if f.type == "group":
            label = gettext(f.item_label or f.label)
            return [
                f"{label} {n}: " + "; ".join(
                    f"{gettext(part.title or part.label)}: {self.display(part, item.get(part.id))}" for part in f.fields
                )
                for n, item in enumerate(value, start=1)
            ]
        return without_unwritable(str(value))

    # The document the citizen will sign.

    @property
    def document_language(self) -> str:
        """The language the document was issued in (names are written in it), else the page's."""
        return self.draft.document_language or self.language

    def document(self) -> ApplicationDocument:
        """The application as it stands, in the language it was issued in; call only when the wizard is complete."""
        drafts.fix_document(self.draft, self.language)
        language = self.document_language
        facts = self.facts if language == self.language else RegistryFacts(
            self.person, self.facts.registries, self.facts.today, language, self.wizard.selections)
        answers = self.progress.relevant_answers()
        fields = {f.id: f for s in self.progress.visible for f in s.fields}
        referenced = {i for name, value in answers.items() if fields[name].type == "file" for i in value or ()}
        return ApplicationDocument(
            service=self.passport.slug,
            language=language,
            applicant=tuple((row.key, row.xml_value) for row in facts.rows("identity")),
            facts=tuple(
                FactGroup(group, tuple((row.key, row.xml_value) for row in facts.rows(group)))
                for step in self.progress.visible if step.kind == "confirm"
                for group in step.facts
            ),
            answers=tuple(_answer(fields[name], value) for name, value in answers.items() if value is not None),
            attachments=tuple(
                AttachedFile(a.public_id, a.field, a.original_name, a.content_type, a.size, a.sha256)
                for a in self.draft.attachments if a.public_id in referenced
            ),
            nonce=self.draft.document_nonce,
            issued_at=_aware(self.draft.document_issued_at),
        )


def _answer(f: Field, value: Any) -> AnswerValue:
    if f.type == "group":
        parts = {p.id: p for p in f.fields}
        items = tuple(
            tuple(_answer(parts[name], v) for name, v in item.items() if v is not None)
            for item in value
        )
        return AnswerValue(f.xml_name, f.type, items)
    return AnswerValue(f.xml_name, f.type, value)


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return gettext("%(size)s MB", size=format_decimal(round(size / 1024 / 1024, 1)))
    return gettext("%(size)s KB", size=format_decimal(max(1, round(size / 1024))))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
