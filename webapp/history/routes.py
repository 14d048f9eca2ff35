"""History of Services' pages: the list, an application, a notification, and the signed XML downloads."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, g, make_response, request, session
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError

from signing.verify import HolderType
from webapp.auth import current_citizen, login_required
from webapp.clock import now, today
from webapp.extensions import db
from webapp.history import answers, listing, texts
from webapp.i18n import current_language
from webapp.models import Application, ApplicationEvent, Notification, ProactiveOffer, ProviderMessage
from webapp.provider import inbox, lifecycle
from webapp.rendering import render_page
from webapp.services import catalogue, find
from webapp.verify_document import check_signature

bp = Blueprint("history", __name__, url_prefix="/<lang_code>/account")

RESULTS = listing.RESULTS


def unread_notifications() -> int | None:
    """The logged-in citizen's unread notifications (once a request), for the header; None when unknown."""
    if "unread_notifications" not in g:
        iin = session.get("citizen_iin")
        try:
            g.unread_notifications = listing.unread_count(iin) if iin else None
        except SQLAlchemyError:  # the header must not break an error page
            db.session.rollback()
            g.unread_notifications = None
    return g.unread_notifications


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    """SQLite gives naive datetimes back; every stored time is UTC."""
    return moment.replace(tzinfo=dt.timezone.utc) if moment and moment.tzinfo is None else moment


def _own(number: str) -> Application:
    """The citizen's own application by number; anyone else's is not found."""
    found = db.session.scalar(db.select(Application).filter_by(number=number, iin=current_citizen().iin))
    return found or abort(404)


def _own_notification(public_id: str) -> Notification:
    found = db.session.scalar(db.select(Notification).filter_by(public_id=public_id, iin=current_citizen().iin))
    return found or abort(404)


def _xml(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _service_name(application: Application) -> str:
    service = find(application.service_slug)
    return gettext(service.short_name) if service else application.service_slug


# The list.


@bp.route("/history")
@login_required
def index():
    """The citizen's applications, newest first: filters, search by number, keyset pages.

    The results fragment polls itself every 10 seconds with If-None-Match:
    unchanged, the answer is an empty 304 that htmx leaves alone.
    """
    iin = current_citizen().iin
    query = listing.Query.from_args(request.args)
    state = listing.validator_state(iin)
    g.unread_notifications = state.unread  # the header's count too, from the same statement
    etag = listing.etag(iin, query, current_language(), today(), state)
    fragment = bool(request.htmx and request.htmx.target == RESULTS)
    if fragment and request.if_none_match.contains(etag):
        response = Response(status=304, mimetype="text/html")
        response.set_etag(etag)
        response.headers["HX-Reswap"] = "none"
        return response
    page = listing.page(iin, query)
    services = {p.slug: p for p in catalogue()}
    html = render_page(
        "history/index.html",
        fragment="history_results",
        query=query,
        page=page,
        services=services,
        statuses=texts.STATUS_LABELS,
        etag=etag,
    )
    response = make_response(html)
    if fragment:
        response.set_etag(etag)
    return response


# One application.


@bp.route("/applications/<number>")
@login_required
def application(number: str):
    """An application: where it stands, its timeline, the answers as sent, the documents and notifications."""
    record = _own(number)
    service = find(record.service_slug)
    events = db.session.scalars(
        db.select(ApplicationEvent).filter_by(application_id=record.id).order_by(ApplicationEvent.id)
    ).all()
    notifications = db.session.scalars(
        db.select(Notification).filter_by(application_id=record.id, iin=record.iin)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    ).all()
    messages = {
        m.id: m for m in db.session.scalars(
            db.select(ProviderMessage).filter_by(application_id=record.id).order_by(ProviderMessage.id)
        )
    }
    name = _service_name(record)
    return render_page(
        "history/application.html",
        application=record,
        service=service,
        events=[{"event": e, "details": texts.event_details(e.status, e.data), "message": messages.get(e.provider_message_id)}
                for e in events],
        notifications=[{"notification": n, "notice": texts.notice(n.kind, n.data, record.number, name)}
                       for n in notifications],
        messages=list(messages.values()),
        sections=answers.sections(record, service),
        citizen_deadline=texts.CITIZEN_DEADLINES.get(record.status) if record.citizen_due_on else None,
        overdue=lifecycle.is_overdue(record, today()),
        # Made from a YES to an SMS offer: confirmed by that reply, not by an SMS password.
        offer=db.session.scalar(db.select(ProactiveOffer.number).filter_by(application_id=record.id)),
    )


@bp.route("/applications/<number>/sent")
@login_required
def sent(number: str):
    """Application sent: its number, what happens next and by when."""
    record = _own(number)
    return render_page("history/sent.html", application=record, service=find(record.service_slug))


@bp.route("/applications/<number>/signed.xml")
@login_required
def signed_xml(number: str):
    """The application exactly as the citizen signed it."""
    record = _own(number)
    return _xml(record.signed_xml, f"application-{record.number}.xml")


@bp.route("/applications/<number>/provider-messages/<int:message_id>/signed.xml")
@login_required
def provider_message_xml(number: str, message_id: int):
    """One of the provider's signed messages about the citizen's application, as received."""
    record = _own(number)
    message = db.session.scalar(db.select(ProviderMessage).filter_by(id=message_id, application_id=record.id))
    if message is None:
        abort(404)
    return _xml(message.signed_xml, f"provider-message-{record.number}-{message.id}.xml")


# Notifications.


@bp.route("/notifications/<public_id>")
@login_required
def notification(public_id: str):
    """A notification in full; opening it marks it read. A decision shows the provider's signature verdict."""
    found = _own_notification(public_id)
    if found.read_at is None:
        found.read_at = now()  # the list's ETag changes with the unread count
        db.session.commit()
        g.pop("unread_notifications", None)
    record = db.session.get(Application, found.application_id)
    message = db.session.get(ProviderMessage, found.provider_message_id) if found.provider_message_id else None
    report = None
    if message is not None:
        report = check_signature(message.signed_xml, holder=HolderType.ORGANISATION, as_of=_aware(message.received_at))
    # The body that signed, named as its passports name it in the page's language; else as its certificate says.
    body = inbox.body_of(report.bin) if report else None
    organisation = gettext(body) if body else report and (report.organisation or report.bin)
    return render_page(
        "history/notification.html",
        notification=found,
        notice=texts.notice(found.kind, found.data, record.number, _service_name(record)),
        application=record,
        message=message,
        received_at=_aware(message.received_at) if message else None,
        report=report,
        organisation=organisation,
    )


@bp.route("/notifications/<public_id>/signed.xml")
@login_required
def notification_xml(public_id: str):
    """The provider's signed message behind a notification."""
    found = _own_notification(public_id)
    message = db.session.get(ProviderMessage, found.provider_message_id) if found.provider_message_id else None
    if message is None:
        abort(404)
    record = db.session.get(Application, found.application_id)
    return _xml(message.signed_xml, f"notification-{record.number}-{found.public_id}.xml")
