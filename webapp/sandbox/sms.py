"""The sandbox SMS outbox: every text message the portal sent, for testers.

In the sandbox no SMS reaches a phone: the one-time codes are read here,
newest first, filtered by phone or IIN. The page refreshes itself every 3
seconds (htmx polling a fragment) and has a plain reload link without
JavaScript; /sandbox/sms.json gives the same list to test scripts.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, lazy_pgettext

from webapp import proactive
from webapp.i18n import best_language, current_language
from webapp.identifiers import normalise_digits
from webapp.rendering import render_page
from webapp.sandbox.blueprint import bp
from webapp.sms import outbox

STATUS_LABELS = {
    outbox.QUEUED: (_l("Queued"), "grey"),
    outbox.SENDING: (_l("Sending"), "yellow"),
    outbox.SENT: (lazy_pgettext("message status", "Sent"), "green"),
    outbox.FAILED: (_l("Failed"), "red"),
}
_CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def _filters() -> tuple[str, str]:
    """The phone and IIN to filter by, as typed with spaces, hyphens or a leading 8."""
    return _filters_from(request.args)


def _filters_from(values) -> tuple[str, str]:
    phone = re.sub(r"[\s\-()‐-―]", "", values.get("phone", ""))[:16]
    if re.fullmatch(r"8\d{10}", phone) or re.fullmatch(r"7\d{10}", phone):
        phone = "+7" + phone[1:]
    iin = normalise_digits(values.get("iin", ""))[:12]
    return phone, iin


def _query_args(phone: str, iin: str) -> dict:
    return {key: value for key, value in (("phone", phone), ("iin", iin)) if value}


@bp.route("/sandbox/sms")
def sms_redirect():
    """The outbox in the tester's language, filters kept."""
    phone, iin = _filters()
    return redirect(url_for("sandbox.sms", lang_code=best_language(), **_query_args(phone, iin)))


@bp.route("/<lang_code>/sandbox/sms")
def sms():
    """The outbox, newest first; to htmx polling, only the table."""
    phone, iin = _filters()
    return render_page(
        "sandbox/sms.html",
        fragment="sms_messages",
        messages=outbox.messages(phone=phone or None, iin=iin or None),
        phone=phone,
        iin=iin,
        query_args=_query_args(phone, iin),
        status_labels=STATUS_LABELS,
        proactive_services=proactive.services(),
    )


@bp.route("/sandbox/sms.json")
def sms_json():
    """The same list for test scripts, newest first; `code` is the message's 6-digit code, if any."""
    phone, iin = _filters()
    response = jsonify(
        [
            {
                "id": message.public_id,
                "created_at": _iso(message.created_at),
                "phone": message.phone,
                "iin": message.iin,
                "purpose": message.purpose,
                "text": message.text,
                "code": _code(message.text),
                "status": message.status,
                "attempts": message.attempts,
                "last_error": message.last_error,
                "sent_at": _iso(message.sent_at),
                "gateway_message_id": message.gateway_message_id,
            }
            for message in outbox.messages(phone=phone or None, iin=iin or None)
        ]
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _code(text: str) -> str | None:
    found = _CODE.search(text or "")
    return found.group(0) if found else None


def _iso(moment: dt.datetime | None) -> str | None:
    """UTC in ISO 8601 (SQLite hands back naive datetimes, all of them UTC)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).isoformat()


@bp.route("/<lang_code>/sandbox/sms/offer", methods=["POST"])
def offer_service():
    """Play the service provider: offer a citizen a service by SMS (the proactive service)."""
    iin = normalise_digits(request.form.get("iin", ""))[:12]
    try:
        offer = proactive.make_offer(iin, request.form.get("service", ""), current_language())
    except proactive.CannotOffer as reason:
        flash(_("No offer was sent: %(reason)s.", reason=str(reason).rstrip(".")), "error")
    else:
        flash(_("Offer %(number)s was sent to %(phone)s.", number=offer.number, phone=offer.phone), "success")
    return redirect(url_for("sandbox.sms"))


@bp.route("/<lang_code>/sandbox/sms/reply", methods=["POST"])
def reply_from_phone():
    """Play the citizen's phone: send the portal an SMS reply."""
    phone, _iin = _filters_from(request.form)
    offer = proactive.receive_reply(phone, request.form.get("text", "")[:300])
    if offer is None:
        flash(_("The portal has no open offer for %(phone)s, so the reply was ignored.", phone=phone or "—"), "error")
    else:
        flash(_("Reply received for offer %(number)s.", number=offer.number), "success")
    return redirect(url_for("sandbox.sms", phone=phone))
