"""Verify a document: anyone uploads a signed XML and reads who signed it and
whether the signature stands. The file is read into memory, verified (with
revocation checked) and forgotten: nothing of it is stored.

`check_signature` is also what the notification page uses to show the
verdict on the provider's signed decision.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from flask import Blueprint, current_app, request
from flask_babel import gettext, lazy_gettext as _l

from signing.certificates import ROLE_ORGANISATION, read_certificate
from signing.verify import MAX_BYTES, HolderType, Purpose, Refused, verify
from webapp import clock
from webapp.clock import now
from webapp.extensions import limiter
from webapp.rendering import render_page
from webapp.security import mark_personal
from webapp.services.fields import MESSAGES, FieldError, parse_date
from webapp.signatures import trust_store
from webapp.verdicts import role_label, verdict_problem

bp = Blueprint("verify_document", __name__, url_prefix="/<lang_code>/verify")

# Verifying costs a signature check and perhaps an OCSP or CRL fetch.
VERIFY_LIMIT = "30 per minute;300 per hour"


@dataclass(frozen=True)
class SignatureReport:
    """What a citizen reads about one signature."""

    valid: bool
    checked_at: dt.datetime
    as_of: dt.date | None = None  # an archival check: judged as the signature stood at the end of that day
    reason: str | None = None  # the refusal's code when not valid
    problem: str | None = None  # the refusal in the page's language
    name: str = ""
    iin: str | None = None
    bin: str | None = None
    organisation: str | None = None
    roles: list[str] = field(default_factory=list)
    serial: str = ""
    issuer: str = ""
    not_before: dt.datetime | None = None
    not_after: dt.datetime | None = None
    revocation_method: str | None = None
    revocation_checked_at: dt.datetime | None = None


def check_signature(signed_xml: bytes, *, holder: HolderType | None = None,
                    as_of: dt.datetime | None = None) -> SignatureReport:
    """Verify a signed XML document against the trusted CAs, revocation included.

    holder None: an individual's key, or else an organisation's. as_of: verify
    as of that moment (a message received earlier), else now.
    """
    moment = now()
    holders = [holder] if holder else [HolderType.INDIVIDUAL, HolderType.ORGANISATION]
    refusal = None
    for kind in holders:
        try:
            verdict = verify(
                signed_xml,
                trust=trust_store(),
                purpose=Purpose.SIGN,
                holder=kind,
                as_of=as_of,
                revocation=current_app.extensions["signatures"]["revocation"],
                now=moment,
            )
        except Refused as refused:
            refusal = refused
            if refused.reason == "not_individual":
                continue  # an organisation's key: try it as one
            break
        signer = verdict.signer
        info = read_certificate(signer.certificate)
        evidence = verdict.revocation
        return SignatureReport(
            valid=True,
            checked_at=moment,
            name=signer.name,
            iin=signer.iin,
            bin=signer.bin,
            organisation=info.organisation,
            roles=[role_label(oid) for oid in signer.roles
                   if not (oid == ROLE_ORGANISATION and any(r.startswith(ROLE_ORGANISATION + ".") for r in signer.roles))],
            serial=signer.serial,
            issuer=signer.issuer,
            not_before=signer.not_before,
            not_after=signer.not_after,
            revocation_method=evidence.method if evidence else None,
            revocation_checked_at=evidence.checked_at if evidence else None,
        )
    return SignatureReport(valid=False, checked_at=moment, reason=refusal.reason,
                           problem=verdict_problem(refusal.reason))


AS_OF_LABEL = _l("Check as of a past date")


def end_of_day(day: dt.date) -> dt.datetime:
    """The last moment of a day in Kazakhstan (UTC), but never later than now."""
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), clock.zone()) - dt.timedelta(seconds=1)
    return min(end.astimezone(dt.timezone.utc), now())


def read_as_of(parts: dict[str, str]) -> dt.date | None:
    """The archival date the form asks for (None when left empty); FieldError when it is not a past day."""
    if not any(parts.values()):
        return None
    day = parse_date(parts)
    if day > clock.today():
        raise FieldError("date_future")
    return day


@bp.route("", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
def index():
    """The upload form; after a POST, the verdict under it."""
    report = error = date_error = as_of = None
    typed = {part: request.form.get(f"as_of-{part}", "").strip()[:10] for part in ("day", "month", "year")}
    if request.method == "POST":
        mark_personal()  # the verdict is about someone's document: never cached
        try:
            as_of = read_as_of(typed)
        except FieldError as problem:
            date_error = str(MESSAGES[problem.code]) % {"field": AS_OF_LABEL, **problem.params}
        upload = request.files.get("document")
        content = upload.stream.read(MAX_BYTES + 1) if upload and upload.filename else b""
        if not content:
            error = gettext("Choose a signed XML file")
        elif len(content) > MAX_BYTES:
            error = gettext("The file must be smaller than 2 MB")
        elif date_error is None:
            report = check_signature(content, as_of=end_of_day(as_of) if as_of else None)
            if as_of:
                report = dataclasses.replace(report, as_of=as_of)
        del content
    page = render_page("verify/index.html", report=report, error=error, date_error=date_error, as_of=typed,
                       as_of_label=AS_OF_LABEL)
    return page, (400 if error or date_error else 200)
