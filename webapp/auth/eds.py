"""Logging in with EDS: the citizen signs a one-time challenge with their
authentication key, and the session belongs to the certificate's IIN.

The challenge travels in a signed, timed token, so showing the login page
stores nothing; a challenge is recorded only when it is used, and then
only once.
"""

from __future__ import annotations

import datetime as dt
import secrets

from flask import current_app, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from lxml import etree
from sqlalchemy.exc import IntegrityError

from signing.verify import Purpose, Refused, Verdict
from webapp.clock import now
from webapp.extensions import db
from webapp.models import CitizenAccount, UsedLoginChallenge
from webapp.signatures import verify_citizen

NAMESPACE = "urn:qyzmet:login:1"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="eds-login-challenge")


def new_challenge() -> str:
    """A token naming a fresh challenge; the document is rebuilt from it."""
    return _serializer().dumps({"nonce": secrets.token_hex(16), "issued_at": now().strftime("%Y-%m-%dT%H:%M:%SZ")})


def challenge_document(token: str) -> bytes:
    """The XML the citizen signs to log in; Refused when the token is bad or old."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["EDS_LOGIN_CHALLENGE_SECONDS"])
    except SignatureExpired:
        raise Refused("challenge_expired", "the login challenge is too old") from None
    except BadSignature:
        raise Refused("malformed", "the login challenge token is not ours") from None
    root = etree.Element(f"{{{NAMESPACE}}}login", nsmap={None: NAMESPACE})
    for name, value in (("nonce", data["nonce"]), ("issuedAt", data["issued_at"]), ("portal", request.host_url)):
        etree.SubElement(root, f"{{{NAMESPACE}}}{name}").text = value
    return etree.tostring(root, method="c14n", exclusive=True, with_comments=False)


def log_in_with(token: str, signed_xml: bytes) -> str:
    """Verify the signed challenge and use it up; the certificate's IIN."""
    verdict: Verdict = verify_citizen(signed_xml, issued=challenge_document(token), purpose=Purpose.LOG_IN)
    iin = verdict.signer.iin
    registries = current_app.extensions["state_registries"]
    if not iin or registries.person(iin) is None:
        raise Refused("unknown_person", "the registries do not know the certificate's IIN")
    try:
        db.session.add(UsedLoginChallenge(nonce=verdict.nonce, used_at=now()))
        account = db.session.scalar(db.select(CitizenAccount).filter_by(iin=iin))
        if account is None:
            # The certificate proves who they are: no password needed.
            account = CitizenAccount(iin=iin)
            db.session.add(account)
        account.last_login_at = now()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Refused("replayed", "this login challenge has been used") from None
    _forget_old_challenges()
    return iin


def _forget_old_challenges() -> None:
    """A used challenge older than a token's life can never come back."""
    cutoff = now() - 2 * dt.timedelta(seconds=current_app.config["EDS_LOGIN_CHALLENGE_SECONDS"])
    db.session.execute(db.delete(UsedLoginChallenge).where(UsedLoginChallenge.used_at < cutoff))
    db.session.commit()
