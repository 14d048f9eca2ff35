"""History of Services' unchanged background poll answered before Flask (webapp/history/poll.py).

What it answers, with which headers, and everything it leaves to Flask. Counts and bodies only: nothing
here times anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest

from tests.conftest import CITIZEN_WITHOUT_PHONE, log_in
from tests.helpers import FRAGMENT, MONDAY, etag_in, provider_says
from webapp.extensions import db
from webapp.models import WebSession

POLL = {**FRAGMENT, "Qyzmet-Poll": "1"}
HISTORY = "/en/account/history"


@pytest.fixture
def shortcut(app):
    shortcut = app.extensions["history_poll"]
    shortcut.headers.clear()  # each test starts with nothing learned
    return shortcut


def _poll(client, etag: str, path: str = HISTORY, **headers):
    return client.get(path, headers={**POLL, "If-None-Match": f'"{etag}"', **headers})


def test_the_first_unchanged_poll_goes_to_flask_and_the_next_ones_are_answered_with_its_headers(
        app, client, sent_application, shortcut):
    etag = etag_in(client.get(HISTORY))
    answered = shortcut.answered
    from_flask = _poll(client, etag)
    assert from_flask.status_code == 304 and shortcut.answered == answered
    from_shortcut = _poll(client, etag)
    assert from_shortcut.status_code == 304 and shortcut.answered == answered + 1
    assert from_shortcut.data == b""
    assert from_shortcut.headers["ETag"] == f'"{etag}"' == from_flask.headers["ETag"]
    mine = dict(from_shortcut.headers)
    flasks = dict(from_flask.headers)
    assert mine.pop("X-Request-ID") != flasks.pop("X-Request-ID")
    assert mine == flasks  # HX-Reswap, Cache-Control: no-store, Vary, the CSP and the rest, byte for byte
    assert "Set-Cookie" not in mine


def test_a_change_goes_to_flask_which_sends_the_new_fragment(app, client, sent_application, shortcut):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    provider_says(app, sent_application, "registered", at=MONDAY)
    answered = shortcut.answered
    changed = _poll(client, etag)
    assert changed.status_code == 200 and ">Registered<" in changed.text and shortcut.answered == answered
    new_etag = etag_in(changed)
    assert _poll(client, new_etag).status_code == 304 and shortcut.answered == answered + 1


def test_a_new_application_and_a_read_notification_change_the_etag(app, client, sent_application, shortcut):
    from tests.helpers import bulk
    from webapp.models import Notification

    provider_says(app, sent_application, "registered", at=MONDAY)
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    assert _poll(client, etag).status_code == 304
    bulk(app, 1, start=10)  # inserted behind the portal's back, as by another worker
    changed = _poll(client, etag)
    assert changed.status_code == 200 and "9000-0000010" in changed.text
    etag = etag_in(changed)
    assert _poll(client, etag).status_code == 304
    with app.app_context():
        public_id = db.session.scalar(db.select(Notification.public_id))
    client.get(f"/en/account/notifications/{public_id}")
    assert _poll(client, etag).status_code == 200


def test_the_query_and_the_language_are_part_of_the_etag(app, client, sent_application, shortcut):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    assert _poll(client, etag).status_code == 304
    answered = shortcut.answered
    assert _poll(client, etag, path=HISTORY + "?status=sent").status_code == 200
    assert _poll(client, etag, path="/ru/account/history").status_code == 200
    assert shortcut.answered == answered
    filtered = etag_in(client.get(HISTORY + "?status=sent"))
    assert _poll(client, filtered, path=HISTORY + "?status=sent").status_code == 304  # the path's headers: learned
    assert shortcut.answered == answered + 1


def test_another_citizens_etag_is_no_304(app, client, sent_application, shortcut):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    other = app.test_client()
    log_in(other, CITIZEN_WITHOUT_PHONE)
    answered = shortcut.answered
    response = _poll(other, etag)
    assert response.status_code == 200 and sent_application not in response.text
    assert shortcut.answered == answered


@pytest.mark.parametrize("headers", [
    {"Qyzmet-Poll": ""},  # the citizen's own request (a swap they asked for): Flask, which refreshes the session
    {"HX-Target": "main"},
    {"HX-Request": ""},
])
def test_what_is_not_the_results_fragments_background_poll_goes_to_flask(
        app, client, sent_application, shortcut, headers):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    answered = shortcut.answered
    _poll(client, etag, **headers)
    assert shortcut.answered == answered


def test_without_a_citizen_flask_answers_as_it_always_did(app, client, sent_application, shortcut):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    answered = shortcut.answered
    stranger = app.test_client()
    assert _poll(stranger, etag).status_code == 302  # no session: the login page
    stranger.set_cookie("qyzmet_session", "not-a-session-anyone-has")
    assert _poll(stranger, etag).status_code == 302
    client.post("/en/logout", data={"csrf_token": _token(client)})
    assert _poll(client, etag).status_code == 302
    assert shortcut.answered == answered


def _token(client) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/en/account").text)
    assert found
    return found.group(1)


def test_an_expired_session_goes_to_flask(app, client, sent_application, shortcut):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    with app.app_context():
        db.session.execute(db.update(WebSession).values(expiry=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)))
        db.session.commit()
    answered = shortcut.answered
    assert _poll(client, etag).status_code == 302
    assert shortcut.answered == answered


def test_a_session_due_its_refresh_is_still_answered_and_not_refreshed(app, client, sent_application, shortcut):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    lifetime = app.permanent_session_lifetime
    due = dt.datetime.now(dt.timezone.utc) + lifetime - dt.timedelta(minutes=5)  # refreshed 5 minutes ago
    with app.app_context():
        db.session.execute(db.update(WebSession).values(expiry=due))
        db.session.commit()
    answered = shortcut.answered
    response = _poll(client, etag)
    assert response.status_code == 304 and "Set-Cookie" not in response.headers
    assert shortcut.answered == answered + 1
    with app.app_context():
        stored = db.session.scalar(db.select(WebSession.expiry))
    assert abs((stored.replace(tzinfo=dt.timezone.utc) - due).total_seconds()) < 1


def test_a_store_that_fails_leaves_the_poll_to_flask(app, client, sent_application, shortcut, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from webapp.history import listing

    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)

    def down(*args, **kwargs):
        raise OperationalError("SELECT", {}, ConnectionError("the database is down"))

    monkeypatch.setattr(listing, "_validator_state", down)
    answered = shortcut.answered
    response = _poll(client, etag)  # Flask meets the same failure and says so with its translated page
    assert response.status_code == 503 and shortcut.answered == answered


def test_an_answer_writes_the_access_line_with_its_request_id_and_counts_in_the_metrics(
        app, client, sent_application, shortcut, caplog):
    etag = etag_in(client.get(HISTORY))
    _poll(client, etag)
    caplog.set_level(logging.INFO, logger="qyzmet.access")
    caplog.clear()
    response = _poll(client, etag, **{"X-Request-ID": "lb-7"})
    assert response.status_code == 304 and response.headers["X-Request-ID"] == "lb-7"
    (line,) = [r for r in caplog.records if r.name == "qyzmet.access"]
    assert (line.method, line.path, line.status, line.request_id) == ("GET", HISTORY, 304, "lb-7")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert re.search(r'qyzmet_http_request_duration_seconds_count\{[^}]*endpoint="history.index"[^}]*status="304"'
                     r'[^}]*\} [1-9]', metrics)


def test_the_shortcut_can_be_turned_off(tmp_path):
    from webapp import create_app
    from webapp.config import TestConfig

    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'off.sqlite3'}",
                                  "HISTORY_POLL_SHORTCUT": False})
    assert "history_poll" not in app.extensions
