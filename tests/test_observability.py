"""Request ids, JSON logs, the access line, and /metrics (guarded, counting SMS and signatures)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from signing.xmldsig import sign_enveloped

from tests.conftest import MOTHER_WITH_BABY
from tests.helpers import challenge, eds_login, key
from webapp import create_app, observability
from webapp.config import TestConfig
from webapp.extensions import db


def _access(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "qyzmet.access"]


def test_a_request_id_is_made_and_sent_back(client, caplog):
    caplog.set_level(logging.INFO, logger="qyzmet.access")
    response = client.get("/en/services")
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (line,) = _access(caplog)
    assert line.request_id == request_id
    assert (line.method, line.path, line.status) == ("GET", "/en/services", 200)
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0
    assert client.get("/en/services").headers["X-Request-ID"] != request_id


@pytest.mark.parametrize(
    "incoming, kept",
    [
        ("3f1c2a9e-7b1d-4c55-9a3e-0c1d2e3f4a5b", True),  # a UUID, as nginx or a balancer sends
        ("req_01HZX.abc:1", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("bad id", False),
        ("<script>", False),
        ("-leading-dash", False),
    ],
)
def test_an_incoming_request_id_is_kept_only_when_sane(client, incoming, kept):
    answered = client.get("/en/services", headers={"X-Request-ID": incoming}).headers["X-Request-ID"]
    assert (answered == incoming) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", answered)


def test_every_record_during_a_request_carries_its_id(app, caplog):
    caplog.set_level(logging.INFO)
    with app.test_request_context("/", headers={"X-Request-ID": "abc-123"}):
        app.preprocess_request()
        logging.getLogger("webapp.anything").warning("inside")
    logging.getLogger("webapp.anything").warning("outside")
    inside, outside = [r for r in caplog.records if r.name == "webapp.anything"]
    assert inside.request_id == "abc-123" and outside.request_id is None


def test_json_lines_parse_and_hold_the_access_fields(client, caplog):
    caplog.set_level(logging.INFO, logger="qyzmet.access")
    response = client.get("/en/services/no-such-service")
    (line,) = _access(caplog)
    parsed = json.loads(observability.json_formatter().format(line))
    assert parsed["request_id"] == response.headers["X-Request-ID"]
    assert parsed["level"] == "INFO" and parsed["logger"] == "qyzmet.access"
    assert (parsed["method"], parsed["path"], parsed["status"]) == ("GET", "/en/services/no-such-service", 404)
    assert "time" in parsed and isinstance(parsed["duration_ms"], float)


def test_the_access_line_masks_iin_shaped_numbers_and_skips_queries_and_probes(client, caplog):
    caplog.set_level(logging.INFO, logger="qyzmet.access")
    client.get(f"/en/services/{MOTHER_WITH_BABY}?iin={MOTHER_WITH_BABY}")
    client.get("/healthz")
    client.get("/readyz")
    (line,) = _access(caplog)
    assert MOTHER_WITH_BABY not in line.getMessage() and MOTHER_WITH_BABY not in line.path
    assert line.path == "/en/services/<12 digits>"


def test_production_logs_json_and_the_sandbox_text(tmp_path, monkeypatch):
    from tests.production import production_environment
    from webapp.config import ProductionConfig, SandboxConfig

    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert ProductionConfig.from_environment(production_environment(tmp_path))["LOG_FORMAT"] == "json"
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        create_app(SandboxConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://", "LOG_FORMAT": "json", "SANDBOX_PKI_DIR": str(tmp_path)})
        ours = [h for h in root.handlers if getattr(h, "_qyzmet_handler", False)]
        assert len(ours) == 1 and type(ours[0].formatter).__name__ == "JsonFormatter"
        create_app(SandboxConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SANDBOX_PKI_DIR": str(tmp_path)})
        ours = [h for h in root.handlers if getattr(h, "_qyzmet_handler", False)]
        assert len(ours) == 1 and type(ours[0].formatter) is logging.Formatter  # replaced, not added
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)


# --- metrics ---------------------------------------------------------------------


def _sample(client, name: str, **labels) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(name + "{" if labels else name + " "):
            got = line[len(name):].split(" ")[0].strip("{}")
            if ",".join(sorted(got.split(","))) == wanted or not labels:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_endpoint_not_by_path(client):
    client.get("/en/services")
    client.get("/ru/services")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'endpoint="catalogue.index"' in text
    assert "/ru/services" not in text and "/en/services" not in text
    assert "qyzmet_queue_pending_jobs 0.0" in text


def test_metrics_count_an_sms_sent_and_one_that_failed(app, client, monkeypatch):
    from webapp.sms import outbox
    from webapp.sms.gateways import PermanentFailure

    before_sent = _sample(client, "qyzmet_sms_messages_total", purpose="sign-application", outcome="sent")
    before_failed = _sample(client, "qyzmet_sms_messages_total", purpose="sign-application", outcome="failed")
    with app.app_context():
        assert outbox.queue("+77010000001", "Code 123456", purpose="sign-application").status == "sent"

        class Refusing:
            keeps_text = False

            def send(self, sms):
                raise PermanentFailure("unknown subscriber")

        monkeypatch.setitem(app.extensions, "sms_gateway", Refusing())
        assert outbox.queue("+77010000001", "Code 654321", purpose="sign-application").status == "failed"
    assert _sample(client, "qyzmet_sms_messages_total", purpose="sign-application", outcome="sent") == before_sent + 1
    assert _sample(client, "qyzmet_sms_messages_total", purpose="sign-application", outcome="failed") == before_failed + 1


def test_metrics_count_signatures_verified_and_refused_by_reason(app, client):
    labels = {"purpose": "log_in", "outcome": "refused", "reason": "wrong_key_type"}
    before = _sample(client, "qyzmet_signatures_total", **labels)
    csrf, token, document = challenge(client)
    assert eds_login(client, sign_enveloped(document, key(app)), csrf, token).status_code == 200  # a signing key
    assert _sample(client, "qyzmet_signatures_total", **labels) == before + 1

    verified = {"purpose": "log_in", "outcome": "verified", "reason": ""}
    before = _sample(client, "qyzmet_signatures_total", **verified)
    csrf, token, document = challenge(client)
    assert eds_login(client, sign_enveloped(document, key(app, kind="auth")), csrf, token).status_code == 302
    assert _sample(client, "qyzmet_signatures_total", **verified) == before + 1


def test_metrics_only_for_loopback_by_default(client):
    assert client.get("/metrics").status_code == 200  # the test client comes from 127.0.0.1
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert outside.status_code == 404 and "qyzmet_" not in outside.get_data(as_text=True)
    # Behind nginx (PROXY_COUNT=1) a forwarded outside address is outside too.


def _app_on_a_memory_database(tmp_path, **config):
    """An app of its own on an in-memory database, with its tables (a request with a session cookie reads them)."""
    application = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SANDBOX_PKI_DIR": str(tmp_path), **config}
    )
    with application.app_context():
        db.create_all()
    return application


def test_metrics_for_configured_networks_or_a_bearer_token(tmp_path):
    token = "t" * 40
    application = _app_on_a_memory_database(
        tmp_path, METRICS_ALLOWED_NETWORKS="10.0.0.0/8, fd00::/8", METRICS_TOKEN=token
    )
    client = application.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "fd00::5"}).status_code == 200
    assert client.get("/metrics").status_code == 404  # loopback is no longer listed
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/metrics", environ_base=outside).status_code == 404
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer " + "x" * 40}).status_code == 404
    assert client.get("/metrics", environ_base=outside, headers={"Authorization": token}).status_code == 404
    allowed = client.get("/metrics", environ_base=outside, headers={"Authorization": "Bearer " + token})
    assert allowed.status_code == 200 and "qyzmet_http_request" in allowed.get_data(as_text=True)


def test_metrics_behind_a_proxy_judge_the_forwarded_address(tmp_path):
    application = _app_on_a_memory_database(tmp_path, PROXY_COUNT=1)
    client = application.test_client()
    # nginx on loopback forwards an outside client: refused; a loopback scraper straight to gunicorn: served.
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404
    assert client.get("/metrics").status_code == 200
