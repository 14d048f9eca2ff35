"""SMS gateways and the sending job: the sandbox outbox, the HTTP adapter
against a fake gateway on 127.0.0.1, retries, and never sending twice."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest

from tests.conftest import MOTHER_WITH_BABY
from tests.fake_http import FakeHttpServer, Reply, scripted
from webapp.jobs import queue as jobs
from webapp.config import ConfigError, ProductionConfig
from webapp.extensions import db
from webapp.models import SmsMessage
from webapp.sms import gateways, outbox
from webapp.sandbox.gateways import SandboxGateway, sms_gateway
from webapp.sms.gateways import HttpGateway, PermanentFailure, Sms, TemporaryFailure

PHONE = "+77011234567"
USER, PASSWORD = "qyzmet", "gateway-secret"


def _reply(status: int, count: int) -> Reply:
    body = json.dumps({"id": f"gw-{count}"} if status < 300 else {"error": "no"}).encode()
    elsewhere = {"Location": "http://127.0.0.1:9/elsewhere"} if 300 <= status < 400 else {}
    return Reply(status, body, "application/json", elsewhere)


def http_gateway(server: FakeHttpServer, password: str = PASSWORD, timeout: float = 2) -> HttpGateway:
    return HttpGateway(server.url("/sms"), USER, password, timeout=timeout)


def ids(server: FakeHttpServer) -> list[str]:
    return [request.json()["id"] for request in server.requests]


@pytest.fixture
def fake(http_server):
    """An SMS gateway on 127.0.0.1, answering each POST by a script (see tests.fake_http.scripted)."""
    return lambda *script: http_server(scripted(script, USER, PASSWORD, _reply))


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def use(app, monkeypatch, gateway):
    monkeypatch.setitem(app.extensions, "sms_gateway", gateway)


def queue(text: str = "Code 123456 to sign your application; do not share it with anyone.", redact=None) -> SmsMessage:
    message = outbox.queue(PHONE, text, purpose="sign-application", iin=MOTHER_WITH_BABY, redact=redact)
    return db.session.get(SmsMessage, message.id)


# ── the sandbox gateway ─────────────────────────────────────────────────


def test_the_sandbox_gateway_keeps_messages_in_the_outbox(ctx):
    message = queue()
    assert (message.status, message.attempts, message.last_error) == ("sent", 1, None)
    assert message.gateway_message_id == f"sandbox-{message.public_id}"
    assert message.sent_at is not None
    # Testers read the whole text, code included.
    assert "123456" in message.text
    assert [m.id for m in outbox.messages(phone=PHONE)] == [message.id]
    assert outbox.messages(iin="811108409267") == []


def test_the_outbox_lists_newest_first(ctx):
    import datetime as dt

    start = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
    for minute in (0, 2, 1):
        outbox.queue(PHONE, f"message {minute}", purpose="test", now=start + dt.timedelta(minutes=minute))
    assert [m.text for m in outbox.messages()] == ["message 2", "message 1", "message 0"]


# ── the HTTP adapter on its own ─────────────────────────────────────────


def test_http_gateway_posts_json_with_basic_auth(fake):
    server = fake(200)
    gateway_id = http_gateway(server).send(Sms(to=PHONE, text="Код 123456", id="key-1"))
    assert gateway_id == "gw-1"
    [request] = server.requests
    assert request.json() == {"to": PHONE, "text": "Код 123456", "id": "key-1"}
    assert request.headers["Content-Type"].startswith("application/json")
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"qyzmet:gateway-secret").decode()
    assert request.headers["Idempotency-Key"] == "key-1"
    assert "gateway-secret" not in repr(http_gateway(server))


@pytest.mark.parametrize(
    "status, failure",
    [(400, PermanentFailure), (404, PermanentFailure), (302, PermanentFailure),
     (429, TemporaryFailure), (500, TemporaryFailure), (503, TemporaryFailure)],
)
def test_http_gateway_failures(fake, status, failure):
    server = fake(status)
    with pytest.raises(failure, match=str(status)):
        http_gateway(server).send(Sms(to=PHONE, text="x", id="key"))
    assert len(server.requests) == 1  # a redirect is not followed


def test_http_gateway_wrong_credentials_are_permanent(fake):
    server = fake(200)
    with pytest.raises(PermanentFailure, match="401"):
        http_gateway(server, password="wrong").send(Sms(to=PHONE, text="x", id="key"))


def test_http_gateway_timeout_and_no_answer_are_temporary(fake):
    server = fake(("slow", 1.0, 200))
    with pytest.raises(TemporaryFailure, match="timed out"):
        http_gateway(server, timeout=0.2).send(Sms(to=PHONE, text="x", id="key"))
    closed = FakeHttpServer(scripted((), USER, PASSWORD, _reply))
    url = closed.url("/sms")
    closed.close()
    with pytest.raises(TemporaryFailure):
        HttpGateway(url, USER, PASSWORD, timeout=1).send(Sms(to=PHONE, text="x", id="key"))


# ── the sending job: retries, failures, never twice ─────────────────────


def test_a_server_error_is_retried_with_the_same_idempotency_key(ctx, fake, monkeypatch):
    server = fake(500, 200)
    use(ctx, monkeypatch, http_gateway(server))
    message = queue()
    assert (message.status, message.attempts, message.gateway_message_id) == ("sent", 2, "gw-2")
    assert message.last_error is None
    assert ids(server) == [message.public_id, message.public_id]


def test_a_timeout_is_retried(ctx, fake, monkeypatch):
    server = fake(("slow", 1.0, 200), 200)
    use(ctx, monkeypatch, http_gateway(server, timeout=0.2))
    message = queue()
    assert (message.status, message.attempts) == ("sent", 2)
    assert ids(server) == [message.public_id] * 2


def test_a_refused_message_fails_without_retrying(ctx, fake, monkeypatch):
    server = fake(400)
    use(ctx, monkeypatch, http_gateway(server))
    message = queue()
    assert (message.status, message.attempts, message.sent_at) == ("failed", 1, None)
    assert "400" in message.last_error
    assert len(server.requests) == 1


def test_wrong_gateway_credentials_fail_the_message(ctx, fake, monkeypatch):
    server = fake(200)
    use(ctx, monkeypatch, http_gateway(server, password="wrong"))
    message = queue()
    assert (message.status, message.attempts) == ("failed", 1)
    assert "401" in message.last_error


def test_a_gateway_that_stays_down_fails_the_message_after_the_retries(ctx, fake, monkeypatch):
    server = fake(500)
    use(ctx, monkeypatch, http_gateway(server))
    message = queue()
    retries = ctx.config["SMS_SEND_RETRIES"]
    assert (message.status, message.attempts) == ("failed", 1 + retries)
    assert "500" in message.last_error
    assert len(set(ids(server))) == 1 and len(server.requests) == 1 + retries


def test_a_message_is_never_sent_twice(ctx, fake, monkeypatch):
    server = fake(200)
    use(ctx, monkeypatch, http_gateway(server))
    message = queue()
    assert message.status == "sent"
    # A duplicate or late job for the same message does nothing.
    jobs.enqueue(jobs.SEND_SMS, message.id)
    assert outbox.deliver(message.id) == "sent"
    db.session.refresh(message)
    assert (message.status, message.attempts, len(server.requests)) == ("sent", 1, 1)
    # Nor is a message another job is sending.
    other = outbox.create(PHONE, "other", purpose="test")
    other.status = "sending"
    db.session.commit()
    assert outbox.deliver(other.id) == "sending"
    assert len(server.requests) == 1


def test_the_code_is_blanked_from_a_real_gateways_outbox(ctx, fake, monkeypatch):
    server = fake(200)
    use(ctx, monkeypatch, http_gateway(server))
    message = queue(redact="123456")
    assert server.requests[0].json()["text"].startswith("Code 123456 ")
    assert "123456" not in message.text and outbox.REDACTED in message.text


def test_a_queue_that_is_down_fails_the_message_not_the_request(ctx, monkeypatch):
    def down(*args):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(jobs, "enqueue", down)
    message = queue()
    assert message.status == "failed" and "could not queue" in message.last_error


def test_without_a_gateway_messages_fail(ctx, monkeypatch):
    use(ctx, monkeypatch, None)
    message = queue()
    assert message.status == "failed" and "no SMS gateway" in message.last_error


def test_a_real_consumer_retries_after_the_delay(app, fake, monkeypatch, real_queue):
    """Not in immediate mode: SQLite-backed Huey, a consumer in threads, a scheduled retry."""
    server = fake(500, 200)
    monkeypatch.setitem(app.config, "SMS_SEND_RETRY_DELAY", 1)
    use(app, monkeypatch, http_gateway(server))
    with app.app_context():
        message = queue()
        assert message.status == "queued"  # the request does not wait for the gateway

        def done():
            db.session.refresh(message)
            return message.status in ("sent", "failed")

        real_queue(done)
    assert (message.status, message.attempts) == ("sent", 2)
    assert ids(server) == [message.public_id] * 2


# ── configuration ───────────────────────────────────────────────────────


def test_the_gateway_comes_from_the_configuration():
    assert isinstance(gateways.from_config({"SMS_GATEWAY": "sandbox"}, {"sandbox": sms_gateway}), SandboxGateway)
    with pytest.raises(ConfigError, match="SMS_GATEWAY must be http or none, not 'sandbox'"):
        gateways.from_config({"SMS_GATEWAY": "sandbox"})  # the sandbox plug-in's, not the portal's
    assert gateways.from_config({"SMS_GATEWAY": "none"}) is None
    http = gateways.from_config({"SMS_GATEWAY": "http", "SMS_GATEWAY_URL": "https://sms.example.kz/send"})
    assert isinstance(http, HttpGateway) and http.url == "https://sms.example.kz/send"
    with pytest.raises(ConfigError):
        gateways.from_config({"SMS_GATEWAY": "http"})
    with pytest.raises(ConfigError):
        gateways.from_config({"SMS_GATEWAY": "carrier-pigeon"})


def _production_env(tmp_path, **changes):
    from tests.production import production_environment

    return production_environment(tmp_path, **changes)


def test_production_sms_settings(tmp_path):
    assert ProductionConfig.from_environment(_production_env(tmp_path))["SMS_GATEWAY"] == "none"
    settings = ProductionConfig.from_environment(
        _production_env(
            tmp_path,
            SMS_GATEWAY_URL="https://sms.example.kz/send",
            SMS_GATEWAY_USER="portal",
            SMS_GATEWAY_PASSWORD="pw",
            HUEY_EMBEDDED_CONSUMER="0",
        )
    )
    assert (settings["SMS_GATEWAY"], settings["SMS_GATEWAY_USER"]) == ("http", "portal")
    assert settings["HUEY_EMBEDDED_CONSUMER"] is False
    for bad in ({"SMS_GATEWAY": "sandbox"}, {"SMS_GATEWAY": "http"}, {"SMS_GATEWAY_URL": "http://sms.example.kz/"}):
        with pytest.raises(ConfigError, match="SMS_GATEWAY"):
            ProductionConfig.from_environment(_production_env(tmp_path, **bad))
    local = ProductionConfig.from_environment(_production_env(tmp_path, SMS_GATEWAY_URL="http://127.0.0.1:8025/sms"))
    assert local["SMS_GATEWAY"] == "http"


def test_where_the_jobs_run():
    def app(**config):
        return SimpleNamespace(config={"HUEY_IMMEDIATE": False, "HUEY_EMBEDDED_CONSUMER": None, **config})

    assert jobs.embedded_consumer(app())  # the embedded default: SQLite, consumer in the web process
    assert not jobs.embedded_consumer(app(REDIS_URL="redis://127.0.0.1:6379/0"))  # a `jobs worker` process
    assert not jobs.embedded_consumer(app(HUEY_EMBEDDED_CONSUMER=False))
    assert not jobs.embedded_consumer(app(HUEY_IMMEDIATE=True))


def test_the_worker_command_refuses_immediate_mode(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker"])
    assert result.exit_code != 0 and "HUEY_IMMEDIATE" in result.output
