"""The pages' side of confirming with an SMS password, the same for every flow
(an application, a request, a new phone number): the rate limits of asking
for a password and of entering one, and the page a password is entered on
(templates/sms/sign.html, built from the macros in templates/components/sms.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app, request

from webapp import text_input
from webapp.auth import current_citizen
from webapp.extensions import limiter
from webapp.rendering import render_page
from webapp.sms import codes, gateways


def _citizen_key(scope: str) -> Callable[[], str]:
    def key() -> str:
        citizen = current_citizen()
        return f"{scope}-citizen:" + (citizen.iin if citizen else request.remote_addr or "")

    return key


def _phone_key(scope: str) -> Callable[[], str]:
    def key() -> str:
        citizen = current_citizen()
        return f"{scope}-phone:" + ((citizen and codes.registered_phone(citizen.iin)) or "none")

    return key


def sms_limits(step: str, *, scope: str = "sms", per_phone: bool = True):
    """The rate limits of one step of SMS confirmation, on the POSTs of a view.

    step "issue" (a password sent): SMS_LIMIT_PER_ADDRESS, SMS_LIMIT_PER_CITIZEN
    and, with `per_phone`, SMS_LIMIT_PER_PHONE for the registered phone (not
    for a new phone being confirmed); step "enter" (a password entered):
    SMS_CODE_ENTRY_LIMIT per citizen. `scope` names the flow's own counters.
    """
    config = lambda name: lambda: current_app.config[name]  # noqa: E731  (read per request)
    if step == "issue":
        limits = [
            limiter.limit(config("SMS_LIMIT_PER_ADDRESS"), methods=["POST"]),
            limiter.limit(config("SMS_LIMIT_PER_CITIZEN"), methods=["POST"], key_func=_citizen_key(scope)),
        ]
        if per_phone:
            limits.append(limiter.limit(config("SMS_LIMIT_PER_PHONE"), methods=["POST"], key_func=_phone_key(scope)))
    elif step == "enter":
        limits = [limiter.limit(config("SMS_CODE_ENTRY_LIMIT"), methods=["POST"], key_func=_citizen_key(scope))]
    else:
        raise ValueError(f"an SMS step is issue or enter, not {step!r}")

    def decorate(view):
        for limit in limits:
            view = limit(view)
        return view

    return decorate


def sms_option(iin: str) -> dict:
    """What a check page's "Or sign with an SMS password" shows (the sms_option macro, components/eds.html)."""
    phone = codes.registered_phone(iin)
    return {
        "masked_phone": phone and codes.mask_phone(phone),
        "sms_available": gateways.available(),
        "sms_status": codes.status(iin),
    }


@dataclass(frozen=True)
class PasswordPage:
    """How one flow's password page reads, and where its forms go."""

    caption: str  # above the heading: the service, or the request's kind
    back: str
    intro: str  # where the password went and what it is for
    confirm: str  # what signing confirms
    enter_url: str  # the password form (and the status poll)
    resend_url: str  # "Send a new password"
    not_received_url: str | None = None  # a page of its own; else the tips are on this page
    eds_url: str | None = None  # signing with EDS instead (with the tips on this page)

    def render(self, challenge: codes.Challenge, error: str | None = None, entered: str = "", anchor: str = "#code"):
        """The page, or to htmx's poll its SMS status fragment."""
        return render_page(
            "sms/sign.html",
            fragment="sms_status",
            page=self,
            challenge=challenge,
            status=codes.status(challenge.iin, purpose=challenge.purpose, document_sha256=challenge.document_sha256),
            errors=[{"text": error, "href": anchor}] if error else [],
            has_errors=bool(error),
            entered=text_input.without_unwritable(entered),  # a code, never stored: shown as valid HTML
            code_error=error if anchor == "#code" else None,
        )
