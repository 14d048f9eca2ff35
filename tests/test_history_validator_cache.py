"""With REDIS_URL, History of Services' unchanged poll reads its validator from Redis, and every change
(the provider's message, a notification read, a bulk statement) still reaches the next poll."""

from __future__ import annotations

import os

import pytest
import redis
from sqlalchemy import update

from tests.helpers import FRAGMENT, MONDAY, etag_in, provider_says
from webapp.extensions import db
from webapp.history import validator_cache
from webapp.models import Application, Notification

# Redis DB 2 on the shared machine's Redis unless told otherwise.
REDIS_URL = os.environ.get("QYZMET_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


@pytest.fixture
def with_redis(app, monkeypatch):
    """The validator cache switched on for this test (sessions and the rest stay as the tests have them)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")

    def clear():
        for key in client.scan_iter(validator_cache.PREFIX + "*"):
            client.delete(key)

    clear()
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "SESSION_REDIS", client)
    yield client
    clear()


def poll(client, etag):
    return client.get("/en/account/history", headers={**FRAGMENT, "If-None-Match": f'"{etag}"', "Qyzmet-Poll": "1"})


def test_the_poll_is_answered_from_redis_and_every_change_reaches_it(app, client, sent_application, with_redis):
    etag = etag_in(client.get("/en/account/history"))
    assert poll(client, etag).status_code == 304
    state_keys = list(with_redis.scan_iter(validator_cache.PREFIX + "state:*"))
    assert len(state_keys) == 1  # cached on the first look

    # It is read from there: a state planted under the current label changes the validator.
    label, _, values = with_redis.get(state_keys[0]).decode().partition("|")
    with_redis.set(state_keys[0], f"{label}|{values.replace(',', ',9', 1)}")
    assert poll(client, etag).status_code == 200
    with_redis.delete(state_keys[0])
    assert poll(client, etag).status_code == 304

    # The provider registers the application (the ORM, then a commit): the next poll has the fragment.
    provider_says(app, sent_application, "registered", at=MONDAY)
    changed = poll(client, etag)
    assert changed.status_code == 200 and ">Registered<" in changed.text
    new_etag = etag_in(changed)
    assert poll(client, new_etag).status_code == 304

    # Reading the notification (its read_at through the ORM) changes it too.
    with app.app_context():
        public_id = db.session.scalar(db.select(Notification.public_id))
    client.get(f"/en/account/notifications/{public_id}")
    read = poll(client, new_etag)
    assert read.status_code == 200
    last_etag = etag_in(read)
    assert poll(client, last_etag).status_code == 304

    # A bulk UPDATE, whose citizens the session cannot know, changes everyone's.
    with app.test_request_context():
        db.session.execute(update(Application).values(version=Application.version + 1))
        db.session.commit()
    assert poll(client, last_etag).status_code == 200


def test_a_rolled_back_change_bumps_nothing_and_redis_down_falls_back_to_the_database(
    app, client, sent_application, with_redis, monkeypatch
):
    etag = etag_in(client.get("/en/account/history"))
    assert poll(client, etag).status_code == 304
    before = {key: with_redis.get(key) for key in with_redis.scan_iter(validator_cache.PREFIX + "gen*")}
    with app.test_request_context():
        record = db.session.scalar(db.select(Application))
        record.version += 1
        db.session.flush()
        db.session.rollback()
    assert {key: with_redis.get(key) for key in with_redis.scan_iter(validator_cache.PREFIX + "gen*")} == before
    assert poll(client, etag).status_code == 304

    # Redis stops answering: the database answers, the same validator.
    down = redis.Redis.from_url("redis://127.0.0.1:8199/0", socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setitem(app.config, "SESSION_REDIS", down)
    assert poll(client, etag).status_code == 304
