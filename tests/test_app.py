"""The app factory, configuration and security baseline."""

import pytest

from webapp import create_app
from webapp.config import ConfigError, ProductionConfig, REPO_ROOT

NCA_TEST_CA = REPO_ROOT.parent / "shared" / "nca-test-pki" / "nca_rsa_test.crt"


def production_env(tmp_path, **changes):
    from tests.production import production_environment

    return production_environment(tmp_path, **changes)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "TRUSTED_CA_BUNDLE"])
def test_production_refuses_to_start_without_a_required_setting(tmp_path, monkeypatch, missing):
    for key, value in production_env(tmp_path, **{missing: None}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(missing, raising=False)
    monkeypatch.setenv("QYZMET_ENV", "production")
    with pytest.raises(ConfigError, match=missing):
        create_app()


def test_production_refuses_a_short_secret_and_sqlite(tmp_path):
    with pytest.raises(ConfigError, match="32 characters"):
        ProductionConfig.from_environment(production_env(tmp_path, SECRET_KEY="short"))
    with pytest.raises(ConfigError, match="PostgreSQL"):
        ProductionConfig.from_environment(production_env(tmp_path, DATABASE_URL="sqlite:///x"))


def test_production_has_no_sandbox_routes_and_secure_cookies(tmp_path, monkeypatch):
    for key, value in production_env(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("QYZMET_ENV", "production")
    app = create_app()
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert not [rule for rule in rules if "sandbox" in rule]
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SANDBOX"] is False


def test_unknown_environment_name_is_refused(monkeypatch):
    monkeypatch.setenv("QYZMET_ENV", "staging")
    with pytest.raises(ConfigError, match="QYZMET_ENV"):
        create_app()


def test_content_security_policy_is_strict(client):
    policy = client.get("/en/services").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_have_no_inline_script_or_style(client):
    import re

    page = client.get("/en/services").get_data(as_text=True)
    assert "<script>" not in page and " style=" not in page and "<style" not in page
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page)
    assert all(src.startswith("/static/") for src in re.findall(r'<script[^>]*src="([^"]+)"', page))


def test_public_pages_vary_on_hx_request(client):
    response = client.get("/en/services")
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["Cache-Control"] == "no-cache"


def test_personal_pages_are_not_stored(citizen_client):
    response = citizen_client.get("/en/account")
    assert response.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in response.headers["Vary"]


def test_session_cookie_is_httponly_and_lax(client):
    from tests.conftest import log_in

    response = log_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_request_size_is_limited(client):
    response = client.post("/en/login", data={"iin": "x" * (13 * 1024 * 1024)})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_migrations_are_the_schema(app):
    """The models and the migrations agree: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from webapp.extensions import db

    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, db.metadata) == []
