"""Characters XML cannot carry (NUL, other C0 controls, U+FFFF, lone
surrogates) are refused by every text field with a translated field error,
and shown again without them; bidirectional overrides are dropped; a draft
saved with them before they were refused never makes a page fail: the
citizen is led back to the step to fix it.

The fields come from the service definitions, so a new field is covered."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask_babel import force_locale

from tests.conftest import csrf_token, log_in
from tests.journeys import form_data, load, walk
from tests.helpers import fill
from webapp.extensions import db
from webapp.models import ApplicationDraft, CitizenRequest
from webapp.services import catalogue, find
from webapp.services.fields import FIELD_TYPES, Context, Field, FieldError
from webapp.text_input import MESSAGE

# What a hostile run pasted into free-text answers.
UNWRITABLE = ["\x00", "\x01\x1b", "\x0b", "\uffff", "\ud800"]
TYPED = FIELD_TYPES - {"file", "group"}
CHILD_CARE = "child-care-under-one"
SAID = "the answer had invisible control characters"


def every_field():
    """(service, field) for every field and group part of every definition, but files."""
    for service in catalogue():
        for step in service.wizard.steps if service.wizard else ():
            for field in step.fields:
                for part in field.fields or (field,):
                    if part.type != "file":
                        yield service.slug, part


def context() -> Context:
    return Context(iin="900517401370", today=dt.date(2026, 11, 23), bank_account_holder=lambda iban: None,
                   options=lambda source: [("a", "A")])


def raw(field: Field, bad: str):
    if field.type == "date":
        return {"day": "3" + bad, "month": "2", "year": "2026"}
    return f"12{bad}3"


@pytest.fixture
def _en(app):
    with app.test_request_context("/en/"):
        yield


def test_the_definitions_have_fields_of_several_types():
    types = {field.type for _slug, field in every_field()}
    assert {"text", "choice", "date", "iban"} <= types, types


@pytest.mark.usefixtures("_en")
@pytest.mark.parametrize("bad", UNWRITABLE, ids=repr)
def test_every_field_of_every_definition_refuses_what_xml_cannot_carry(bad):
    for slug, field in every_field():
        with pytest.raises(FieldError) as refused:
            field.check(raw(field, bad), context())
        assert refused.value.code == "characters", (slug, field.id)


@pytest.mark.usefixtures("_en")
@pytest.mark.parametrize("kind", sorted(TYPED))
def test_every_field_type_refuses_what_xml_cannot_carry(kind):
    field = Field(id="f", type=kind, label="Answer", options=(("a", "A"),))
    for bad in UNWRITABLE:
        with pytest.raises(FieldError) as refused:
            field.check(raw(field, bad), context())
        assert refused.value.code == "characters"
        assert refused.value.message("Answer", {}).startswith("Answer: " + SAID)


def test_the_message_is_translated(app):
    with app.test_request_context("/en/"):
        english = str(MESSAGE)
    for lang in ("kk", "ru"):
        with app.test_request_context(f"/{lang}/"), force_locale(lang):
            assert str(MESSAGE) != english and "%(field)s" in str(MESSAGE)


def _steps_with_typed_fields(service):
    return [s for s in service.wizard.steps if s.kind != "confirm" and any(
        part.type != "file" for f in s.fields for part in (f.fields or (f,)))]


def _with_bad_characters(field: Field, value) -> dict:
    """The form inputs of an answer with a NUL pasted into each typed part."""
    if field.type == "group":
        items = value or [{}]
        spoiled = [{part.id: item.get(part.id, "x") for part in field.fields if part.type != "file"} for item in items]
        data = form_data(field, spoiled)
        return {name: (text + "\x00" if not name.endswith("-count") else text) for name, text in data.items()}
    if field.type == "date":
        data = form_data(field, value or "2026-02-03")
        data[f"{field.id}-day"] += "\x00"
        return data
    return {field.id: f"{value if value is not None else 'x'}\x00"}


def _anchors(fields: list[Field], given: dict) -> list[str]:
    """The inputs the error summary must link to, one for each typed part."""
    found = []
    for field in fields:
        if field.type == "group":
            found += [f"{field.id}-{n}-{part.id}" for n in range(len(given.get(field.id) or [{}]))
                      for part in field.fields if part.type != "file"]
        else:
            found.append(f"{field.id}-day" if field.type == "date" else field.id)
    return found


@pytest.mark.parametrize("slug", [p.slug for p in catalogue() if p.wizard])
def test_every_step_refuses_control_characters_and_keeps_the_draft(app, client, slug):
    """Each step's typed fields, as a browser sends them: the field error, shown in place, nothing saved."""
    service = find(slug)
    journey = load(slug)
    page = walk(client, service, journey)
    if "/check" not in page.request.path:
        pytest.skip("the journey does not reach the check page")
    with app.app_context():
        before = db.session.scalar(db.select(ApplicationDraft)).answers
    base = f"/en/services/{slug}/apply"
    tried = 0
    for step in _steps_with_typed_fields(service):
        path = f"{base}/{step.id}?return=check"
        shown = client.get(path)
        if shown.status_code != 200:
            continue  # not shown for these answers
        given = journey.get("answers", {}).get(step.id, {})
        data = {"csrf_token": csrf_token(client, path), "action": "continue"}
        typed = [f for f in step.fields if f.type != "file"]
        for field in typed:
            data.update(_with_bad_characters(field, given.get(field.id)))
        response = client.post(path, data=data, content_type="multipart/form-data")
        assert response.status_code == 200, (step.id, response.status_code)
        for anchor in _anchors(typed, given):
            assert re.search(rf'<a href="#{anchor}">[^<]*{SAID}', response.text), (step.id, anchor)
        assert "\x00" not in response.text  # shown again without them: valid HTML (checked by the client)
        tried += 1
    assert tried
    with app.app_context():
        assert db.session.scalar(db.select(ApplicationDraft)).answers == before
    assert b"\x00" not in client.get(f"{base}/application.xml").data


def _spoil_the_draft(app, text: str) -> str:
    """A draft's text answer as stored before the fix; the id of the field it spoiled."""
    with app.app_context():
        draft = db.session.scalar(db.select(ApplicationDraft))
        service = find(draft.service_slug)
        field = next(f for s in service.wizard.steps for f in s.fields if f.id in draft.answers and f.type != "file")
        draft.answers = {**draft.answers, field.id: text}
        draft.document_nonce = None
        db.session.commit()
        return field.id


def test_a_draft_saved_with_control_characters_leads_back_to_its_step(app, client):
    page = walk(client, find(CHILD_CARE), load(CHILD_CARE))
    assert "/check" in page.request.path
    field_id = _spoil_the_draft(app, "12\x00\x01\x1b\x0b\uffff")
    base = f"/en/services/{CHILD_CARE}/apply"
    step = next(s for s in find(CHILD_CARE).wizard.steps if any(f.id == field_id for f in s.fields))
    token = csrf_token(client, "/en/account")
    for method, path in (("get", f"{base}/check"), ("get", f"{base}/application.xml"),
                         ("post", f"{base}/sign/sms"), ("post", f"{base}/sign/eds")):
        response = getattr(client, method)(path, data={"csrf_token": token, "signed_xml": "<x/>"} if method == "post" else None)
        assert response.status_code == 302, (path, response.status_code)
        assert response.location.endswith(f"{base}/{step.id}"), (path, response.location)
    shown = client.get(f"{base}/{step.id}")
    assert shown.status_code == 200
    assert SAID in shown.text and f'href="#{field_id}"' in shown.text
    assert "\x00" not in shown.text and "\uffff" not in shown.text


def test_bidirectional_overrides_are_dropped(app, client):
    """A pasted U+202E cannot make an answer read differently from what it is."""
    assert log_in(client).status_code == 302
    saved = fill(client, "/en/account/requests/malfunction",
                 {"service": CHILD_CARE, "text": "Steps: \u202egpj.exe\u202c then \u2066more\u2069."})
    assert saved.status_code == 302, saved.text[:2000]
    with app.app_context():
        stored = db.session.scalar(db.select(CitizenRequest))
        assert stored.text == "Steps: gpj.exe then more."
    # A copied phone number often carries them: it is still a phone number.
    path = "/en/account/phone"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "phone": "\u202a+7 702 555 44 33\u202c"})
    assert response.status_code == 302 and "/confirm/" in response.location


@pytest.mark.parametrize("bad", UNWRITABLE[:4], ids=repr)
def test_a_request_refuses_control_characters_and_keeps_the_text(app, client, bad):
    assert log_in(client).status_code == 302
    response = fill(client, "/en/account/requests/malfunction",
                    {"service": CHILD_CARE, "text": f"It broke{bad} here.", "registration_number": f"2026{bad}"})
    assert response.status_code == 200
    assert SAID in response.text and 'href="#text"' in response.text and 'href="#registration_number"' in response.text
    assert "It broke here." in response.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CitizenRequest)) == 0


def test_the_phone_form_refuses_control_characters(app, client):
    assert log_in(client).status_code == 302
    path = "/en/account/phone"
    response = client.post(path, data={"csrf_token": csrf_token(client, path), "phone": "+7 702 555\x00 44 33"})
    assert response.status_code == 200 and SAID in response.text
    assert "+7 702 555 44 33" in response.text


def test_the_login_form_refuses_control_characters(app):
    from wtforms import StringField

    from webapp.forms import PortalForm

    class Form(PortalForm):
        name = StringField("Name")

    with app.test_request_context("/en/", method="POST", data={"name": "  Ai\x00gul\u202e  "}):
        form = Form(meta={"csrf": False})
        assert not form.validate()
        assert form.errors["name"][0].startswith("Name: " + SAID)
        assert form.name.data == "Aigul"


def test_the_operator_console_refuses_control_characters(app, client):
    """The sandbox official's reasons go into a signed message too."""
    from tests.helpers import at_check, sign_and_send
    from webapp.models import Application
    from webapp.sandbox.provider import say

    at_check(client)
    assert sign_and_send(app, client).status_code == 302
    with app.app_context():
        number = db.session.scalar(db.select(Application.number))
    with app.test_request_context():
        say(number, "registered")
    operator = app.test_client()
    page = f"/en/sandbox/operator/applications/{number}"
    response = operator.post(f"{page}/provisional_refusal", data={"csrf_token": csrf_token(operator, page),
                                                                  "reason": "Income\x00 above the threshold"})
    assert response.status_code == 200 and SAID in response.text
    assert re.search(r"Income\s*above the threshold", response.text)


def test_a_password_entered_with_control_characters_is_shown_back_without_them(app, client):
    from tests.helpers import ask_for_password

    page = walk(client, find(CHILD_CARE), load(CHILD_CARE))
    assert "/check" in page.request.path
    asked = ask_for_password(client)
    response = client.post(asked.location, data={"csrf_token": csrf_token(client, asked.location), "code": "12\x003\x1b4"})
    assert response.status_code == 200 and "Enter the 6-digit password" in response.text
    assert "\x00" not in response.text and 'value="1234"' in response.text
