"""The service provider's side of an application: handing it over, the
provider's signed messages coming back, and the application's lifecycle."""

from __future__ import annotations

from flask import Blueprint, Response, request

from signing.verify import Refused
from webapp.extensions import csrf
from webapp.provider import inbox, lifecycle

bp = Blueprint("provider", __name__)


def _answer(status: int, text: str) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")


@bp.route("/provider/messages", methods=["POST"])
@csrf.exempt  # a machine posts signed XML here; the signature is the authentication
def receive_message():
    """The provider's signed status changes and decisions."""
    try:
        received = inbox.receive(request.get_data(cache=False))
    except Refused as refusal:
        status = 403 if refusal.reason in ("untrusted", "another_person", "wrong_key_type", "not_organisation",
                                           "revoked", "expired", "not_yet_valid", "ca_certificate") else 400
        return _answer(status, f"refused: {refusal.reason}")
    except inbox.UnknownApplication as unknown:
        return _answer(404, f"no application {unknown}")
    except (inbox.Conflict, lifecycle.NotAllowed) as conflict:
        return _answer(409, f"conflict: {conflict}")
    return _answer(200, "duplicate" if received.duplicate else "applied")
