"""What a citizen sends about an application already sent: withdrawing it,
providing requested documents, objecting to a provisional refusal, a
complaint about the result and a technical-malfunction report.

Withdrawing needs no signature: a confirmation page, then the lifecycle's
"withdrawn" while the application is still "sent" (not yet registered).

The other four are requests (models.CitizenRequest), each written on a form
(text and files), checked on a page before signing, and signed the two ways
applications are: EDS through NCALayer, or an SMS password after which the
portal signs with its own key and states how the citizen confirmed. The
request is a draft row until it is signed; the document it shows (and the
SMS password is bound to) is fixed until its text or files change, so a
signature covers exactly what was issued (webapp/requests/document.py).

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
models.CitizenRequest; `advance` moves a complaint or report on when its
addressee registers or answers it). Deadlines are the Kazakh day
(`webapp.clock.today`) against the application's `citizen_due_on`, the last
day included.

Another citizen's application or request is not found (404) on every route.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import force_locale, gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from signing import envelope
from signing.certificates import read_certificate
from signing.xmldsig import sign_enveloped
from webapp import sms, text_input
from webapp.applications.drafts import attachment_path, attachments_dir
from webapp.applications.sign_by_sms import _citizen_key, _phone_key, outcome_message
from webapp.applications.sign_by_sms import refusal_message as sms_refusal_message
from webapp.auth import current_citizen, login_required
from webapp.requests.document import AttachedFile, RequestDocument
from webapp.clock import now, today
from webapp.extensions import db, limiter
from webapp.i18n import current_language, long_date
from webapp.models import Application, ApplicationEvent, Attachment, CitizenRequest
from webapp.provider import lifecycle
from webapp.rendering import render_page
from webapp.services import catalogue, find, uploads
from webapp.services.fields import MESSAGES as FIELD_MESSAGES
from webapp.services.fields import Field, FieldError, FileAnswer, Upload, check_upload
from webapp.signatures import Purpose, Refused, portal_key, refusal_message, verify_citizen
from webapp.sms import codes

bp = Blueprint("requests", __name__, url_prefix="/<lang_code>/account")

PREFIXES = {"objection": "O", "documents": "D", "complaint": "C", "malfunction": "T"}
STATUSES = ("draft", "sent", "received", "answered")
# Complaints and malfunction reports are registered, then answered, by their addressee.
ADVANCES = {"sent": {"received", "answered"}, "received": {"answered"}}
SIGN_REQUEST = "sign-request"
TEXT_MAX_LENGTH = 5000
MAX_FILES = 5
MAX_FILE_MB = 5
SCREENSHOT_TYPES = ("image/png", "image/jpeg")
DECISIONS = ("assigned", "refused")

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


@bp.app_template_global()
def request_kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@bp.app_template_global()
def request_status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


@bp.app_template_global()
def request_rows(req: CitizenRequest, change: str | None = None) -> list[dict]:
    """What a request says, as summary-list rows (with Change links while it is a draft)."""
    rows = []  # (row, whether the form can change it)
    if req.kind == "malfunction":
        service = find(req.data.get("service", ""))
        rows.append(({"key": _("Service"), "value": _(service.short_name) if service else req.data.get("service", "")}, True))
        rows.append(({"key": _("Registration number of the application"),
                      "value": req.application.number if req.application else _("None")}, True))
        rows.append(({"key": _("IIN"), "value": req.iin}, False))
    elif req.application is not None:
        rows.append(({"key": _("Application"), "value": req.application.number}, False))
    if req.kind == "complaint" and change:  # a sent one says it as "Sent to"
        rows.append(({"key": _("Addressee"), "value": addressee_label(req)}, True))
    text_key = _("Description of the steps") if req.kind == "malfunction" else _("Text")
    files_key = _("Screenshots") if req.kind == "malfunction" else _("Files")
    rows.append(({"key": text_key, "value": req.text.split("\n") if req.text else _("None")}, True))
    rows.append(({"key": files_key, "value": [a.original_name for a in req.attachments] or _("None")}, True))
    return [
        {**row, "change_url": change, "change_hidden": row["key"]} if change and changeable else row
        for row, changeable in rows
    ]


# ── when each step is open ───────────────────────────────────────────────


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
        if status == "sent":
            return Availability(True)
        return Availability(False, "done" if status == "withdrawn" else "not_now")
    if kind == "complaint":
        return Availability(status in DECISIONS, "" if status in DECISIONS else "not_now")
    waiting_for, done_status = {
        "documents": ("documents_requested", "documents_provided"),
        "objection": ("provisional_refusal", "objection"),
    }[kind]
    if status == waiting_for:
        due = application.citizen_due_on
        if due is not None and today() > due:
            return Availability(False, "late", due)
        return Availability(True, due_on=due)
    if status == done_status:
        return Availability(False, "done", earlier=_last_sent(application, kind))
    return Availability(False, "not_now")


def _last_sent(application: Application, kind: str) -> CitizenRequest | None:
    return db.session.scalar(
        db.select(CitizenRequest)
        .filter(CitizenRequest.application_id == application.id, CitizenRequest.kind == kind,
                CitizenRequest.status != "draft")
        .order_by(CitizenRequest.sent_at.desc(), CitizenRequest.id.desc())
    )


def _last_event(application: Application, statuses: tuple[str, ...]) -> ApplicationEvent | None:
    return db.session.scalar(
        db.select(ApplicationEvent)
        .filter(ApplicationEvent.application_id == application.id, ApplicationEvent.status.in_(statuses))
        .order_by(ApplicationEvent.at.desc(), ApplicationEvent.id.desc())
    )


def _refers_to(application: Application | None, kind: str) -> ApplicationEvent | None:
    """The step a request answers: the notice objected to, the request for documents, the decision complained about."""
    if application is None:
        return None
    statuses = {"objection": ("provisional_refusal",), "documents": ("documents_requested",),
                "complaint": DECISIONS}.get(kind)
    return _last_event(application, statuses) if statuses else None


@bp.app_template_global()
def citizen_request_actions(application: Application) -> dict:
    """For the application page (templates/history/_actions.html): what the citizen can do now,
    the deadlines that passed, and the requests already sent about the application."""
    number = application.number
    links, closed = [], []
    for kind, endpoint, text in (
        ("withdraw", "requests.withdraw", _("Withdraw the application")),
        ("documents", "requests.documents", _("Provide the requested documents")),
        ("objection", "requests.objection", _("Object to the provisional refusal")),
        ("complaint", "requests.complaint", _("Complain about the result")),
    ):
        state = available(application, kind)
        if state.ok:
            links.append({"kind": kind, "href": url_for(endpoint, number=number), "text": text, "due_on": state.due_on})
        elif state.reason == "late":
            closed.append(_late_message(kind, state.due_on))
    links.append({
        "kind": "malfunction", "href": url_for("requests.malfunction", application=number),
        "text": _("Report a technical malfunction"), "due_on": None,
    })
    sent = db.session.scalars(
        db.select(CitizenRequest)
        .filter(CitizenRequest.application_id == application.id, CitizenRequest.status != "draft")
        .order_by(CitizenRequest.sent_at, CitizenRequest.id)
    ).all()
    return {"links": links, "closed": closed, "sent": sent}


def _late_message(kind: str, due_on: dt.date | None) -> str:
    if kind == "documents":
        return _("The deadline to provide the documents was %(date)s. It has passed, so documents can no longer be sent online for this application.", date=long_date(due_on))
    return _("The 2 working days to object to the provisional refusal ended on %(date)s, so an objection can no longer be sent online.", date=long_date(due_on))


def _closed(kind: str, application: Application | None, state: Availability, status: int = 200):
    """The page that says why there is nothing to send, and offers nothing to submit."""
    if state.reason == "late":
        message = _late_message(kind, state.due_on)
    elif kind == "withdraw" and state.reason == "done":
        message = _("This application has been withdrawn.")
    elif kind == "withdraw":
        message = _("An application can be withdrawn only until the service provider registers it. This one has been registered, so it can no longer be withdrawn.")
    elif state.reason == "done" and kind == "documents":
        message = _("You have already provided the requested documents for this application.")
    elif state.reason == "done":
        message = _("You have already objected to the provisional refusal of this application.")
    elif kind == "documents":
        message = _("The service provider has not asked for more documents for this application.")
    elif kind == "objection":
        message = _("There is no provisional refusal to object to on this application.")
    else:
        message = _("You can complain about the result once the service provider has made its decision.")
    title = {
        "withdraw": _("Withdraw the application"),
        "documents": _("Provide the requested documents"),
        "objection": _("Object to the provisional refusal"),
        "complaint": _("Complain about the result"),
    }[kind]
    page = render_page(
        "requests/closed.html", title=title, message=message, application=application, earlier=state.earlier,
        back=application_url(application),
    )
    return page, status


# ── lookups: the citizen's own, or 404 ──────────────────────────────────


def _own_application(number: str) -> Application:
    found = db.session.scalar(db.select(Application).filter_by(number=number, iin=current_citizen().iin))
    return found or abort(404)


def _own_request(number: str) -> CitizenRequest:
    found = db.session.scalar(db.select(CitizenRequest).filter(
        CitizenRequest.number == number, CitizenRequest.iin == current_citizen().iin,
        CitizenRequest.status != "draft"))
    return found or abort(404)


def _own_draft(public_id: str) -> CitizenRequest:
    """A request by its draft id (signed or not); anyone else's is not found."""
    if not public_id or len(public_id) > 32:
        abort(404)
    found = db.session.scalar(db.select(CitizenRequest).filter_by(public_id=public_id, iin=current_citizen().iin))
    return found or abort(404)


def application_url(application: Application | None) -> str:
    """The application's page in History of Services (webapp/history.py), or the history itself."""
    if application is None:
        return url_for("requests.index")
    for endpoint in ("history.application", "history.show"):
        try:
            return url_for(endpoint, number=application.number)
        except BuildError:
            continue
    return url_for("history.index")


# ── withdrawing ─────────────────────────────────────────────────────────


@bp.route("/applications/<number>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(number: str):
    """Withdraw an application the provider has not registered yet: a confirmation page, then the step."""
    application = _own_application(number)
    service = find(application.service_slug)
    if request.method == "GET" and application.status == "withdrawn":
        event = _last_event(application, ("withdrawn",))
        return render_page("requests/withdrawn.html", application=application, service=service, event=event,
                           back=application_url(application))
    state = available(application, "withdraw")
    if not state.ok:
        return _closed("withdraw", application, state, 409 if request.method == "POST" else 200)
    if request.method == "POST":
        try:
            lifecycle.record(application, "withdrawn", at=now(), data={"by": "citizen"})
            db.session.commit()
        except lifecycle.NotAllowed:
            # Registered a moment ago by the provider.
            db.session.rollback()
            return _closed("withdraw", application, available(application, "withdraw"), 409)
        return redirect(url_for("requests.withdraw", number=number))
    return render_page("requests/withdraw.html", application=application, service=service,
                       back=application_url(application))


# ── the forms ───────────────────────────────────────────────────────────


@dataclass
class Form:
    """What one request form asks, and what the citizen typed."""

    kind: str
    application: Application | None
    values: dict
    kept: list[Attachment]
    errors: list[tuple[str, str]]

    @property
    def error_for(self) -> dict[str, str]:
        return dict(self.errors)


def _files_field(kind: str) -> Field:
    label = _("Screenshots") if kind == "malfunction" else _("Files")
    return Field(id="files", type="file", label=label, max_files=MAX_FILES, max_size_mb=MAX_FILE_MB)


def _draft_for(iin: str, kind: str, application: Application | None) -> CitizenRequest | None:
    """The citizen's unsigned request of this kind about this application (one at a time);
    a malfunction report's whichever application it names."""
    query = db.select(CitizenRequest).filter_by(iin=iin, kind=kind, status="draft")
    if kind != "malfunction":
        query = query.filter_by(application_id=application.id if application else None)
    draft = db.session.scalar(query.order_by(CitizenRequest.id.desc()))
    if draft is not None and _aware(draft.updated_at) < now() - draft_lifetime():
        _delete_draft(draft)
        return None
    return draft


def draft_lifetime() -> dt.timedelta:
    """Unsigned requests are kept as long as drafts of applications (DRAFT_LIFETIME_DAYS)."""
    return dt.timedelta(days=current_app.config["DRAFT_LIFETIME_DAYS"])


def _delete_draft(draft: CitizenRequest) -> None:
    paths = [attachment_path(a) for a in draft.attachments]
    db.session.delete(draft)
    db.session.commit()
    for path in paths:
        path.unlink(missing_ok=True)


def purge_drafts() -> int:
    """Delete unsigned requests not changed for DRAFT_LIFETIME_DAYS, with their files; how many went.

    For a periodic job; a citizen's own stale draft also goes when they open its form again.
    """
    stale = db.session.scalars(
        db.select(CitizenRequest).filter(
            CitizenRequest.status == "draft", CitizenRequest.updated_at < now() - draft_lifetime()
        )
    ).all()
    for draft in stale:
        _delete_draft(draft)
    return len(stale)


def _read_text(name: str) -> str:
    return text_input.neutralise(request.form.get(name)).replace("\r\n", "\n").replace("\r", "\n").strip()


def _refuse_unwritable(form: Form, name: str, title: str) -> None:
    """Text XML cannot carry is refused, and shown again without those characters."""
    if not text_input.writable(form.values.get(name)):
        form.errors.append((name, text_input.message(title)))
        form.values[name] = text_input.without_unwritable(form.values[name])


def _check_form(form: Form, raw_files: FileAnswer) -> list[Upload]:
    """Fill form.errors; the checked new uploads."""
    kind, values = form.kind, form.values
    errors = form.errors
    text_title = _("Description of the steps") if kind == "malfunction" else _("Text")
    _refuse_unwritable(form, "text", text_title)
    if kind == "malfunction":
        _refuse_unwritable(form, "registration_number", _("Registration number of the application"))
        if not find(values.get("service", "")):
            errors.append(("service", _("Choose the service in which the problem happened")))
        wanted = values.get("registration_number", "").strip()
        if wanted:
            own = db.session.scalar(db.select(Application).filter_by(number=wanted, iin=current_citizen().iin))
            if own is None:
                errors.append(("registration_number", _("We have no application of yours with this number. Check the number in History of Services, or leave it empty.")))
    if kind == "complaint" and values.get("addressee") not in COMPLAINT_ADDRESSEES:
        errors.append(("addressee", _("Choose who should consider your complaint")))
    blank = {
        "objection": _("Write your objection to the provisional refusal"),
        "complaint": _("Write what your complaint is about"),
        "malfunction": _("Describe the steps that led to the problem"),
    }
    text = values.get("text", "")
    if not text and kind in blank:
        errors.append(("text", blank[kind]))
    elif len(text) > TEXT_MAX_LENGTH:
        errors.append(("text", str(FIELD_MESSAGES["too_long"]) % {"field": text_title, "max": TEXT_MAX_LENGTH}))
    checked: list[Upload] = []
    if kind == "documents" and not (raw_files.kept or raw_files.new):
        errors.append(("files", _("Choose the documents to upload: a PDF, JPG or PNG file each")))
    else:
        checked, problem = _check_files(kind, raw_files)
        if problem:
            errors.append(("files", problem))
    if errors:
        if raw_files.new and not any(target == "files" for target, _text in errors):
            errors.append(("files", _("Your files were not attached because of the problems above. Choose them again.")))
        return []
    return checked


def _check_files(kind: str, raw: FileAnswer) -> tuple[list[Upload], str | None]:
    """The new files with their real types, or what is wrong, naming the file.

    Files are judged by their content, opened as what their first bytes say, and must be named
    as that (webapp.services.uploads); screenshots must be images.
    """
    field = _files_field(kind)
    if len(raw.kept) + len(raw.new) > MAX_FILES:
        return [], str(FIELD_MESSAGES["file_count"]) % {"field": field.label, "count": MAX_FILES}
    checked = []
    for upload in raw.new:
        name = upload.original_name
        if not upload.content:
            return [], _("“%(file)s” is empty. Choose another file.", file=name)
        if len(upload.content) > MAX_FILE_MB * 1024 * 1024:
            return [], _("“%(file)s” is larger than %(size)s MB. Choose a smaller file.", file=name, size=MAX_FILE_MB)
        content_type = uploads.sniff(upload.content)
        if kind == "malfunction" and content_type not in SCREENSHOT_TYPES:
            return [], _("“%(file)s” is not a PNG or JPG image. A screenshot must be a PNG or JPG image.", file=name)
        if content_type is None:
            return [], _("“%(file)s” is not a PDF, JPG or PNG file. Choose a PDF, JPG or PNG file.", file=name)
        try:
            checked.append(check_upload(upload))
        except FieldError as refused:
            return [], refused.message(field.label, {})
    return checked, None


def _request_form(kind: str, application: Application | None):
    """Show, check and save one request form; on success go to the page to check and sign it."""
    citizen = current_citizen()
    state = available(application, kind)
    if not state.ok:
        return _closed(kind, application, state)
    draft = _draft_for(citizen.iin, kind, application)
    if request.method == "GET":
        values = {"text": draft.text if draft else "", **(draft.data if draft else {})}
        if kind == "malfunction" and application is not None and (not draft or draft.application_id != application.id):
            values.update(service=application.service_slug, registration_number=application.number)
        form = Form(kind, application, values, list(draft.attachments) if draft else [], [])
        return _form_page(form)

    values = {"text": _read_text("text")}
    if kind == "complaint":
        values["addressee"] = (request.form.get("addressee") or "").strip()
    if kind == "malfunction":
        values["service"] = (request.form.get("service") or "").strip()
        values["registration_number"] = _read_text("registration_number").upper()[:20]
    raw = _files_field(kind).read(request.form, request.files)
    attached = list(draft.attachments) if draft else []
    kept = [a for a in attached if a.public_id in raw.kept]
    form = Form(kind, application, values, kept, [])
    action = request.form.get("action", "")
    if action.startswith("remove-"):
        form.kept = [a for a in kept if a.public_id != action.removeprefix("remove-")]
        return _form_page(form)
    raw = FileAnswer(kept=tuple(a.public_id for a in kept), new=raw.new)
    uploads = _check_form(form, raw)
    if form.errors:
        return _form_page(form)
    if kind == "malfunction":
        # The report is about the application whose number the citizen gave, if any.
        application = values.get("registration_number") and db.session.scalar(
            db.select(Application).filter_by(number=values["registration_number"], iin=citizen.iin)) or None
    saved = _save_draft(draft, kind, application, values, kept, uploads)
    return redirect(url_for("requests.check", public_id=saved.public_id))


def _form_page(form: Form):
    services = [{"value": "", "text": _("Choose a service")}] + [
        {"value": p.slug, "text": _(p.short_name)} for p in catalogue()
    ]
    titles = {
        "objection": _("Object to the provisional refusal"),
        "documents": _("Provide the requested documents"),
        "complaint": _("Complain about the result"),
        "malfunction": _("Report a technical malfunction"),
    }
    application = form.application
    return render_page(
        "requests/form.html",
        form=form,
        kind=form.kind,
        title=titles[form.kind],
        application=application,
        service=find(application.service_slug) if application else None,
        refers_to=_refers_to(application, form.kind),
        values=form.values,
        errors=[{"text": text, "href": f"#{target}"} for target, text in form.errors],
        error_for=form.error_for,
        has_errors=bool(form.errors),
        services=services,
        max_files=MAX_FILES,
        max_file_mb=MAX_FILE_MB,
        max_length=TEXT_MAX_LENGTH,
        addressees=_addressee_choices(application),
        back=application_url(application) if form.kind != "malfunction" or application else url_for("requests.index"),
        action=request.full_path.rstrip("?"),
    )


def _addressee_choices(application: Application | None) -> list[dict]:
    """A complaint's addressees as radios, the provider's head named by the service's provider."""
    service = find(application.service_slug) if application else None
    return [
        {"value": value, "text": str(label),
         **({"hint": _(service.provider)} if value == "provider-head" and service else {})}
        for value, label in COMPLAINT_ADDRESSEES.items()
    ]


@bp.route("/applications/<number>/documents", methods=["GET", "POST"])
@login_required
def documents(number: str):
    """Upload the documents the provider asked for, within its deadline; then sign."""
    return _request_form("documents", _own_application(number))


@bp.route("/applications/<number>/objection", methods=["GET", "POST"])
@login_required
def objection(number: str):
    """Object to a provisional refusal within 2 working days: text and files; then sign."""
    return _request_form("objection", _own_application(number))


@bp.route("/applications/<number>/complaint", methods=["GET", "POST"])
@login_required
def complaint(number: str):
    """Complain about the result to the authorised body for the quality of public services; then sign."""
    return _request_form("complaint", _own_application(number))


@bp.route("/requests/malfunction", methods=["GET", "POST"])
@login_required
def malfunction():
    """Report a technical malfunction: the service, the application's number, the steps and screenshots; then sign."""
    number = request.args.get("application")
    application = _own_application(number) if number else None
    return _request_form("malfunction", application)


# ── drafts: stored files and the fixed document ─────────────────────────


def _store_upload(upload: Upload) -> tuple[Attachment, Path]:
    # A random name: nothing the citizen typed reaches the file system.
    stored_name = secrets.token_hex(20)
    path = attachments_dir() / stored_name
    path.write_bytes(upload.content)
    attachment = Attachment(
        public_id=secrets.token_hex(12), field="files", stored_name=stored_name, original_name=upload.original_name,
        content_type=upload.content_type, size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(), created_at=now(),
    )
    return attachment, path


def _save_draft(draft: CitizenRequest | None, kind: str, application: Application | None, values: dict,
                kept: list[Attachment], uploads: list[Upload]) -> CitizenRequest:
    """Store the request's text and files as an unsigned draft with a newly issued document."""
    citizen = current_citizen()
    written: list[Path] = []
    dropped: list[Path] = []
    moment = now()
    refers_to = _refers_to(application, kind)
    try:
        if draft is None:
            draft = CitizenRequest(
                public_id=secrets.token_hex(16), kind=kind, iin=citizen.iin, status="draft", created_at=moment,
                data={}, text="", language=current_language(),
            )
            db.session.add(draft)
        draft.application_id = application.id if application else None
        draft.application = application
        for attachment in list(draft.attachments):
            if attachment not in kept:
                dropped.append(attachment_path(attachment))
                draft.attachments.remove(attachment)
        for upload in uploads:
            attachment, path = _store_upload(upload)
            written.append(path)
            draft.attachments.append(attachment)
        draft.text = values.get("text", "")
        draft.data = {k: v for k, v in values.items() if k != "text" and v}
        if refers_to is not None:
            draft.data["refers_to"] = {"status": refers_to.status, "at": _aware(refers_to.at).isoformat()}
        draft.language = current_language()
        draft.updated_at = moment
        _issue(draft, refers_to)
        db.session.commit()
    except Exception:
        db.session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        raise
    for path in dropped:
        path.unlink(missing_ok=True)
    return draft


def _issue(draft: CitizenRequest, refers_to: ApplicationEvent | None) -> None:
    """A new nonce and issue time, and the document built from them: a changed request is a new document."""
    citizen = current_citizen()
    application = draft.application
    service = find(draft.data.get("service", "")) if draft.kind == "malfunction" else None
    document = RequestDocument(
        kind=draft.kind,
        language=draft.language,
        iin=draft.iin,
        name=citizen.name(draft.language).full,
        text=draft.text,
        nonce=secrets.token_hex(16),
        issued_at=now().replace(microsecond=0),
        application_number=application.number if application else None,
        application_service=application.service_slug if application else None,
        service_slug=service.slug if service else None,
        service_name=service.short_name if service else None,
        refers_to_status=refers_to.status if refers_to else None,
        refers_to_at=_aware(refers_to.at) if refers_to else None,
        addressee=draft.data.get("addressee") if draft.kind == "complaint" else None,
        attachments=tuple(
            AttachedFile(a.public_id, a.original_name, a.content_type, a.size, a.sha256) for a in draft.attachments
        ),
    )
    draft.document = document.to_xml()
    draft.document_nonce = document.nonce
    draft.document_sha256 = hashlib.sha256(draft.document).hexdigest()


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


# ── check and sign ──────────────────────────────────────────────────────


def _form_url(draft: CitizenRequest) -> str:
    if draft.kind == "malfunction":
        if draft.application is not None:
            return url_for("requests.malfunction", application=draft.application.number)
        return url_for("requests.malfunction")
    return url_for(f"requests.{draft.kind}", number=draft.application.number)


def _still_open(draft: CitizenRequest) -> Availability:
    if draft.kind == "malfunction":
        return Availability(True)
    return available(draft.application, draft.kind)


def _check_page(draft: CitizenRequest, error: str | None = None, anchor: str = "#sign-with-eds"):
    iin = draft.iin
    service = find(draft.data.get("service", "")) if draft.kind == "malfunction" else None
    application = draft.application
    return render_page(
        "requests/check.html",
        draft=draft,
        application=application,
        service=service or (find(application.service_slug) if application else None),
        change=_form_url(draft),
        errors=[{"text": error, "href": anchor}] if error else [],
        has_errors=bool(error),
        masked_phone=(phone := codes.registered_phone(iin)) and codes.mask_phone(phone),
        sms_available=sms.available(),
        sms_status=codes.status(iin),
    )


def _unsigned(public_id: str):
    """The citizen's draft, or where to go instead: the sent request, or why it can no longer be sent."""
    draft = _own_draft(public_id)
    if draft.status != "draft":
        return draft, redirect(url_for("requests.show", number=draft.number))
    state = _still_open(draft)
    if not state.ok:
        return draft, _closed(draft.kind, draft.application, state)
    return draft, None


@bp.route("/requests/drafts/<public_id>")
@login_required
def check(public_id: str):
    """Check the request before signing, with a link to change it; sign with EDS or an SMS password."""
    draft, elsewhere = _unsigned(public_id)
    return elsewhere or _check_page(draft)


@bp.route("/requests/drafts/<public_id>/request.xml")
@login_required
def document(public_id: str):
    """The request exactly as it will be signed."""
    draft = _own_draft(public_id)
    if draft.status != "draft" or not draft.document:
        abort(404)
    response = Response(draft.document, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="request-{draft.kind}.xml"'
    return response


class _Closed(Exception):
    """The request can no longer be sent (a deadline passed, or the provider moved on)."""


def _send(draft: CitizenRequest, signed_xml: bytes, signed_with: str, signer: dict) -> CitizenRequest:
    """Number and store the signed request and take the application's step, once and all or nothing."""
    moment = now()
    number = f"{PREFIXES[draft.kind]}-{moment:%Y}-{draft.id:07d}"
    try:
        taken = db.session.execute(
            db.update(CitizenRequest)
            .where(CitizenRequest.id == draft.id, CitizenRequest.status == "draft")
            .values(status="sent", number=number, sent_at=moment, updated_at=moment, signed_xml=signed_xml,
                    signed_with=signed_with, **signer)
            .execution_options(synchronize_session=False)
        ).rowcount
        application = db.session.get(Application, draft.application_id) if draft.application_id else None
        if taken and draft.kind in ("objection", "documents"):
            step = "objection" if draft.kind == "objection" else "documents_provided"
            lifecycle.record(application, step, at=moment, data={"request": number})
        elif taken and application is not None:
            # The application's page lists it: a new version, like any change the page shows.
            lifecycle.touch(application)
        db.session.commit()
    except lifecycle.NotAllowed:
        db.session.rollback()
        raise _Closed() from None
    except Exception:
        db.session.rollback()
        raise
    db.session.refresh(draft)
    return draft


@bp.route("/requests/drafts/<public_id>/sign/eds", methods=["POST"])
@login_required
def sign_with_eds(public_id: str):
    """Receive the request signed by NCALayer, verify it against the issued document and send it."""
    draft, elsewhere = _unsigned(public_id)
    signed_xml = request.form.get("signed_xml", "").encode("utf-8")
    if elsewhere:
        if draft.status != "draft" and draft.signed_xml == signed_xml:
            flash(_("This signed document had already been sent: this is the request it made. It was not sent twice."), "success")
        return elsewhere
    if not signed_xml.strip():
        return _check_page(draft, refusal_message("not_signed"))
    try:
        verdict = verify_citizen(signed_xml, issued=draft.document, purpose=Purpose.SIGN, iin=draft.iin)
    except Refused as refusal:
        reason = refusal.reason
        if reason == "document_mismatch" and _sent_with(draft.iin, signed_xml):
            reason = "replayed"  # the signature of a request sent before, not of this one
        current_app.logger.info("EDS signature of a request refused: %s (%s)", reason, refusal.detail)
        return _check_page(draft, refusal_message(reason, Purpose.SIGN))
    evidence = verdict.revocation
    signer = {
        "signer_name": verdict.signer.name,
        "signer_serial": verdict.signer.serial,
        "revocation_method": evidence.method if evidence else None,
        "revocation_checked_at": evidence.checked_at if evidence else None,
        "revocation_response": evidence.response if evidence else None,
    }
    return _sent_or_closed(draft, signed_xml, "eds", signer)


def _sent_with(iin: str, signed_xml: bytes) -> bool:
    """Whether these exact signed bytes already sent one of the citizen's requests."""
    return db.session.scalar(
        db.select(CitizenRequest.id).filter(CitizenRequest.iin == iin, CitizenRequest.status != "draft",
                                            CitizenRequest.signed_xml == signed_xml)
    ) is not None


def _sent_or_closed(draft: CitizenRequest, signed_xml: bytes, signed_with: str, signer: dict):
    try:
        sent = _send(draft, signed_xml, signed_with, signer)
    except _Closed:
        return _closed(draft.kind, draft.application, _still_open(draft), 409)
    return redirect(url_for("requests.show", number=sent.number))


def _sms_text(draft: CitizenRequest):
    number = draft.application.number if draft.application else ""

    def text(code: str) -> str:
        with force_locale(draft.language):
            texts = {
                "objection": lambda: _("Code %(code)s to sign your objection on application %(number)s; do not share it with anyone.", code=code, number=number),
                "documents": lambda: _("Code %(code)s to sign the documents for application %(number)s; do not share it with anyone.", code=code, number=number),
                "complaint": lambda: _("Code %(code)s to sign your complaint about application %(number)s; do not share it with anyone.", code=code, number=number),
                "malfunction": lambda: _("Code %(code)s to sign your technical malfunction report; do not share it with anyone.", code=code),
            }
            return texts[draft.kind]()

    return text


@bp.route("/requests/drafts/<public_id>/sign/sms", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["SMS_LIMIT_PER_ADDRESS"])
@limiter.limit(lambda: current_app.config["SMS_LIMIT_PER_CITIZEN"], key_func=_citizen_key)
@limiter.limit(lambda: current_app.config["SMS_LIMIT_PER_PHONE"], key_func=_phone_key)
def send_sms_password(public_id: str):
    """Send a one-time password bound to the request's document as it stands now."""
    draft, elsewhere = _unsigned(public_id)
    if elsewhere:
        return elsewhere
    result = codes.issue(draft.iin, SIGN_REQUEST, codes.document_digest(draft.document), None, _sms_text(draft),
                         subject=f"request:{draft.public_id}")
    if not result.ok:
        earlier = codes.get(request.form.get("challenge", ""), draft.iin)
        if earlier is not None and earlier.purpose == SIGN_REQUEST:
            return _password_page(draft, earlier, sms_refusal_message(result), anchor="#sms-status")
        return _check_page(draft, sms_refusal_message(result), anchor="#sign-with-sms")
    return redirect(url_for("requests.enter_sms_password", public_id=public_id, challenge_id=result.id))


def _password_page(draft: CitizenRequest, challenge: codes.Challenge, error: str | None = None, entered: str = "",
                   anchor: str = "#code"):
    return render_page(
        "requests/sign_by_sms.html",
        fragment="sms_status",
        draft=draft,
        challenge=challenge,
        status=codes.status(challenge.iin, purpose=challenge.purpose, document_sha256=challenge.document_sha256),
        errors=[{"text": error, "href": anchor}] if error else [],
        has_errors=bool(error),
        entered=text_input.without_unwritable(entered),  # a code, never stored: shown as valid HTML
        code_error=error if anchor == "#code" else None,
    )


@bp.route("/requests/drafts/<public_id>/sign/sms/<challenge_id>", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["SMS_CODE_ENTRY_LIMIT"], methods=["POST"], key_func=_citizen_key)
def enter_sms_password(public_id: str, challenge_id: str):
    """Enter the password from the SMS to sign and send the request."""
    challenge = codes.get(challenge_id, current_citizen().iin)
    if challenge is None or challenge.purpose != SIGN_REQUEST:
        abort(404)
    draft, elsewhere = _unsigned(public_id)
    if elsewhere:
        return elsewhere
    if request.method == "GET":
        return _password_page(draft, challenge)
    entered = request.form.get("code", "")
    # The code's use commits with the sent request (in _send), so a process that
    # dies in between leaves the code usable for the resubmitted form.
    outcome = codes.check(
        challenge.id, draft.iin, SIGN_REQUEST, codes.document_digest(draft.document), entered,
        subject=f"request:{draft.public_id}", commit=False,
    )
    if not outcome.ok:
        messages = {
            "other_document": _("Your request has changed since we sent the password. Check it and ask for a new password."),
            "other_subject": _("This password was sent for another request. Enter the password sent for this one, or ask for a new password."),
        }
        message = messages.get(outcome.kind) or outcome_message(outcome)
        return _password_page(draft, codes.get(challenge_id, draft.iin), message, entered)
    confirmation = {
        "maskedPhone": challenge.masked_phone,
        "confirmedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "challenge": challenge.id,
        "documentSha256": challenge.document_sha256,
    }
    key = portal_key()
    signed_xml = sign_enveloped(envelope.build(draft.document, [("sms-confirmation", confirmation)]), key)
    portal = read_certificate(key.certificate)
    signer = {"signer_name": portal.organisation or portal.name, "signer_serial": portal.serial}
    return _sent_or_closed(draft, signed_xml, "sms", signer)


# ── the citizen's requests ──────────────────────────────────────────────


@bp.route("/requests")
@login_required
def index():
    """The citizen's signed requests, newest first: number, kind, date and status."""
    sent = db.session.scalars(
        db.select(CitizenRequest)
        .filter(CitizenRequest.iin == current_citizen().iin, CitizenRequest.status != "draft")
        .order_by(CitizenRequest.sent_at.desc(), CitizenRequest.id.desc())
    ).all()
    return render_page("requests/index.html", requests=sent)


def _decision_referring(sent: CitizenRequest) -> ApplicationEvent | None:
    """The provider's decision that refers to this objection, once there is one."""
    if sent.kind != "objection" or sent.application_id is None:
        return None
    events = db.session.scalars(
        db.select(ApplicationEvent)
        .filter(ApplicationEvent.application_id == sent.application_id, ApplicationEvent.status.in_(DECISIONS))
        .order_by(ApplicationEvent.at, ApplicationEvent.id)
    ).all()
    return next((e for e in events if (e.data or {}).get("objection") == sent.number), None)


@bp.route("/requests/<number>")
@login_required
def show(number: str):
    """One request: what was sent, to whom, when, its status, and the signed document."""
    sent = _own_request(number)
    application = sent.application
    service = find(sent.data.get("service", "")) if sent.kind == "malfunction" else None
    return render_page(
        "requests/show.html",
        sent=sent,
        application=application,
        application_service=find(application.service_slug) if application else None,
        service=service,
        addressee=addressee_label(sent),
        signed_with=(
            _("With the EDS of %(name)s", name=sent.signer_name) if sent.signed_with == "eds"
            else _("Confirmed by you with an SMS password; signed by the portal")
        ),
        decision=_decision_referring(sent),
        back=application_url(application) if application else url_for("requests.index"),
    )


@bp.route("/requests/<number>/signed.xml")
@login_required
def signed_xml(number: str):
    """The request exactly as it was signed."""
    sent = _own_request(number)
    response = Response(sent.signed_xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="request-{sent.number}.xml"'
    return response


# ── for the addressee's side ────────────────────────────────────────────


def advance(sent: CitizenRequest, status: str, *, at: dt.datetime, answer: str | None = None) -> None:
    """A complaint or malfunction report registered ("received") or answered by its addressee.

    Adds to the session; the caller commits.
    """
    if sent.kind not in ("complaint", "malfunction") or status not in ADVANCES.get(sent.status, set()):
        raise ValueError(f"a {sent.kind} that is {sent.status} cannot become {status}")
    sent.status = status
    sent.updated_at = at
    data = dict(sent.data or {})
    data[f"{status}_at"] = _aware(at).isoformat()
    if answer:
        data["answer"] = answer
    sent.data = data
