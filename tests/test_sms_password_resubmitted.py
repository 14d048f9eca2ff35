"""A password form whose answer was lost, sent again: found by the scale test (bench/scale.py),
where an instance killed after the code was marked used but before the application was
stored left the citizen with "This password has already been used" and nothing sent."""

from __future__ import annotations

from tests.conftest import csrf_token
from tests.helpers import ask_for_password, assert_unavailable_page, at_check, database_down, last_code
from webapp.extensions import db
from webapp.models import Application, OneTimeCode


def test_a_password_whose_application_was_not_stored_works_when_sent_again(app, client):
    at_check(client)
    page = ask_for_password(client).location
    code = last_code(client)
    form = {"csrf_token": csrf_token(client, page), "code": code}

    def enter(*_):  # the same form each time, as a browser's resubmit sends it
        return client.post(page, data=form)

    # The code checks out, then storing the application fails (as a process dying there would).
    with database_down(app, lambda statement: "INSERT INTO application_events" in statement):
        response = enter(client, page, code)
    assert_unavailable_page(app, response)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 0
        assert db.session.scalar(db.select(OneTimeCode.used_at)) is None  # not used up by the lost attempt
    # The citizen sends the same form again: the application is sent, once.
    again = enter(client, page, code)
    assert again.status_code == 302 and again.location.endswith("/sent"), again.text[:500]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1
        assert db.session.scalar(db.select(OneTimeCode.used_at)) is not None
    # And a third time: the application already made, not another one.
    third = enter(client, page, code)
    assert third.status_code == 302 and third.location == again.location
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Application)) == 1


def test_a_request_password_whose_request_was_not_stored_works_when_sent_again(app, client):
    """The same for a citizen's request (here a malfunction report): the code is used with the sent request."""
    from tests.conftest import log_in
    from tests.helpers import ACCOUNT, fill
    from webapp.models import CitizenRequest

    log_in(client)
    saved = fill(client, f"{ACCOUNT}/requests/malfunction", {"service": "child-care-under-one", "text": "The page went blank."})
    asked = client.post(f"{saved.location}/sign/sms", data={"csrf_token": csrf_token(client, saved.location)})
    assert asked.status_code == 302 and "/sign/sms/" in asked.location, asked.text[:2000]
    form = {"csrf_token": csrf_token(client, asked.location), "code": last_code(client)}

    def sent_requests() -> int:
        return db.session.scalar(
            db.select(db.func.count()).select_from(CitizenRequest).filter(CitizenRequest.status == "sent")
        )

    with database_down(app, lambda statement: statement.lstrip().startswith("UPDATE citizen_requests")):
        response = client.post(asked.location, data=form)
    assert_unavailable_page(app, response)
    with app.app_context():
        assert sent_requests() == 0
        assert db.session.scalar(db.select(OneTimeCode.used_at)) is None
    again = client.post(asked.location, data=form)
    assert again.status_code == 302 and "/requests/T-" in again.location, again.text[:1500]
    with app.app_context():
        assert sent_requests() == 1
        assert db.session.scalar(db.select(OneTimeCode.used_at)) is not None
