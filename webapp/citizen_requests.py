"""What a citizen sends about an application already sent: withdrawing it,
providing requested documents, objecting to a provisional refusal, a
complaint about the result and a technical-malfunction report."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("requests", __name__, url_prefix="/<lang_code>/account")
