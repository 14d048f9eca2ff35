"""History of Services: the citizen's sent applications and what became of them.

- ``listing``: the list's query (filters, search, keyset pages) and its ETag;
- ``texts``: status labels, timeline details and notifications, rendered in
  the page's language from the stored kind and data;
- ``routes``: the list, the application page, notifications and downloads.

Every route with an identifier (application number, notification id) looks
it up together with the logged-in citizen's IIN: anyone else's is not found.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("history", __name__, url_prefix="/<lang_code>/account")

from webapp.history import routes  # noqa: E402,F401  (the views register on bp)
from webapp.history.texts import STATUS_LABELS, status_label  # noqa: E402,F401
