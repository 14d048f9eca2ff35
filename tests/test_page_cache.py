"""The page cache (webapp/page_cache.py): what it keeps, what it never keeps, what a hit carries.

Counts and bodies only: nothing here times anything.
"""

from __future__ import annotations

import logging
import re

import pytest

from tests.conftest import MOTHER_WITH_BABY, csrf_token, log_in

SERVICE = "enpf-pension-payments"
PUBLIC = ["/en/", "/kk/services", f"/ru/services/{SERVICE}", "/en/services?q=pension"]


@pytest.fixture
def cache(app):
    cache = app.extensions["page_cache"]
    cache.clear()
    cache.hits = cache.misses = cache.stored = 0
    yield cache
    cache.clear()


def _uncached(app, path: str, **kwargs):
    """The same request straight to Flask, past the cache."""
    return app.test_client().get(path, **kwargs)


@pytest.mark.parametrize("path", PUBLIC)
def test_a_public_page_is_rendered_once_then_served_from_the_cache_byte_for_byte(app, client, cache, path):
    first = client.get(path)
    second = client.get(path)
    assert first.status_code == second.status_code == 200
    assert (cache.stored, cache.hits) == (1, 1)
    assert second.data == first.data
    cache.clear()
    assert _uncached(app, path).data == second.data


def test_a_hit_carries_every_header_a_rendered_page_does_but_its_own_request_id(client, cache):
    rendered = client.get("/en/services")
    hit = client.get("/en/services")
    assert cache.hits == 1
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy",
                 "Cross-Origin-Opener-Policy", "X-Frame-Options", "Content-Type", "Cache-Control", "ETag"):
        assert hit.headers[name] == rendered.headers[name], name
    assert {"HX-Request", "Cookie"} <= {v.strip() for v in hit.headers["Vary"].split(",")}
    assert hit.headers["Content-Length"] == str(len(hit.data))
    assert hit.headers["X-Request-ID"] and hit.headers["X-Request-ID"] != rendered.headers["X-Request-ID"]
    assert client.get("/en/services", headers={"X-Request-ID": "lb-42"}).headers["X-Request-ID"] == "lb-42"


def test_a_hit_writes_the_access_line_with_its_request_id_and_counts_in_the_metrics(client, cache, caplog):
    client.get("/en/services/" + SERVICE)
    caplog.set_level(logging.INFO, logger="qyzmet.access")
    caplog.clear()
    hit = client.get("/en/services/" + SERVICE)
    assert cache.hits == 1
    (line,) = [r for r in caplog.records if r.name == "qyzmet.access"]
    assert (line.method, line.path, line.status) == ("GET", "/en/services/" + SERVICE, 200)
    assert line.request_id == hit.headers["X-Request-ID"]
    metrics = client.get("/metrics").get_data(as_text=True)
    counted = re.search(r'qyzmet_http_request_duration_seconds_count\{([^}]*endpoint="catalogue.passport"[^}]*)\} (\S+)',
                        metrics)
    assert counted and 'status="200"' in counted.group(1) and float(counted.group(2)) >= 2


def test_the_htmx_fragment_and_the_whole_page_are_kept_apart(client, cache):
    page = client.get("/en/services?q=pension")
    fragment = client.get("/en/services?q=pension", headers={"HX-Request": "true", "HX-Target": "service-results"})
    again = client.get("/en/services?q=pension", headers={"HX-Request": "true", "HX-Target": "service-results"})
    assert cache.stored == 2 and cache.hits == 1
    assert page.data.lstrip().lower().startswith(b"<!doctype html>")
    assert not fragment.data.lstrip().lower().startswith(b"<!doctype html>")
    assert again.data == fragment.data


def test_a_language_is_its_own_entry(client, cache):
    kk, ru = client.get("/kk/services"), client.get("/ru/services")
    assert cache.stored == 2 and kk.data != ru.data
    assert b'lang="ru"' in client.get("/ru/services").data and cache.hits == 1


def test_an_unchanged_page_answers_304_to_its_etag_and_to_if_modified_since(client, cache):
    first = client.get("/en/")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    not_modified = client.get("/en/", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag and not_modified.headers["X-Request-ID"]
    assert client.get("/en/", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get("/en/", headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_visitor_with_a_session_gets_their_own_token_in_the_verify_form(app, cache):
    one, two = app.test_client(), app.test_client()
    token_one_first = csrf_token(one, "/en/verify")  # no session yet: Flask renders and makes one
    token_two_first = csrf_token(two, "/en/verify")
    hits = cache.hits
    page_one, page_two = one.get("/en/verify"), two.get("/en/verify")
    assert cache.hits == hits + 2
    token_one = re.search(rb'name="csrf_token" value="([^"]+)"', page_one.data).group(1).decode()
    token_two = re.search(rb'name="csrf_token" value="([^"]+)"', page_two.data).group(1).decode()
    assert token_one != token_two
    from itsdangerous import URLSafeTimedSerializer

    secret = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    # Each token signs that visitor's own session secret, as the one Flask put in the first page.
    assert secret.loads(token_one) == secret.loads(token_one_first)
    assert secret.loads(token_two) == secret.loads(token_two_first) != secret.loads(token_one)
    assert page_one.headers["Cache-Control"] == "private, no-cache"
    assert "ETag" not in page_one.headers and "Set-Cookie" not in page_one.headers
    # The token from the cached page is good for the form it belongs to (past CSRF, to the form's own check),
    # and not for another visitor's.
    assert b"Choose a signed XML file" in one.post("/en/verify", data={"csrf_token": token_one}).data
    assert b"Choose a signed XML file" not in two.post("/en/verify", data={"csrf_token": token_one}).data


def test_a_page_with_a_token_is_never_served_to_a_visitor_without_a_session(app, cache):
    csrf_token(app.test_client(), "/en/verify")
    fresh = app.test_client()
    fresh.get("/en/verify")
    assert cache.hits == 0
    assert fresh.get_cookie("qyzmet_session") is not None


def test_a_logged_in_citizen_is_never_served_from_the_cache(client, cache):
    client.get("/en/services")
    stored = cache.stored
    log_in(client, MOTHER_WITH_BABY)
    hits = cache.hits
    page = client.get("/en/services")
    again = client.get("/en/services")
    assert cache.hits == hits and cache.stored == stored
    assert b"Log out" in page.data and b"Log out" in again.data
    assert page.headers["Cache-Control"] == "no-store"


def test_a_page_showing_a_flashed_message_is_neither_kept_nor_served_from_the_cache(client, cache):
    client.get("/en/")
    log_in(client, MOTHER_WITH_BABY)
    stored = cache.stored
    logout_token = re.search(rb'name="csrf_token" value="([^"]+)"', client.get("/en/services").data).group(1)
    hits = cache.hits
    page = client.post("/en/logout", data={"csrf_token": logout_token.decode()}, follow_redirects=True)
    assert b"You have logged out." in page.data
    assert cache.hits == hits and cache.stored == stored
    after = client.get("/en/")
    assert b"You have logged out." not in after.data


def test_not_found_and_posts_are_not_kept(client, cache):
    assert client.get("/en/services/no-such-service").status_code == 404
    assert client.get("/en/services/no-such-service").status_code == 404
    client.post("/en/verify", data={})
    assert cache.stored == 0 and cache.hits == 0


def test_personal_pages_are_not_kept(client, cache):
    log_in(client, MOTHER_WITH_BABY)
    client.get("/en/account/history")
    client.get("/en/account")
    assert cache.stored == 0


def test_a_new_version_renders_the_page_again(client, cache):
    client.get("/en/services")
    cache.deploy_version = "another-deploy"
    client.get("/en/services")
    assert (cache.stored, cache.hits) == (2, 0)
    client.get("/en/services")
    assert cache.hits == 1


def test_another_portal_day_renders_the_page_again(app, client, cache, monkeypatch):
    client.get("/en/")
    monkeypatch.setitem(app.config, "FIXED_TODAY", "2027-01-15")
    client.get("/en/")
    assert (cache.stored, cache.hits) == (2, 0)


def test_the_version_follows_what_the_pages_are_made_of(app, tmp_path):
    from webapp.page_cache import deploy_version

    definitions = tmp_path / "definitions"
    definitions.mkdir()
    (definitions / "a.yaml").write_text("slug: a\n", encoding="utf-8")
    app.config["SERVICE_DEFINITIONS"], saved = (str(definitions),), app.config["SERVICE_DEFINITIONS"]
    try:
        before = deploy_version(app)
        (definitions / "a.yaml").write_text("slug: b\n", encoding="utf-8")
        assert deploy_version(app) != before
    finally:
        app.config["SERVICE_DEFINITIONS"] = saved


def test_an_expired_or_unknown_session_goes_to_flask(app, cache):
    visitor = app.test_client()
    csrf_token(visitor, "/en/verify")
    visitor.set_cookie("qyzmet_session", "not-a-session-anyone-has")
    hits = cache.hits
    page = visitor.get("/en/verify")
    assert cache.hits == hits and page.status_code == 200
    assert visitor.get_cookie("qyzmet_session").value != "not-a-session-anyone-has"


def test_searches_beyond_the_limit_push_the_oldest_entries_out(client, cache, monkeypatch):
    from webapp import page_cache

    monkeypatch.setattr(page_cache, "MAX_ENTRIES", 3)
    for word in ("a", "b", "c", "d"):
        client.get(f"/en/services?q={word}")
    assert len(cache.entries) == 3
    client.get("/en/services?q=a")
    assert cache.hits == 0


def test_a_session_store_that_fails_sends_the_visitor_to_flask(app, cache, monkeypatch):
    visitor = app.test_client()
    csrf_token(visitor, "/en/verify")

    def down(sid, environ=None):
        raise ConnectionError("the session store is down")

    monkeypatch.setattr(app.session_interface, "peek", down)
    hits = cache.hits
    page = visitor.get("/en/verify")
    assert page.status_code == 200 and cache.hits == hits


def test_a_citizen_on_a_cached_page_costs_one_read_of_their_session(app, client, cache):
    from sqlalchemy import event

    from webapp.dbapi_statements import DBAPIStatement
    from webapp.extensions import db

    client.get("/en/services")  # the anonymous page is in the cache
    log_in(client, MOTHER_WITH_BABY)
    reads = []

    def count(statement, *args):
        if statement.lstrip().upper().startswith("SELECT") and "web_sessions" in statement:
            reads.append(statement)

    with app.app_context():
        engine = db.engine
    def through_sqlalchemy(conn, cursor, statement, *args):
        count(statement)

    event.listen(engine, "before_cursor_execute", through_sqlalchemy)
    DBAPIStatement.observers.append(count)  # the store reads its row on the DBAPI connection
    try:
        page = client.get("/en/services")
    finally:
        event.remove(engine, "before_cursor_execute", through_sqlalchemy)
        DBAPIStatement.observers.remove(count)
    assert b"Log out" in page.data
    assert len(reads) == 1  # the cache's peek; Flask's session opens from the row it read
