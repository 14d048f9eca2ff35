"""/healthz and /readyz: alive, ready, and a quick 503 when a dependency is down."""

from __future__ import annotations

import socket

import pytest

from webapp import create_app
from webapp.config import TestConfig

# Ports in this helper's range that nothing listens on (checked below).
CLOSED_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:8448/none"
CLOSED_REDIS = "redis://127.0.0.1:8447/0"


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _app(tmp_path, **overrides):
    return create_app(
        TestConfig,
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'ready.sqlite3'}", "SANDBOX_PKI_DIR": str(tmp_path), **overrides},
    )


def test_healthz_is_alive_without_a_cookie_or_a_database(tmp_path):
    assert _closed(8448)
    client = _app(tmp_path, SQLALCHEMY_DATABASE_URI=CLOSED_POSTGRES).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_lists_its_checks(app, client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "queue"}  # no REDIS_URL in the tests
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["queue"]["pending"] == 0
    assert "Set-Cookie" not in response.headers


def test_readyz_is_503_when_the_database_is_down(tmp_path):
    assert _closed(8448)
    client = _app(tmp_path, SQLALCHEMY_DATABASE_URI=CLOSED_POSTGRES).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert response.json["status"] == "fail"
    assert checks["database"]["ok"] is False and checks["database"]["error"] == "OperationalError"
    assert checks["queue"]["ok"] is True
    # The error's class only: no address, user or password in the body.
    assert "8448" not in response.get_data(as_text=True)


def test_readyz_is_503_when_redis_is_down(tmp_path):
    assert _closed(8447)
    application = _app(tmp_path, REDIS_URL=CLOSED_REDIS, RATELIMIT_STORAGE_URI="memory://")
    with application.app_context():
        from flask_migrate import upgrade

        upgrade(directory="migrations")
    response = application.test_client().get("/readyz")
    assert response.status_code == 503
    checks = response.json["checks"]
    assert checks["database"]["ok"] is True
    assert checks["redis"] == {"ok": False, "error": "ConnectionError", "ms": checks["redis"]["ms"]}


def test_readyz_is_503_when_the_queue_storage_fails(app, client, monkeypatch):
    from webapp.jobs import queue as jobs

    huey = jobs.get_huey(app)

    def broken():
        raise OSError("queue storage gone")

    monkeypatch.setattr(huey, "pending_count", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["queue"] == {"ok": False, "error": "OSError", "ms": response.json["checks"]["queue"]["ms"]}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_are_exempt_from_rate_limits_and_take_only_get(app, client, path):
    from flask_limiter import ExemptionScope

    from webapp.extensions import limiter

    endpoint = f"health.{path.strip('/')}"
    scope = limiter.limit_manager.exemption_scope(app, endpoint, "health")
    assert scope & ExemptionScope.APPLICATION and scope & ExemptionScope.DEFAULT
    assert limiter.limit_manager.exemption_scope(app, "catalogue.index", "catalogue") == ExemptionScope.NONE
    for _ in range(40):
        assert client.get(path).status_code == 200
    assert client.post(path).status_code == 405  # GET only: nothing to forge, no CSRF token
