"""Confirming with an SMS password, one way for everything a citizen confirms by
SMS: an application, a request about one, a new phone number.

- `Confirming`: what a password confirms (the citizen, the purpose, the exact
  bytes or binding, the subject); `issue()` sends the password, `enter()`
  checks one entered (webapp/sms/codes.py keeps the codes and the limits).
- `countersign()`: the portal signs a confirmed document with its own key,
  stating how the citizen confirmed it (an SMS password, or the reply to a
  proactive offer), so the stored document is signed XML like an EDS one.
- `refusal_message()`, `outcome_message()`: what the citizen reads when no
  password was sent, or an entered one was refused.

The pages' side (the rate limits, the password page) is webapp/sms/pages.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Mapping

from flask_babel import gettext as _, ngettext

from signing import envelope
from signing.certificates import read_certificate
from signing.xmldsig import sign_enveloped
from webapp.clock import now
from webapp.i18n import date_and_time
from webapp.signatures import portal_key
from webapp.sms import codes

SMS_CONFIRMATION = "sms-confirmation"  # the statement of a document confirmed with an SMS password


@dataclass(frozen=True)
class Confirming:
    """What one password confirms: this citizen, for this purpose, exactly this (a document's
    digest, or a phone's binding), about this subject ("application:<service>", "request:<id>")."""

    iin: str
    purpose: str
    binding: str
    subject: str | None = None
    phone: str | None = None  # where the password goes; None: the phone registered for the IIN

    @classmethod
    def document(cls, iin: str, purpose: str, document: bytes, subject: str) -> "Confirming":
        """A password bound to the exact bytes the citizen is shown and signs."""
        return cls(iin, purpose, codes.document_digest(document), subject)

    def issue(self, text: Callable[[str], str]) -> codes.Challenge | codes.Refusal:
        """Send a password by SMS, `text(code)` its words; a Refusal says why none was sent."""
        return codes.issue(self.iin, self.purpose, self.binding, self.phone, text, subject=self.subject)

    def enter(self, challenge_id: str, entered: str, *, commit: bool = True) -> codes.Outcome:
        """Check an entered password. commit=False: its use commits with what it confirms (the caller's)."""
        return codes.check(challenge_id, self.iin, self.purpose, self.binding, entered, subject=self.subject,
                           commit=commit)


@dataclass(frozen=True)
class Countersigned:
    """A confirmed document signed by the portal, and who signed it (the portal's certificate)."""

    signed_xml: bytes
    signer_name: str
    signer_serial: str
    signer_issuer: str


def confirmation(challenge: codes.Challenge) -> dict[str, str]:
    """How the citizen confirmed with a password: the statement the portal signs with the document."""
    return {
        "maskedPhone": challenge.masked_phone,
        "confirmedAt": now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "challenge": challenge.id,
        "documentSha256": challenge.document_sha256,
    }


def countersign(document: bytes, statement: Mapping[str, str], kind: str = SMS_CONFIRMATION) -> Countersigned:
    """The document in the portal's envelope with the statement of how it was confirmed, signed by the portal."""
    key = portal_key()
    signed_xml = sign_enveloped(envelope.build(document, [(kind, statement)]), key)
    portal = read_certificate(key.certificate)
    return Countersigned(signed_xml, portal.organisation or portal.name, portal.serial, portal.issuer)


def refusal_message(refusal: codes.Refusal) -> str:
    """Why no password was sent, in the citizen's words."""
    if refusal.reason == "cool_down":
        return ngettext(
            "We have just sent you a password. You can ask for a new one in %(num)d second.",
            "We have just sent you a password. You can ask for a new one in %(num)d seconds.",
            refusal.retry_after,
        )
    if refusal.reason == "too_many_codes":
        return _(
            "You have asked for too many passwords in the last hour. You can ask for a new one after %(time)s, or sign with EDS.",
            time=date_and_time(refusal.until),
        )
    if refusal.reason == "locked":
        return _locked(refusal.until)
    if refusal.reason == "no_phone":
        return _("No mobile phone is registered for your IIN, so we cannot send you a password. Register your phone in your personal account, or sign with EDS.")
    return _("Signing with an SMS password is not available at the moment. Sign with EDS, or try again later.")


def _locked(until: dt.datetime | None) -> str:
    return _(
        "You entered too many wrong passwords today, so signing by SMS is locked until %(time)s. You can still sign with EDS.",
        time=date_and_time(until) if until else "",
    )


def outcome_message(outcome: codes.Outcome, *, changed: str | None = None, other: str | None = None) -> str:
    """What a wrong entry means and what to do next. `changed` and `other`: the flow's own words for
    a document changed since the password was sent, and a password sent for another one."""
    messages = {
        "malformed": lambda: _("Enter the 6-digit password from the SMS, for example 123456"),
        "wrong": lambda: ngettext(
            "The password is not right. You can try %(num)d more time.",
            "The password is not right. You can try %(num)d more times.",
            outcome.attempts_left,
        ),
        "expired": lambda: _("The password has expired: it works for 5 minutes. Ask for a new password."),
        "used": lambda: _("This password has already been used. Ask for a new password."),
        "too_many_attempts": lambda: _("You entered a wrong password too many times. Ask for a new password."),
        "locked": lambda: _locked(outcome.locked_until),
        "other_document": lambda: changed or _("Your application has changed since we sent the password. Check your answers and ask for a new password."),
        "other_subject": lambda: other or _("This password was sent for another application. Enter the password sent for this one, or ask for a new password."),
    }
    return messages.get(outcome.kind, messages["used"])()
