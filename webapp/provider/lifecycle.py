"""An application's life: which status may follow which, the deadlines each
sets in working days, and the timeline and notifications each leaves.

    sent → registered → in processing → (documents requested → documents provided)
         → (provisional refusal → objection) → assigned | refused;
    withdrawn by the citizen before registration.

A refusal comes only after a provisional refusal (the hearing of article 73
of the Administrative Procedural Code), at least 3 working days after it,
or when requested documents were not provided in time.
"""

from __future__ import annotations

import datetime as dt
import secrets

from webapp.clock import day_of, wall_now
from webapp.extensions import db
from webapp.models import Application, ApplicationEvent, ApplicationStatus, Notification, ProviderMessage
from webapp.services import find
from webapp.working_days import calendar

PROVIDER_DECISIONS = (ApplicationStatus.ASSIGNED, ApplicationStatus.REFUSED)
FINAL = frozenset({ApplicationStatus.ASSIGNED, ApplicationStatus.REFUSED, ApplicationStatus.WITHDRAWN})
TRANSITIONS = {
    ApplicationStatus.SENT: {ApplicationStatus.REGISTERED, ApplicationStatus.WITHDRAWN},
    ApplicationStatus.REGISTERED: {
        ApplicationStatus.IN_PROCESSING, ApplicationStatus.DOCUMENTS_REQUESTED, ApplicationStatus.PROVISIONAL_REFUSAL,
        ApplicationStatus.ASSIGNED,
    },
    ApplicationStatus.IN_PROCESSING: {
        ApplicationStatus.IN_PROCESSING, ApplicationStatus.DOCUMENTS_REQUESTED, ApplicationStatus.PROVISIONAL_REFUSAL,
        ApplicationStatus.ASSIGNED,
    },
    ApplicationStatus.DOCUMENTS_REQUESTED: {ApplicationStatus.DOCUMENTS_PROVIDED, ApplicationStatus.REFUSED},
    ApplicationStatus.DOCUMENTS_PROVIDED: {
        ApplicationStatus.IN_PROCESSING, ApplicationStatus.DOCUMENTS_REQUESTED, ApplicationStatus.PROVISIONAL_REFUSAL,
        ApplicationStatus.ASSIGNED,
    },
    ApplicationStatus.PROVISIONAL_REFUSAL: {
        ApplicationStatus.OBJECTION, ApplicationStatus.ASSIGNED, ApplicationStatus.REFUSED,
    },
    ApplicationStatus.OBJECTION: {ApplicationStatus.ASSIGNED, ApplicationStatus.REFUSED},
}
# The citizen's own steps; everything else comes from the provider.
CITIZEN_STEPS = frozenset({ApplicationStatus.WITHDRAWN, ApplicationStatus.DOCUMENTS_PROVIDED, ApplicationStatus.OBJECTION})
OBJECTION_WORKING_DAYS = 2
HEARING_WORKING_DAYS = 3
DOCUMENTS_WORKING_DAYS = 5


class NotAllowed(ValueError):
    """This status cannot follow the application's current one (or not yet)."""


def touch(application: Application) -> None:
    """Mark a change History of Services must show: `version` only grows, and
    past every earlier value of the citizen's applications (it follows the
    clock: real time, as a pinned day's clock starts the day again at midnight),
    so the list's validator can use max(version) from an index."""
    application.version = max((application.version or 0) + 1, int(wall_now().timestamp() * 1_000_000))


def allowed(application: Application) -> set[str]:
    return TRANSITIONS.get(application.status, set())


def is_overdue(application: Application, today: dt.date) -> bool:
    """Still undecided after its due date."""
    return application.status not in FINAL and application.due_on < today


def record(application: Application, status: str, *, at: dt.datetime, data: dict | None = None,
           provider_message: ProviderMessage | None = None) -> ApplicationEvent:
    """Move the application on, stamp the step, and tell the citizen what the provider said.

    Adds rows to the session; the caller commits.
    """
    data = dict(data or {})
    if status not in allowed(application):
        raise NotAllowed(f"{application.status} cannot be followed by {status}")
    day = day_of(at)  # Kazakhstan's day, not UTC's: the deadlines count from it
    term = find(application.service_slug).term
    work = calendar()
    hearing = (ApplicationStatus.PROVISIONAL_REFUSAL, ApplicationStatus.OBJECTION)
    if status == ApplicationStatus.REFUSED and application.status in hearing:
        notice = _last(application, ApplicationStatus.PROVISIONAL_REFUSAL)
        if notice is not None and day < work.add(day_of(notice.at), HEARING_WORKING_DAYS):
            raise NotAllowed("a refusal must come at least 3 working days after the provisional refusal")
    if status == ApplicationStatus.REFUSED and application.status == ApplicationStatus.DOCUMENTS_REQUESTED:
        if application.citizen_due_on and day <= application.citizen_due_on:
            raise NotAllowed("the citizen still has time to provide the documents")
    if status == ApplicationStatus.REGISTERED:
        application.registered_at = at
        application.due_on = work.add(day, term.working_days) if not term.portal_minutes else day
    elif status == ApplicationStatus.IN_PROCESSING and data.get("due_on"):
        # An extension: never beyond the passport's longest term.
        longest = term.extension_working_days or term.working_days
        start = day_of(application.registered_at or application.submitted_at)
        extended = dt.date.fromisoformat(data["due_on"])
        if extended > work.add(start, longest):
            raise NotAllowed(f"the term can be extended to {longest} working days at most")
        application.due_on = max(application.due_on, extended)
    if status == ApplicationStatus.DOCUMENTS_REQUESTED:
        days = term.documents_request_working_days or DOCUMENTS_WORKING_DAYS
        application.citizen_due_on = dt.date.fromisoformat(data["due_on"]) if data.get("due_on") else work.add(day, days)
        data["due_on"] = application.citizen_due_on.isoformat()
    elif status == ApplicationStatus.PROVISIONAL_REFUSAL:
        application.citizen_due_on = work.add(day, OBJECTION_WORKING_DAYS)
        data["due_on"] = application.citizen_due_on.isoformat()
        data["decision_not_before"] = work.add(day, HEARING_WORKING_DAYS).isoformat()
    else:
        application.citizen_due_on = None
    application.status = status
    touch(application)
    event = ApplicationEvent(status=status, at=at, data=data)
    event.application_id = application.id
    if provider_message is not None:
        event.provider_message_id = provider_message.id
    db.session.add(event)
    if status not in CITIZEN_STEPS:
        notification = Notification(
            public_id=secrets.token_urlsafe(12), iin=application.iin, application_id=application.id,
            kind=status, data=data, created_at=at,
        )
        if provider_message is not None:
            notification.provider_message_id = provider_message.id
        db.session.add(notification)
    return event


def _last(application: Application, status: str) -> ApplicationEvent | None:
    return db.session.scalar(
        db.select(ApplicationEvent)
        .filter_by(application_id=application.id, status=status)
        .order_by(ApplicationEvent.at.desc(), ApplicationEvent.id.desc())
    )

