"""Registry data on the pages that show them, in the page's language (issue 13, item 5).

The page-checking client finds untranslated msgids, but registry records
(addresses, place names, employment centres, employers) are data, not
msgids: this renders every confirmation step and check-your-answers page each
sandbox citizen can reach, in kk and ru, and looks for the English variant
of any registry text or name.
"""

from __future__ import annotations

import itertools
import re

import yaml

from tests.conftest import log_in
from webapp.applications import drafts
from webapp.clock import today
from webapp.extensions import db
from webapp.registries.sandbox import DATA_FILE
from webapp.services import catalogue
from webapp.services.conditions import names
from webapp.services.facts import RegistryFacts
from webapp.services.wizard import CONFIRM_FIELD, Progress

# A stand-in answer of each type: the pages only show it, nothing checks it here.
STAND_IN = {
    "text": "Test", "number": 1, "money": "1.00", "date": "2026-01-02", "iin": "900517401370",
    "iban": "KZ435639722818662011", "phone": "+77011234567", "yesno": "yes", "file": ["none"], "group": [{}],
}


def _english_variants() -> list[str]:
    """English texts of the sandbox registries that differ from their Kazakh and Russian variants."""
    people = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))["people"]
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if {"kk", "ru", "en"} <= set(node) and all(isinstance(node[k], (str, dict)) for k in ("kk", "ru", "en")):
                variants = [node[k] if isinstance(node[k], str) else " ".join(filter(None, node[k].values()))
                            for k in ("kk", "ru", "en")]
                if variants[2] not in variants[:2]:
                    found.add(variants[2])
                    if isinstance(node["en"], dict):  # a name: each part too
                        found.update(v for v in node["en"].values() if v and len(v) > 3 and v not in variants[0])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk([{k: v for k, v in p.items() if k not in ("good_for", "account")} for p in people])
    return sorted(found, key=len, reverse=True)


def _choices(field, facts) -> list[str]:
    if field.type == "yesno":
        return ["yes", "no"]
    values = [value for value, _ in field.options] or [value for value, _ in facts.options(field.options_from)]
    return values + (["other"] if field.other_option else [])


def _answer_sets(service, facts):
    """Answers that reach each different set of steps: every combination of the choices conditions look at."""
    wizard = service.wizard
    deciding = set().union(*(names(s.when, "answer") for s in wizard.steps))
    deciding |= set().union(*(names(r.when, "answer") for r in wizard.eligibility))
    fields = {f.id: f for s in wizard.steps for f in s.fields}
    options = {name: _choices(fields[name], facts) or [None] for name in sorted(deciding)}
    seen = set()
    for combination in itertools.product(*options.values()):
        chosen = dict(zip(options, combination))
        answers: dict = {}
        for step in wizard.steps:
            if step.kind == "confirm":
                answers[f"{step.id}.{CONFIRM_FIELD}"] = "yes"
            for f in step.fields:
                if f.id in chosen:
                    answers[f.id] = chosen[f.id]
                elif f.type == "choice":
                    answers[f.id] = (_choices(f, facts) or ["other"])[0]
                else:
                    answers[f.id] = STAND_IN[f.type]
        progress = Progress(wizard, answers, facts.get)
        shown = tuple(s.id for s in progress.visible if s.kind == "confirm")
        if progress.complete() and shown not in seen:
            seen.add(shown)
            yield answers, shown


def _pages(app, client, iin: str):
    """(path, lang) of every confirmation step and check page the citizen can reach, with the draft filled in."""
    registries = app.extensions["state_registries"]
    person = registries.person(iin)
    for service in catalogue():
        if not service.wizard:
            continue
        with app.test_request_context("/en/"):
            facts = RegistryFacts(person, registries, today(), "en", service.wizard.selections)
            sets = list(_answer_sets(service, facts))
        for answers, shown in sets:
            with app.app_context():
                draft = drafts.start(iin, service.slug)
                draft.answers = answers
                db.session.commit()
            base = f"/{{lang}}/services/{service.slug}/apply"
            yield [f"{base}/{step}" for step in shown] + [f"{base}/check"]


def _visible_text(html: str) -> str:
    body = re.sub(r"(?s)<(script|style|title)\b.*?</\1>", " ", html.split("<main", 1)[1])
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def _test_citizens(app) -> list[str]:
    with app.app_context():
        return [person.iin for person, _password, _phone in app.extensions["state_registries"].test_citizens()]


def test_registry_data_on_confirmation_and_check_pages_is_in_the_page_language(app):
    english = _english_variants()
    assert "Abai Avenue 52, apt 17" in english and "Employment centre of Almaty" in english
    checked = 0
    for iin in _test_citizens(app):
        client = app.test_client()
        assert log_in(client, iin).status_code == 302
        for paths in _pages(app, client, iin):
            for lang in ("kk", "ru"):
                for path in paths:
                    page = client.get(path.format(lang=lang))
                    assert page.status_code == 200, (iin, path, page.location)
                    text = _visible_text(page.get_data(as_text=True))
                    leftovers = [variant for variant in english if variant in text]
                    assert not leftovers, f"{iin} {path.format(lang=lang)}: English registry text {leftovers[:5]}"
                    checked += 1
    # Every citizen reaches at least one page; a data change that hid them all would prove nothing.
    assert checked >= 2 * len(_test_citizens(app))
