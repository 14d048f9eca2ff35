"""The Request Online flow: steps, errors, back and change links, drafts, htmx."""

from __future__ import annotations

import datetime as dt
import re


from tests.conftest import log_in
from tests.journeys import token
from webapp import clock
from webapp.extensions import db
from webapp.models import ApplicationDraft

BASE = "/en/services/child-care-under-one/apply"
KAMILA = "950214440829"  # her only account is in her husband's name
BABY = "260203606639"


def start(client, action="start"):
    page = client.get(BASE)
    return client.post(f"{BASE}/start", data={"csrf_token": token(page.text), "action": action})


def answer(client, step, **data):
    page = client.get(f"{BASE}/{step}")
    assert page.status_code == 200, page.location
    return client.post(f"{BASE}/{step}", data={"csrf_token": token(page.text), **data})


def fill_to_check(client):
    start(client)
    answer(client, "personal-details", confirmed="yes")
    answer(client, "family", confirmed="yes")
    answer(client, "child", child=BABY)
    return answer(client, "account", account="KZ435639722818662011")


def test_request_online_needs_a_login(client):
    response = client.get(BASE)
    assert response.status_code == 302 and "/en/login" in response.location


def test_before_you_start_then_the_first_step(citizen_client):
    page = citizen_client.get(BASE)
    assert "Start now" in page.text
    response = start(citizen_client)
    assert response.location.endswith(f"{BASE}/personal-details")
    step = citizen_client.get(response.location)
    # An IBAN step may follow the account question, so the number of steps is not known yet.
    assert '<span class="q-caption-m q-step">Step 1</span>' in step.text
    assert "Received from the state database" in step.text
    assert "Sarsenbayeva" in step.text and "900517401370" in step.text
    assert f'href="{BASE}"' in step.text  # Back goes to Before you start


def test_deep_links_cannot_skip_steps(citizen_client):
    start(citizen_client)
    response = citizen_client.get(f"{BASE}/account")
    assert response.location.endswith(f"{BASE}/personal-details")
    assert citizen_client.get(f"{BASE}/check").location.endswith(f"{BASE}/personal-details")
    # The document too leads to the step still to answer (or to fix), like the check page.
    assert citizen_client.get(f"{BASE}/application.xml").location.endswith(f"{BASE}/personal-details")


def test_unknown_steps_and_services_are_not_found(citizen_client):
    start(citizen_client)
    assert citizen_client.get(f"{BASE}/no-such-step").status_code == 404
    assert citizen_client.get("/en/services/no-such-service/apply").status_code == 404


def test_a_step_without_an_answer_shows_the_error_summary(citizen_client):
    start(citizen_client)
    answer(citizen_client, "personal-details", confirmed="yes")
    answer(citizen_client, "family", confirmed="yes")
    page = answer(citizen_client, "child")
    assert page.status_code == 200
    assert re.search(r"<title>Error: Which child", page.text)
    summary = re.search(r'data-module="error-summary".*?</div>', page.text, re.S).group(0)
    assert 'href="#child"' in summary and "Child you are applying for: choose one of the options" in summary
    assert 'id="child-error"' in page.text


def test_step_count_follows_the_conditions(citizen_client):
    fill_to_check(citizen_client)
    page = citizen_client.get(f"{BASE}/account")
    assert "Step 4 of 4" in page.text or "Step 4 of 5" in page.text
    response = answer(citizen_client, "account", account="other")
    assert response.location.endswith(f"{BASE}/iban")
    assert "Step 5 of 5" in citizen_client.get(f"{BASE}/iban").text


def test_a_wrong_iban_keeps_what_was_typed(citizen_client):
    fill_to_check(citizen_client)
    answer(citizen_client, "account", account="other")
    page = answer(citizen_client, "iban", iban="kz43 5639 7228 1866 2012")
    assert page.status_code == 200
    assert 'value="kz43 5639 7228 1866 2012"' in page.text
    assert "IBAN: this IBAN is not valid" in page.text


def test_an_iban_in_someone_elses_name_is_refused(client):
    log_in(client, KAMILA)
    start(client)
    answer(client, "personal-details", confirmed="yes")
    answer(client, "family", confirmed="yes")
    answer(client, "child", child=client.get(f"{BASE}/child").text.split('name="child" type="radio" value="')[1][:12])
    page = answer(client, "account", account="other")
    husbands = "KZ056017131050673373"  # the Halyk account she uses, held by Yerlan
    page = answer(client, "iban", iban=husbands)
    assert "this account is not in your name" in page.text


def test_change_links_come_back_to_check_your_answers(citizen_client):
    response = fill_to_check(citizen_client)
    assert response.location.endswith(f"{BASE}/check")
    check = citizen_client.get(f"{BASE}/check")
    assert "Check your answers before signing" in check.text
    assert f'href="{BASE}/account?return=check"' in check.text
    change = citizen_client.get(f"{BASE}/account?return=check")
    assert f'href="{BASE}/check"' in change.text  # Back returns to the check page too
    response = citizen_client.post(f"{BASE}/account?return=check", data={
        "csrf_token": token(change.text), "account": "KZ000000000000000000"})
    # Not one of the options: stays on the page with an error.
    assert response.status_code == 200
    response = citizen_client.post(f"{BASE}/account?return=check", data={
        "csrf_token": token(change.text), "account": "other"})
    # A new step appears: it is asked before going back to the check page.
    assert response.location.endswith(f"{BASE}/iban")
    response = citizen_client.post(f"{BASE}/iban?return=check", data={
        "csrf_token": token(change.text), "iban": "KZ69 7226 4104 5750 0407"})
    assert response.location.endswith(f"{BASE}/check")


def test_changing_an_answer_changes_the_document(citizen_client):
    fill_to_check(citizen_client)
    first = citizen_client.get(f"{BASE}/application.xml").data
    assert citizen_client.get(f"{BASE}/application.xml").data == first
    page = citizen_client.get(f"{BASE}/account?return=check")
    other = re.findall(r'name="account" type="radio" value="(KZ\w+)"', page.text)[1]
    citizen_client.post(f"{BASE}/account?return=check", data={"csrf_token": token(page.text), "account": other})
    second = citizen_client.get(f"{BASE}/application.xml").data
    assert second != first and other.encode() in second


def test_drafts_are_listed_resumed_and_restarted(citizen_client, app):
    start(citizen_client)
    answer(citizen_client, "personal-details", confirmed="yes")
    drafts = citizen_client.get("/en/account/drafts")
    assert "Child care payment until the child turns one" in drafts.text
    again = citizen_client.get(BASE)
    assert "You have a saved draft" in again.text
    assert start(citizen_client, "resume").location.endswith(f"{BASE}/family")
    assert start(citizen_client, "restart").location.endswith(f"{BASE}/personal-details")


def test_a_draft_nearly_expired_warns_and_an_expired_one_is_gone(citizen_client, app):
    start(citizen_client)
    answer(citizen_client, "personal-details", confirmed="yes")
    with app.app_context():
        draft = db.session.scalar(db.select(ApplicationDraft).filter_by(iin="900517401370"))
        draft.expires_at = clock.now() + dt.timedelta(days=2)
        db.session.commit()
    assert "Expires soon" in citizen_client.get("/en/account/drafts").text
    assert "will be deleted on" in citizen_client.get(BASE).text
    with app.app_context():
        draft = db.session.scalar(db.select(ApplicationDraft).filter_by(iin="900517401370"))
        draft.expires_at = clock.now() - dt.timedelta(seconds=1)
        db.session.commit()
    assert "You have no drafts" in citizen_client.get("/en/account/drafts").text
    assert citizen_client.get(f"{BASE}/family").location.endswith(BASE)


def test_a_draft_can_be_deleted(citizen_client):
    start(citizen_client)
    page = citizen_client.get("/en/account/drafts")
    response = citizen_client.post(f"{BASE}/discard", data={"csrf_token": token(page.text)})
    assert response.location.endswith("/en/account/drafts")
    assert "You have no drafts" in citizen_client.get("/en/account/drafts").text


def test_state_changes_need_the_csrf_token(citizen_client):
    assert citizen_client.post(f"{BASE}/start", data={"action": "start"}).status_code == 400


def test_one_citizens_draft_is_not_anothers(citizen_client, client, app):
    fill_to_check(citizen_client)
    other = app.test_client()
    log_in(other, KAMILA)
    assert other.get(f"{BASE}/check").location.endswith(BASE)
    assert "You have no drafts" in other.get("/en/account/drafts").text


HTMX = {"HX-Request": "true", "HX-Target": "wizard", "HX-Boosted": "true"}


def test_htmx_gets_the_step_as_a_fragment_with_its_title(citizen_client):
    start(citizen_client)
    fragment = citizen_client.get(f"{BASE}/personal-details", headers=HTMX)
    assert not fragment.text.lstrip().lower().startswith("<!doctype")
    assert fragment.text.lstrip().startswith("<title>")
    assert 'id="wizard"' in fragment.text
    assert "HX-Target" in fragment.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    full = citizen_client.get(f"{BASE}/personal-details")
    assert full.text.lower().startswith("<!doctype html>")


def test_htmx_errors_come_back_in_place(citizen_client):
    start(citizen_client)
    page = citizen_client.get(f"{BASE}/personal-details")
    response = citizen_client.post(f"{BASE}/personal-details", data={"csrf_token": token(page.text)}, headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith("<title>Error:")
    assert 'data-module="error-summary"' in response.text


def test_a_whole_page_sent_to_the_wizard_target_replaces_the_body(client):
    response = client.get("/en/login", headers=HTMX)
    assert response.headers["HX-Retarget"] == "body"


def test_expired_drafts_are_purged_with_their_files_by_the_periodic_job(citizen_client, app):
    """A citizen who never comes back: the hourly job deletes the draft past its lifetime, and only that one."""
    from webapp.applications import drafts
    from webapp.jobs.queue import PURGE_APPLICATION_DRAFTS, get_huey

    start(citizen_client)
    answer(citizen_client, "personal-details", confirmed="yes")
    with app.app_context():
        draft = db.session.scalar(db.select(ApplicationDraft).filter_by(iin="900517401370"))
        stored = drafts.attachments_dir() / "purge-test"
        stored.write_bytes(b"%PDF-1.4")
        draft.attachments.append(drafts.Attachment(
            public_id="purge-test", field="care-document", stored_name="purge-test", original_name="a.pdf",
            content_type="application/pdf", size=8, sha256="0" * 64,
        ))
        db.session.commit()
        get_huey(app)
        purge = app.extensions["jobs"]["tasks"][PURGE_APPLICATION_DRAFTS]
        purge.call_local()
        assert db.session.scalar(db.select(db.func.count()).select_from(ApplicationDraft)) == 1
        draft = db.session.scalar(db.select(ApplicationDraft).filter_by(iin="900517401370"))
        draft.expires_at = clock.now() - dt.timedelta(seconds=1)
        db.session.commit()
        purge.call_local()
        assert db.session.scalar(db.select(db.func.count()).select_from(ApplicationDraft)) == 0
        assert not stored.exists()


def test_the_child_is_not_listed_twice_on_the_check_page(citizen_client):
    """Issue 13: the family's child and the answer naming the same child read as one list."""
    fill_to_check(citizen_client)
    page = citizen_client.get(f"{BASE}/check").text
    rows = re.findall(r'<dt class="q-summary-list__key">(.*?)</dt>\s*<dd class="q-summary-list__value">(.*?)</dd>',
                      page, re.S)
    keys = [key for key, _value in rows]
    assert len(keys) == len(set(keys)), keys
    # The registry's facts and the citizen's answers are under headings of their own.
    family, answers = page.split("Check your family details", 1)[1].split("Your answers", 1)
    assert "born February 3, 2026" in family and "born February 3, 2026" in answers
    assert "Child you are applying for" in answers and "Child you are applying for" not in family
