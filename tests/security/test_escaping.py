"""Markup, script and template syntax typed into every text field of every
wizard (enumerated from the service definitions), into citizen requests and
into phone and IBAN fields come back as text: escaped on the step page when
it is shown again with an error, on the check-your-answers page, on the
application page, in the operator console, and as XML text (not markup) in
the document that is signed."""

from __future__ import annotations

import html

import pytest
from lxml import etree

from signing.xmldsig import sign_enveloped
from tests.conftest import csrf_token
from tests.journeys import form_data, load
from tests.helpers import at_check, issued, key, send
from webapp.applications.drafts import find as find_draft
from webapp.extensions import db
from webapp.models import Application
from webapp.services import catalogue, find

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}"
URL = "javascript:alert(1)"
PAYLOAD = f"{SCRIPT} {ATTRIBUTE} {TEMPLATE} {URL}"
# What must never appear in a page as it was typed: it would be live markup.
LIVE = (SCRIPT, "<img src=x", '"><img', "onerror=alert(1)>", 'href="javascript:')


def assert_inert(text: str, typed: str, where: str) -> None:
    for live in LIVE:
        assert live not in text, f"{where}: {live!r} is live"
    shown = {html.escape(typed, quote=True), html.escape(typed, quote=False),
             typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")}
    assert any(form in text for form in shown), f"{where}: not shown as text"
    if TEMPLATE in typed:
        assert TEMPLATE in text, f"{where}: {TEMPLATE} evaluated as a template"


def text_fields() -> list[tuple[str, str, str, str | None]]:
    """(service, step, field, group part) for every free-text field of every wizard."""
    found = []
    for service in catalogue():
        for step in service.wizard.steps if service.wizard else ():
            for f in step.fields:
                for part in (f.fields if f.type == "group" else (f,)):
                    if part.type == "text":
                        found.append((service.slug, step.id, f.id, part.id if part is not f else None))
    return found


def iban_steps() -> list[tuple[str, str, str]]:
    return [(service.slug, step.id, f.id) for service in catalogue() if service.wizard
            for step in service.wizard.steps for f in step.fields if f.type == "iban"]


def test_the_enumeration_finds_the_fields(app):
    with app.test_request_context():
        fields = text_fields()
        ibans = iban_steps()
    assert len(fields) >= 5, fields
    assert len(ibans) >= 9, ibans
    assert {slug for slug, *_ in fields} == set(TEXT_SERVICES)


# The services with free-text fields, and journeys (tests/journeys/ as a base) that reach
# every one of those fields with the payload typed into it.
MATERNITY_NUMBER = ATTRIBUTE  # the certificate number takes 30 characters
ESCAPE_JOURNEYS = {
    "maternity-and-adoption": {
        "certificate-details": {"certificates": [{"number": MATERNITY_NUMBER, "from": "2026-11-16", "to": "2027-03-21"}]},
    },
    "special-state-allowance": {
        "category": {"category": "other"},
        "claimed-category": {"claimed_category": "other"},
        "claimed-category-name": {"claimed_category_name": PAYLOAD},
        "right-documents": {"right_documents": "certificate.pdf"},
    },
    "semipalatinsk-compensation": {
        # The mother has no record of the test site, so she lists her periods herself.
        "citizen": "900517401370",
        "periods": {"periods": [{"zone": "maximum", "basis": "lived", "locality": PAYLOAD,
                                 "from": "1990-06-01", "to": "1990-12-01"}]},
        "period-documents": {"period_documents": "certificate.pdf"},
        "account": {"account": "KZ435639722818662011"},
    },
    "local-social-assistance": {
        "category": {"category": "other"},
        "other-category": {"other_category": PAYLOAD},
        "circumstances": {"circumstances": PAYLOAD},
        "category-documents": {"category_documents": "certificate.pdf"},
    },
}
TEXT_SERVICES = tuple(ESCAPE_JOURNEYS)


def escape_journey(slug: str) -> dict:
    journey = load(slug)
    changes = dict(ESCAPE_JOURNEYS[slug])
    journey["citizen"] = changes.pop("citizen", journey["citizen"])
    journey["answers"] = {**journey.get("answers", {}), **changes}
    return journey


def typed_in(journey: dict, step_id: str, field_id: str, part_id: str | None) -> str | None:
    given = journey["answers"].get(step_id, {}).get(field_id)
    return given[0].get(part_id) if part_id and given else given


def _step_form(journey: dict, slug: str, step_id: str, field_id: str, part_id: str | None, value: str) -> dict:
    """The step's inputs as the journey fills them, with the one field (or group part) set to value."""
    step = find(slug).wizard.step(step_id)
    given = journey["answers"].get(step_id, {})
    data = {"action": "continue"}
    for f in step.fields:
        if f.id == field_id and part_id is None:
            data[f.id] = value
        elif f.id == field_id:
            items = [dict(item) for item in given[f.id]]
            items[0][part_id] = value
            data.update(form_data(f, items))
        elif f.id in given:
            data.update(form_data(f, given[f.id]))
    return data


def test_every_text_field_gets_the_payload(app):
    with app.test_request_context():
        for slug, step_id, field_id, part_id in text_fields():
            assert slug in ESCAPE_JOURNEYS, f"{slug} has a text field and no escaping journey"
            value = typed_in(escape_journey(slug), step_id, field_id, part_id)
            assert value in (PAYLOAD, MATERNITY_NUMBER), f"{slug}/{step_id}/{field_id}: no payload typed"


@pytest.mark.parametrize("slug", TEXT_SERVICES)
def test_free_text_in_every_wizard_field_is_escaped_everywhere(app, client, slug):
    from tests.journeys import walk

    journey = escape_journey(slug)
    check = walk(client, find(slug), journey)
    assert check.status_code == 200 and check.request.path.endswith("/check"), (slug, check.request.path)
    with app.test_request_context():
        fields = [(step_id, field_id, part_id) for s, step_id, field_id, part_id in text_fields() if s == slug]
    typed = [typed_in(journey, *where) for where in fields]
    for value in typed:
        assert_inert(check.text, value, f"{slug} check page")
    for (step_id, field_id, part_id), value in zip(fields, typed):
        url = f"/en/services/{slug}/apply/{step_id}?return=check"
        page = client.get(url)
        assert page.status_code == 200, (slug, step_id, page.status_code)
        assert_inert(page.text, value, f"{slug}/{step_id} step page")
        # Too long: the step comes back with an error and the input as typed, escaped.
        too_long = " ".join([value] * 30)
        data = _step_form(journey, slug, step_id, field_id, part_id, too_long)
        shown = client.post(url, data={**data, "csrf_token": csrf_token(client, url)}, content_type="multipart/form-data")
        assert shown.status_code == 200 and "characters or fewer" in shown.text, (slug, step_id, shown.status_code)
        assert_inert(shown.text, value, f"{slug}/{step_id} error page")
    # In the document to sign, each answer is XML text.
    document = issued(client, slug)
    root = etree.fromstring(document)
    assert not [e for e in root.iter() if etree.QName(e).localname in ("script", "img")]
    texts = [element.text for element in root.iter() if element.text]
    for value in typed:
        assert value in texts, value
    # Sent: the application page and the operator console show them as text.
    assert send(client, sign_enveloped(document, key(app, journey["citizen"])), slug).status_code == 302
    with app.app_context():
        number = db.session.scalar(db.select(Application.number).filter_by(service_slug=slug))
    page = client.get(f"/en/account/applications/{number}")
    assert page.status_code == 200
    for value in typed:
        assert_inert(page.text, value, "the application page")
    # The operator console shows no answers, only a link to the signed XML: nothing
    # live on it, and the XML is a download a browser will not render as a page.
    console = client.get(f"/en/sandbox/operator/applications/{number}")
    assert console.status_code == 200
    for live in LIVE:
        assert live not in console.text
    for path in (f"/en/sandbox/operator/applications/{number}/signed.xml", f"/en/account/applications/{number}/signed.xml"):
        download = client.get(path)
        assert download.mimetype == "application/xml", path
        assert download.headers["Content-Disposition"].startswith("attachment;"), path
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        root = etree.fromstring(download.data)
        assert not [e for e in root.iter() if etree.QName(e).localname in ("script", "img")]
        assert all(value in [e.text for e in root.iter()] for value in typed), path


def _open_step(app, client, slug: str, step_id: str) -> str:
    """The step's URL (returning to the check page), making its answer condition true first."""
    step = find(slug).wizard.step(step_id)
    if step.when:
        condition = step.when
        assert set(condition) == {"answer", "equals"}, f"{slug}/{step_id}: teach the test this condition"
        with app.app_context():
            draft = find_draft(load(slug)["citizen"], slug)
            draft.answers = {**draft.answers, condition["answer"]: condition["equals"]}
            db.session.commit()
    return f"/en/services/{slug}/apply/{step_id}?return=check"


@pytest.mark.parametrize("slug", ["child-care-under-one", "local-social-assistance"])
def test_an_invalid_iban_is_refused_and_shown_escaped(app, client, slug):
    """IBAN is one field type with one template; tried in two wizards, in English and Kazakh."""
    at_check(client, slug)
    (step_id, field_id), = [(s, f) for sl, s, f in _ibans(app) if sl == slug]
    url = _open_step(app, client, slug, step_id)
    for lang in ("en", "kk"):
        here = url.replace("/en/", f"/{lang}/")
        for value in (PAYLOAD, f"KZ{ATTRIBUTE}"):
            response = client.post(here, data={"csrf_token": csrf_token(client, here), "action": "continue",
                                               field_id: value})
            assert response.status_code == 200
            assert "q-error-summary" in response.text
            for live in LIVE:
                assert live not in response.text, (lang, live)


def _ibans(app):
    with app.test_request_context():
        return iban_steps()


def test_phone_field_is_refused_and_shown_escaped(app, citizen_client):
    for value in (PAYLOAD, f"+7 701 {ATTRIBUTE}"):
        token = csrf_token(citizen_client, "/en/account/phone")
        response = citizen_client.post("/en/account/phone", data={"csrf_token": token, "phone": value})
        assert response.status_code == 200 and "Enter a Kazakh mobile number" in response.text
        for live in LIVE:
            assert live not in response.text, live


def test_request_texts_are_escaped_on_every_page_and_in_the_xml(app, client, sent_application):
    """A malfunction report (any time) and an objection (after a provisional refusal): the
    form shown again, the check page, the XML, the sent request and the operator console."""
    from tests.helpers import fill, provisional_refusal, request_number, sign_by_eds

    number = sent_application
    provisional_refusal(app, number)
    for path, fields in (
        ("/en/account/requests/malfunction",
         {"service": "child-care-under-one", "registration_number": ATTRIBUTE, "text": PAYLOAD}),
        (f"/en/account/applications/{number}/objection", {"text": PAYLOAD}),
    ):
        # Shown again with an error (too long), then saved.
        shown = fill(client, path, {**fields, "text": PAYLOAD * 80})
        assert shown.status_code == 200 and "q-error-summary" in shown.text
        assert_inert(shown.text, PAYLOAD, f"{path} error page")
        if "registration_number" in fields:
            for live in LIVE:
                assert live not in shown.text
        saved = fill(client, path, fields)
        if saved.status_code == 200:  # the typed number is not one of the citizen's: said, escaped
            for live in LIVE:
                assert live not in saved.text
            saved = fill(client, path, {**fields, "registration_number": number})
        assert saved.status_code == 302, saved.text[:3000]
        check = client.get(saved.location)
        assert_inert(check.text, PAYLOAD, f"{path} check page")
        document = client.get(f"{saved.location}/request.xml").data
        root = etree.fromstring(document)
        assert PAYLOAD in [e.text for e in root.iter()]
        assert not [e for e in root.iter() if etree.QName(e).localname in ("script", "img")]
        sent = request_number(sign_by_eds(app, client, saved.location))
        page = client.get(f"/en/account/requests/{sent}")
        assert page.status_code == 200
        assert_inert(page.text, PAYLOAD, f"request {sent}")
    console = client.get(f"/en/sandbox/operator/applications/{number}")
    assert console.status_code == 200
    for live in LIVE:
        assert live not in console.text


def test_search_and_filters_echo_escaped(app, citizen_client):
    """Query parameters shown back on a page (catalogue search, history search)."""
    for path, name in (("/en/services", "q"), ("/en/account/history", "number"), ("/en/account/history", "q"),
                       ("/en/sandbox/sms", "phone"), ("/en/sandbox/operator", "status"), ("/en/login", "next")):
        response = citizen_client.get(path, query_string={name: PAYLOAD})
        assert response.status_code in (200, 302), (path, response.status_code)
        for live in LIVE:
            assert live not in response.text, (path, name, live)


def test_markup_in_the_path_is_not_echoed_live(app, citizen_client):
    """Path segments (language, service, step, number) shown back in links or messages."""
    for path in ("/%3Cscript%3Ealert(1)%3C%2Fscript%3E/services", "/en/services/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                 "/en/services/child-care-under-one/apply/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
                 "/en/account/applications/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
                 "/en/account/notifications/%3Cscript%3Ealert(1)%3C%2Fscript%3E"):
        response = citizen_client.get(path)
        assert response.status_code in (302, 404), (path, response.status_code)
        for live in LIVE:
            assert live not in response.text, (path, live)
