"""Every template global and filter, registered in one place.

Templates format through these (dates, money and numbers per locale, data
texts through gettext) and ask the domain what to show (status labels, what
a citizen can do about an application now). A plug-in adds its own through
`add` (the sandbox's operator console).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Mapping

from flask import Flask
from flask_babel import format_decimal, gettext

from webapp.auth import current_citizen
from webapp.clock import today
from webapp.history import texts as history_texts
from webapp.history.routes import unread_notifications
from webapp.i18n import (
    LANGUAGE_NAMES, LANGUAGES, current_language, long_date, money, date_and_time, switch_language_url, translate_text,
)
from webapp.models import Application, ApplicationStatus
from webapp.provider import lifecycle
from webapp.requests.kinds import request_kind_label, request_status_label
from webapp.requests.routes import citizen_request_actions, request_rows


def choice_item(choice: tuple[str, str]) -> dict:
    """A (value, label) option as the radios macro takes it."""
    value, text = choice
    return {"value": value, "text": text}


def fact_row(row) -> dict:
    """A registry fact as the summary list takes it."""
    return {"key": row.label, "value": row.value}


def with_change(row: dict, url: str) -> dict:
    """A check-your-answers row with its Change link."""
    return {**row, "change_url": url, "change_hidden": row["key"]}


def service_option(service) -> dict:
    """A service as the select macro takes it."""
    return {"value": service.slug, "text": gettext(service.short_name)}


def iso_utc(moment: dt.datetime | None) -> str:
    """A stored moment for a <time datetime> attribute (SQLite gives naive datetimes back, all UTC)."""
    if not moment:
        return ""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_overdue(application: Application) -> bool:
    """Still undecided after its due date, today."""
    return lifecycle.is_overdue(application, today())


FILTERS: dict[str, Callable] = {
    "money": money,
    "long_date": long_date,
    "date_and_time": date_and_time,
    "number": format_decimal,
    "t": translate_text,
    "choice_item": choice_item,
    "fact_row": fact_row,
    "with_change": with_change,
    "service_option": service_option,
    "iso_utc": iso_utc,
}
GLOBALS: dict[str, Any] = {
    "LANGUAGES": LANGUAGES,
    "LANGUAGE_NAMES": LANGUAGE_NAMES,
    "current_language": current_language,
    "switch_language_url": switch_language_url,
    "current_citizen": current_citizen,
    "ApplicationStatus": ApplicationStatus,
    "status_label": history_texts.status_label,
    "status_colour": history_texts.status_colour,
    "unread_notifications": unread_notifications,
    "is_overdue": is_overdue,
    "request_kind_label": request_kind_label,
    "request_status_label": request_status_label,
    "request_rows": request_rows,
    "citizen_request_actions": citizen_request_actions,
}


def add(app: Flask, *, filters: Mapping[str, Callable] | None = None, globals: Mapping[str, Any] | None = None) -> None:
    """Add filters and globals (a plug-in's); a name already taken is refused, not replaced."""
    for table, new in ((app.jinja_env.filters, filters or {}), (app.jinja_env.globals, globals or {})):
        taken = sorted(set(new) & set(table))
        if taken:
            raise ValueError(f"template names already registered: {', '.join(taken)}")
        table.update(new)


def init_app(app: Flask) -> None:
    """Register the portal's template filters and globals."""
    add(app, filters=FILTERS, globals=GLOBALS)
