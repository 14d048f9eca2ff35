"""Qyzmet: the Request Online portal for public social-payment services."""

from __future__ import annotations

import importlib
import logging
from typing import Any, Mapping

from flask import Flask

from webapp.config import REPO_ROOT, ConfigError, ProductionConfig, config_from_environment


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
    _configure_redis(app)
    REPO_ROOT.joinpath("instance").mkdir(exist_ok=True)

    from webapp import i18n, models, rendering, security, translate  # noqa: F401  (models register tables)
    from webapp.sessions import DatabaseSessionInterface
    from webapp.extensions import babel, csrf, db, htmx, limiter, migrate, server_sessions

    db.init_app(app)
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
        server_sessions.init_app(app)
    else:
        app.session_interface = DatabaseSessionInterface(app)

    app.extensions["state_registries"] = _load_registries(app.config["STATE_REGISTRIES"])

    i18n.init_app(app)
    security.init_app(app)
    rendering.init_app(app)
    translate.init_app(app)

    from webapp import account, auth, catalogue, citizen_requests, errors, history, home, phone, provider, signatures, verify_document
    from webapp.applications import routes as applications

    app.jinja_env.globals["current_citizen"] = auth.current_citizen

    for module in (home, catalogue, applications, auth, account, history, citizen_requests, phone, provider, verify_document):
        app.register_blueprint(module.bp)
    errors.init_app(app)

    signatures.init_app(app)
    # SMS one-time codes: the gateway, and the background jobs that send through it.
    from webapp import jobs, sms

    sms.init_app(app)
    jobs.init_app(app)

    if app.config["SANDBOX"]:
        from webapp import sandbox

        app.register_blueprint(sandbox.bp)
        sandbox.init_app(app)

    logging.getLogger("werkzeug").setLevel(logging.INFO)
    return app


def _configure_redis(app: Flask) -> None:
    """With REDIS_URL, sessions and rate limits live in Redis, not in-process."""
    url = app.config.get("REDIS_URL")
    if not url:
        return
    import redis

    app.config.setdefault("SESSION_REDIS", redis.Redis.from_url(url))
    app.config["SESSION_TYPE"] = "redis"
    app.config["RATELIMIT_STORAGE_URI"] = url


def _load_registries(spec: str | None):
    """Instantiate the state-registries adapter named 'module:factory'."""
    if not spec or ":" not in spec:
        raise ConfigError("STATE_REGISTRIES must name an adapter as 'module:factory'")
    module_name, _, factory = spec.partition(":")
    return getattr(importlib.import_module(module_name), factory)()
