"""Qyzmet: the Request Online portal for public social-payment services."""

from __future__ import annotations

import importlib
import logging
from typing import Any, Mapping

from flask import Flask

from webapp import account, catalogue, errors, health, home, i18n, observability, phone
from webapp import page_cache, rendering, security, signatures, templating, translate, verify_document
from webapp.applications import routes as applications
from webapp.auth import routes as auth
from webapp.egov_mobile import routes as egov_mobile
from webapp.config import REPO_ROOT, ConfigError, ProductionConfig, config_from_environment
from webapp.extensions import babel, csrf, db, htmx, limiter, migrate
from webapp.history import poll as history_poll
from webapp.history import routes as history
from webapp.jobs import queue, tasks
from webapp.provider import routes as provider
from webapp.requests import routes as citizen_requests
from webapp.services import docs as service_docs
from webapp.sms import gateways as sms_gateways
from webapp import sessions
from webapp.sessions import DatabaseSessionInterface, RedisSessionInterface

BLUEPRINTS = (home, catalogue, applications, auth, account, history, citizen_requests, phone, provider, verify_document,
              egov_mobile)


def create_app(config: type | None = None, overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the portal from a config class (QYZMET_ENV's when None) and overrides."""
    app = Flask(
        __name__,
        instance_path=str(REPO_ROOT / "instance"),
        template_folder=str(REPO_ROOT / "templates"),
        static_folder=str(REPO_ROOT / "static"),
    )
    config_class = config or config_from_environment()
    app.config.from_object(config_class)
    if config_class is ProductionConfig:
        app.config.update(ProductionConfig.from_environment())
    app.config.update(overrides or {})
    _configure_redis(app, overrides or {})
    _configure_database_timeout(app)
    REPO_ROOT.joinpath("instance").mkdir(exist_ok=True)
    # First, so the request id and the timer cover every other hook.
    observability.init_app(app)

    db.init_app(app)
    _configure_sqlite(app)
    migrate.init_app(
        app,
        db,
        directory=str(REPO_ROOT / "migrations"),
        render_as_batch=True,  # SQLite alters tables by copying them
    )
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    htmx.init_app(app)
    if app.config.get("REDIS_URL"):
        app.session_interface = RedisSessionInterface(app, app.config["SESSION_REDIS"])
    else:
        app.session_interface = DatabaseSessionInterface(app)

    app.extensions["state_registries"] = _load_registries(app.config["STATE_REGISTRIES"])
    health.init_app(app)

    i18n.init_app(app)
    security.init_app(app)
    rendering.init_app(app)
    translate.init_app(app)
    service_docs.init_app(app)
    templating.init_app(app)

    for module in BLUEPRINTS:
        app.register_blueprint(module.bp)
    errors.init_app(app)

    if app.config["SANDBOX"]:
        # The plug-in registers its blueprint, gateways, job, CA and portal key through the
        # hooks of the layers below, before they are built from the configuration. Imported
        # here so that outside the sandbox its code is not even loaded.
        from webapp import sandbox

        sandbox.init_app(app)

    signatures.init_app(app)
    # SMS one-time codes: the gateway, and the background jobs that send through it.
    sms_gateways.init_app(app)
    tasks.init_app(app)
    queue.init_app(app)

    # In front of Flask, behind ProxyFix: its key holds the scheme ProxyFix found.
    page_cache.init_app(app)
    # Before the page cache: a poll is no page it keeps, and is the most frequent request of all.
    history_poll.init_app(app, sessions.BACKGROUND_POLL_HEADER)
    if app.config.get("PROXY_COUNT"):
        # Behind nginx: the client's address and scheme come from X-Forwarded-For
        # and -Proto (rate limits per address, /metrics's network check, https
        # URLs). Not X-Forwarded-Host: nginx passes a client's own header through
        # unless told otherwise, and the Host nginx sets is the one to trust.
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)

    logging.getLogger("werkzeug").setLevel(logging.INFO)
    return app


def _configure_database_timeout(app: Flask) -> None:
    """PostgreSQL: connect within DATABASE_CONNECT_TIMEOUT seconds (libpq's connect_timeout)."""
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or ""
    if uri.startswith("postgres") and app.config.get("DATABASE_CONNECT_TIMEOUT"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"connect_timeout": int(app.config["DATABASE_CONNECT_TIMEOUT"]), **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _configure_sqlite(app: Flask) -> None:
    """SQLite (the embedded default): write-ahead logging, so a commit blocks no reader and costs one fsync
    at most; synchronous=NORMAL, so it costs none (the log is synced at checkpoints: a power cut, not a
    crash of the portal, may lose the last commits; production runs PostgreSQL). Per connection, as
    SQLite wants; WAL itself stays in the file."""
    if not (app.config.get("SQLALCHEMY_DATABASE_URI") or "").startswith("sqlite"):
        return
    from sqlalchemy import event

    def pragmas(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # an in-memory database answers "memory" and stays so
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    with app.app_context():
        event.listen(db.engine, "connect", pragmas)


def _configure_redis(app: Flask, overrides: Mapping[str, Any]) -> None:
    """With REDIS_URL, sessions and rate limits live in Redis, not in-process."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    import redis

    # Short timeouts: a Redis that stops answering fails requests quickly instead of hanging workers.
    timeout = app.config.get("REDIS_TIMEOUT", 2)
    app.config.setdefault(
        "SESSION_REDIS", redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    )
    app.config["SESSION_TYPE"] = "redis"
    if "RATELIMIT_STORAGE_URI" not in overrides:
        app.config["RATELIMIT_STORAGE_URI"] = url
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": timeout, "socket_timeout": timeout})


def _load_registries(spec: str | None):
    """Instantiate the state-registries adapter named 'module:factory'."""
    if not spec or ":" not in spec:
        raise ConfigError("STATE_REGISTRIES must name an adapter as 'module:factory'")
    module_name, _, factory = spec.partition(":")
    return getattr(importlib.import_module(module_name), factory)()


def __getattr__(name: str):
    """`huey_consumer webapp.huey`: the Huey instance of an app built from the environment."""
    if name == "huey":
        return queue.get_huey(create_app())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
