"""Handing sent applications over to the service provider: the sandbox adapter,
the HTTP adapter against a fake provider on 127.0.0.1, retries, never twice,
and a queue that is down never costing the citizen the application."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.fake_http import FakeHttpServer, Reply, scripted
from tests.helpers import at_check, sign_and_send
from webapp.config import ConfigError, ProductionConfig
from webapp.extensions import db
from webapp.models import Application
from webapp.provider import delivery
from webapp.provider.delivery import Handover, HttpProvider, PermanentFailure, TemporaryFailure
from webapp.sandbox import auto_decide, gateways
from webapp.sandbox.gateways import SandboxProvider

USER, PASSWORD = "qyzmet", "provider-secret"


def _reply(status: int, _count: int) -> Reply:
    return Reply(status, b"received" if status < 300 else b"no")


def adapter(server: FakeHttpServer, password: str = PASSWORD, timeout: float = 2) -> HttpProvider:
    return HttpProvider(server.url("/applications"), USER, password, timeout=timeout)


@pytest.fixture
def fake(http_server):
    """The provider's system on 127.0.0.1, answering each POST by a script (see tests.fake_http.scripted)."""
    return lambda *script: http_server(scripted(script, USER, PASSWORD, _reply))


@pytest.fixture
def quick_retries(app, monkeypatch):
    """Huey's immediate mode runs no scheduler: retries must follow at once."""
    monkeypatch.setitem(app.config, "PROVIDER_RETRY_DELAY", 0)
    monkeypatch.setitem(app.config, "PROVIDER_RETRIES", 3)


def use(app, monkeypatch, adapter):
    monkeypatch.setitem(app.extensions, "provider_gateway", adapter)


def submit(app, client) -> Application:
    """The mother of a baby sends her child-care application, signed with EDS."""
    at_check(client)
    response = sign_and_send(app, client)
    assert response.status_code == 302, response.text[:2000]
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        db.session.expunge(application)
        return application


def delivered_at(app, application_id):
    with app.app_context():
        return db.session.get(Application, application_id).delivered_at


# ── the sandbox adapter ─────────────────────────────────────────────────


def test_a_sent_application_is_delivered_to_the_sandbox_provider(app, client):
    application = submit(app, client)
    assert application.delivered_at is not None
    assert application.status == "sent"  # the provider decides later (automatic mode is off)


def test_the_sandbox_adapter_schedules_the_automatic_decision_only_in_automatic_mode(app, monkeypatch):
    scheduled = []
    monkeypatch.setattr(auto_decide, "schedule", lambda application_id, delay=0: scheduled.append((application_id, delay)))
    handover = Handover(7, "2026-0000007", "child-care-under-one", b"<x/>")
    with app.app_context():
        assert SandboxProvider().deliver(handover) == "sandbox-2026-0000007"
        SandboxProvider().delivered(handover)
        assert scheduled == []
        SandboxProvider(auto_decide=True, auto_decide_seconds=30).delivered(handover)
    assert scheduled == [(7, 30)]


# ── the HTTP adapter on its own ─────────────────────────────────────────


def test_http_provider_posts_the_signed_xml_with_an_idempotency_key(fake):
    server = fake(201)
    reference = adapter(server).deliver(Handover(1, "2026-0000001", "child-care-under-one", b"<signed/>"))
    assert reference == "received"
    [request] = server.requests
    assert request.body == b"<signed/>"
    assert request.headers["Content-Type"].startswith("application/xml")
    assert request.headers["Idempotency-Key"] == "2026-0000001"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"qyzmet:provider-secret").decode()
    assert "provider-secret" not in repr(adapter(server))


@pytest.mark.parametrize(
    "status, failure",
    [(400, PermanentFailure), (401, PermanentFailure), (404, PermanentFailure), (302, PermanentFailure),
     (429, TemporaryFailure), (500, TemporaryFailure), (503, TemporaryFailure)],
)
def test_http_provider_failures(fake, status, failure):
    server = fake(status)
    with pytest.raises(failure, match=str(status)):
        adapter(server).deliver(Handover(1, "2026-0000001", "x", b"<signed/>"))
    assert len(server.requests) == 1


def test_http_provider_timeout_and_no_answer_are_temporary(fake):
    server = fake(("slow", 1.0, 200))
    with pytest.raises(TemporaryFailure, match="timed out"):
        adapter(server, timeout=0.2).deliver(Handover(1, "n", "x", b"<signed/>"))
    closed = FakeHttpServer(scripted((), USER, PASSWORD, _reply))
    url = closed.url("/applications")
    closed.close()
    with pytest.raises(TemporaryFailure):
        HttpProvider(url, USER, PASSWORD, timeout=1).deliver(Handover(1, "n", "x", b"<signed/>"))


# ── the delivery job ────────────────────────────────────────────────────


def test_the_job_delivers_the_signed_application_once(app, client, fake, monkeypatch, quick_retries):
    server = fake(200)
    use(app, monkeypatch, adapter(server))
    application = submit(app, client)
    assert application.delivered_at is not None
    [request] = server.requests
    assert request.body == application.signed_xml
    assert request.headers["Idempotency-Key"] == application.number
    # A duplicate or late job for the same application does nothing.
    with app.app_context():
        delivery.enqueue(application.id)
        assert delivery.deliver(application.id) == delivery.ALREADY_DELIVERED
    assert len(server.requests) == 1
    assert delivered_at(app, application.id) == application.delivered_at


def test_a_server_error_is_retried_with_the_same_idempotency_key(app, client, fake, monkeypatch, quick_retries):
    server = fake(500, 503, 200)
    use(app, monkeypatch, adapter(server))
    application = submit(app, client)
    assert application.delivered_at is not None
    assert server.header("Idempotency-Key") == [application.number] * 3


def test_a_timeout_is_retried(app, client, fake, monkeypatch, quick_retries):
    server = fake(("slow", 1.0, 200), 200)
    use(app, monkeypatch, adapter(server, timeout=0.2))
    application = submit(app, client)
    assert application.delivered_at is not None
    assert server.header("Idempotency-Key") == [application.number] * 2


def test_a_refused_delivery_is_not_retried(app, client, fake, monkeypatch, quick_retries):
    server = fake(400)
    use(app, monkeypatch, adapter(server))
    application = submit(app, client)
    assert application.delivered_at is None
    assert len(server.requests) == 1
    assert application.status == "sent"  # stored; the citizen's page was not broken


def test_wrong_credentials_are_not_retried(app, client, fake, monkeypatch, quick_retries):
    server = fake(200)
    use(app, monkeypatch, adapter(server, password="wrong"))
    application = submit(app, client)
    assert application.delivered_at is None and len(server.requests) == 1


def test_a_provider_that_stays_down_is_given_up_after_the_retries(app, client, fake, monkeypatch, quick_retries):
    server = fake(500)
    use(app, monkeypatch, adapter(server))
    application = submit(app, client)
    assert application.delivered_at is None
    assert len(server.requests) == 1 + app.config["PROVIDER_RETRIES"]
    # Later, by hand or by a new job, it is delivered, once.
    server.answer.script = [200]
    with app.app_context():
        assert delivery.deliver(application.id) == delivery.DELIVERED
        assert delivery.deliver(application.id) == delivery.ALREADY_DELIVERED
    assert len(server.requests) == 2 + app.config["PROVIDER_RETRIES"]


def test_without_a_provider_gateway_nothing_is_delivered(app, client, monkeypatch):
    use(app, monkeypatch, None)
    application = submit(app, client)
    assert application.delivered_at is None
    with app.app_context():
        assert delivery.deliver(application.id) == delivery.FAILED
        assert delivery.deliver(999999) == delivery.MISSING


def test_submission_succeeds_when_the_queue_is_down(app, client, monkeypatch, caplog):
    def down(application_id):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(delivery, "enqueue", down)
    # Alembic's fileConfig (migrations/env.py) disabled the loggers that existed when the test database was made.
    monkeypatch.setattr(logging.getLogger("webapp.applications.submission"), "disabled", False)
    at_check(client)
    response = sign_and_send(app, client)
    assert response.status_code == 302
    page = client.get(response.location)
    assert page.status_code == 200 and "Application sent" in page.text
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.status == "sent" and application.delivered_at is None
    assert "Could not queue the delivery" in caplog.text


def test_a_real_consumer_retries_after_the_delay(app, client, fake, monkeypatch, real_queue):
    """Not in immediate mode: SQLite-backed Huey, a consumer in threads, a scheduled retry."""
    server = fake(500, 200)
    monkeypatch.setitem(app.config, "PROVIDER_RETRY_DELAY", 1)
    use(app, monkeypatch, adapter(server))
    application = submit(app, client)
    assert application.delivered_at is None  # the citizen's request does not wait for the provider
    with app.app_context():
        real_queue(lambda: delivered_at(app, application.id) is not None)
    assert delivered_at(app, application.id) is not None
    assert server.header("Idempotency-Key") == [application.number] * 2


# ── configuration ───────────────────────────────────────────────────────


def test_the_adapter_comes_from_the_configuration():
    plugged = {"sandbox": gateways.provider_gateway}  # what the sandbox plug-in registers
    sandbox = delivery.from_config({"PROVIDER_GATEWAY": "sandbox", "SANDBOX": True, "SANDBOX_AUTO_DECIDE": True,
                                    "SANDBOX_AUTO_DECIDE_SECONDS": 5}, plugged)
    assert isinstance(sandbox, SandboxProvider) and sandbox.auto_decide and sandbox.auto_decide_seconds == 5
    http = delivery.from_config({"PROVIDER_GATEWAY": "http", "PROVIDER_URL": "https://provider.example.kz/in",
                                 "PROVIDER_TIMEOUT": 7})
    assert isinstance(http, HttpProvider) and http.url == "https://provider.example.kz/in" and http.timeout == 7
    assert delivery.from_config({"PROVIDER_GATEWAY": "none"}) is None
    for bad in ({"PROVIDER_GATEWAY": "sandbox", "SANDBOX": False}, {"PROVIDER_GATEWAY": "http"},
                {"PROVIDER_GATEWAY": "carrier-pigeon"}):
        with pytest.raises(ConfigError, match="PROVIDER"):
            delivery.from_config(bad, plugged)
    # Without the plug-in the portal knows no sandbox adapter.
    with pytest.raises(ConfigError, match="PROVIDER_GATEWAY must be http or none, not 'sandbox'"):
        delivery.from_config({"PROVIDER_GATEWAY": "sandbox", "SANDBOX": True})


def _production_env(tmp_path, **changes):
    from tests.production import production_environment

    return production_environment(tmp_path, **changes)


def test_production_refuses_the_sandbox_provider(tmp_path):
    settings = ProductionConfig.from_environment(_production_env(tmp_path))
    assert settings["PROVIDER_GATEWAY"] == "none" and settings["SANDBOX_AUTO_DECIDE"] is False
    settings = ProductionConfig.from_environment(
        _production_env(tmp_path, PROVIDER_URL="https://provider.example.kz/in", PROVIDER_USER="portal",
                        PROVIDER_PASSWORD="pw", PROVIDER_RETRIES="4", PROVIDER_RETRY_DELAY="30")
    )
    assert (settings["PROVIDER_GATEWAY"], settings["PROVIDER_USER"]) == ("http", "portal")
    assert (settings["PROVIDER_RETRIES"], settings["PROVIDER_RETRY_DELAY"]) == (4, 30)
    for bad in ({"PROVIDER_GATEWAY": "sandbox"}, {"PROVIDER_GATEWAY": "http"},
                {"PROVIDER_URL": "http://provider.example.kz/in"}):
        with pytest.raises(ConfigError, match="PROVIDER"):
            ProductionConfig.from_environment(_production_env(tmp_path, **bad))
    local = ProductionConfig.from_environment(_production_env(tmp_path, PROVIDER_URL="http://127.0.0.1:8080/in"))
    assert local["PROVIDER_GATEWAY"] == "http"
