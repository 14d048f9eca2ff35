"""What History of Services says, in the page's language, from what is stored.

Timeline events and notifications keep structured data (a reason, an
amount, a period, documents, deadlines as ISO strings: see
webapp/provider/messages.py); the sentences are made here at rendering
time, so a notification reads in whichever language the citizen opens it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask import url_for
from flask_babel import gettext
from werkzeug.routing import BuildError
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from webapp.i18n import long_date, money
from webapp.models import ApplicationStatus

# Every status of the lifecycle (webapp/provider/lifecycle.py), in the citizen's words.
STATUS_LABELS = {
    ApplicationStatus.SENT: _l("Sent to the service provider"),
    ApplicationStatus.REGISTERED: lazy_pgettext("application status", "Registered"),
    ApplicationStatus.IN_PROCESSING: lazy_pgettext("application status", "In processing"),
    ApplicationStatus.DOCUMENTS_REQUESTED: lazy_pgettext("application status", "Documents requested"),
    ApplicationStatus.DOCUMENTS_PROVIDED: lazy_pgettext("application status", "Documents provided"),
    ApplicationStatus.PROVISIONAL_REFUSAL: lazy_pgettext("application status", "Provisional refusal"),
    ApplicationStatus.OBJECTION: lazy_pgettext("application status", "Objection sent"),
    ApplicationStatus.ASSIGNED: lazy_pgettext("application status", "Assigned"),
    ApplicationStatus.REFUSED: lazy_pgettext("application status", "Refused"),
    ApplicationStatus.WITHDRAWN: lazy_pgettext("application status", "Withdrawn"),
}
# Tag colours (components/layout.html tag()): words carry the meaning, colour only helps.
STATUS_COLOURS = {
    ApplicationStatus.SENT: "grey",
    ApplicationStatus.REGISTERED: "blue",
    ApplicationStatus.IN_PROCESSING: "blue",
    ApplicationStatus.DOCUMENTS_REQUESTED: "yellow",
    ApplicationStatus.DOCUMENTS_PROVIDED: "blue",
    ApplicationStatus.PROVISIONAL_REFUSAL: "yellow",
    ApplicationStatus.OBJECTION: "blue",
    ApplicationStatus.ASSIGNED: "green",
    ApplicationStatus.REFUSED: "red",
    ApplicationStatus.WITHDRAWN: "grey",
}
# What the citizen's own deadline (Application.citizen_due_on) is for.
CITIZEN_DEADLINES = {
    ApplicationStatus.DOCUMENTS_REQUESTED: _l("Provide the documents by"),
    ApplicationStatus.PROVISIONAL_REFUSAL: _l("Object by"),
}


def status_label(status: str) -> str:
    """An application's status in the citizen's words."""
    return str(STATUS_LABELS.get(status, status))


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "grey")


def _date(value) -> str:
    try:
        return long_date(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _money(value) -> str:
    try:
        return money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _texts(values) -> list[str]:
    """A list of strings from stored data (documents), whatever shape it came in."""
    if isinstance(values, str):
        return [values]
    out = []
    for value in values or ():
        if isinstance(value, dict):
            value = value.get("name") or value.get("title") or value.get("original_name") or ""
        if value:
            out.append(str(value))
    return out


def _request_url(number: str) -> str | None:
    """The citizen's request (webapp/requests/) a step refers to, if that page exists."""
    try:
        return url_for("requests.show", number=number)
    except BuildError:
        return None


def event_details(status: str, data: dict | None) -> list[dict]:
    """A timeline step's data as rows {key, value}; value is a string or a list of strings."""
    data = data or {}
    rows = []
    if data.get("reason"):
        rows.append({"key": gettext("Reason"), "value": str(data["reason"])})
    if data.get("amount"):
        rows.append({"key": gettext("Amount"), "value": _money(data["amount"])})
    if data.get("period_from") and data.get("period_to"):
        rows.append({"key": gettext("Period"), "value": gettext(
            "from %(start)s to %(end)s", start=_date(data["period_from"]), end=_date(data["period_to"]))})
    documents = _texts(data.get("documents"))
    if documents:
        key = gettext("Documents requested") if status == ApplicationStatus.DOCUMENTS_REQUESTED else gettext("Documents")
        rows.append({"key": key, "value": documents})
    if data.get("due_on"):
        key = {
            ApplicationStatus.DOCUMENTS_REQUESTED: gettext("Provide the documents by"),
            ApplicationStatus.PROVISIONAL_REFUSAL: gettext("Object by"),
            ApplicationStatus.IN_PROCESSING: gettext("Decision now due by"),
        }.get(status, gettext("Due by"))
        rows.append({"key": key, "value": _date(data["due_on"])})
    if data.get("decision_not_before"):
        rows.append({"key": gettext("Final decision not before"), "value": _date(data["decision_not_before"])})
    if data.get("objection"):
        rows.append({"key": gettext("In answer to the objection"), "value": str(data["objection"])})
    if data.get("request"):
        rows.append({"key": gettext("Your request"), "value": str(data["request"]), "href": _request_url(str(data["request"]))})
    for key in ("text", "comment"):
        if data.get(key):
            rows.append({"key": gettext("Your message"), "value": str(data[key])})
    return rows


@dataclass(frozen=True)
class Notice:
    """A notification as the citizen reads it."""

    title: str
    lines: list[str] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    is_decision: bool = False


def notice(kind: str, data: dict | None, number: str, service: str) -> Notice:
    """A notification's title and sentences, in the current language, from its kind and data."""
    data = data or {}
    reason = str(data.get("reason") or "")
    due = _date(data["due_on"]) if data.get("due_on") else ""
    if kind == ApplicationStatus.REGISTERED:
        return Notice(gettext("Your application has been registered"), [gettext(
            "The service provider registered your application %(number)s for “%(service)s”.",
            number=number, service=service)])
    if kind == ApplicationStatus.IN_PROCESSING:
        lines = [gettext("The service provider is processing your application %(number)s for “%(service)s”.",
                         number=number, service=service)]
        if due:
            lines.append(gettext("The term for the decision has been extended to %(date)s.", date=due))
        return Notice(gettext("Your application is being processed"), lines)
    if kind == ApplicationStatus.DOCUMENTS_REQUESTED:
        lines = [gettext("The service provider needs more documents for your application %(number)s for “%(service)s”.",
                         number=number, service=service)]
        if due:
            lines.append(gettext("Provide them by %(date)s. If they are not provided in time, the application can be refused.",
                                 date=due))
        return Notice(gettext("More documents are needed"), lines, _texts(data.get("documents")))
    if kind == ApplicationStatus.PROVISIONAL_REFUSAL:
        lines = [gettext("The service provider intends to refuse your application %(number)s for “%(service)s”.",
                         number=number, service=service)]
        if reason:
            lines.append(gettext("Reason: %(reason)s", reason=reason))
        if due:
            lines.append(gettext("You have the right to be heard: you can object by %(date)s.", date=due))
        if data.get("decision_not_before"):
            lines.append(gettext("The final decision will not be made before %(date)s.",
                                 date=_date(data["decision_not_before"])))
        return Notice(gettext("Provisional refusal: you can object"), lines)
    if kind == ApplicationStatus.ASSIGNED:
        lines = [gettext("Your application %(number)s for “%(service)s” is approved.", number=number, service=service)]
        if data.get("amount"):
            lines.append(gettext("Amount: %(amount)s.", amount=_money(data["amount"])))
        if data.get("period_from") and data.get("period_to"):
            lines.append(gettext("Period: from %(start)s to %(end)s.",
                                 start=_date(data["period_from"]), end=_date(data["period_to"])))
        if data.get("objection"):
            lines.append(gettext("The decision answers your objection %(objection)s.", objection=data["objection"]))
        return Notice(gettext("Decision: approved"), lines, is_decision=True)
    if kind == ApplicationStatus.REFUSED:
        lines = [gettext("Your application %(number)s for “%(service)s” is refused.", number=number, service=service)]
        if reason:
            lines.append(gettext("Reason: %(reason)s", reason=reason))
        if data.get("objection"):
            lines.append(gettext("The decision answers your objection %(objection)s.", objection=data["objection"]))
        return Notice(gettext("Decision: refused"), lines, is_decision=True)
    return Notice(gettext("The status of your application has changed"), [gettext(
        "The status of your application %(number)s is now: %(status)s.", number=number, status=status_label(kind))])
