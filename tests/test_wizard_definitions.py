"""Loading wizards from definitions, and how conditions decide what shows."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from webapp.services.conditions import evaluate
from webapp.services.wizard import Progress, load_wizard


def wizard(steps, eligibility=()):
    return load_wizard({"steps": steps, "eligibility": list(eligibility)}, "test")


def question(step_id, field_type="text", **field):
    return {"id": step_id, "fields": [{"id": step_id, "type": field_type, "label": "Q", **field}]}


@pytest.mark.parametrize("steps,message", [
    ([question("a", "colour")], "unknown or not allowed"),
    ([{**question("a"), "hnit": "typo"}], "unknown keys"),
    ([question("check")], "step ids"),
    ([question("a"), question("a")], "used twice"),
    ([{"id": "a", "kind": "confirm"}], "needs facts"),
    ([{"id": "a", "kind": "confirm", "facts": ["horoscope"]}], "fact groups ['horoscope']"),
    ([{**question("a"), "when": {"fact": "shoe_size"}}], "unknown facts ['shoe_size']"),
    ([{**question("a"), "when": {"answer": "nowhere"}}], "answers ['nowhere']"),
    ([{**question("a"), "when": {"fact": "age", "bigger": 3}}], "unknown condition keys"),
    ([question("a", "choice")], "needs options"),
    ([question("a", "group", fields=[{"id": "f", "type": "file", "label": "F"}])], "not allowed"),
])
def test_a_broken_definition_fails_when_loaded(steps, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        wizard(steps)


def test_conditions_are_true_false_or_unknown():
    answers = {"risk": "job-loss"}
    facts = {"age": 40, "married": True, "since": dt.date(2010, 1, 1)}
    check = lambda c: evaluate(c, answers.get, facts.get)  # noqa: E731
    assert check({"answer": "risk", "equals": "job-loss"}) is True
    assert check({"answer": "risk", "in": ["disability"]}) is False
    assert check({"answer": "later"}) is None
    assert check({"all": [{"fact": "married"}, {"answer": "later"}]}) is None
    assert check({"all": [{"fact": "age", "at_least": 63}, {"answer": "later"}]}) is False
    assert check({"any": [{"fact": "married"}, {"answer": "later"}]}) is True
    assert check({"not": {"answer": "later"}}) is None
    assert check({"fact": "since", "on_or_after": "2008-06-01"}) is True


def test_steps_shown_and_the_first_unanswered_follow_the_answers():
    w = wizard(
        [question("risk", "choice", options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]),
         {**question("detail"), "when": {"answer": "risk", "equals": "b"}},
         question("last")],
        [{"id": "not-a", "when": {"not": {"answer": "risk", "equals": "a"}}, "reason": "No A online"}],
    )
    progress = Progress(w, {}, lambda name: None)
    assert [s.id for s in progress.visible] == ["risk", "last"]
    # "detail" waits for the risk: how many steps there are is not known yet.
    assert progress.position(w.step("risk")) == (1, None)
    assert progress.first_unanswered().id == "risk"
    assert not progress.may_open(w.step("last"))
    assert progress.failed_rules() == []
    chose_b = Progress(w, {"risk": "b"}, lambda name: None)
    assert [s.id for s in chose_b.visible] == ["risk", "detail", "last"]
    assert chose_b.position(w.step("detail")) == (2, 3)
    assert Progress(w, {"risk": "a"}, lambda name: None).position(w.step("last")) == (2, 2)
    assert chose_b.first_unanswered().id == "detail"
    chose_a = Progress(w, {"risk": "a", "detail": "stale", "last": "x"}, lambda name: None)
    assert [r.id for r in chose_a.failed_rules()] == ["not-a"]
    # An answer to a step no longer shown is not part of the application.
    assert chose_a.relevant_answers() == {"risk": "a", "last": "x"}


def test_a_step_waiting_on_a_hidden_step_does_not_hide_the_number_of_steps():
    w = wizard(
        [question("risk", "choice", options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]),
         {**question("detail"), "when": {"answer": "risk", "equals": "b"}},
         {**question("more"), "when": {"answer": "detail", "equals": "x"}},
         question("last")],
    )
    # "more" can never show once "detail" is hidden: the count is known.
    assert Progress(w, {"risk": "a"}, lambda name: None).position(w.step("last")) == (2, 2)
    assert Progress(w, {"risk": "b"}, lambda name: None).position(w.step("detail")) == (2, None)


def test_an_answer_left_on_a_hidden_step_decides_nothing():
    w = wizard(
        [question("risk", "choice", options=[{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]),
         {**question("detail"), "when": {"answer": "risk", "equals": "b"}}],
        [{"id": "not-bad", "when": {"not": {"answer": "detail", "equals": "bad"}}, "reason": "Bad detail"}],
    )
    assert [r.id for r in Progress(w, {"risk": "b", "detail": "bad"}, lambda n: None).failed_rules()] == ["not-bad"]
    assert Progress(w, {"risk": "a", "detail": "bad"}, lambda n: None).failed_rules() == []


def test_proactive_block_names_real_fields():
    import pytest as _pytest

    from webapp.services.wizard import load_wizard

    steps = [{"id": "account", "fields": [{"id": "account", "type": "text", "label": "Account"}]}]
    with _pytest.raises(ValueError, match="proactive names unknown fields"):
        load_wizard({"steps": steps, "proactive": {"offer": {"child": "first-option"}, "account": "account", "iban": "iban"}}, "test")
    wizard = load_wizard({"steps": steps, "proactive": {"account": "account", "iban": "account"}}, "test")
    assert wizard.proactive.account == "account"


def test_a_proactive_block_that_sms_can_never_complete_is_refused():
    """A step every applicant sees, asking for what the offer and a YES do not fill (a certificate's details)."""
    steps = [
        {"id": "child", "fields": [{"id": "child", "type": "text", "label": "Child"}]},
        {"id": "certificate", "fields": [{"id": "number", "type": "text", "label": "Certificate number"}]},
        {"id": "account", "fields": [{"id": "account", "type": "text", "label": "Account"}]},
        {"id": "iban", "when": {"answer": "account", "equals": "other"},
         "fields": [{"id": "iban", "type": "text", "label": "IBAN"}]},
    ]
    proactive = {"offer": {"child": "first-option"}, "account": "account", "iban": "iban"}
    with pytest.raises(ValueError, match="step certificate is shown to every applicant"):
        load_wizard({"steps": steps, "proactive": proactive}, "test")
    # Shown only to some (a Baikonur resident's statement), it is checked per citizen when the offer is made.
    steps[1]["when"] = {"fact": "baikonur"}
    assert load_wizard({"steps": steps, "proactive": proactive}, "test").proactive.offer == {"child": "first-option"}


@pytest.mark.parametrize("part,message", [
    ({"id": "to", "type": "date", "label": "To", "after": "nowhere"}, "'nowhere', which is not a date asked before it"),
    ({"id": "to", "type": "date", "label": "To", "after": "note"}, "'note', which is not a date asked before it"),
    ({"id": "to", "type": "date", "label": "To", "not_after": "field:later"}, "'later', which is not a date"),
    ({"id": "to", "type": "date", "label": "To", "not_before": "yesterday"}, "is not a date bound"),
    ({"id": "to", "type": "date", "label": "To", "not_before": "fact:shoe_size"}, "unknown fact 'shoe_size'"),
    ({"id": "to", "type": "text", "label": "To", "not_future": True}, "only a date field has a date range"),
])
def test_a_date_range_naming_what_is_not_there_fails_when_loaded(part, message):
    group = {"id": "g", "type": "group", "label": "G", "fields": [
        {"id": "from", "type": "date", "label": "From"}, {"id": "note", "type": "text", "label": "Note"}, part,
        {"id": "later", "type": "date", "label": "Later"}]}
    with pytest.raises(ValueError, match=re.escape(message)):
        wizard([{"id": "g", "fields": [group]}])


def test_a_date_may_be_compared_with_a_date_on_an_earlier_step():
    w = wizard([question("began", "date"), question("ended", "date", after="began")])
    assert w.step("ended").fields[0].compared_with == {"began": "Q"}


def _date_fields(fields):
    for f in fields:
        if f.type == "date":
            yield f
        yield from _date_fields(f.fields)


def _every_definition():
    from webapp.config import REPO_ROOT
    from webapp.services import DEFINITIONS, _load

    for passport in _load((str(DEFINITIONS), str(REPO_ROOT / "tests" / "data" / "eleventh-service"))):
        if passport.wizard:
            for step in passport.wizard.steps:
                for f in _date_fields(step.fields):
                    yield pytest.param(f, id=f"{passport.slug}-{step.id}-{f.id}")


@pytest.mark.parametrize("date_field", list(_every_definition()))
def test_every_date_field_declares_the_range_its_meaning_allows(date_field):
    """An earliest and a latest day for every date a definition asks (issue 13: leave from 2030 to 2030)."""
    assert date_field.not_before or date_field.after, f"{date_field.id}: no earliest day (not_before or after)"
    assert date_field.not_future or date_field.not_after, f"{date_field.id}: no latest day (not_future or not_after)"


# ── selections: a definition's own narrowing of registry records ────────


def with_selections(selections, steps=None, eligibility=()):
    return load_wizard({"selections": selections, "steps": steps or [question("a")], "eligibility": list(eligibility)},
                       "test")


BIRTHS = {"from": "children", "where": {"field": "registered_on", "on_or_after": dt.date(2007, 8, 13)}}


@pytest.mark.parametrize("selections,message", [
    ({"births": {"from": "children"}}, "has `from`"),
    ({"age": BIRTHS}, "already a registry fact"),
    ({"births": {**BIRTHS, "from": "own_bank_accounts"}}, "not a list of records"),
    ({"births": {**BIRTHS, "from": "later"}, "later": BIRTHS}, "not a list of records"),
    ({"births": {**BIRTHS, "where": {"field": "shoe_size"}}}, "Child has no fields ['shoe_size']"),
    ({"births": {**BIRTHS, "where": {"fact": "married"}}}, "unknown condition keys ['fact']"),
])
def test_a_broken_selection_fails_when_loaded(selections, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        with_selections(selections)


def test_a_record_field_is_no_condition_of_a_step():
    with pytest.raises(ValueError, match=re.escape("unknown condition keys ['field']")):
        wizard([{**question("a"), "when": {"field": "age"}}])


def test_a_selection_is_a_fact_of_the_wizard(app):
    from webapp.clock import today
    from webapp.services.facts import RegistryFacts

    w = with_selections(
        {"births": BIRTHS, "adopted": {"from": "births", "where": {"field": "adoption"}}},
        [question("child", "choice", options_from="births")],
        [{"id": "born", "when": {"fact": "births", "not_empty": True}, "reason": "No birth"},
         {"id": "adopted", "when": {"fact": "adopted", "not_empty": True}, "reason": "No adoption"}],
    )
    registries = app.extensions["state_registries"]
    with app.test_request_context("/en/"):
        facts = RegistryFacts(registries.person("900517401370"), registries, today(), "en", w.selections)
        [(iin, label)] = facts.options("births")
        assert iin == "260203606639" and label.startswith("Sarsenbayeva Aruzhan")
        assert facts.get("adopted") == []
        assert [r.id for r in Progress(w, {"child": iin}, facts.get).failed_rules()] == ["adopted"]


# ── the facts' reference in docs/service-definitions.md ─────────────────


def test_the_committed_facts_reference_is_what_the_command_generates(app):
    from webapp.services.docs import DOCS, with_reference

    with app.app_context():
        committed = DOCS.read_text(encoding="utf-8")
        assert with_reference(committed) == committed, "run `flask --app webapp services docs` and commit"
    assert app.test_cli_runner().invoke(args=["services", "docs", "--check"]).exit_code == 0


def test_the_docs_command_writes_a_stale_reference_again(app, tmp_path, monkeypatch):
    from webapp.services import docs

    stale = tmp_path / "service-definitions.md"
    stale.write_text(f"# Service definitions\n\n{docs.START}\n| `shoe_size` | int | gone |\n{docs.END}\nAfter.\n")
    monkeypatch.setattr(docs, "DOCS", stale)
    monkeypatch.setattr(docs, "REPO_ROOT", tmp_path)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["services", "docs", "--check"]).exit_code == 1
    assert runner.invoke(args=["services", "docs"]).exit_code == 0
    written = stale.read_text()
    assert "shoe_size" not in written and "| `children` | list of Child |" in written
    assert written.endswith(f"{docs.END}\nAfter.\n")
    assert runner.invoke(args=["services", "docs", "--check"]).exit_code == 0
