"""What a citizen sends about an application already sent: the pages to withdraw
it, provide requested documents, object to a provisional refusal, complain
about the result and report a technical malfunction; to check a request and
sign it with EDS or an SMS password; and the citizen's sent requests.

Views stay thin: the kinds and their deadlines are webapp/requests/kinds.py,
the forms forms.py, the drafts and their document drafts.py and document.py,
sending submission.py. Another citizen's application or request is not
found (404) on every route.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.routing import BuildError

from signing.verify import Purpose, Refused
from webapp.auth import current_citizen, login_required
from webapp.clock import now
from webapp.egov_mobile import pages as egov_pages
from webapp.egov_mobile import sessions as egov_sessions
from webapp.extensions import db
from webapp.i18n import current_language
from webapp.models import Application, ApplicationStatus, CitizenRequest
from webapp.provider import lifecycle
from webapp.rendering import render_page
from webapp.requests.drafts import draft_for, save_draft
from webapp.requests.forms import Form, check_form, files_field, read_text
from webapp.requests.kinds import (
    COMPLAINT_ADDRESSEES, KIND_LABELS, MAX_FILE_MB, MAX_FILES, SIGN_REQUEST, TEXT_MAX_LENGTH, Availability, addressee_label,
    available, last_event, late_message, referred_step, request_kind_label, still_open,
)
from webapp.requests.submission import Closed, decision_referring, eds_signer, send, sms_text
from webapp.services import catalogue, find
from webapp.services.fields import FileAnswer
from webapp.signatures import refusal_message
from webapp.sms import codes
from webapp.sms.pages import PasswordPage, sms_limits, sms_option
from webapp.sms.signing import Confirming, confirmation, countersign, outcome_message
from webapp.sms.signing import refusal_message as sms_refusal_message

bp = Blueprint("requests", __name__, url_prefix="/<lang_code>/account")


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
            closed.append(late_message(kind, state.due_on))
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


def _closed(kind: str, application: Application | None, state: Availability, status: int = 200):
    """The page that says why there is nothing to send, and offers nothing to submit."""
    if state.reason == "late":
        message = late_message(kind, state.due_on)
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


# ── withdrawing ─────────────────────────────────────────────────────────


@bp.route("/applications/<number>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(number: str):
    """Withdraw an application the provider has not registered yet: a confirmation page, then the step."""
    application = _own_application(number)
    service = find(application.service_slug)
    if request.method == "GET" and application.status == ApplicationStatus.WITHDRAWN:
        event = last_event(application, (ApplicationStatus.WITHDRAWN,))
        return render_page("requests/withdrawn.html", application=application, service=service, event=event,
                           back=application_url(application))
    state = available(application, "withdraw")
    if not state.ok:
        return _closed("withdraw", application, state, 409 if request.method == "POST" else 200)
    if request.method == "POST":
        try:
            lifecycle.record(application, ApplicationStatus.WITHDRAWN, at=now(), data={"by": "citizen"})
            db.session.commit()
        except lifecycle.NotAllowed:
            # Registered a moment ago by the provider.
            db.session.rollback()
            return _closed("withdraw", application, available(application, "withdraw"), 409)
        return redirect(url_for("requests.withdraw", number=number))
    return render_page("requests/withdraw.html", application=application, service=service,
                       back=application_url(application))


# ── the forms ───────────────────────────────────────────────────────────


def _request_form(kind: str, application: Application | None):
    """Show, check and save one request form; on success go to the page to check and sign it."""
    citizen = current_citizen()
    state = available(application, kind)
    if not state.ok:
        return _closed(kind, application, state)
    draft = draft_for(citizen.iin, kind, application)
    if request.method == "GET":
        values = {"text": draft.text if draft else "", **(draft.data if draft else {})}
        if kind == "malfunction" and application is not None and (not draft or draft.application_id != application.id):
            values.update(service=application.service_slug, registration_number=application.number)
        form = Form(kind, application, values, list(draft.attachments) if draft else [], [])
        return _form_page(form)

    values = {"text": read_text("text")}
    if kind == "complaint":
        values["addressee"] = (request.form.get("addressee") or "").strip()
    if kind == "malfunction":
        values["service"] = (request.form.get("service") or "").strip()
        values["registration_number"] = read_text("registration_number").upper()[:20]
    raw = files_field(kind).read(request.form, request.files)
    attached = list(draft.attachments) if draft else []
    kept = [a for a in attached if a.public_id in raw.kept]
    form = Form(kind, application, values, kept, [])
    action = request.form.get("action", "")
    if action.startswith("remove-"):
        form.kept = [a for a in kept if a.public_id != action.removeprefix("remove-")]
        return _form_page(form)
    raw = FileAnswer(kept=tuple(a.public_id for a in kept), new=raw.new)
    uploads = check_form(form, raw)
    if form.errors:
        return _form_page(form)
    if kind == "malfunction":
        # The report is about the application whose number the citizen gave, if any.
        application = values.get("registration_number") and db.session.scalar(
            db.select(Application).filter_by(number=values["registration_number"], iin=citizen.iin)) or None
    saved = save_draft(citizen, current_language(), draft, kind, application, values, kept, uploads)
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
        refers_to=referred_step(application, form.kind),
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


# ── check and sign ──────────────────────────────────────────────────────


def _form_url(draft: CitizenRequest) -> str:
    if draft.kind == "malfunction":
        if draft.application is not None:
            return url_for("requests.malfunction", application=draft.application.number)
        return url_for("requests.malfunction")
    return url_for(f"requests.{draft.kind}", number=draft.application.number)


def _check_page(draft: CitizenRequest, error: str | None = None, anchor: str = "#sign-with-eds"):
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
        **sms_option(draft.iin),
    )


def _unsigned(public_id: str):
    """The citizen's draft, or where to go instead: the sent request, or why it can no longer be sent."""
    draft = _own_draft(public_id)
    if draft.status != "draft":
        return draft, redirect(url_for("requests.show", number=draft.number))
    state = still_open(draft)
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


@bp.route("/requests/drafts/<public_id>/sign/eds", methods=["POST"])
@login_required
def sign_with_eds(public_id: str):
    """Receive the request signed by NCALayer, verify it against the issued document and send it."""
    return _send_signed(public_id, request.form.get("signed_xml", "").encode("utf-8"))


def _send_signed(public_id: str, signed_xml: bytes, on_sent=None):
    """Send the request with the citizen's signature (NCALayer's or eGov Mobile's), or say why not."""
    draft, elsewhere = _unsigned(public_id)
    if elsewhere:
        if draft.status != "draft" and draft.signed_xml == signed_xml:
            flash(_("This signed document had already been sent: this is the request it made. It was not sent twice."), "success")
        return elsewhere
    if not signed_xml.strip():
        return _check_page(draft, refusal_message("not_signed"))
    try:
        signer = eds_signer(draft, signed_xml)
    except Refused as refusal:
        current_app.logger.info("EDS signature of a request refused: %s (%s)", refusal.reason, refusal.detail)
        return _check_page(draft, refusal_message(refusal.reason, Purpose.SIGN))
    response = _sent_or_closed(draft, signed_xml, "eds", signer)
    if on_sent is not None and not isinstance(response, tuple) and response.status_code == 302:
        on_sent()
    return response


@bp.route("/requests/drafts/<public_id>/sign/egov-mobile", methods=["POST"])
@login_required
@egov_pages.code_limits
def sign_with_egov_mobile(public_id: str):
    """A one-time QR code and link for the eGov Mobile app to sign the request as it stands now."""
    draft, elsewhere = _unsigned(public_id)
    if elsewhere:
        return elsewhere
    record = egov_sessions.open_session(
        egov_sessions.SIGN_REQUEST, f"request:{draft.public_id}", draft.document, iin=draft.iin,
        language=current_language(), names=egov_sessions.names_in_every_language(KIND_LABELS[draft.kind]),
    )
    return redirect(egov_pages.page_url(record))


@bp.route("/requests/drafts/<public_id>/sign/egov-mobile/<signing_id>", methods=["POST"])
@login_required
def finish_egov_mobile(public_id: str, signing_id: str):
    """Send the request with the signature eGov Mobile gave (the page posts here once it has one)."""
    _own_draft(public_id)
    record = egov_pages.owned(signing_id, egov_sessions.SIGN_REQUEST, f"request:{public_id}")
    return egov_pages.finish(record, lambda signed_xml, on_sent: _send_signed(public_id, signed_xml, on_sent=on_sent))


def _sent_or_closed(draft: CitizenRequest, signed_xml: bytes, signed_with: str, signer: dict):
    try:
        sent = send(draft, signed_xml, signed_with, signer)
    except Closed:
        return _closed(draft.kind, draft.application, still_open(draft), 409)
    return redirect(url_for("requests.show", number=sent.number))


def _confirming(draft: CitizenRequest) -> Confirming:
    """The password for the request's document as it stands now."""
    return Confirming.document(draft.iin, SIGN_REQUEST, draft.document, f"request:{draft.public_id}")


@bp.route("/requests/drafts/<public_id>/sign/sms", methods=["POST"])
@login_required
@sms_limits("issue")
def send_sms_password(public_id: str):
    """Send a one-time password bound to the request's document as it stands now."""
    draft, elsewhere = _unsigned(public_id)
    if elsewhere:
        return elsewhere
    result = _confirming(draft).issue(sms_text(draft))
    if not result.ok:
        earlier = codes.get(request.form.get("challenge", ""), draft.iin)
        if earlier is not None and earlier.purpose == SIGN_REQUEST:
            return _password_page(draft, earlier, sms_refusal_message(result), anchor="#sms-status")
        return _check_page(draft, sms_refusal_message(result), anchor="#sign-with-sms")
    return redirect(url_for("requests.enter_sms_password", public_id=public_id, challenge_id=result.id))


def _password_page(draft: CitizenRequest, challenge: codes.Challenge, error: str | None = None, entered: str = "",
                   anchor: str = "#code"):
    check = url_for("requests.check", public_id=draft.public_id)
    page = PasswordPage(
        caption=request_kind_label(draft.kind),
        back=check,
        intro=_("We sent a one-time password of 6 digits to %(phone)s, the phone registered for your IIN. It works once, for 5 minutes, and only for this request.", phone=challenge.masked_phone),
        confirm=_("By signing, you confirm that the information in the request is true."),
        enter_url=url_for("requests.enter_sms_password", public_id=draft.public_id, challenge_id=challenge.id),
        resend_url=url_for("requests.send_sms_password", public_id=draft.public_id),
        eds_url=check + "#sign-with-eds",
    )
    return page.render(challenge, error, entered, anchor)


@bp.route("/requests/drafts/<public_id>/sign/sms/<challenge_id>", methods=["GET", "POST"])
@login_required
@sms_limits("enter")
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
    # The code's use commits with the sent request (in send), so a process that
    # dies in between leaves the code usable for the resubmitted form.
    outcome = _confirming(draft).enter(challenge.id, entered, commit=False)
    if not outcome.ok:
        message = outcome_message(
            outcome,
            changed=_("Your request has changed since we sent the password. Check it and ask for a new password."),
            other=_("This password was sent for another request. Enter the password sent for this one, or ask for a new password."),
        )
        return _password_page(draft, codes.get(challenge_id, draft.iin), message, entered)
    signed = countersign(draft.document, confirmation(challenge))
    signer = {"signer_name": signed.signer_name, "signer_serial": signed.signer_serial}
    return _sent_or_closed(draft, signed.signed_xml, "sms", signer)


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
        decision=decision_referring(sent),
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
