"""Several instances, one Redis and one database: nothing a citizen does depends on
which instance answers.

Two apps built by create_app() in this process stand for two instances:
they share only what production instances share, REDIS_URL
(redis://127.0.0.1:6379/6, flushed before and after) and the database (a
SQLite file here). A third part runs a real `flask jobs worker` process on
the same Redis. Skipped only when Redis is unreachable (CI has one).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest
import redis as redis_lib
from itsdangerous import URLSafeTimedSerializer

from tests.conftest import MOTHER_WITH_BABY, SANDBOX_PASSWORD, csrf_token, log_in
from webapp import create_app
from webapp.config import REPO_ROOT, TestConfig

REDIS_URL = "redis://127.0.0.1:6379/6"
COOKIE = TestConfig.SESSION_COOKIE_NAME
WORKER_METRICS_PORT = 8420  # in this suite's port range


@pytest.fixture
def redis_db():
    client = redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis_lib.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def _instance(database: str, pki_dir: str, bundle: str, **overrides):
    return create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database,
            "REDIS_URL": REDIS_URL,
            "SANDBOX_PKI_DIR": pki_dir,
            "TRUSTED_CA_BUNDLE": bundle,
            **overrides,
        },
    )


@pytest.fixture
def instances(app, redis_db, tmp_path):
    """Instances A and B on one database (migrated, sandbox citizens loaded) and one Redis."""
    from flask_migrate import upgrade

    from webapp.sandbox import load_test_citizens

    database = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    pki = (app.config["SANDBOX_PKI_DIR"], app.config["TRUSTED_CA_BUNDLE"])
    a = _instance(database, *pki)
    b = _instance(database, *pki)
    with a.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
        load_test_citizens()
    return a, b


def _same_browser(source, target) -> None:
    """The browser's next request goes to the other instance, with the same cookie."""
    target.set_cookie(COOKIE, source.get_cookie(COOKIE).value)


def test_sessions_are_in_redis_not_in_the_instance(instances, redis_db):
    a, b = instances
    browser_a, browser_b = a.test_client(), b.test_client()
    assert log_in(browser_a).status_code == 302
    sid = browser_a.get_cookie(COOKIE).value
    assert redis_db.exists(f"session:{sid}")
    _same_browser(browser_a, browser_b)
    account = browser_b.get("/en/account")
    assert account.status_code == 200 and MOTHER_WITH_BABY in account.text
    # A form rendered by B is accepted by A: the CSRF token lives in the shared session.
    token = csrf_token(browser_b, "/en/account/phone")
    _same_browser(browser_b, browser_a)
    answer = browser_a.post("/en/account/phone", data={"csrf_token": token, "phone": "not a phone"})
    assert answer.status_code == 200 and "Enter a Kazakh mobile number" in answer.text
    # Logging out on A ends the session on B too.
    logout_token = csrf_token(browser_a, "/en/account")
    assert browser_a.post("/en/logout", data={"csrf_token": logout_token}).status_code in (302, 303)
    assert not redis_db.exists(f"session:{sid}")
    stale = b.test_client()
    stale.set_cookie(COOKIE, sid)
    assert stale.get("/en/account").status_code == 302


def test_rate_limits_count_across_instances(instances, redis_db):
    a, b = instances
    browsers = [a.test_client(), b.test_client()]
    wrong = {"iin": MOTHER_WITH_BABY, "password": "wrong-password"}
    for attempt in range(5):  # LOGIN_LIMIT_PER_IIN: 5 failures a minute, spread over both instances
        browser = browsers[attempt % 2]
        response = browser.post("/en/login", data={"csrf_token": csrf_token(browser, "/en/login"), **wrong})
        assert response.status_code == 200
    for browser in browsers:
        token = csrf_token(browser, "/en/login")
        blocked = browser.post("/en/login", data={"csrf_token": token, "iin": MOTHER_WITH_BABY, "password": SANDBOX_PASSWORD})
        assert blocked.status_code == 429
    # The counts are in Redis, not in either process.
    assert [key for key in redis_db.keys("LIMITS*") if MOTHER_WITH_BABY.encode() in key]


def test_an_sms_password_sent_by_one_instance_is_accepted_by_the_other(instances):
    from webapp.models import MobilePhone, SmsMessage

    a, b = instances
    browser_a, browser_b = a.test_client(), b.test_client()
    assert log_in(browser_a).status_code == 302
    asked = browser_a.post(
        "/en/account/phone", data={"csrf_token": csrf_token(browser_a, "/en/account/phone"), "phone": "+7 701 555 12 34"}
    )
    assert asked.status_code == 302 and "/confirm/" in asked.location
    with a.app_context():
        from webapp.extensions import db

        text = db.session.scalars(db.select(SmsMessage.text).order_by(SmsMessage.id.desc())).first()
    code = re.search(r"\b(\d{6})\b", text).group(1)
    _same_browser(browser_a, browser_b)
    confirm_path = asked.location.replace("http://localhost", "")
    token = csrf_token(browser_b, confirm_path)
    confirmed = browser_b.post(confirm_path, data={"csrf_token": token, "code": code})
    assert confirmed.status_code == 302 and confirmed.location.endswith("/en/account")
    with b.app_context():
        from webapp.extensions import db

        assert db.session.scalar(db.select(MobilePhone.phone).filter_by(iin=MOTHER_WITH_BABY)) == "+77015551234"


def test_an_eds_login_challenge_from_one_instance_logs_in_once_anywhere(instances, app):
    from signing.xmldsig import sign_enveloped

    from tests.helpers import challenge, eds_login, key

    a, b = instances
    browser_a, browser_b, browser_c = a.test_client(), b.test_client(), a.test_client()
    csrf, token, document = challenge(browser_a)
    signed = sign_enveloped(document, key(app, kind="auth"))
    _same_browser(browser_a, browser_b)
    assert eds_login(browser_b, signed, csrf, token).status_code == 302
    # The same signed challenge again, on A: the used nonce is in the database.
    other_csrf = csrf_token(browser_c, "/en/login")
    replay = eds_login(browser_c, signed, other_csrf, token)
    assert replay.status_code == 200 and "already been used" in replay.text


def test_a_background_poll_does_not_extend_the_redis_session(instances, redis_db):
    a, b = instances
    browser = a.test_client()
    assert log_in(browser).status_code == 302
    key = f"session:{browser.get_cookie(COOKIE).value}"
    lifetime = int(TestConfig.PERMANENT_SESSION_LIFETIME.total_seconds())
    assert lifetime - 5 <= redis_db.ttl(key) <= lifetime
    # The page the citizen opened (it shows the login's flash and makes a CSRF token: both change the session).
    assert browser.get("/en/account/history").status_code == 200
    redis_db.expire(key, 100)  # then idle for most of the timeout, the tab polling
    _same_browser(browser, b_client := b.test_client())
    for poller in (browser, b_client):
        polled = poller.get("/en/account/history", headers={"Qyzmet-Poll": "1", "HX-Request": "true"})
        assert polled.status_code == 200
        assert 0 < redis_db.ttl(key) <= 100
        assert COOKIE not in polled.headers.get("Set-Cookie", "")
    # The citizen doing something does extend it.
    assert b_client.get("/en/account/history").status_code == 200
    assert redis_db.ttl(key) > lifetime - 5


def test_the_page_cache_reads_redis_sessions_across_instances(instances, redis_db):
    """A form page cached by B is served to a visitor whose session A made, with a token of that
    session; a citizen's session, or one due its sliding refresh, goes to Flask (webapp/page_cache.py)."""
    a, b = instances
    cache = b.extensions["page_cache"]
    csrf_token(b.test_client(), "/en/verify")  # B renders and keeps the page
    visitor = a.test_client()
    token = csrf_token(visitor, "/en/verify")  # A makes the visitor's session in Redis
    key = f"session:{visitor.get_cookie(COOKIE).value}"
    _same_browser(visitor, on_b := b.test_client())
    hits = cache.hits
    page = on_b.get("/en/verify")
    assert cache.hits == hits + 1 and page.status_code == 200
    served = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    # The token of the visitor's own session: A accepts it for the form (past CSRF, to the form's own check).
    signer = URLSafeTimedSerializer(b.secret_key, salt="wtf-csrf-token")
    assert signer.loads(served) == signer.loads(token)
    assert "Choose a signed XML file" in visitor.post("/en/verify", data={"csrf_token": served}).text
    # Idle for more than the refresh granularity: Flask serves it and pushes the expiry forward.
    lifetime = int(TestConfig.PERMANENT_SESSION_LIFETIME.total_seconds())
    redis_db.expire(key, lifetime - 120)
    hits = cache.hits
    assert on_b.get("/en/verify").status_code == 200
    assert cache.hits == hits and redis_db.ttl(key) > lifetime - 5
    # A citizen is never served from the cache.
    assert log_in(on_b).status_code == 302
    hits = cache.hits
    assert "Log out" in on_b.get("/en/services").text
    assert cache.hits == hits


def test_jobs_queued_by_an_instance_are_run_by_a_separate_worker(app, redis_db, tmp_path):
    """`flask jobs worker` (one command) consumes what a web instance queued in Redis."""
    from flask_migrate import upgrade

    from webapp.extensions import db
    from webapp.models import SmsMessage
    from webapp.sms import outbox

    database = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    web = _instance(database, app.config["SANDBOX_PKI_DIR"], app.config["TRUSTED_CA_BUNDLE"],
                    HUEY_IMMEDIATE=False, HUEY_EMBEDDED_CONSUMER=False)
    with web.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
        message = outbox.queue("+77015551234", "Qyzmet test message", purpose="test")
        message_id = message.id
        assert message.status == "queued"
        from webapp.jobs import queue as jobs

        assert jobs.get_huey(web).pending_count() >= 1
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QYZMET_", "HUEY_", "SMS_", "PROVIDER_"))}
    env.update(
        QYZMET_ENV="sandbox", DATABASE_URL=database, REDIS_URL=REDIS_URL, SANDBOX_PKI_DIR=app.config["SANDBOX_PKI_DIR"],
        SMS_GATEWAY="sandbox", HUEY_EMBEDDED_CONSUMER="0", PYTHONUNBUFFERED="1",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "webapp", "jobs", "worker", "--workers", "1", "--metrics-port", str(WORKER_METRICS_PORT)],
        env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = "queued"
        while time.monotonic() < deadline and status == "queued":
            time.sleep(0.5)
            with web.app_context():
                status = db.session.scalar(db.select(SmsMessage.status).filter_by(id=message_id))
                db.session.remove()
            assert worker.poll() is None, worker.stdout.read()
        assert status == "sent"
        with web.app_context():
            assert jobs.get_huey(web).pending_count() == 0
        # The worker counts what it sent, on its own metrics port (the web processes never see these sends).
        with urllib.request.urlopen(f"http://127.0.0.1:{WORKER_METRICS_PORT}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        assert 'qyzmet_sms_messages_total{outcome="sent",purpose="test"} 1.0' in metrics
        assert "qyzmet_queue_pending_jobs 0.0" in metrics
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_the_unchanged_poll_shortcut_reads_redis_across_instances(instances, redis_db):
    """A's citizen polls B: B answers the unchanged poll before Flask from the Redis session and the Redis
    validator state, without extending the session; a change committed on A is a new fragment on B
    (webapp/history/poll.py)."""
    from tests.helpers import FRAGMENT, bulk, etag_in

    a, b = instances
    browser = a.test_client()
    assert log_in(browser).status_code == 302
    bulk(a, 2)
    etag = etag_in(browser.get("/en/account/history"))
    key = f"session:{browser.get_cookie(COOKIE).value}"
    redis_db.expire(key, 100)  # idle for most of the timeout: due its refresh, which a poll never does
    _same_browser(browser, on_b := b.test_client())
    shortcut = b.extensions["history_poll"]
    poll = {**FRAGMENT, "Qyzmet-Poll": "1", "If-None-Match": f'"{etag}"'}
    assert on_b.get("/en/account/history", headers=poll).status_code == 304  # Flask's: its headers learned
    answered = shortcut.answered
    response = on_b.get("/en/account/history", headers=poll)
    assert response.status_code == 304 and shortcut.answered == answered + 1
    assert 0 < redis_db.ttl(key) <= 100 and "Set-Cookie" not in response.headers
    bulk(a, 1, start=5)  # committed on A: the validator state's generation moves on
    changed = on_b.get("/en/account/history", headers=poll)
    assert changed.status_code == 200 and "9000-0000005" in changed.text and shortcut.answered == answered + 1
