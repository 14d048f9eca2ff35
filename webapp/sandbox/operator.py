"""The sandbox operator console: play the service provider's official.

/sandbox/operator lists the applications handed to the sandbox provider,
newest first, filtered by status; each application's page shows its
timeline and the steps the lifecycle allows now (webapp/provider/lifecycle.py,
without the citizen's own steps): register, processing (with an optional
extension of the term), requesting documents, a provisional refusal,
assigning the payment and refusing. Each step is a message signed with the
sandbox provider's key and applied through the same inbox and verification
as /provider/messages (`webapp.sandbox.provider.say`); a step the lifecycle
refuses is explained on the page. "Decide by the rules" runs the automatic
mode's rules (webapp/sandbox/auto_decide.py) on one application at once.

Sandbox only: the blueprint is registered only when SANDBOX is on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, lazy_pgettext
from flask_babel import format_decimal

from signing.verify import Refused
from webapp import clock, text_input
from webapp.extensions import db
from webapp.i18n import best_language, long_date, money
from webapp.models import Application, ApplicationEvent, ApplicationStatus, ProviderMessage
from webapp.provider import delivery, inbox, lifecycle
from webapp.rendering import render_page
from webapp.sandbox import auto_decide, gateways, provider
from webapp.sandbox.blueprint import bp
from webapp.services import find
from webapp.services.fields import MESSAGES, FieldError, check_money, parse_date
from webapp.working_days import calendar

# Every status an application can have, in the order of its life, as the provider's official says it.
STATUS_LABELS = {
    ApplicationStatus.SENT: (lazy_pgettext("application status", "New"), "blue"),
    ApplicationStatus.REGISTERED: (lazy_pgettext("application status", "Registered"), "blue"),
    ApplicationStatus.IN_PROCESSING: (lazy_pgettext("application status", "In processing"), "yellow"),
    ApplicationStatus.DOCUMENTS_REQUESTED: (lazy_pgettext("application status", "Documents requested"), "yellow"),
    ApplicationStatus.DOCUMENTS_PROVIDED: (lazy_pgettext("application status", "Documents provided"), "blue"),
    ApplicationStatus.PROVISIONAL_REFUSAL: (lazy_pgettext("application status", "Provisional refusal"), "yellow"),
    ApplicationStatus.OBJECTION: (lazy_pgettext("application status", "Objection"), "yellow"),
    ApplicationStatus.ASSIGNED: (lazy_pgettext("application status", "Assigned"), "green"),
    ApplicationStatus.REFUSED: (lazy_pgettext("application status", "Refused"), "red"),
    ApplicationStatus.WITHDRAWN: (lazy_pgettext("application status", "Withdrawn"), "grey"),
}
MAX_LISTED = 200
MAX_DOCUMENTS = 20
MAX_DOCUMENT_LENGTH = 200
MAX_REASON_LENGTH = 1000
MAX_AMOUNT = Decimal("10000000")


@dataclass(frozen=True)
class Action:
    """One step the provider's official can take, and its form."""

    status: str
    heading: object
    description: object
    button: object
    variant: str = "secondary"


# A service paid once (its passport's `payment: one-off`) is assigned an amount without a period.
ASSIGN_ONE_OFF = Action(ApplicationStatus.ASSIGNED, _l("Assign the payment"), _l("The decision: the amount, paid once."), _l("Assign"),
                        "primary")

ACTIONS = {
    action.status: action
    for action in (
        Action(ApplicationStatus.REGISTERED, _l("Register the application"),
               _l("The provider takes the application: the term starts counting in working days."),
               _l("Register"), "primary"),
        Action(ApplicationStatus.IN_PROCESSING, _l("In processing"),
               _l("Say that the application is being examined; you can extend the term, within the longest term the service passport allows."),
               _l("Mark as in processing")),
        Action(ApplicationStatus.DOCUMENTS_REQUESTED, _l("Request documents"),
               _l("The citizen is asked for more documents and given a deadline (5 working days unless you set one)."),
               _l("Request the documents")),
        Action(ApplicationStatus.PROVISIONAL_REFUSAL, _l("Provisional refusal"),
               _l("The hearing: the citizen is told why the application may be refused and can object within 2 working days. A refusal can follow 3 working days later at the earliest."),
               _l("Issue a provisional refusal"), "warning"),
        Action(ApplicationStatus.ASSIGNED, _l("Assign the payment"),
               _l("The decision: the monthly amount and the period it is paid for."),
               _l("Assign"), "primary"),
        Action(ApplicationStatus.REFUSED, _l("Refuse"),
               _l("The decision: a refusal with its reasons. After a provisional refusal it can come 3 working days later at the earliest."),
               _l("Refuse"), "warning"),
    )
}


class FormErrors(Exception):
    """What is wrong in the form the official sent: (input id, message) pairs, with what was typed."""

    def __init__(self, errors: list[tuple[str, str]], values: dict):
        super().__init__("form errors")
        self.errors = errors
        self.values = values


def operator_status(status: str) -> tuple[str, str]:
    """An application status in the provider official's words, with its tag colour."""
    label, colour = STATUS_LABELS.get(status, (status, "grey"))
    return str(label), colour


# ── the list ────────────────────────────────────────────────────────────


@bp.route("/sandbox/operator")
def operator_redirect():
    """The console in the tester's language, filter kept."""
    status = request.args.get("status", "")
    args = {"status": status} if status in STATUS_LABELS else {}
    return redirect(url_for("sandbox.operator", lang_code=best_language(), **args))


@bp.route("/<lang_code>/sandbox/operator")
def operator():
    """Applications handed to the sandbox provider, newest first, filtered by status."""
    status = request.args.get("status", "")
    if status not in STATUS_LABELS:
        status = ""
    query = db.select(Application)
    if status:
        query = query.filter_by(status=status)
    applications = db.session.scalars(
        query.order_by(Application.submitted_at.desc(), Application.id.desc()).limit(MAX_LISTED)
    ).all()
    today = clock.today()
    rows = [
        {
            "application": application,
            "service": find(application.service_slug),
            "overdue": lifecycle.is_overdue(application, today),
        }
        for application in applications
    ]
    adapter = delivery.gateway()
    automatic = isinstance(adapter, gateways.SandboxProvider) and adapter.auto_decide
    return render_page(
        "sandbox/operator.html",
        rows=rows,
        status=status,
        statuses=[{"value": "", "text": _("All statuses")}]
        + [{"value": key, "text": str(label)} for key, (label, _colour) in STATUS_LABELS.items()],
        auto_decide=automatic,
        auto_decide_seconds=format_decimal(adapter.auto_decide_seconds) if automatic else None,
    )


# ── one application ─────────────────────────────────────────────────────


def _application(number: str) -> Application:
    found = db.session.scalar(db.select(Application).filter_by(number=number))
    return found or abort(404)


@bp.route("/<lang_code>/sandbox/operator/applications/<number>")
def operator_application(number: str):
    """One application: its details, its timeline and what the provider can do now."""
    return _render(_application(number))


@bp.route("/<lang_code>/sandbox/operator/applications/<number>/signed.xml")
def operator_signed_xml(number: str):
    """The signed application exactly as the provider's system received it."""
    application = _application(number)
    response = Response(application.signed_xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="application-{application.number}.xml"'
    return response


@bp.route("/<lang_code>/sandbox/operator/applications/<number>/<status>", methods=["POST"])
def operator_action(number: str, status: str):
    """Send the portal the provider's signed message for one step, and show what became of it."""
    if status not in ACTIONS:
        abort(404)
    application = _application(number)
    try:
        fields = _read(status, request.form, application)
    except FormErrors as invalid:
        return _render(application, status, invalid.values, invalid.errors)
    try:
        provider.say(number, status, **fields)
    except lifecycle.NotAllowed:
        db.session.rollback()
        application = _application(number)
        return _render(application, status, _typed(request.form), problem=_explain(application, status, fields),
                       code=409)
    except (inbox.Conflict, Refused) as error:
        db.session.rollback()
        application = _application(number)
        return _render(application, status, _typed(request.form),
                       problem=_("The portal did not accept the signed message: %(reason)s", reason=str(error)),
                       code=409)
    label, _colour = operator_status(status)
    flash(_("The signed message was accepted: the application is now “%(status)s”.", status=label), "success")
    return redirect(url_for("sandbox.operator_application", number=number))


@bp.route("/<lang_code>/sandbox/operator/applications/<number>/auto", methods=["POST"])
def operator_auto(number: str):
    """Decide one application by the automatic mode's rules, at once."""
    application = _application(number)
    if application.status not in (ApplicationStatus.SENT, ApplicationStatus.REGISTERED):
        return _render(application, problem=_("The rules decide only an application that is new or registered."),
                       code=409)
    decision = auto_decide.decide_application(application.id)
    application = _application(number)
    if decision is None:
        return _render(application, problem=_("The rules could not decide this application now."), code=409)
    label, _colour = operator_status(application.status)
    flash(_("Decided by the rules: the application is now “%(status)s”.", status=label), "success")
    return redirect(url_for("sandbox.operator_application", number=number))


def _render(application: Application, form_status: str | None = None, values: dict | None = None,
            errors: list[tuple[str, str]] | None = None, problem: str | None = None, code: int = 200):
    """The application page; a form sent with errors shows them with what was typed."""
    service = find(application.service_slug)
    allowed = [status for status in ACTIONS if status in lifecycle.allowed(application) - lifecycle.CITIZEN_STEPS]
    one_off = _one_off(application)
    objection = _last_event(application, ApplicationStatus.OBJECTION) if application.status == ApplicationStatus.OBJECTION else None
    suggestion = None
    if application.status in (ApplicationStatus.SENT, ApplicationStatus.REGISTERED):
        suggestion = auto_decide.evaluate(application)
    page = render_page(
        "sandbox/operator_application.html",
        application=application,
        service=service,
        overdue=lifecycle.is_overdue(application, clock.today()),
        timeline=_timeline(application),
        actions=[ASSIGN_ONE_OFF if status == ApplicationStatus.ASSIGNED and one_off else ACTIONS[status] for status in allowed],
        one_off=one_off,
        defaults=_defaults(application, suggestion),
        form_status=form_status,
        values=values or {},
        errors=dict(errors or []),
        error_list=[{"text": message, "href": f"#{anchor}"} for anchor, message in errors or []]
        + ([{"text": problem, "href": f"#{form_status}-form" if form_status else None}] if problem else []),
        has_errors=bool(errors or problem),
        objection=objection,
        objection_reference=_objection_reference(objection) if objection else None,
        suggestion=suggestion,
        decision_not_before=_decision_not_before(application),
    )
    return page, code


def _one_off(application: Application) -> bool:
    """Whether the application's service pays once (no monthly amount, no period)."""
    service = find(application.service_slug)
    return service is not None and service.payment == "one-off"


def _defaults(application: Application, suggestion: auto_decide.Decision | None) -> dict:
    """What the forms start with: the rules' amount, period and reasons where they have them."""
    defaults: dict[str, object] = {}
    if suggestion and suggestion.assign:
        defaults["amount"] = f"{suggestion.amount:.2f}"
        if suggestion.period:
            defaults["period_from"] = _date_parts(suggestion.period[0])
            defaults["period_to"] = _date_parts(suggestion.period[1])
    elif suggestion:
        defaults["reason"] = " ".join(suggestion.reasons)
    if application.status in (ApplicationStatus.PROVISIONAL_REFUSAL, ApplicationStatus.OBJECTION):
        notice = _last_event(application, ApplicationStatus.PROVISIONAL_REFUSAL)
        if notice is not None and notice.data.get("reason"):
            defaults["reason"] = notice.data["reason"]
    return defaults


def _date_parts(day: dt.date) -> dict[str, str]:
    return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}


def _timeline(application: Application) -> list[dict]:
    """Every step, oldest first, with what it carried, in words."""
    rows = db.session.execute(
        db.select(ApplicationEvent, ProviderMessage.signer_name)
        .outerjoin(ProviderMessage, ProviderMessage.id == ApplicationEvent.provider_message_id)
        .filter(ApplicationEvent.application_id == application.id)
        .order_by(ApplicationEvent.at, ApplicationEvent.id)
    ).all()
    timeline = []
    one_off = _one_off(application)
    for event, signer in rows:
        data = event.data or {}
        details = []
        if data.get("reason"):
            details.append(_("Reason: %(reason)s", reason=data["reason"]))
        if data.get("amount") and one_off:
            details.append(_("Amount paid once: %(amount)s", amount=money(Decimal(data["amount"]))))
        elif data.get("amount"):
            details.append(_("Monthly amount: %(amount)s", amount=money(Decimal(data["amount"]))))
        if data.get("period_from") and data.get("period_to"):
            details.append(_("Paid from %(start)s to %(end)s", start=_long(data["period_from"]), end=_long(data["period_to"])))
        for document in data.get("documents") or ():
            details.append(_("Document requested: %(document)s", document=document))
        if data.get("due_on"):
            if event.status == ApplicationStatus.IN_PROCESSING:
                details.append(_("Term extended to %(date)s", date=_long(data["due_on"])))
            else:
                details.append(_("The citizen’s deadline: %(date)s", date=_long(data["due_on"])))
        if data.get("decision_not_before"):
            details.append(_("A refusal can come on or after %(date)s", date=_long(data["decision_not_before"])))
        if data.get(ApplicationStatus.OBJECTION):
            details.append(_("Refers to the objection %(number)s", number=data[ApplicationStatus.OBJECTION]))
        if data.get("text"):
            details.append(_("The citizen wrote: %(text)s", text=data["text"]))
        if signer:
            details.append(_("Signed by %(signer)s", signer=signer))
        label, _colour = operator_status(event.status)
        timeline.append({"label": label, "at": event.at, "details": details})
    return timeline


def _long(iso: str) -> str:
    return long_date(dt.date.fromisoformat(iso))


def _last_event(application: Application, status: str) -> ApplicationEvent | None:
    return db.session.scalar(
        db.select(ApplicationEvent)
        .filter_by(application_id=application.id, status=status)
        .order_by(ApplicationEvent.at.desc(), ApplicationEvent.id.desc())
    )


def _objection_reference(event: ApplicationEvent) -> str:
    """What a decision after the citizen's objection quotes: the objection's number
    (webapp/requests/ records it as the event's `request`)."""
    return str((event.data or {}).get("request") or f"event-{event.id}")[:100]


def _decision_not_before(application: Application) -> dt.date | None:
    if application.status not in (ApplicationStatus.PROVISIONAL_REFUSAL, ApplicationStatus.OBJECTION):
        return None
    notice = _last_event(application, ApplicationStatus.PROVISIONAL_REFUSAL)
    if notice is None:
        return None
    if notice.data.get("decision_not_before"):
        return dt.date.fromisoformat(notice.data["decision_not_before"])
    return calendar().add(clock.day_of(notice.at), lifecycle.HEARING_WORKING_DAYS)


# ── reading the forms ───────────────────────────────────────────────────


TEXT_FIELDS = ("reason", "documents", "amount")
DATE_FIELDS = ("due_on", "period_from", "period_to", "dated")


def _typed(form) -> dict:
    """What the official typed, as the forms show it again."""
    values: dict = {name: text_input.without_unwritable(form.get(name, "")[:5000]) for name in TEXT_FIELDS}
    for name in DATE_FIELDS:
        values[name] = {part: form.get(f"{name}-{part}", "").strip()[:10] for part in ("day", "month", "year")}
    return values


def _read(status: str, form, application: Application) -> dict:
    """The message's fields from the form; FormErrors when something is wrong."""
    errors: list[tuple[str, str]] = []
    values = _typed(form)
    fields: dict = {}

    def date(name: str, title: str, *, optional: bool) -> dt.date | None:
        parts = values[name]
        if optional and not any(parts.values()):
            return None
        try:
            return parse_date(parts)
        except FieldError as error:
            errors.append((f"{status}-{name.replace('_', '-')}-day", _message(error, title)))
            return None

    def text(name: str, title: str, limit: int) -> str:
        value = " ".join(text_input.neutralise(form.get(name)).split())
        if not text_input.writable(value):
            errors.append((f"{status}-{name}", text_input.message(title)))
        elif not value:
            errors.append((f"{status}-{name}", _("%(field)s: enter it to send the message", field=title)))
        elif len(value) > limit:
            errors.append((f"{status}-{name}", _message(FieldError("too_long", max=limit), title)))
        return value

    if status == ApplicationStatus.IN_PROCESSING:
        extended = date("due_on", _("New due date"), optional=True)
        if extended and extended <= application.due_on:
            errors.append((f"{status}-due-on-day", _message(
                FieldError("date_before", date=_long((application.due_on + dt.timedelta(days=1)).isoformat())),
                _("New due date"),
            )))
        if extended:
            fields["due_on"] = extended
    elif status == ApplicationStatus.DOCUMENTS_REQUESTED:
        title = _("Documents to provide")
        documents = [" ".join(line.split()) for line in text_input.neutralise(form.get("documents")).splitlines()]
        documents = [line for line in documents if line]
        if not text_input.writable(documents):
            errors.append((f"{status}-documents", text_input.message(title)))
        elif not documents:
            errors.append((f"{status}-documents", _("%(field)s: enter at least one document, one a line", field=title)))
        elif len(documents) > MAX_DOCUMENTS:
            errors.append((f"{status}-documents", _("%(field)s: ask for %(count)s documents or fewer", field=title,
                                                     count=MAX_DOCUMENTS)))
        elif any(len(line) > MAX_DOCUMENT_LENGTH for line in documents):
            errors.append((f"{status}-documents", _message(FieldError("too_long", max=MAX_DOCUMENT_LENGTH), title)))
        fields["documents"] = tuple(documents)
        due = date("due_on", _("Deadline for the citizen"), optional=True)
        if due and due <= clock.today():
            errors.append((f"{status}-due-on-day", _message(
                FieldError("date_before", date=_long((clock.today() + dt.timedelta(days=1)).isoformat())),
                _("Deadline for the citizen"),
            )))
        if due:
            fields["due_on"] = due
    elif status == ApplicationStatus.PROVISIONAL_REFUSAL:
        fields["reason"] = text("reason", _("Reason"), MAX_REASON_LENGTH)
    elif status == ApplicationStatus.ASSIGNED:
        one_off = _one_off(application)
        title = _("Amount paid once") if one_off else _("Monthly amount")
        try:
            amount = check_money(form.get("amount", ""))
        except FieldError as error:
            errors.append((f"{status}-amount", _message(error, title)))
        else:
            if not Decimal("1") <= amount <= MAX_AMOUNT:
                errors.append((f"{status}-amount", _message(
                    FieldError("money_range", min="1", max=format_decimal(MAX_AMOUNT)), title)))
            fields["amount"] = amount
        start = None if one_off else date("period_from", _("Paid from"), optional=False)
        end = None if one_off else date("period_to", _("Paid until"), optional=False)
        if start and end:
            if end <= start:
                errors.append((f"{status}-period-to-day", _message(
                    FieldError("date_before", date=_long((start + dt.timedelta(days=1)).isoformat())), _("Paid until"))))
            fields["period"] = (start, end)
    elif status == ApplicationStatus.REFUSED:
        fields["reason"] = text("reason", _("Reason"), MAX_REASON_LENGTH)
        dated = date("dated", _("Date of the refusal"), optional=True)
        if dated:
            now = clock.now()
            fields["at"] = clock.on_day(dated, now) if dated != clock.day_of(now) else now
    if status in (ApplicationStatus.ASSIGNED, ApplicationStatus.REFUSED) and application.status == ApplicationStatus.OBJECTION:
        objection = _last_event(application, ApplicationStatus.OBJECTION)
        if objection is not None:
            fields["objection"] = _objection_reference(objection)
    if errors:
        raise FormErrors(errors, values)
    return fields


def _message(error: FieldError, title: str) -> str:
    return str(MESSAGES[error.code]) % {"field": title, **error.params}


def _explain(application: Application, status: str, fields: dict) -> str:
    """Why the lifecycle refused the step, in words for the official."""
    label, _colour = operator_status(status)
    current, _colour = operator_status(application.status)
    if status not in lifecycle.allowed(application):
        return _("An application that is “%(current)s” cannot become “%(status)s”.", current=current, status=label)
    if status == ApplicationStatus.REFUSED and application.status in (ApplicationStatus.PROVISIONAL_REFUSAL, ApplicationStatus.OBJECTION):
        earliest = _decision_not_before(application)
        return _(
            "A refusal can come only %(days)s working days after the provisional refusal, when the hearing is over: "
            "on or after %(date)s. Date the refusal then, or wait.",
            days=lifecycle.HEARING_WORKING_DAYS, date=long_date(earliest) if earliest else "—",
        )
    if status == ApplicationStatus.REFUSED and application.status == ApplicationStatus.DOCUMENTS_REQUESTED and application.citizen_due_on:
        return _(
            "The citizen has until %(date)s to provide the documents; a refusal can come only after that day.",
            date=long_date(application.citizen_due_on),
        )
    if status == ApplicationStatus.IN_PROCESSING and fields.get("due_on"):
        term = find(application.service_slug).term
        return _(
            "The term can be extended to %(days)s working days from registration at most.",
            days=term.extension_working_days or term.working_days,
        )
    return _("The portal did not accept this step now (%(status)s).", status=label)
