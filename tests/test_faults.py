"""Faults a citizen may meet, checked deterministically (the real thing under load:
bench/load/faults.py): the database failing at each point of a request, a worker
killed mid-job, a failing SMS gateway, an upload over the size limit."""

from __future__ import annotations

import datetime as dt
import re
from io import BytesIO

import pytest
from flask_babel import force_locale

from signing.xmldsig import sign_enveloped
from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD, csrf_token, log_in
from tests.journeys import FILES
from tests.fake_http import Reply
from tests.helpers import CHILD_CARE, assert_unavailable_page, at_check, database_down, issued, key, send, sign_and_send
from webapp import clock, recovery
from webapp.jobs import queue
from webapp.errors import PAGES
from webapp.extensions import db
from webapp.models import Application, ApplicationDraft, ApplicationEvent, OneTimeCode, SmsMessage
from webapp.provider import delivery
from webapp.sms import gateways, outbox

APPLY = f"/en/services/{CHILD_CARE}/apply"


# ── the database failing ────────────────────────────────────────────────


def test_the_503_page_is_translated(app):
    with app.test_request_context("/"):
        titles = {}
        for lang in ("kk", "ru", "en"):
            with force_locale(lang):
                titles[lang] = str(PAGES[503][0])
    assert len(set(titles.values())) == 3, titles


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_page_that_reads_the_database_answers_503(app, client, lang):
    assert log_in(client, lang=lang).status_code == 302
    with database_down(app, lambda statement: "application_drafts" in statement or "applications" in statement):
        response = client.get(f"/{lang}/account/history")
    assert_unavailable_page(app, response, lang)
    # Back without a restart: the same client goes on.
    assert client.get(f"/{lang}/account/history").status_code == 200


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_loading_the_session_from_the_database_fails_with_503(app, client, lang):
    assert log_in(client, lang=lang).status_code == 302
    with database_down(app, lambda statement: "web_sessions" in statement):
        response = client.get(f"/{lang}/account/history")
    assert_unavailable_page(app, response, lang)
    assert client.get(f"/{lang}/account/history").status_code == 200


def test_saving_the_session_fails_with_503(app, client):
    # Logging in writes the new session last, after the view made its redirect.
    token = csrf_token(client, "/ru/login")
    with database_down(app, lambda statement: statement.lstrip().upper().startswith(("INSERT", "UPDATE"))
                       and "web_sessions" in statement):
        response = client.post("/ru/login", data={"csrf_token": token, "iin": MOTHER_WITH_BABY,
                                                  "password": SANDBOX_PASSWORD})
    assert_unavailable_page(app, response, "ru")
    assert "Location" not in response.headers  # not a redirect pretending the login worked
    assert client.get("/ru/account/history").status_code == 302  # not logged in: to the login page
    assert log_in(client, lang="ru").status_code == 302


def test_a_failure_in_a_before_request_hook_answers_503(app, client):
    # Any hook that reads the database (here: one reading the citizens table) fails the same way.
    with database_down(app, lambda statement: "citizen" in statement.lower()):
        response = log_in(client, lang="kk")
    assert_unavailable_page(app, response, "kk")


def test_the_database_gone_at_teardown_keeps_the_response(app, client, monkeypatch):
    # The page is made, then the server goes: the rollback that ends the request fails.
    assert log_in(client).status_code == 302
    with app.app_context():
        dialect = db.engine.dialect

    def gone(connection):
        # The driver's own error (psycopg's or sqlite3's), as a server going away raises it.
        raise dialect.loaded_dbapi.OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(dialect, "do_rollback", gone)
    response = client.get("/en/account/history")
    monkeypatch.undo()
    assert response.status_code == 200
    assert client.get("/en/account/history").status_code == 200  # and the next request is served


def test_the_database_failing_at_commit_leaves_no_half_written_application(app, client):
    at_check(client)
    signed = sign_enveloped(issued(client), key(app))
    with app.app_context():
        draft_answers = db.session.scalar(db.select(ApplicationDraft.answers))
    with database_down(app, lambda statement: "INSERT INTO application_events" in statement):
        response = send(client, signed)
    assert_unavailable_page(app, response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 0
        assert db.session.scalar(db.select(db.func.count()).select_from(ApplicationEvent)) == 0
        assert db.session.scalar(db.select(ApplicationDraft.answers)) == draft_answers
    # The database is back: the same signed document is sent, whole.
    assert send(client, signed).status_code == 302
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.number and application.signed_xml
        assert db.session.scalar(db.select(db.func.count()).select_from(ApplicationEvent)) == 1


def test_a_wizard_answer_is_not_half_saved(app, client):
    at_check(client)
    with app.app_context():
        before = db.session.scalar(db.select(ApplicationDraft.answers))
    page = client.get(f"{APPLY}/account")
    with database_down(app, lambda statement: statement.lstrip().upper().startswith("UPDATE application_drafts".upper())):
        response = client.post(f"{APPLY}/account", data={
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1), "action": "continue",
            "account": re.search(r'name="account" type="radio" value="([^"]+)"', page.text).group(1),
        })
    assert_unavailable_page(app, response)
    with app.app_context():
        assert db.session.scalar(db.select(ApplicationDraft.answers)) == before


# ── a worker killed mid-job ─────────────────────────────────────────────


class RecordingGateway:
    """An SMS gateway that drops duplicates by idempotency key, as the operator's does."""

    name = "recording"
    keeps_text = False

    def __init__(self):
        self.posts: list[str] = []
        self.phone: dict[str, str] = {}  # idempotency key -> text, delivered once

    def send(self, sms: gateways.Sms) -> str:
        self.posts.append(sms.id)
        self.phone.setdefault(sms.id, sms.text)
        return f"gw-{sms.id}"


@pytest.fixture
def recording_gateway(app, monkeypatch):
    gateway = RecordingGateway()
    monkeypatch.setitem(app.extensions, "sms_gateway", gateway)
    return gateway


def _claim_left_by_a_dead_worker(app, message_id: int, seconds_ago: float):
    """What a worker killed mid-send leaves: the message claimed ("sending"), its job gone."""
    with app.app_context():
        db.session.execute(
            db.update(SmsMessage).where(SmsMessage.id == message_id).values(
                status=outbox.SENDING, attempts=SmsMessage.attempts + 1,
                claimed_at=clock.now() - dt.timedelta(seconds=seconds_ago))
        )
        db.session.commit()


def _lose_jobs(monkeypatch, name: str) -> None:
    """Jobs called `name` are queued nowhere, as when a worker is killed with them."""
    enqueue = queue.enqueue
    monkeypatch.setattr(queue, "enqueue", lambda job, *args, **options: None if job == name else enqueue(job, *args, **options))


def _queue_without_running(app, monkeypatch, phone="+77011234567", text="Your code 123456", redact="123456"):
    _lose_jobs(monkeypatch, queue.SEND_SMS)  # the job is lost with the worker
    with app.app_context():
        message = outbox.queue(phone, text, purpose="notice", redact=redact)
        message_id = message.id
    monkeypatch.undo()
    return message_id


def test_an_sms_left_sending_by_a_killed_worker_is_sent_once(app, monkeypatch, recording_gateway):
    message_id = _queue_without_running(app, monkeypatch)
    monkeypatch.setitem(app.extensions, "sms_gateway", recording_gateway)
    stale = app.config["JOBS_STALE_SECONDS"]
    _claim_left_by_a_dead_worker(app, message_id, seconds_ago=stale / 2)
    with app.app_context():
        assert not recovery.sweep()  # a claim younger than the timeout may be a live, slow worker
    _claim_left_by_a_dead_worker(app, message_id, seconds_ago=stale + 1)
    with app.app_context():
        swept = recovery.sweep()
        assert swept.sms_requeued == [message_id]
        message = db.session.get(SmsMessage, message_id)
        assert message.status == outbox.SENT
        assert "123456" not in message.text and message.redact is None  # the code blanked, as on a first send
        # A second sweep, and the lost job coming back late, send nothing more.
        assert not recovery.sweep()
        assert outbox.deliver(message_id) == outbox.SENT
    assert recording_gateway.posts == [message.public_id]


def test_an_sms_whose_job_never_ran_is_sent_once(app, monkeypatch, recording_gateway):
    message_id = _queue_without_running(app, monkeypatch)
    monkeypatch.setitem(app.extensions, "sms_gateway", recording_gateway)
    with app.app_context():
        later = clock.now() + dt.timedelta(seconds=app.config["JOBS_STALE_SECONDS"] + 1)
        assert recovery.sweep(now=later).sms_requeued == [message_id]
        assert db.session.get(SmsMessage, message_id).status == outbox.SENT
        assert not recovery.sweep(now=later)
    assert len(recording_gateway.posts) == 1


def test_two_sweepers_send_a_stale_message_once(app, monkeypatch, recording_gateway):
    message_id = _queue_without_running(app, monkeypatch)
    monkeypatch.setitem(app.extensions, "sms_gateway", recording_gateway)
    _claim_left_by_a_dead_worker(app, message_id, seconds_ago=app.config["JOBS_STALE_SECONDS"] + 1)
    with app.app_context():
        first, second = recovery.sweep(), recovery.sweep()
    assert first.sms_requeued == [message_id] and not second
    assert len(recording_gateway.posts) == 1


def test_an_expired_code_left_by_a_killed_worker_is_failed_not_sent(app, client, monkeypatch, recording_gateway):
    from tests.helpers import ask_for_password

    at_check(client)
    _lose_jobs(monkeypatch, queue.SEND_SMS)
    assert ask_for_password(client).status_code == 302
    with app.app_context():
        code = db.session.scalar(db.select(OneTimeCode))
        message_id = code.message_id
        expires_at = code.expires_at
    _claim_left_by_a_dead_worker(app, message_id, seconds_ago=app.config["JOBS_STALE_SECONDS"] + 1)
    after_expiry = (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=dt.timezone.utc)) + dt.timedelta(seconds=1)
    with app.app_context():
        assert recovery.sweep(now=after_expiry).sms_failed == [message_id]
        message = db.session.get(SmsMessage, message_id)
        assert message.status == outbox.FAILED and not re.search(r"\b\d{6}\b", message.text)
    assert recording_gateway.posts == []


def _submit_without_delivery(app, client, monkeypatch) -> Application:
    _lose_jobs(monkeypatch, queue.DELIVER_APPLICATION)
    at_check(client)
    assert sign_and_send(app, client).status_code == 302
    monkeypatch.undo()
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        db.session.expunge(application)
        return application


class RecordingProvider:
    name = "recording"

    def __init__(self):
        self.keys: list[str] = []
        self.told: list[str] = []

    def deliver(self, handover):
        self.keys.append(handover.number)
        return f"ref-{handover.number}"

    def delivered(self, handover):
        self.told.append(handover.number)  # e.g. the sandbox's automatic decision: once


def test_a_hand_over_left_by_a_killed_worker_is_delivered_once(app, client, monkeypatch):
    application = _submit_without_delivery(app, client, monkeypatch)
    provider = RecordingProvider()
    monkeypatch.setitem(app.extensions, "provider_gateway", provider)
    stale = app.config["JOBS_STALE_SECONDS"]
    with app.app_context():
        # The worker claimed it, then was killed before the provider answered.
        db.session.execute(db.update(Application).where(Application.id == application.id).values(
            delivery_claimed_at=clock.now() - dt.timedelta(seconds=stale / 2), delivery_attempts=1))
        db.session.commit()
        assert delivery.deliver(application.id) == delivery.BUSY  # a live claim is not taken over
        assert not recovery.sweep()
        db.session.execute(db.update(Application).where(Application.id == application.id).values(
            delivery_claimed_at=clock.now() - dt.timedelta(seconds=stale + 1)))
        db.session.commit()
        assert recovery.sweep().deliveries_requeued == [application.id]
        assert db.session.get(Application, application.id).delivered_at is not None
        assert not recovery.sweep()
        assert delivery.deliver(application.id) == delivery.ALREADY_DELIVERED
    assert provider.keys == [application.number]
    assert provider.told == [application.number]


def test_a_hand_over_whose_job_never_ran_is_delivered_once(app, client, monkeypatch):
    application = _submit_without_delivery(app, client, monkeypatch)
    provider = RecordingProvider()
    monkeypatch.setitem(app.extensions, "provider_gateway", provider)
    with app.app_context():
        later = clock.now() + dt.timedelta(seconds=app.config["JOBS_STALE_SECONDS"] + 1)
        assert recovery.sweep().deliveries_requeued == []  # too recent: its job may be waiting in the queue
        assert recovery.sweep(now=later).deliveries_requeued == [application.id]
        assert not recovery.sweep(now=later)
    assert provider.keys == [application.number] and provider.told == [application.number]


def test_a_failed_hand_over_releases_its_claim_for_the_retry(app, client, monkeypatch):
    application = _submit_without_delivery(app, client, monkeypatch)

    class Down(RecordingProvider):
        def deliver(self, handover):
            self.keys.append(handover.number)
            raise delivery.TemporaryFailure("provider answered HTTP 503")

    provider = Down()
    monkeypatch.setitem(app.extensions, "provider_gateway", provider)
    with app.app_context():
        with pytest.raises(delivery.TemporaryFailure):
            delivery.deliver(application.id, final=False)
        row = db.session.get(Application, application.id)
        assert row.delivery_claimed_at is None and row.delivery_attempts == 1 and row.delivered_at is None
        monkeypatch.setitem(app.extensions, "provider_gateway", RecordingProvider())
        assert delivery.deliver(application.id) == delivery.DELIVERED


# ── the SMS gateway failing ─────────────────────────────────────────────


@pytest.fixture
def flaky(app, monkeypatch, http_server):
    """The operator's HTTP gateway on 127.0.0.1: 500 for the first `failures` posts, then 200."""

    def start(failures: int):
        server = http_server(lambda received: Reply(500) if len(server.requests) <= failures
                             else Reply(200, b'{"id": "gw-1"}', "application/json"))
        monkeypatch.setitem(app.extensions, "sms_gateway", gateways.HttpGateway(server.url("/sms"), timeout=2))
        return server

    return start


def delivered(server, failures: int) -> dict[str, str]:
    """What reached the phone: each idempotency key's text once, from the posts answered 200."""
    texts: dict[str, str] = {}
    for received in server.requests[failures:]:
        texts.setdefault(received.json()["id"], received.json()["text"])
    return texts


def test_a_gateway_that_fails_then_recovers_delivers_the_password_once(app, client, flaky, monkeypatch):
    from tests.helpers import ask_for_password

    gateway = flaky(failures=2)  # the retries (SMS_SEND_RETRIES) outlast it
    at_check(client)
    response = ask_for_password(client)
    assert response.status_code == 302
    with app.app_context():
        message = db.session.scalar(db.select(SmsMessage))
        assert message.status == outbox.SENT and message.attempts == 3
    assert gateway.header("Idempotency-Key") == [message.public_id] * 3
    assert list(delivered(gateway, 2)) == [message.public_id]
    # The code that reached the phone signs the application.
    code = re.search(r"\b(\d{6})\b", delivered(gateway, 2)[message.public_id]).group(1)
    page = response.location
    entered = client.post(page, data={"csrf_token": csrf_token(client, page), "code": code})
    assert entered.status_code == 302 and entered.location.endswith("/sent")


def test_a_gateway_that_stays_down_is_shown_to_the_citizen(app, client, flaky):
    from tests.helpers import ask_for_password

    gateway = flaky(failures=100)
    at_check(client)
    response = ask_for_password(client)
    page = client.get(response.location)
    assert "We could not send the SMS" in page.text
    assert len(gateway.requests) == app.config["SMS_SEND_RETRIES"] + 1
    assert delivered(gateway, 100) == {}
    # The page offers EDS and a new password; the draft is kept.
    assert 'name="challenge"' in page.text
    assert client.get(f"{APPLY}/check").status_code == 200


def test_while_the_gateway_is_being_retried_the_citizen_is_told(app, client, monkeypatch):
    from tests.helpers import ask_for_password

    _lose_jobs(monkeypatch, queue.SEND_SMS)  # the retry is due, not run yet
    at_check(client)
    response = ask_for_password(client)
    with app.app_context():
        db.session.execute(db.update(SmsMessage).values(attempts=1, last_error="gateway answered HTTP 500"))
        db.session.commit()
    fragment = client.get(response.location, headers={"HX-Request": "true", "HX-Target": "sms-status"})
    assert "not answering yet; we keep trying" in fragment.text
    assert 'hx-trigger="every 1s"' in fragment.text  # and the page keeps watching


# ── an upload over the limit ────────────────────────────────────────────


MATERNITY = "maternity-and-adoption"


def test_an_oversized_upload_answers_413_and_keeps_the_draft(app, client):
    at_check(client, MATERNITY)
    step = f"/en/services/{MATERNITY}/apply/certificate-files"
    with app.app_context():
        before = db.session.scalar(db.select(ApplicationDraft.answers))
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1024 * 1024
    response = client.post(step, data={
        "csrf_token": csrf_token(client, step), "action": "continue",
        "certificate_files": (BytesIO(b"%PDF-1.4\n" + b"0" * too_big), "scan.pdf"),
    }, content_type="multipart/form-data")
    assert response.status_code == 413
    assert str(PAGES[413][0]) in response.text and "what you entered is kept" in response.text
    with app.app_context():
        assert db.session.scalar(db.select(ApplicationDraft.answers)) == before
    # The citizen goes back, chooses a smaller file and continues.
    again = client.post(step, data={
        "csrf_token": csrf_token(client, step), "action": "continue",
        "certificate_files": (BytesIO((FILES / "certificate.pdf").read_bytes()), "certificate.pdf"),
    }, content_type="multipart/form-data")
    assert again.status_code == 302, again.text[:1500]
    assert client.get(f"/en/services/{MATERNITY}/apply/check").status_code == 200


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_413_page_is_translated(app, client, lang):
    response = client.post(f"/{lang}/login", data={"iin": "x" * (13 * 1024 * 1024)})
    assert response.status_code == 413
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        title = str(PAGES[413][0])
    with app.test_request_context("/"), force_locale("en"):
        english = str(PAGES[413][0])
    assert title in response.text and title != english
