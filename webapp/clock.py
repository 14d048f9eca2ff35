"""The portal's idea of now: real time, or a fixed day for tests and the sandbox."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def today() -> dt.date:
    """Today in Kazakhstan, or FIXED_TODAY, since registry facts like a child's age depend on it."""
    fixed = current_app.config.get("FIXED_TODAY")
    if fixed:
        return dt.date.fromisoformat(fixed)
    return dt.datetime.now(ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])).date()
