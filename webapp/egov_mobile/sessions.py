"""Signing with the eGov Mobile app: one-time signing sessions and the app's side of the protocol.

The portal opens a session for one document (an application, a request, a
login challenge) and shows a QR code `mobileSign:<API 1 URL>` or, on a
phone, the link `https://m.egov.kz/mobileSign/?link=<API 1 URL>`. The app
reads API 1 (what is to be signed, by whom, until when, and where the
document is), fetches API 2 with the bearer token API 1 gave, signs each
`documentXml` with the citizen's key and PUTs the same JSON back. The
portal verifies the signature exactly as it verifies NCALayer's
(webapp/signatures.py: GOST and RSA, the exact bytes issued, the citizen's
IIN, the chain and revocation) and keeps it in the session; the citizen's
browser, polling, then sends the application, the request or logs in with
it, through the same code as EDS.

The sessions live in the database (`mobile_signings`), so any instance
answers the app. Their clock is the machine's (`wall_now`): the app's
expiry date is real time, whatever day the sandbox pins.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app
from flask_babel import force_locale, gettext as _
from flask_babel import lazy_gettext as _l

from signing.verify import Purpose, Refused
from webapp.clock import wall_now
from webapp.extensions import db
from webapp.i18n import LANGUAGES
from webapp.models import MobileSigning
from webapp.signatures import refusal_message, verify_citizen

SIGN_APPLICATION, SIGN_REQUEST, LOG_IN = "sign_application", "sign_request", "log_in"
PURPOSES = {SIGN_APPLICATION: Purpose.SIGN, SIGN_REQUEST: Purpose.SIGN, LOG_IN: Purpose.LOG_IN}
WAITING, SIGNED, DONE, CANCELLED = "waiting", "signed", "done", "cancelled"
APP_LINK = "https://m.egov.kz/mobileSign/?link="
# The one document a session offers (API 2's documentsToSign[0].id).
DOCUMENT_ID = 1


# What the citizen (on the portal's page, or in the app) reads for what is not a signature's fault.
MESSAGES = {
    "expired": _l("This eGov Mobile code has expired. Ask for a new code on the portal's page and scan it again."),
    "used": _l("This eGov Mobile code has already been used to sign. Ask for a new code on the portal's page."),
    "cancelled": _l("Signing with eGov Mobile was cancelled on the portal's page. Ask for a new code there."),
    "token": _l("The app's access key for this document is wrong. Scan the QR code on the portal's page again."),
    "malformed": _l("The app sent something the portal cannot read. Scan the QR code on the portal's page again."),
    "too_large": _l("The app sent more than the portal reads. Scan the QR code on the portal's page again."),
}


def message(reason: str, purpose: str = SIGN_APPLICATION) -> str:
    """The translated message for a refusal of the app's signature (verification reasons as for NCALayer)."""
    if reason in MESSAGES:
        return str(MESSAGES[reason])
    return refusal_message(reason, PURPOSES.get(purpose, Purpose.SIGN))


@dataclass(frozen=True)
class Answer:
    """The portal's answer to the app's PUT: 200, or 403 (400, 409) with a reason."""

    status: int
    reason: str | None = None


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _delete_stale(moment: dt.datetime) -> int:
    # A day past their expiry, sessions (documents, the app's signatures) are of no use to anyone.
    return db.session.execute(
        db.delete(MobileSigning).where(MobileSigning.expires_at < moment - dt.timedelta(days=1))
    ).rowcount


def purge() -> int:
    """Delete the sessions a day past their expiry (an hourly job, so a quiet portal keeps none); how many."""
    deleted = _delete_stale(wall_now())
    db.session.commit()
    return deleted


def open_session(purpose: str, subject: str, document: bytes, *, iin: str | None, language: str,
                 names: dict[str, str], challenge: str | None = None) -> MobileSigning:
    """A new session for `document`; the citizen's earlier waiting ones for the same subject end."""
    if purpose not in PURPOSES:
        raise ValueError(f"no eGov Mobile purpose {purpose!r}")
    moment = wall_now()
    if iin is not None:
        db.session.execute(
            db.update(MobileSigning)
            .where(MobileSigning.iin == iin, MobileSigning.subject == subject, MobileSigning.state == WAITING)
            .values(state=CANCELLED)
        )
    _delete_stale(moment)
    record = MobileSigning(
        public_id=secrets.token_urlsafe(18),
        purpose=purpose,
        subject=subject,
        iin=iin,
        language=language,
        names=names,
        document=document,
        document_sha256=hashlib.sha256(document).hexdigest(),
        challenge=challenge,
        state=WAITING,
        created_at=moment,
        expires_at=moment + dt.timedelta(seconds=current_app.config["EGOV_MOBILE_SECONDS"]),
        refusals=0,
    )
    db.session.add(record)
    db.session.commit()
    return record


def find(public_id: str) -> MobileSigning | None:
    """The session by its public id, or None."""
    if not public_id or len(public_id) > 32:
        return None
    return db.session.scalar(db.select(MobileSigning).filter_by(public_id=public_id))


def token(record: MobileSigning) -> str:
    """The app's bearer token for API 2: derived from the session with SECRET_KEY, never stored."""
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"egov-mobile-token:{record.public_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def token_ok(record: MobileSigning, authorization: str | None) -> bool:
    """Whether the request's `Authorization: Bearer <token>` is this session's."""
    scheme, _sep, presented = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token(record).encode())


def verification_code(record: MobileSigning) -> str:
    """Six letters and digits from the document's digest, shown beside the QR code and in the app:
    a QR relayed from someone else's page carries another document, so another code."""
    digest = bytes.fromhex(record.document_sha256)
    text = base64.b32encode(hashlib.sha256(b"egov-mobile-code:" + digest).digest()).decode()[:6]
    return f"{text[:3]}-{text[3:]}"


def expired(record: MobileSigning) -> bool:
    return wall_now() >= _aware(record.expires_at)


def seconds_left(record: MobileSigning) -> int:
    return max(0, int((_aware(record.expires_at) - wall_now()).total_seconds()))


def status(record: MobileSigning) -> str:
    """waiting, signed, done, cancelled, or expired (a session still waiting past its time)."""
    if record.state == WAITING and expired(record):
        return "expired"
    return record.state


def qr_payload(api1_url: str) -> str:
    return f"mobileSign:{api1_url}"


def app_link(api1_url: str) -> str:
    return APP_LINK + quote(api1_url, safe="")


def _organisation() -> dict:
    names = current_app.config["EGOV_MOBILE_ORGANISATION"]
    return {"nameRu": names["ru"], "nameKz": names["kk"], "nameEn": names["en"],
            "bin": current_app.config["EGOV_MOBILE_BIN"] or ""}


def _description(record: MobileSigning, language: str) -> str:
    name = record.names.get(language) or record.names.get("ru", "")
    with force_locale(language):
        if record.purpose == LOG_IN:
            return _("Log in to the Qyzmet portal. Verification code %(code)s: check that the portal shows the same code.",
                     code=verification_code(record))
        return _("Sign with the Qyzmet portal: %(name)s. Verification code %(code)s: check that the portal shows the same code.",
                 name=name, code=verification_code(record))


def api1(record: MobileSigning, language: str, api2_url: str) -> dict:
    """API 1: what the app shows before it fetches the document."""
    return {
        "description": _description(record, language),
        "expiry_date": _aware(record.expires_at).isoformat(timespec="seconds"),
        "organisation": _organisation(),
        "document": {"uri": api2_url, "auth_type": "Token", "auth_token": token(record)},
    }


def _meta(record: MobileSigning, language: str) -> list[dict]:
    with force_locale(language):
        meta = [{"name": _("Verification code"), "value": verification_code(record)}]
        if record.iin:
            meta.append({"name": _("IIN of the signer"), "value": record.iin})
        meta.append({"name": _("Valid until"), "value": _aware(record.expires_at).isoformat(timespec="seconds")})
        meta.append({"name": "SHA-256", "value": record.document_sha256})
    return meta


def api2(record: MobileSigning, language: str) -> dict:
    """API 2: the document to sign (the app has shown the token of API 1)."""
    if record.fetched_at is None:
        record.fetched_at = wall_now()
        db.session.commit()
    return {
        "signMethod": "XML",
        "version": 1,
        "documentsToSign": [{
            "id": DOCUMENT_ID,
            "nameRu": record.names.get("ru", ""),
            "nameKz": record.names.get("kk", ""),
            "nameEn": record.names.get("en", ""),
            "meta": _meta(record, language),
            "documentXml": record.document.decode("utf-8"),
        }],
    }


def signed_document(body: bytes) -> bytes | None:
    """The signed XML in the app's PUT (API 2's JSON with documentXml signed), or None when it is not that shape."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    documents = data.get("documentsToSign") if isinstance(data, dict) else None
    if not isinstance(documents, list) or len(documents) != 1 or not isinstance(documents[0], dict):
        return None
    document = documents[0]
    if document.get("id") != DOCUMENT_ID or not isinstance(document.get("documentXml"), str):
        return None
    return document["documentXml"].encode("utf-8")


def receive(record: MobileSigning, body: bytes) -> Answer:
    """The app's PUT: verify its signed document and keep it, once."""
    signed = signed_document(body)
    if signed is None:
        return Answer(400, "malformed")
    if record.state in (SIGNED, DONE):
        # The app lost the portal's answer and sends the same again: the same answer, nothing done twice.
        return Answer(200) if signed == record.signed_xml else Answer(403, "used")
    if record.state == CANCELLED:
        return Answer(403, "cancelled")
    if expired(record):
        return Answer(403, "expired")
    try:
        verdict = verify_citizen(signed, issued=record.document, purpose=PURPOSES[record.purpose], iin=record.iin)
        if record.purpose == LOG_IN and (
            not verdict.signer.iin or current_app.extensions["state_registries"].person(verdict.signer.iin) is None
        ):
            raise Refused("unknown_person", "the registries do not know the certificate's IIN")
    except Refused as refusal:
        current_app.logger.info("eGov Mobile signature refused: %s (%s)", refusal.reason, refusal.detail)
        refusals = record.refusals + 1
        values = {"refusal": refusal.reason, "refusals": refusals}
        if refusals >= current_app.config["EGOV_MOBILE_MAX_REFUSALS"]:
            values["state"] = CANCELLED  # no guessing on one session: the citizen asks for a new code
        db.session.execute(db.update(MobileSigning).where(MobileSigning.id == record.id).values(**values))
        db.session.commit()
        return Answer(403, refusal.reason)
    taken = db.session.execute(
        db.update(MobileSigning)
        .where(MobileSigning.id == record.id, MobileSigning.state == WAITING)
        .values(state=SIGNED, signed_xml=signed, signed_at=wall_now(), signer_iin=verdict.signer.iin, refusal=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(record)
    if not taken:
        # Another instance took a PUT for this session a moment ago.
        return Answer(200) if record.signed_xml == signed else Answer(403, "used")
    return Answer(200)


def cancel(record: MobileSigning) -> None:
    """The citizen pressed Cancel: the app's PUT is refused from now on."""
    db.session.execute(
        db.update(MobileSigning).where(MobileSigning.id == record.id, MobileSigning.state == WAITING)
        .values(state=CANCELLED).execution_options(synchronize_session=False)
    )
    db.session.commit()
    db.session.refresh(record)


def use(record: MobileSigning) -> bool:
    """The browser used the signature (application or request sent, or logged in): once."""
    taken = db.session.execute(
        db.update(MobileSigning).where(MobileSigning.id == record.id, MobileSigning.state == SIGNED)
        .values(state=DONE).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(record)
    return bool(taken)


def names_in_every_language(text) -> dict[str, str]:
    """A translatable text (a service's short name, a request's kind) in kk, ru and en, for the app."""
    names = {}
    for language in LANGUAGES:
        with force_locale(language):
            names[language] = _(str(text)) if isinstance(text, str) else str(text)
    return names
