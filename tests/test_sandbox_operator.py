"""The sandbox operator console: the provider official's list and actions, each a
signed message through the same inbox as /provider/messages, and the
automatic mode that decides by the rules."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from tests.conftest import MOTHER_WITH_BABY, csrf_token
from tests.helpers import at_check, operator_acts, operator_page, sign_and_send, stored_application
from webapp import clock, create_app
from webapp.jobs import queue as jobs
from webapp.extensions import db
from webapp.models import Application, ApplicationEvent, Notification
from webapp.provider import delivery, lifecycle
from webapp.sandbox import auto_decide
from webapp.sandbox.gateways import SandboxProvider
from webapp.sandbox.provider import say

CHILD_CARE = "child-care-under-one"
# Her only child's birth was registered on 2006-04-20, before 13 August 2007 (webapp/sandbox/citizens.yaml).
BIRTH_BEFORE_2007 = "811108409267"
HER_SON = "060412514529"
MONDAY = dt.datetime(2026, 11, 23, 9, tzinfo=dt.timezone.utc)
# Three working days after Monday 23 November 2026.
THURSDAY = dt.datetime(2026, 11, 26, 9, tzinfo=dt.timezone.utc)


def state(app, number) -> Application:
    with app.app_context():
        application = db.session.scalar(db.select(Application).filter_by(number=number))
        db.session.expunge(application)
        return application


def notifications(app, number) -> list[str]:
    with app.app_context():
        application = db.session.scalar(db.select(Application).filter_by(number=number))
        return list(db.session.scalars(
            db.select(Notification.kind).filter_by(application_id=application.id).order_by(Notification.id)
        ))


def problem(response) -> str:
    found = re.search(r'q-error-summary__list">\s*<li>(?:<a href="[^"]*">)?(.*?)(?:</a>)?</li>', response.text, re.S)
    assert found, response.text[:3000]
    return found.group(1)


def date_fields(name: str, day: dt.date) -> dict:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


# ── the list ────────────────────────────────────────────────────────────


def test_the_short_address_redirects_to_the_testers_language(client):
    response = client.get("/sandbox/operator?status=registered", headers={"Accept-Language": "ru"})
    assert response.status_code == 302
    assert response.location.endswith("/ru/sandbox/operator?status=registered")


def test_the_list_shows_applications_newest_first_with_an_overdue_flag(app, client):
    older = stored_application(app, submitted_at=MONDAY - dt.timedelta(days=20), due_on=dt.date(2026, 11, 13))
    newer = stored_application(app, BIRTH_BEFORE_2007, {"child": HER_SON}, submitted_at=MONDAY)
    page = client.get("/en/sandbox/operator")
    assert page.status_code == 200
    text = page.text
    assert text.index(newer) < text.index(older)
    rows = {number: row for row in re.findall(r"<tr>.*?</tr>", text, re.S) for number in (older, newer) if number in row}
    assert "Overdue" in rows[older] and "Overdue" not in rows[newer]
    assert BIRTH_BEFORE_2007 in rows[newer] and "Child care payment until the child turns one" in rows[newer]
    assert ">New<" in rows[newer] and "December 3, 2026" in rows[newer]


def test_the_list_filters_by_status(app, client):
    first = stored_application(app)
    second = stored_application(app, BIRTH_BEFORE_2007, {"child": HER_SON})
    with app.test_request_context():
        say(second, "registered", at=MONDAY)
    page = client.get("/en/sandbox/operator", query_string={"status": "registered"})
    assert second in page.text and first not in page.text
    assert '<option value="registered" selected>' in page.text
    page = client.get("/en/sandbox/operator", query_string={"status": "refused"})
    assert first not in page.text and second not in page.text and "No applications with this status" in page.text
    # An unknown status filters nothing.
    page = client.get("/en/sandbox/operator", query_string={"status": "<script>"})
    assert first in page.text and second in page.text


def test_an_unknown_application_is_not_found(client):
    assert client.get(operator_page("2099-9999999")).status_code == 404


# ── the application page and its actions ────────────────────────────────


def test_the_page_offers_what_the_lifecycle_allows_now(app, client):
    number = stored_application(app)
    page = client.get(operator_page(number))
    assert page.status_code == 200
    forms = re.findall(rf'action="/en/sandbox/operator/applications/{number}/([a-z_]+)"', page.text)
    assert forms == ["auto", "registered"]
    assert "The automatic rules would assign" in page.text
    with app.test_request_context():
        say(number, "registered", at=MONDAY)
    page = client.get(operator_page(number))
    forms = re.findall(rf'action="/en/sandbox/operator/applications/{number}/([a-z_]+)"', page.text)
    assert forms == ["auto", "in_processing", "documents_requested", "provisional_refusal", "assigned"]
    # The assignment starts from the rules' amount and period: from the birth to the first birthday.
    assert 'value="43250.00"' in page.text


def test_every_action_through_the_page(app, client):
    number = stored_application(app)
    assert operator_acts(client, number, "registered").status_code == 302
    assert state(app, number).status == "registered"
    # In processing, with the term extended (8 working days, extendable to 8: so within it).
    response = operator_acts(client, number, "in_processing", **date_fields("due_on", dt.date(2026, 12, 3)))
    assert response.status_code == 200 and "must be on or after" in problem(response)
    assert operator_acts(client, number, "in_processing").status_code == 302
    assert state(app, number).status == "in_processing"
    response = operator_acts(client, number, "documents_requested",
                   documents="Birth certificate issued abroad\n\n  Marriage certificate  ")
    assert response.status_code == 302
    application = state(app, number)
    assert application.status == "documents_requested" and application.citizen_due_on is not None
    page = client.get(response.location)
    assert "The signed message was accepted" in page.text
    assert "Document requested: Birth certificate issued abroad" in page.text
    assert "Document requested: Marriage certificate" in page.text
    # The citizen provides them (her own step, not the console's).
    with app.app_context():
        record = db.session.scalar(db.select(Application).filter_by(number=number))
        lifecycle.record(record, "documents_provided", at=MONDAY + dt.timedelta(hours=2), data={})
        db.session.commit()
    response = operator_acts(client, number, "provisional_refusal", reason="The birth was registered abroad.")
    assert response.status_code == 302 and state(app, number).status == "provisional_refusal"
    # The hearing: a refusal today is refused, and the page says why and until when.
    response = operator_acts(client, number, "refused", reason="The birth was registered abroad.")
    assert response.status_code == 409
    assert "3 working days after the provisional refusal" in problem(response)
    assert state(app, number).status == "provisional_refusal"
    assert "The birth was registered abroad." in response.text  # what was typed is kept
    # Dated after the hearing, it is accepted.
    with app.app_context():
        today = clock.today()
    from webapp.working_days import WorkingCalendar

    after_hearing = WorkingCalendar().add(today, lifecycle.HEARING_WORKING_DAYS)
    response = operator_acts(client, number, "refused", reason="The birth was registered abroad.",
                   **date_fields("dated", after_hearing))
    assert response.status_code == 302
    assert state(app, number).status == "refused"
    assert notifications(app, number) == [
        "registered", "in_processing", "documents_requested", "provisional_refusal", "refused",
    ]
    # A decided application offers nothing more.
    page = client.get(operator_page(number))
    assert "Nothing now" in page.text
    assert not re.findall(rf'action="/en/sandbox/operator/applications/{number}/', page.text)


def test_assign_through_the_page(app, client):
    number = stored_application(app)
    operator_acts(client, number, "registered")
    response = operator_acts(client, number, "assigned", amount="54 321,50",
                   **date_fields("period_from", dt.date(2026, 2, 3)), **date_fields("period_to", dt.date(2027, 2, 3)))
    assert response.status_code == 302
    assert state(app, number).status == "assigned"
    with app.app_context():
        notification = db.session.scalar(db.select(Notification).filter_by(kind="assigned"))
        assert notification.data == {"amount": "54321.50", "period_from": "2026-02-03", "period_to": "2027-02-03"}
        assert notification.provider_message_id is not None  # signed, through the inbox
    newest = client.get("/sandbox/sms.json", query_string={"iin": MOTHER_WITH_BABY}).get_json()[0]
    assert number in newest["text"] and "approved" in newest["text"]


def test_form_errors_are_shown_with_what_was_typed(app, client):
    number = stored_application(app)
    operator_acts(client, number, "registered")
    response = operator_acts(client, number, "assigned", amount="a lot", **{"period_from-day": "31", "period_from-month": "2",
                                                                   "period_from-year": "2026"})
    assert response.status_code == 200
    assert response.text.split("</title>")[0].count("Error:") == 1
    summary = re.findall(r'<li><a href="(#[^"]+)">', response.text.split("q-error-summary__list")[1].split("</ul>")[0])
    assert summary == ["#assigned-amount", "#assigned-period-from-day", "#assigned-period-to-day"]
    assert 'value="a lot"' in response.text and 'value="31"' in response.text
    assert 'aria-invalid="true"' in response.text
    response = operator_acts(client, number, "provisional_refusal", reason="   ")
    assert "Reason: enter it to send the message" in problem(response)
    response = operator_acts(client, number, "documents_requested", documents="\n \n")
    assert "enter at least one document" in problem(response)
    assert state(app, number).status == "registered"


def test_a_step_the_lifecycle_does_not_allow_is_explained(app, client):
    number = stored_application(app)
    response = operator_acts(client, number, "assigned", amount="100", **date_fields("period_from", dt.date(2026, 2, 3)),
                   **date_fields("period_to", dt.date(2027, 2, 3)))
    assert response.status_code == 409
    assert "An application that is “New” cannot become “Assigned”" in problem(response)
    assert state(app, number).status == "sent"
    assert client.post(f"{operator_page(number)}/withdrawn", data={"csrf_token": csrf_token(client, operator_page(number))}).status_code == 404


def test_a_decision_after_an_objection_refers_to_it(app, client):
    number = stored_application(app)
    with app.test_request_context():
        say(number, "registered", at=MONDAY - dt.timedelta(days=7))
        say(number, "provisional_refusal", at=MONDAY - dt.timedelta(days=7), reason="No birth record.")
    with app.app_context():
        record = db.session.scalar(db.select(Application).filter_by(number=number))
        lifecycle.record(record, "objection", at=MONDAY - dt.timedelta(days=6),
                         data={"request": "O-2026-0000001", "text": "The birth is on record since February."})
        db.session.commit()
    page = client.get(operator_page(number))
    assert "O-2026-0000001" in page.text and "The birth is on record since February." in page.text
    response = operator_acts(client, number, "refused", reason="No birth record.")
    assert response.status_code == 302
    with app.app_context():
        refusal = db.session.scalar(db.select(Notification).filter_by(kind="refused"))
        assert refusal.data["objection"] == "O-2026-0000001"


def test_actions_need_the_csrf_token(app, client):
    number = stored_application(app)
    assert client.post(f"{operator_page(number)}/registered").status_code == 400
    assert state(app, number).status == "sent"


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_console_in_another_language(app, client, lang):
    number = stored_application(app)
    listing = client.get(f"/{lang}/sandbox/operator")
    assert listing.status_code == 200 and f'<html lang="{lang}">' in listing.text
    assert number in listing.text
    page = client.get(operator_page(number, lang))
    assert page.status_code == 200
    response = operator_acts(client, number, "registered", lang=lang)
    assert response.status_code == 302 and response.location.endswith(operator_page(number, lang))
    assert state(app, number).status == "registered"
    assert f'<html lang="{lang}">' in client.get(response.location).text


def test_the_signed_application_can_be_downloaded(app, client):
    number = stored_application(app)
    response = client.get(f"{operator_page(number)}/signed.xml")
    assert response.data == b"<signed/>" and response.mimetype == "application/xml"


def test_there_is_no_operator_console_in_production(tmp_path, monkeypatch):
    from tests.production import production_environment

    for name, value in production_environment(tmp_path, PROVIDER_GATEWAY="").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("QYZMET_ENV", "production")
    app = create_app()
    assert not [rule.rule for rule in app.url_map.iter_rules() if "operator" in rule.rule]
    assert app.test_client().get("/sandbox/operator").status_code == 404
    assert app.test_client().get("/en/sandbox/operator").status_code == 404
    assert app.config["PROVIDER_GATEWAY"] != "sandbox" and app.config["SANDBOX_AUTO_DECIDE"] is False
    with app.app_context():
        assert auto_decide.AUTO_DECIDE not in jobs.registered(app)
        assert jobs.DELIVER_APPLICATION in jobs.registered(app)


# ── the automatic mode ──────────────────────────────────────────────────


@pytest.fixture
def automatic(app, monkeypatch):
    """The sandbox provider in automatic mode, deciding at once (Huey's immediate mode has no scheduler)."""
    monkeypatch.setitem(app.extensions, "provider_gateway", SandboxProvider(auto_decide=True, auto_decide_seconds=0))


def test_automatic_mode_assigns_an_eligible_child_care_application(app, client, automatic):
    at_check(client)
    response = sign_and_send(app, client)
    assert response.status_code == 302
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.delivered_at is not None and application.status == "assigned"
        statuses = db.session.scalars(
            db.select(ApplicationEvent.status).filter_by(application_id=application.id).order_by(ApplicationEvent.id)
        ).all()
        assert statuses == ["sent", "registered", "assigned"]
        assigned = db.session.scalar(db.select(Notification).filter_by(kind="assigned"))
        # 10 MRP a month (4 325 tenge in 2026), from the daughter's birth to her first birthday.
        assert assigned.data == {"amount": "43250.00", "period_from": "2026-02-03", "period_to": "2027-02-03"}


def test_automatic_mode_refuses_a_birth_registered_before_2007(app, automatic):
    number = stored_application(app, BIRTH_BEFORE_2007, {"child": HER_SON, "account": "KZ000000000000000000"}, language="ru")
    with app.app_context():
        application_id = db.session.scalar(db.select(Application.id).filter_by(number=number))
        delivery.enqueue(application_id)
    application = state(app, number)
    assert application.delivered_at is not None and application.status == "refused"
    with app.app_context():
        events = db.session.scalars(
            db.select(ApplicationEvent).filter_by(application_id=application.id).order_by(ApplicationEvent.id)
        ).all()
        assert [e.status for e in events] == ["sent", "registered", "provisional_refusal", "refused"]
        notice, refusal = events[2], events[3]
        # The hearing rule holds: the refusal is dated 3 working days after the provisional refusal.
        assert refusal.data["reason"] == notice.data["reason"]
        assert "13 августа 2007" in refusal.data["reason"]  # the definition's reason, in her language
        assert notifications(app, number) == ["registered", "provisional_refusal", "refused"]


def test_automatic_decisions_are_dated_so_the_hearing_rule_holds(app):
    number = stored_application(app, BIRTH_BEFORE_2007, {"child": HER_SON})
    with app.app_context():
        application_id = db.session.scalar(db.select(Application.id).filter_by(number=number))
        decision = auto_decide.decide_application(application_id, at=MONDAY)
        assert decision is not None and not decision.assign
        events = db.session.scalars(
            db.select(ApplicationEvent).filter_by(application_id=application_id).order_by(ApplicationEvent.id)
        ).all()
        moments = [(e.status, e.at.replace(tzinfo=dt.timezone.utc)) for e in events[1:]]
        assert moments == [("registered", MONDAY), ("provisional_refusal", MONDAY), ("refused", THURSDAY)]
        # Decided once: a second run changes nothing.
        assert auto_decide.decide_application(application_id, at=MONDAY) is None


def test_the_rules_check_the_chosen_record_against_the_registry(app):
    # The mother's daughter is under one and her birth is on record; a son she does not have is not.
    eligible = stored_application(app)
    unknown_child = stored_application(app, answers={"child": HER_SON, "account": "KZ435639722818662011"})
    with app.app_context():
        for number, assign in ((eligible, True), (unknown_child, False)):
            application = db.session.scalar(db.select(Application).filter_by(number=number))
            decision = auto_decide.evaluate(application, today=dt.date(2026, 11, 23))
            assert decision.assign is assign, decision
        assert decision.reasons == [
            "Child you are applying for: the choice in the application is not among the records the state database"
            " holds for the applicant today."
        ]
        # A year later the daughter is over one: the same application would be refused.
        application = db.session.scalar(db.select(Application).filter_by(number=eligible))
        assert not auto_decide.evaluate(application, today=dt.date(2027, 3, 1)).assign
        assert auto_decide.evaluate(application, today=dt.date(2026, 11, 23)).amount == Decimal("43250.00")


def test_decide_by_the_rules_from_the_page(app, client):
    number = stored_application(app)
    token = csrf_token(client, operator_page(number))
    response = client.post(f"{operator_page(number)}/auto", data={"csrf_token": token})
    assert response.status_code == 302
    assert state(app, number).status == "assigned"
    assert "Decided by the rules" in client.get(response.location).text
    response = client.post(f"{operator_page(number)}/auto", data={"csrf_token": token})
    assert response.status_code == 409 and "new or registered" in problem(response)


def test_a_real_consumer_decides_after_the_delay(app, monkeypatch, tmp_path):
    """Not in immediate mode: SQLite-backed Huey, a consumer in threads, the decision scheduled after delivery."""
    import time

    monkeypatch.setitem(app.config, "HUEY_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "HUEY_SQLITE_PATH", str(tmp_path / "huey.sqlite3"))
    monkeypatch.setitem(app.extensions, "jobs", {**app.extensions["jobs"], "huey": None, "tasks": {}, "consumer": None})
    monkeypatch.setitem(app.extensions, "provider_gateway", SandboxProvider(auto_decide=True, auto_decide_seconds=1))
    number = stored_application(app)
    with app.app_context():
        delivery.enqueue(db.session.scalar(db.select(Application.id).filter_by(number=number)))
    assert state(app, number).delivered_at is None  # queued, not yet run
    with app.app_context():
        jobs.start_consumer(app, workers=1)
        try:
            deadline = time.monotonic() + 20
            while state(app, number).status != "assigned" and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            jobs.stop_consumer(app)
    application = state(app, number)
    assert application.status == "assigned" and application.delivered_at is not None
    assert notifications(app, number) == ["registered", "assigned"]


# Saule: the state database records her periods near the Semipalatinsk test site (webapp/sandbox/citizens.yaml).
SEMIPALATINSK_CITIZEN = "610925477645"


def test_a_one_off_compensation_is_assigned_once_not_monthly(app, client):
    """Issue 13: the Semipalatinsk one-off compensation was offered as a monthly amount with a period."""
    number = stored_application(app, SEMIPALATINSK_CITIZEN, {"account": "KZ886016101406349445"}, slug="semipalatinsk-compensation")
    page = client.get(operator_page(number)).text
    assert "paid once" in page and "a month" not in page and "Monthly amount" not in page
    operator_acts(client, number, "registered")
    page = client.get(operator_page(number)).text
    assert "Amount paid once" in page and 'name="period_from-day"' not in page
    response = operator_acts(client, number, "assigned", amount="519000")
    assert response.status_code == 302, problem(response)
    with app.app_context():
        notification = db.session.scalar(db.select(Notification).filter_by(kind="assigned"))
        assert notification.data == {"amount": "519000.00"}
    assert "Amount paid once: ₸519,000.00" in client.get(operator_page(number)).text
    # The rules assign one amount, without a period.
    with app.app_context():
        other = db.session.scalar(db.select(Application).filter_by(number=stored_application(app, SEMIPALATINSK_CITIZEN,
                                  {"account": "KZ886016101406349445"}, slug="semipalatinsk-compensation")))
        decision = auto_decide.evaluate(other, today=dt.date(2026, 11, 23))
    assert decision.assign and decision.period is None and decision.amount == Decimal("519000.00")


def test_a_monthly_payment_still_has_its_period(app, client):
    number = stored_application(app)
    page = client.get(operator_page(number)).text
    assert "a month, from" in page
    operator_acts(client, number, "registered")
    assert 'name="period_from-day"' in client.get(operator_page(number)).text
