"""Session fixation and logout: logging in (with a password or with EDS)
gives a new session id, so an id planted before login is worth nothing;
logging out ends the session on the server, so a copied cookie replayed
afterwards is a logged-out visitor."""

from __future__ import annotations

import datetime as dt

from signing.xmldsig import sign_enveloped
from tests.conftest import CITIZEN_WITHOUT_PHONE, MOTHER_WITH_BABY, csrf_token, log_in
from tests.helpers import challenge, eds_login, key
from webapp.extensions import db
from webapp.models import WebSession

COOKIE = "qyzmet_session"


def sid(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def stored_sessions(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(db.select(WebSession.session_id)))


def logged_in(app, cookie_value: str) -> bool:
    """Whether a browser holding only this cookie value is logged in."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie_value)
    response = thief.get("/en/account")
    return response.status_code == 200


def test_password_login_gives_a_new_session_id(app, client):
    csrf_token(client, "/en/login")  # the login page starts an anonymous session (its CSRF token)
    before = sid(client)
    assert before and before in stored_sessions(app)
    assert log_in(client).status_code == 302
    after = sid(client)
    assert after and after != before
    assert before not in stored_sessions(app)  # the anonymous session is gone, not merely left behind
    assert logged_in(app, after) and not logged_in(app, before)


def test_eds_login_gives_a_new_session_id(app, client):
    csrf, token, document = challenge(client)
    before = sid(client)
    assert before
    response = eds_login(client, sign_enveloped(document, key(app, CITIZEN_WITHOUT_PHONE, "auth")), csrf, token)
    assert response.status_code == 302
    after = sid(client)
    assert after and after != before
    assert logged_in(app, after) and not logged_in(app, before)


def test_a_planted_session_id_is_not_adopted(app, client):
    """The attacker's own anonymous session, planted in the victim's browser."""
    attacker = app.test_client()
    csrf_token(attacker, "/en/login")
    planted = sid(attacker)
    client.set_cookie(COOKIE, planted)
    assert log_in(client).status_code == 302
    assert sid(client) != planted
    assert attacker.get("/en/account").status_code == 302  # the attacker is still logged out
    assert not logged_in(app, planted)


def test_an_invented_session_id_is_not_adopted(app, client):
    client.set_cookie(COOKIE, "a" * 32)
    assert log_in(client).status_code == 302
    assert sid(client) != "a" * 32
    assert not logged_in(app, "a" * 32)


def test_switching_citizens_gives_a_new_session_id(app, client):
    assert log_in(client).status_code == 302
    first = sid(client)
    client.post("/en/logout", data={"csrf_token": csrf_token(client, "/en/account")})
    assert log_in(client, CITIZEN_WITHOUT_PHONE).status_code == 302
    assert sid(client) != first
    assert not logged_in(app, first)


def test_logout_ends_the_session_on_the_server(app, client):
    assert log_in(client).status_code == 302
    stolen = sid(client)
    token = csrf_token(client, "/en/account")
    assert stolen in stored_sessions(app)
    assert client.post("/en/logout", data={"csrf_token": token}).status_code == 302
    assert stolen not in stored_sessions(app)
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    page = thief.get("/en/account")
    assert page.status_code == 302 and page.location.startswith("/en/login")
    # Nor can the old cookie with its old token act.
    replay = thief.post("/en/account/phone", data={"csrf_token": token, "phone": "+7 705 111 22 33"})
    assert replay.status_code in (302, 400)
    assert MOTHER_WITH_BABY not in thief.get("/en/").text


def test_the_session_expires_after_idle_time_on_the_server(app, client):
    assert log_in(client).status_code == 302
    value = sid(client)
    with app.app_context():
        row = db.session.scalar(db.select(WebSession).filter_by(session_id=value))
        row.expiry = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
        db.session.commit()
    assert not logged_in(app, value)
