"""What a citizen sends about a sent application: withdrawing it, documents the
provider asked for, an objection to a provisional refusal (the hearing of
article 73 of the Administrative Procedural Code), a complaint about the result
and a technical-malfunction report; signed with EDS or an SMS password,
numbered, listed, and nobody else's to see.

Today is pinned to Monday 23 November 2026 (TestConfig.FIXED_TODAY).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from flask import render_template

from signing import envelope
from signing.verify import HolderType, Purpose, verify
from signing.xmldsig import sign_enveloped
from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY, csrf_token, log_in
from tests.helpers import (
    ACCOUNT, MONDAY, fill, key, last_code, problem, provider_says_in_turn, provisional_refusal, request_number, sign_by_eds,
    sign_by_sms, upload,
)
from webapp.extensions import db
from webapp.models import Application, ApplicationEvent, Attachment, CitizenRequest
from webapp.sandbox.pki import PORTAL
from webapp.sandbox.provider import say
from webapp.signatures import trust_store

TWO_WEEKS_AGO = dt.datetime(2026, 11, 9, 9, tzinfo=dt.timezone.utc)


def application(app, number: str) -> Application:
    with app.app_context():
        found = db.session.scalar(db.select(Application).filter_by(number=number))
        db.session.expunge(found)
        return found


def events(app, number: str) -> list[ApplicationEvent]:
    with app.app_context():
        found = db.session.scalars(
            db.select(ApplicationEvent).join(Application).filter(Application.number == number).order_by(ApplicationEvent.id)
        ).all()
        for event in found:
            db.session.expunge(event)
        return found


def stored(app, request_number: str) -> CitizenRequest:
    with app.app_context():
        found = db.session.scalar(db.select(CitizenRequest).filter_by(number=request_number))
        assert found is not None
        found.attachments  # noqa: B018 (loaded before the session goes)
        db.session.expunge(found)
        return found


# ── withdrawing ─────────────────────────────────────────────────────────


def test_withdraw_before_registration(app, client, sent_application):
    page = client.get(f"{ACCOUNT}/applications/{sent_application}/withdraw")
    assert page.status_code == 200 and "Are you sure you want to withdraw" in page.text
    assert application(app, sent_application).status == "sent", "a page is not a withdrawal"
    token = csrf_token(client, f"{ACCOUNT}/applications/{sent_application}/withdraw")
    done = client.post(f"{ACCOUNT}/applications/{sent_application}/withdraw", data={"csrf_token": token})
    assert done.status_code == 302
    assert "Application withdrawn" in client.get(done.location).text
    assert application(app, sent_application).status == "withdrawn"
    assert [e.status for e in events(app, sent_application)] == ["sent", "withdrawn"]
    # The provider cannot register it any more.
    with app.test_request_context(), pytest.raises(Exception):
        say(sent_application, "registered", at=MONDAY)


def test_no_withdrawal_once_registered(app, client, sent_application):
    provider_says_in_turn(app, sent_application, ("registered", {"at": MONDAY}))
    page = client.get(f"{ACCOUNT}/applications/{sent_application}/withdraw")
    assert page.status_code == 200 and "can no longer be withdrawn" in page.text
    assert 'name="csrf_token"' not in page.text.split("</header>", 1)[1]
    token = csrf_token(client, f"{ACCOUNT}/requests")
    refused = client.post(f"{ACCOUNT}/applications/{sent_application}/withdraw", data={"csrf_token": token})
    assert refused.status_code == 409 and "can no longer be withdrawn" in refused.text
    assert application(app, sent_application).status == "registered"


def test_withdrawing_needs_the_csrf_token(app, client, sent_application):
    assert client.post(f"{ACCOUNT}/applications/{sent_application}/withdraw").status_code == 400
    assert application(app, sent_application).status == "sent"


# ── documents the provider asked for ────────────────────────────────────


def test_documents_provided_within_the_deadline_by_sms(app, client, sent_application):
    provider_says_in_turn(app, sent_application, ("registered", {"at": MONDAY}),
             ("documents_requested", {"at": MONDAY, "documents": ("Birth certificate",)}))
    form_url = f"{ACCOUNT}/applications/{sent_application}/documents"
    page = client.get(form_url)
    assert "Birth certificate" in page.text and "November 30, 2026" in page.text
    saved = fill(client, form_url, {"text": "The birth certificate\nas asked."}, [upload("certificate.pdf", "birth.pdf")])
    assert saved.status_code == 302 and "/requests/drafts/" in saved.location
    check = client.get(saved.location)
    assert "birth.pdf" in check.text and "Check your request before signing" in check.text
    number_d = request_number(sign_by_sms(client, saved.location))
    assert number_d.startswith("D-2026-")
    assert application(app, sent_application).status == "documents_provided"
    assert events(app, sent_application)[-1].data == {"request": number_d}
    sent = stored(app, number_d)
    assert sent.signed_with == "sms" and sent.status == "sent" and sent.iin == MOTHER_WITH_BABY
    assert [a.original_name for a in sent.attachments] == ["birth.pdf"]
    with app.app_context():
        verdict = verify(sent.signed_xml, trust=trust_store(), purpose=Purpose.SIGN,
                         holder=HolderType.ORGANISATION, expected_bin=PORTAL.bin)
        read = envelope.parse(verdict.document)
        assert read.document == sent.document
        assert read.statements[0].type == "sms-confirmation"
    assert sent.attachments[0].sha256.encode() in sent.document
    assert b"The birth certificate\nas asked." in sent.document
    shown = client.get(f"{ACCOUNT}/requests/{number_d}")
    assert number_d in shown.text and "birth.pdf" in shown.text
    assert client.get(f"{ACCOUNT}/requests/{number_d}/signed.xml").data == sent.signed_xml
    # Done once: the form now says so.
    assert "already provided" in client.get(form_url).text


def test_documents_are_refused_after_the_deadline(app, client, sent_application):
    provider_says_in_turn(app, sent_application, ("registered", {"at": TWO_WEEKS_AGO}),
             ("documents_requested", {"at": TWO_WEEKS_AGO, "documents": ("Birth certificate",)}))
    form_url = f"{ACCOUNT}/applications/{sent_application}/documents"
    page = client.get(form_url)
    assert "November 16, 2026" in page.text and "It has passed" in page.text
    assert 'type="file"' not in page.text and "Continue" not in page.text
    token = csrf_token(client, f"{ACCOUNT}/requests")
    late = client.post(form_url, data={"csrf_token": token, "files": [upload("scan.png")]},
                       content_type="multipart/form-data")
    assert "It has passed" in late.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CitizenRequest)) == 0
    assert application(app, sent_application).status == "documents_requested"


def test_documents_need_a_file(app, client, sent_application):
    provider_says_in_turn(app, sent_application, ("registered", {"at": MONDAY}), ("documents_requested", {"at": MONDAY}))
    response = fill(client, f"{ACCOUNT}/applications/{sent_application}/documents", {"text": "Here"})
    assert response.status_code == 200 and "Choose the documents to upload" in problem(response)


# ── the hearing: objecting to a provisional refusal ────────────────────


def test_objection_by_eds_and_the_final_decision_refers_to_it(app, client, sent_application):
    provisional_refusal(app, sent_application)
    form_url = f"{ACCOUNT}/applications/{sent_application}/objection"
    page = client.get(form_url)
    assert "income above the threshold" in page.text and "November 25, 2026" in page.text
    saved = fill(client, form_url, {"text": "My income fell in October; the statement is attached."},
                 [upload("scan.png", "statement.png")])
    number_o = request_number(sign_by_eds(app, client, saved.location))
    assert number_o.startswith("O-2026-")
    assert application(app, sent_application).status == "objection"
    assert events(app, sent_application)[-1].status == "objection" and events(app, sent_application)[-1].data == {"request": number_o}
    sent = stored(app, number_o)
    assert sent.signed_with == "eds" and sent.signer_name and sent.revocation_method in ("ocsp", "crl")
    assert b'kind="objection"' in sent.document and sent_application.encode() in sent.document
    assert b"provisional_refusal" in sent.document
    # The hearing: no final refusal before 3 working days after the notice, then one that refers to the objection.
    with app.test_request_context(), pytest.raises(Exception):
        say(sent_application, "refused", at=MONDAY + dt.timedelta(days=1), reason="income above the threshold", objection=number_o)
    provider_says_in_turn(app, sent_application, ("refused", {"at": MONDAY + dt.timedelta(days=3), "reason": "income above the threshold",
                                       "objection": number_o}))
    assert events(app, sent_application)[-1].data["objection"] == number_o
    shown = client.get(f"{ACCOUNT}/requests/{number_o}")
    assert "The decision refers to this objection" in shown.text
    # The decision can be complained about now.
    assert client.get(f"{ACCOUNT}/applications/{sent_application}/complaint").status_code == 200


def test_objection_by_sms(app, client, sent_application):
    provisional_refusal(app, sent_application)
    saved = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "I disagree."})
    number_o = request_number(sign_by_sms(client, saved.location))
    assert application(app, sent_application).status == "objection"
    assert stored(app, number_o).signed_with == "sms"
    # Twice is not possible.
    assert "already objected" in client.get(f"{ACCOUNT}/applications/{sent_application}/objection").text


def test_a_password_of_another_request_says_so(app, client, sent_application, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_RESEND_SECONDS", 0)
    provisional_refusal(app, sent_application)
    objection = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "I disagree."}).location
    report = fill(client, f"{ACCOUNT}/requests/malfunction", {"service": "child-care-under-one", "text": "Blank page."}).location
    asked = client.post(f"{report}/sign/sms", data={"csrf_token": csrf_token(client, report)})
    assert asked.status_code == 302
    code = last_code(client)
    elsewhere = asked.location.replace(report, objection)
    response = client.post(elsewhere, data={"csrf_token": csrf_token(client, elsewhere), "code": code})
    assert response.status_code == 200
    assert "This password was sent for another request" in problem(response)
    assert client.post(asked.location, data={"csrf_token": csrf_token(client, asked.location), "code": code}).status_code == 302


def test_objection_refused_after_two_working_days(app, client, sent_application):
    provisional_refusal(app, sent_application, at=dt.datetime(2026, 11, 17, 9, tzinfo=dt.timezone.utc))
    page = client.get(f"{ACCOUNT}/applications/{sent_application}/objection")
    assert "ended on November 19, 2026" in page.text and "<textarea" not in page.text


def test_an_objection_not_signed_in_time_is_not_sent(app, client, sent_application):
    provisional_refusal(app, sent_application)
    saved = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "Late but right."})
    app.config["FIXED_TODAY"] = "2026-11-26"
    try:
        page = client.get(saved.location)
        assert "ended on November 25, 2026" in page.text and "data-eds" not in page.text
        with app.app_context():
            draft = db.session.scalar(db.select(CitizenRequest))
            signed = sign_enveloped(draft.document, key(app))
        token = csrf_token(client, f"{ACCOUNT}/requests")
        response = client.post(f"{saved.location}/sign/eds", data={"csrf_token": token, "signed_xml": signed.decode()})
    finally:
        app.config["FIXED_TODAY"] = "2026-11-23"
    assert "ended on November 25, 2026" in response.text
    assert application(app, sent_application).status == "provisional_refusal"


def test_no_objection_without_aprovisional_refusal(app, client, sent_application):
    page = client.get(f"{ACCOUNT}/applications/{sent_application}/objection")
    assert "no provisional refusal to object to" in page.text and "<textarea" not in page.text


# ── signing keeps to the document issued ───────────────────────────────


def test_a_changed_text_is_a_new_document(app, client, sent_application):
    provisional_refusal(app, sent_application)
    form_url = f"{ACCOUNT}/applications/{sent_application}/objection"
    saved = fill(client, form_url, {"text": "First version."})
    first = client.get(f"{saved.location}/request.xml").data
    assert client.get(f"{saved.location}/request.xml").data == first, "fixed between showing and signing"
    asked = client.post(f"{saved.location}/sign/sms", data={"csrf_token": csrf_token(client, saved.location)})
    code = last_code(client)
    again = fill(client, form_url, {"text": "Second version."})
    assert again.location == saved.location
    second = client.get(f"{saved.location}/request.xml").data
    assert second != first and b"Second version." in second
    response = client.post(asked.location, data={"csrf_token": csrf_token(client, asked.location), "code": code})
    assert "has changed since we sent the password" in problem(response)
    # A signature over the first version is refused too.
    stale = sign_enveloped(first, key(app))
    refused = client.post(f"{saved.location}/sign/eds", data={"csrf_token": csrf_token(client, saved.location),
                                                              "signed_xml": stale.decode()})
    assert refused.status_code == 200 and "not the application shown on this page" in problem(refused)
    assert application(app, sent_application).status == "provisional_refusal"


def test_the_same_signature_twice_sends_once(app, client, sent_application):
    provisional_refusal(app, sent_application)
    saved = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "Once."})
    document = client.get(f"{saved.location}/request.xml").data
    signed = sign_enveloped(document, key(app)).decode()
    token = csrf_token(client, saved.location)
    first = client.post(f"{saved.location}/sign/eds", data={"csrf_token": token, "signed_xml": signed})
    second = client.post(f"{saved.location}/sign/eds", data={"csrf_token": token, "signed_xml": signed})
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert [e.status for e in events(app, sent_application)].count("objection") == 1
    assert "had already been sent: this is the request it made" in client.get(second.location).text
    # The same bytes offered for a new request: used already, not "another document".
    report = fill(client, f"{ACCOUNT}/requests/malfunction", {"service": "child-care-under-one", "text": "Blank."}).location
    replayed = client.post(f"{report}/sign/eds", data={"csrf_token": csrf_token(client, report), "signed_xml": signed})
    assert replayed.status_code == 200 and "This signed document has already been used" in problem(replayed)


def test_another_persons_key_is_refused(app, client, sent_application):
    provisional_refusal(app, sent_application)
    saved = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "Mine."})
    response = sign_by_eds(app, client, saved.location, holder=CITIZEN_WITHOUT_PHONE)
    assert response.status_code == 200 and "belongs to another person" in problem(response)
    assert application(app, sent_application).status == "provisional_refusal"


# ── files ───────────────────────────────────────────────────────────────


def test_a_file_that_is_not_pdf_png_or_jpeg_is_refused_and_the_text_kept(app, client, sent_application):
    provisional_refusal(app, sent_application)
    typed = "My objection, typed with care."
    response = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": typed},
                    [upload("not-really.pdf")])
    assert response.status_code == 200
    assert "“not-really.pdf” is not a PDF, JPG or PNG file" in problem(response)
    assert typed in response.text and "Error:" in response.text.split("</title>")[0]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0


def test_files_can_be_removed_before_signing(app, client, sent_application):
    provisional_refusal(app, sent_application)
    form_url = f"{ACCOUNT}/applications/{sent_application}/objection"
    saved = fill(client, form_url, {"text": "With a file."}, [upload("scan.png")])
    page = client.get(form_url)
    kept = re.search(r'name="files-kept" value="([0-9a-f]+)"', page.text).group(1)
    assert "With a file." in page.text
    removed = client.post(form_url, data={"csrf_token": csrf_token(client, form_url), "text": "With a file.",
                                          "files-kept": kept, "action": f"remove-{kept}"})
    assert removed.status_code == 200 and "scan.png" not in removed.text
    fill(client, form_url, {"text": "With a file."})
    assert "scan.png" not in client.get(saved.location).text


# ── complaint and malfunction report ────────────────────────────────────


def test_a_complaint_about_the_result_is_signed_and_listed(app, client, sent_application):
    assert "once the service provider has made its decision" in client.get(f"{ACCOUNT}/applications/{sent_application}/complaint").text
    provider_says_in_turn(app, sent_application, ("registered", {"at": MONDAY}),
             ("assigned", {"at": MONDAY, "amount": Decimal("1000.00"), "period": (dt.date(2026, 2, 3), dt.date(2027, 2, 3))}))
    form_url = f"{ACCOUNT}/applications/{sent_application}/complaint"
    assert "authorised body for assessing and controlling the quality" in client.get(form_url).text
    saved = fill(client, form_url, {"addressee": "quality-authority", "text": "The amount is too low."},
                 [upload("certificate.pdf")])
    number_c = request_number(sign_by_eds(app, client, saved.location))
    assert number_c.startswith("C-2026-")
    assert application(app, sent_application).status == "assigned", "a complaint changes nothing in the application"
    sent = stored(app, number_c)
    assert b"quality-authority" in sent.document and b'status="assigned"' in sent.document
    listed = client.get(f"{ACCOUNT}/requests")
    assert number_c in listed.text and "Complaint about the result" in listed.text and "Signed and sent" in listed.text


def test_a_complaint_goes_to_the_providers_head_or_the_authorised_body(app, client, sent_application):
    """Issue 13: the passport names the provider's head, the authorised body and the court;
    the form offered only the authorised body."""
    provider_says_in_turn(app, sent_application, ("registered", {"at": MONDAY}),
             ("assigned", {"at": MONDAY, "amount": Decimal("1000.00"), "period": (dt.date(2026, 2, 3), dt.date(2027, 2, 3))}))
    form_url = f"{ACCOUNT}/applications/{sent_application}/complaint"
    page = client.get(form_url).text
    assert 'value="provider-head"' in page and 'value="quality-authority"' in page
    assert "State Social Insurance Fund JSC" in page and "go to court" in page
    unchosen = fill(client, form_url, {"text": "Please look again."})
    assert "Choose who should consider your complaint" in problem(unchosen) and "Please look again." in unchosen.text
    saved = fill(client, form_url, {"addressee": "provider-head", "text": "Please look again."})
    assert "The head of the service provider" in client.get(saved.location).text
    number_c = request_number(sign_by_eds(app, client, saved.location))
    assert b"<addressee>provider-head</addressee>" in stored(app, number_c).document
    shown = client.get(f"{ACCOUNT}/requests/{number_c}").text
    assert "The head of the service provider" in shown and "authorised body" not in shown


def test_a_malfunction_report_is_signed_and_listed(app, client, sent_application):
    form_url = f"{ACCOUNT}/requests/malfunction?application={sent_application}"
    page = client.get(form_url)
    assert f'value="{sent_application}"' in page.text and MOTHER_WITH_BABY in page.text
    assert 'value="child-care-under-one" selected' in page.text
    steps = "1. Opened the application.\n2. Pressed Sign.\n3. The page went blank."
    pdf = fill(client, form_url, {"service": "child-care-under-one", "registration_number": sent_application, "text": steps},
               [upload("certificate.pdf")])
    assert "“certificate.pdf” is not a PNG or JPG image" in problem(pdf) and "3. The page went blank." in pdf.text
    saved = fill(client, form_url, {"service": "child-care-under-one", "registration_number": sent_application, "text": steps},
                 [upload("scan.png", "blank-page.png")])
    number_t = request_number(sign_by_sms(client, saved.location))
    assert number_t.startswith("T-2026-")
    sent = stored(app, number_t)
    assert sent.application_id is not None and sent.data["service"] == "child-care-under-one"
    for part in (MOTHER_WITH_BABY.encode(), sent_application.encode(), b"child-care-under-one", b"3. The page went blank.",
                 b"blank-page.png", b'kind="malfunction"'):
        assert part in sent.document
    listed = client.get(f"{ACCOUNT}/requests")
    assert number_t in listed.text and "Technical malfunction report" in listed.text


def test_a_malfunction_report_without_an_application(app, client):
    log_in(client)
    form_url = f"{ACCOUNT}/requests/malfunction"
    missing = fill(client, form_url, {"service": "", "registration_number": "2026-9999999", "text": ""})
    messages = problem(missing)
    assert "Choose the service" in missing.text and "no application of yours with this number" in missing.text
    assert "Describe the steps" in missing.text and messages
    saved = fill(client, form_url, {"service": "maternity-and-adoption", "text": "The catalogue did not load."})
    number_t = request_number(sign_by_eds(app, client, saved.location))
    assert stored(app, number_t).application_id is None


# ── nobody else's ───────────────────────────────────────────────────────


def test_another_citizen_gets_404_everywhere(app, client, sent_application):
    provisional_refusal(app, sent_application)
    saved = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "Mine."})
    draft = saved.location
    number_o = request_number(sign_by_eds(app, client, draft))
    saved = fill(client, f"{ACCOUNT}/requests/malfunction", {"service": "child-care-under-one", "text": "Broken."})
    malfunction_draft = saved.location
    asked = client.post(f"{malfunction_draft}/sign/sms", data={"csrf_token": csrf_token(client, malfunction_draft)})
    assert asked.status_code == 302

    other = app.test_client()
    log_in(other, CITIZEN_WITHOUT_PHONE)
    token = csrf_token(other, f"{ACCOUNT}/requests")
    for kind in ("withdraw", "documents", "objection", "complaint"):
        path = f"{ACCOUNT}/applications/{sent_application}/{kind}"
        assert other.get(path).status_code == 404, path
        assert other.post(path, data={"csrf_token": token, "text": "x"}).status_code == 404, path
    assert other.get(f"{ACCOUNT}/requests/malfunction?application={sent_application}").status_code == 404
    for path in (f"{ACCOUNT}/requests/{number_o}", f"{ACCOUNT}/requests/{number_o}/signed.xml",
                 draft, f"{draft}/request.xml", malfunction_draft, f"{malfunction_draft}/request.xml",
                 asked.location):
        assert other.get(path).status_code == 404, path
    for path in (f"{malfunction_draft}/sign/eds", f"{malfunction_draft}/sign/sms", asked.location):
        assert other.post(path, data={"csrf_token": token, "signed_xml": "<x/>", "code": "123456"}).status_code == 404, path
    assert number_o not in other.get(f"{ACCOUNT}/requests").text
    # A number typed into the report is not a way in either.
    typed = fill(other, f"{ACCOUNT}/requests/malfunction",
                 {"service": "child-care-under-one", "registration_number": sent_application, "text": "x"})
    assert "no application of yours with this number" in problem(typed)
    assert application(app, sent_application).status == "objection"


# ── the application page's actions ─────────────────────────────────────


def _actions(app, number) -> str:
    with app.test_request_context(f"/en/account/applications/{number}"):
        from flask import g

        g.lang_code = "en"
        found = db.session.scalar(db.select(Application).filter_by(number=number))
        return render_template("history/_actions.html", application=found)


def test_the_application_page_offers_what_can_be_done_now(app, client, sent_application):
    html = _actions(app, sent_application)
    assert f"/en/account/applications/{sent_application}/withdraw" in html and "objection" not in html
    assert f"/en/account/requests/malfunction?application={sent_application}" in html
    provisional_refusal(app, sent_application)
    html = _actions(app, sent_application)
    assert "withdraw" not in html and f"/en/account/applications/{sent_application}/objection" in html
    assert "(by November 25, 2026)" in html
    saved = fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "No."})
    number_o = request_number(sign_by_eds(app, client, saved.location))
    html = _actions(app, sent_application)
    assert f"/en/account/requests/{number_o}" in html and "/objection" not in html


def test_a_missed_deadline_is_said_on_the_application_page(app, client, sent_application):
    provisional_refusal(app, sent_application, at=dt.datetime(2026, 11, 17, 9, tzinfo=dt.timezone.utc))
    html = _actions(app, sent_application)
    assert "ended on November 19, 2026" in html and "/objection" not in html


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_pages_in_kazakh_and_russian(app, client, sent_application, lang):
    provisional_refusal(app, sent_application)
    page = client.get(f"/{lang}/account/applications/{sent_application}/objection")
    assert page.status_code == 200 and f'lang="{lang}"' in page.text
    assert client.get(f"/{lang}/account/requests").status_code == 200


def test_stale_drafts_are_deleted_with_their_files(app, client, sent_application):
    provisional_refusal(app, sent_application)
    fill(client, f"{ACCOUNT}/applications/{sent_application}/objection", {"text": "Never signed."}, [upload("scan.png")])
    from webapp.applications.drafts import attachment_path
    from webapp.requests.drafts import purge_drafts

    with app.app_context():
        draft = db.session.scalar(db.select(CitizenRequest))
        path = attachment_path(draft.attachments[0])
        assert path.is_file()
        assert purge_drafts() == 0
        draft.updated_at = MONDAY - dt.timedelta(days=31)
        db.session.commit()
        assert purge_drafts() == 1
        assert not path.exists()
        assert db.session.scalar(db.select(db.func.count()).select_from(Attachment)) == 0
