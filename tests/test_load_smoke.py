"""The load run's journey (bench/load/journey.py), walked once with a plain requests.Session
against the test app served on a real socket, so CI exercises the code `make load` drives."""

from __future__ import annotations

import threading

import pytest
import requests
from werkzeug.serving import make_server

from bench.load.journey import Citizen, Journey, JourneyError
from bench.serve import free_port
from tests.conftest import MOTHER_WITH_BABY
from webapp.extensions import db
from webapp.models import Application, OneTimeCode, SmsMessage

PASSWORD = "Sandbox1!"


@pytest.fixture
def live_server(app):
    """The session's test app on 127.0.0.1 (one thread: the journey is sequential; SQLite likes it so)."""
    server = make_server("127.0.0.1", free_port(), app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def test_the_whole_journey_sends_one_signed_application(app, live_server):
    steps = []
    journey = Journey(requests.Session(), live_server, Citizen(MOTHER_WITH_BABY, PASSWORD), think=(0, 0),
                      history_poll_interval=0, on_step=lambda step, seconds, error: steps.append((step, error)))
    number = journey.run()
    assert all(error is None for _step, error in steps)
    names = [step for step, _error in steps]
    for expected in ("login page", "log in", "service: start", "wizard: child (answer)", "check your answers",
                     "SMS: ask for a password", "SMS: sandbox outbox", "SMS: enter the password", "confirmation",
                     "history", "history poll"):
        assert expected in names
    with app.app_context():
        (application,) = db.session.scalars(db.select(Application)).all()
        assert application.number == number and application.iin == MOTHER_WITH_BABY
        assert application.signed_with == "sms" and application.signed_xml
        (code,) = db.session.scalars(db.select(OneTimeCode)).all()
        assert code.used_at is not None
        message = db.session.get(SmsMessage, code.message_id)
        assert message.status == "sent" and message.attempts == 1


def test_an_unexpected_answer_stops_the_journey_at_its_step(live_server):
    failed = []
    journey = Journey(requests.Session(), live_server, Citizen(MOTHER_WITH_BABY, "not-the-password"), think=(0, 0),
                      on_step=lambda step, seconds, error: error and failed.append(step))
    with pytest.raises(JourneyError) as raised:
        journey.run()
    assert raised.value.step == "log in" and failed == ["log in"]
