"""Production refuses to start on any missing or unsafe setting, and starts on a complete one.

The environment is built by tests/production.py with real files: a CA
certificate bundle and the portal's PKCS#12 key.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.production import production_environment
from webapp import create_app
from webapp.config import ConfigError, ProductionConfig, REPO_ROOT


def settings(tmp_path, **changes) -> dict:
    return ProductionConfig.from_environment(production_environment(tmp_path, **changes))


def refused(tmp_path, match: str, **changes) -> None:
    with pytest.raises(ConfigError, match=match):
        settings(tmp_path, **changes)


@pytest.mark.parametrize("name", ProductionConfig.REQUIRED)
def test_each_required_setting_is_named_when_missing(tmp_path, name):
    refused(tmp_path, name, **{name: None})
    refused(tmp_path, name, **{name: "  "})


def test_all_missing_settings_are_named_at_once(tmp_path):
    with pytest.raises(ConfigError) as error:
        ProductionConfig.from_environment({})
    for name in ProductionConfig.REQUIRED:
        assert name in str(error.value)


def test_a_complete_environment_gives_the_settings(tmp_path):
    got = settings(tmp_path)
    assert got["REDIS_URL"] == "redis://127.0.0.1:6379/6"
    assert got["REVOCATION_METHODS"] == ("ocsp", "crl")
    assert got["OCSP_URL"] == "http://ocsp.pki.gov.kz"
    assert got["CRL_URLS"] == ("http://crl.pki.gov.kz/nca_rsa.crl",)
    assert got["PROVIDER_BINS"] == ("040340000304",)
    assert got["PORTAL_SIGNING_KEY"].endswith("portal.p12")
    assert got["SESSION_COOKIE_SECURE"] is True
    assert got["PROXY_COUNT"] == 1 and got["LOG_FORMAT"] == "json"
    assert got["DATABASE_CONNECT_TIMEOUT"] == 5


def test_secret_key_and_database(tmp_path):
    refused(tmp_path, "SECRET_KEY must be at least 32", SECRET_KEY="x" * 31)
    refused(tmp_path, "not SQLite", DATABASE_URL="sqlite:////tmp/qyzmet.sqlite3")
    refused(tmp_path, "DATABASE_URL must name PostgreSQL", DATABASE_URL="mysql://db/qyzmet")


def test_redis_is_required_and_must_be_redis(tmp_path):
    refused(tmp_path, "REDIS_URL", REDIS_URL=None)
    refused(tmp_path, "REDIS_URL must be a redis://", REDIS_URL="http://127.0.0.1:6379/0")
    assert settings(tmp_path, REDIS_URL="rediss://redis.internal:6380/0")["REDIS_URL"].startswith("rediss://")


def test_trusted_ca_bundle_files_must_hold_certificates(tmp_path):
    refused(tmp_path, "TRUSTED_CA_BUNDLE is not a file", TRUSTED_CA_BUNDLE=str(tmp_path / "missing.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    refused(tmp_path, "holds no readable PEM or DER certificate", TRUSTED_CA_BUNDLE=str(garbage))
    binary = tmp_path / "garbage.cer"
    binary.write_bytes(b"\x30\x03\x02\x01\x00")
    refused(tmp_path, "holds no readable PEM or DER certificate", TRUSTED_CA_BUNDLE=str(binary))
    good = str(tmp_path / "ca-bundle.pem")
    # Several files: each is checked.
    refused(tmp_path, "missing.pem", TRUSTED_CA_BUNDLE=os.pathsep.join([good, str(tmp_path / "missing.pem")]))
    production_environment(tmp_path)  # writes the good bundle
    both = os.pathsep.join([good, good])
    assert settings(tmp_path, TRUSTED_CA_BUNDLE=both)["TRUSTED_CA_BUNDLE"] == both
    # The NCA publishes its CA certificates in DER (.cer), the GOST ones among them: taken as they are.
    gost_der = str(Path(__file__).parent / "data" / "nca-test-pki" / "gost" / "nca_gost2022_test.cer")
    mixed = os.pathsep.join([good, gost_der])
    assert settings(tmp_path, TRUSTED_CA_BUNDLE=mixed)["TRUSTED_CA_BUNDLE"] == mixed


def test_the_trust_store_reads_pem_and_der_files(tmp_path):
    from signing.verify import TrustStore

    production_environment(tmp_path)
    gost_der = Path(__file__).parent / "data" / "nca-test-pki" / "gost" / "nca_gost2022_test.cer"
    store = TrustStore.from_pem_files(tmp_path / "ca-bundle.pem", gost_der)
    assert "(GOST) TEST 2022" in store.certificates[-1].subject.rfc4514_string()
    assert len(store.certificates) >= 2


def test_attachments_need_a_writable_directory(tmp_path):
    refused(tmp_path, "ATTACHMENTS_DIR must be an existing, writable directory", ATTACHMENTS_DIR=str(tmp_path / "nowhere"))
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    refused(tmp_path, "ATTACHMENTS_DIR must be an existing", ATTACHMENTS_DIR=str(a_file))
    assert settings(tmp_path)["ATTACHMENTS_DIR"] == str(tmp_path / "attachments")


def test_sandbox_registries_are_refused(tmp_path):
    refused(tmp_path, "sandbox registries", STATE_REGISTRIES="webapp.registries.sandbox:SandboxRegistries")


def test_the_egov_mobile_bin_must_be_a_bin(tmp_path):
    refused(tmp_path, "EGOV_MOBILE_BIN must be", EGOV_MOBILE_BIN="26114000000")
    refused(tmp_path, "EGOV_MOBILE_BIN must be", EGOV_MOBILE_BIN="ACME00000000")


def test_provider_bins_must_be_bins(tmp_path):
    refused(tmp_path, "PROVIDER_BINS must be 12-digit", PROVIDER_BINS="04034000030")
    refused(tmp_path, "PROVIDER_BINS must be 12-digit", PROVIDER_BINS="040340000304 ACME")
    assert settings(tmp_path, PROVIDER_BINS="040340000304, 123456789012")["PROVIDER_BINS"] == ("040340000304", "123456789012")


@pytest.mark.parametrize("methods", ["", "none", "off", "ocsp none"])
def test_revocation_cannot_be_switched_off(tmp_path, methods):
    refused(tmp_path, "always checks revocation", REVOCATION_METHODS=methods)


def test_revocation_methods_need_their_sources(tmp_path):
    refused(tmp_path, "may only name ocsp and crl", REVOCATION_METHODS="ocsp ldap")
    refused(tmp_path, "OCSP_URL is needed", OCSP_URL=None)
    refused(tmp_path, "CRL_URLS is needed", CRL_URLS=None)
    refused(tmp_path, "must be http", CRL_URLS="ftp://crl.pki.gov.kz/nca.crl")
    refused(tmp_path, "must be http", OCSP_URL="ocsp.pki.gov.kz")
    only_crl = settings(tmp_path, REVOCATION_METHODS="crl", OCSP_URL=None)
    assert only_crl["REVOCATION_METHODS"] == ("crl",) and only_crl["OCSP_URL"] is None
    only_ocsp = settings(tmp_path, REVOCATION_METHODS="ocsp", CRL_URLS=None)
    assert only_ocsp["REVOCATION_METHODS"] == ("ocsp",) and only_ocsp["CRL_URLS"] == ()


def test_the_portal_key_must_open(tmp_path):
    refused(tmp_path, "PORTAL_SIGNING_KEY is not a file", PORTAL_SIGNING_KEY=str(tmp_path / "none.p12"))
    refused(tmp_path, "cannot be opened with PORTAL_SIGNING_KEY_PASSWORD", PORTAL_SIGNING_KEY_PASSWORD="wrong")
    refused(tmp_path, "cannot be opened", PORTAL_SIGNING_KEY_PASSWORD=None)
    not_a_key = tmp_path / "not-a-key.p12"
    not_a_key.write_bytes(b"\x30\x03\x02\x01\x03")
    refused(tmp_path, "cannot be opened", PORTAL_SIGNING_KEY=str(not_a_key))


def test_ncalayer_must_be_wss_and_the_small_settings_sane(tmp_path):
    refused(tmp_path, "NCALAYER_URL must be wss://", NCALAYER_URL="ws://127.0.0.1:13579")
    refused(tmp_path, "PROXY_COUNT must be a whole number", PROXY_COUNT="one")
    refused(tmp_path, "METRICS_TOKEN must be at least 32", METRICS_TOKEN="short")
    assert settings(tmp_path, PROXY_COUNT="0")["PROXY_COUNT"] == 0


def test_the_production_app_is_safe_by_construction(tmp_path, monkeypatch):
    for name in ("SMS_GATEWAY", "SMS_GATEWAY_URL", "PROVIDER_GATEWAY", "PROVIDER_URL", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in production_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("QYZMET_ENV", "production")
    app = create_app()
    from flask import request

    from webapp.sessions import RedisSessionInterface
    from webapp.signatures import portal_key

    seen = {}
    app.add_url_rule(
        "/_probe", "probe", lambda: seen.update(scheme=request.scheme, address=request.remote_addr, host=request.host) or "ok"
    )

    assert app.config["SANDBOX"] is False and app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["WTF_CSRF_SSL_STRICT"] is True
    assert isinstance(app.session_interface, RedisSessionInterface)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 5}
    assert not [rule.rule for rule in app.url_map.iter_rules() if "sandbox" in rule.rule]
    with app.app_context():
        assert portal_key().certificate is not None
    response = app.test_client().get("/healthz", base_url="https://portal.example.kz")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # Behind nginx (PROXY_COUNT=1): the client's scheme and address come from X-Forwarded-*.
    # nginx appends the client's address to X-Forwarded-For: the last one counts, not one the client wrote.
    app.test_client().get("/_probe", base_url="http://portal.example.kz", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-For": "6.6.6.6, 203.0.113.9", "X-Forwarded-Host": "evil.example"})
    assert seen == {"scheme": "https", "address": "203.0.113.9", "host": "portal.example.kz"}


# --- the gunicorn configuration, for real ---------------------------------------------

PORT = 8410


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_gunicorn_serves_production_with_the_deploy_config(tmp_path):
    """gunicorn -c deploy/gunicorn.conf.py 'webapp:create_app()' with QYZMET_ENV=production:
    alive, not ready (its database is a closed port), metrics summed over two workers, JSON logs."""
    from bench.serve import Gunicorn

    assert _free(PORT) and _free(8449)
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("QYZMET_", "DATABASE_URL", "REDIS_URL", "SMS_", "PROVIDER_", "PROMETHEUS_", "GUNICORN_", "LOG_"))
    }
    env.update(production_environment(tmp_path, DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:8449/none"))
    env.update(QYZMET_ENV="production", GUNICORN_BIND=f"127.0.0.1:{PORT}", GUNICORN_WORKERS="2",
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prometheus"))
    log = tmp_path / "gunicorn.log"
    server = Gunicorn(PORT, env, workers=2, extra_args=("-c", str(REPO_ROOT / "deploy" / "gunicorn.conf.py")), log_path=log)
    with server:
        assert len(server.worker_pids()) == 2
        status, headers, body = _get(server.url + "/healthz")
        assert status == 200 and json.loads(body) == {"status": "ok"}
        assert "Set-Cookie" not in headers and headers["Strict-Transport-Security"]
        status, _, body = _get(server.url + "/readyz")
        assert status == 503 and json.loads(body)["checks"]["database"]["ok"] is False
        for _ in range(6):
            assert _get(server.url + "/en/no-such-page")[0] == 404
        status, _, body = _get(server.url + "/metrics")
        text = body.decode()
        assert status == 200
        # Six 404s, whichever worker served each, in one sum.
        assert any(line.startswith("qyzmet_http_request_total") and line.endswith(" 6.0") and 'status="404"' in line
                   for line in text.splitlines()), text
        assert list((tmp_path / "prometheus").glob("*.db"))
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "qyzmet.access"]
    assert len(access) == 6 and all(line["status"] == 404 and line["request_id"] for line in access)
    assert any(line.get("logger") == "gunicorn.error" for line in lines)
