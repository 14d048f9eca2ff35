"""The kinds of request a citizen sends about an application, and when each is open.

    objection    O-2026-0000001  within 2 working days of a provisional refusal
                                 (Administrative Procedural Code, art. 73 p. 3);
                                 lifecycle "objection", data {"request": number}
    documents    D-2026-0000001  within the provider's deadline (5 working days
                                 unless the passport says otherwise); lifecycle
                                 "documents_provided", data {"request": number}
    complaint    C-2026-0000001  after a decision ("assigned" or "refused"), to the
                                 head of the service provider or to the authorised
                                 body for assessing and controlling the quality of
                                 public services, as the citizen chooses (the
                                 passport's third way, a court, is not online);
                                 no lifecycle change
    malfunction  T-2026-0000001  any time: service, registration number (optional),
                                 IIN, the steps taken, screenshots (PNG or JPEG)

A request's status: draft → sent → received → answered (see
models.CitizenRequest; `submission.advance` moves a complaint or report on when
its addressee registers or answers it). Deadlines are the Kazakh day
(`webapp.clock.today`) against the application's `citizen_due_on`, the last
day included. Withdrawing ("withdraw") is open while the application is
"sent" (not yet registered).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.clock import today
from webapp.extensions import db
from webapp.i18n import long_date
from webapp.models import Application, ApplicationEvent, ApplicationStatus, CitizenRequest



PREFIXES = {"objection": "O", "documents": "D", "complaint": "C", "malfunction": "T"}


STATUSES = ("draft", "sent", "received", "answered")
# Complaints and malfunction reports are registered, then answered, by their addressee.


ADVANCES = {"sent": {"received", "answered"}, "received": {"answered"}}


SIGN_REQUEST = "sign-request"


TEXT_MAX_LENGTH = 5000


MAX_FILES = 5


MAX_FILE_MB = 5


SCREENSHOT_TYPES = ("image/png", "image/jpeg")


DECISIONS = (ApplicationStatus.ASSIGNED, ApplicationStatus.REFUSED)


KIND_LABELS = {
    "objection": _l("Objection to a provisional refusal"),
    "documents": _l("Additional documents"),
    "complaint": _l("Complaint about the result"),
    "malfunction": _l("Technical malfunction report"),
}


STATUS_LABELS = {
    "sent": _l("Signed and sent"),
    "received": _l("Received by the addressee"),
    "answered": _l("Answered"),
}


ADDRESSEE_LABELS = {
    "objection": _l("The service provider"),
    "documents": _l("The service provider"),
    "complaint": _l("The authorised body for assessing and controlling the quality of public services"),
    "malfunction": _l("The portal's support service"),
}
# Whom a complaint can go to online (the service passports: the provider's head, the authorised body).


COMPLAINT_ADDRESSEES = {
    "provider-head": _l("The head of the service provider"),
    "quality-authority": ADDRESSEE_LABELS["complaint"],
}


def addressee_label(req: CitizenRequest) -> str:
    """Whom the request goes to, in the citizen's words."""
    if req.kind == "complaint" and req.data.get("addressee") in COMPLAINT_ADDRESSEES:
        return str(COMPLAINT_ADDRESSEES[req.data["addressee"]])
    return str(ADDRESSEE_LABELS[req.kind])


def request_kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def request_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@dataclass(frozen=True)
class Availability:
    """Whether the citizen can do this now; if not, why: not_now, late or done."""

    ok: bool
    reason: str = ""
    due_on: dt.date | None = None
    earlier: CitizenRequest | None = None  # the request that already did it ("done")


def available(application: Application | None, kind: str) -> Availability:
    """Whether a request of this kind (or "withdraw") can be made about the application today."""
    if kind == "malfunction":
        return Availability(True)
    if application is None:
        return Availability(False, "not_now")
    status = application.status
    if kind == "withdraw":
        if status == ApplicationStatus.SENT:
            return Availability(True)
        return Availability(False, "done" if status == ApplicationStatus.WITHDRAWN else "not_now")
    if kind == "complaint":
        return Availability(status in DECISIONS, "" if status in DECISIONS else "not_now")
    waiting_for, done_status = {
        "documents": (ApplicationStatus.DOCUMENTS_REQUESTED, ApplicationStatus.DOCUMENTS_PROVIDED),
        "objection": (ApplicationStatus.PROVISIONAL_REFUSAL, ApplicationStatus.OBJECTION),
    }[kind]
    if status == waiting_for:
        due = application.citizen_due_on
        if due is not None and today() > due:
            return Availability(False, "late", due)
        return Availability(True, due_on=due)
    if status == done_status:
        return Availability(False, "done", earlier=last_sent(application, kind))
    return Availability(False, "not_now")


def still_open(draft: CitizenRequest) -> Availability:
    if draft.kind == "malfunction":
        return Availability(True)
    return available(draft.application, draft.kind)


def last_sent(application: Application, kind: str) -> CitizenRequest | None:
    return db.session.scalar(
        db.select(CitizenRequest)
        .filter(CitizenRequest.application_id == application.id, CitizenRequest.kind == kind,
                CitizenRequest.status != "draft")
        .order_by(CitizenRequest.sent_at.desc(), CitizenRequest.id.desc())
    )


def last_event(application: Application, statuses: tuple[str, ...]) -> ApplicationEvent | None:
    return db.session.scalar(
        db.select(ApplicationEvent)
        .filter(ApplicationEvent.application_id == application.id, ApplicationEvent.status.in_(statuses))
        .order_by(ApplicationEvent.at.desc(), ApplicationEvent.id.desc())
    )


def referred_step(application: Application | None, kind: str) -> ApplicationEvent | None:
    """The step a request answers: the notice objected to, the request for documents, the decision complained about."""
    if application is None:
        return None
    statuses = {"objection": (ApplicationStatus.PROVISIONAL_REFUSAL,), "documents": (ApplicationStatus.DOCUMENTS_REQUESTED,),
                "complaint": DECISIONS}.get(kind)
    return last_event(application, statuses) if statuses else None


def late_message(kind: str, due_on: dt.date | None) -> str:
    if kind == "documents":
        return _("The deadline to provide the documents was %(date)s. It has passed, so documents can no longer be sent online for this application.", date=long_date(due_on))
    return _("The 2 working days to object to the provisional refusal ended on %(date)s, so an objection can no longer be sent online.", date=long_date(due_on))


def aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
