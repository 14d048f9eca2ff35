"""Fixtures: the app on a temporary database, clients, a logged-in citizen,
and a check applied to every page a test renders."""

from __future__ import annotations

import os
import re

import html5lib
import pytest
from babel.messages.pofile import read_po
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine

from webapp import create_app
from webapp.config import REPO_ROOT, TestConfig

SANDBOX_PASSWORD = "Sandbox1!"
# Public test material of the national CA (see its README), kept in the repo.
NATIONAL_TEST_PKI = REPO_ROOT / "tests" / "data" / "nca-test-pki"
# Test citizens, named for what they are in the sandbox data.
MOTHER_WITH_BABY = "900517401370"
CITIZEN_WITHOUT_PHONE = "831219453975"


def _database_url(tmp_path_factory) -> str:
    """PostgreSQL when DATABASE_URL names it (as on CI), else a fresh SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        # Start from an empty schema so the migrations are what builds it.
        engine = create_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
        engine.dispose()
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


class PageCheckingClient(FlaskClient):
    """A test client that checks every HTML page it receives."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        # The test client hands every response over as an iterator (is_streamed is always True there),
        # so being streamed is no reason to skip the check: get_data() reads it. A redirect's body
        # (Werkzeug's "Redirecting…") is not a page anyone reads.
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
            check_page(response)
        return response


_catalogues: dict[str, list[str]] = {}


def _untranslatable(lang: str) -> list[str]:
    """English msgids whose translation differs: seeing one on a kk/ru page means it was not translated."""
    if lang not in _catalogues:
        path = REPO_ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalogue = read_po(handle)
        _catalogues[lang] = sorted(
            {
                str(message.id)
                for message in catalogue
                if isinstance(message.id, str)
                and message.id
                and message.string != message.id
                and "%" not in message.id
                and "<" not in message.id
                and len(message.id.split()) >= 2
            },
            key=len,
            reverse=True,
        )
    return _catalogues[lang]


# What gettext("") answers is the catalogue's header: any of it on a page means
# an empty text went through gettext.
_CATALOGUE_HEADER = re.compile(
    r"Project-Id-Version|Report-Msgid-Bugs-To|POT-Creation-Date|PO-Revision-Date|Last-Translator"
    r"|Language-Team|Plural-Forms:|Content-Transfer-Encoding|Generated-By: Babel"
)


def catalogue_header(text: str) -> list[str]:
    """The catalogue-header fields found in a page's text (gettext of an empty string)."""
    return sorted(set(_CATALOGUE_HEADER.findall(text)))


def check_page(response) -> None:
    """Valid HTML, one h1 (for full pages), the right lang, no untranslated text, no catalogue header."""
    text = response.get_data(as_text=True)
    header = catalogue_header(text)
    assert not header, f"{response.request.path}: the catalogue's header (gettext of an empty text): {header}"
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    is_fragment = not text.lstrip().lower().startswith("<!doctype html>")
    if is_fragment:
        parser.parseFragment(text)
        return
    document = parser.parse(text)
    headings = document.findall(".//h1")
    assert len(headings) == 1, f"{response.request.path}: {len(headings)} h1 elements"
    lang = document.get("lang")
    path_lang = response.request.path.strip("/").split("/", 1)[0]
    if path_lang in ("kk", "ru", "en"):
        assert lang == path_lang, f"{response.request.path}: <html lang={lang!r}>"
    visible = re.sub(r"\s+", " ", " ".join(document.itertext()))
    if lang in ("kk", "ru"):
        leftovers = [msgid for msgid in _untranslatable(lang) if msgid in visible]
        assert not leftovers, f"{response.request.path}: untranslated {leftovers[:5]}"
    _no_double_full_stop(response.request.path, visible)


def _no_double_full_stop(path: str, visible: str) -> None:
    """No ".." that is not an ellipsis: an abbreviation's stop before a sentence's (Russian "2026 г..")."""
    doubled = re.search(r"(?<![.\s])\.\.(?!\.)", visible)
    assert not doubled, f"{path}: a double full stop in {visible[max(0, doubled.start() - 60):doubled.end() + 10]!r}"


_LIMITER_STORAGE: list = []


def _limiter_storage() -> list:
    from webapp.extensions import limiter

    return [limiter._storage, limiter._limiter, limiter.enabled]


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """One portal for the whole run, on a database built by the migrations."""
    from flask_migrate import upgrade

    from webapp.sandbox import load_test_citizens, pki

    pki_dir = tmp_path_factory.mktemp("pki")
    application = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
            "ATTACHMENTS_DIR": str(tmp_path_factory.mktemp("attachments")),
            # The sandbox CA made for this run, and the national TEST CA.
            "SANDBOX_PKI_DIR": str(pki_dir),
            "TRUSTED_CA_BUNDLE": os.pathsep.join(
                [str(pki_dir / "ca-bundle.pem"), str(NATIONAL_TEST_PKI / "nca_rsa_test.crt")]
            ),
        },
    )
    application.test_client_class = PageCheckingClient
    _LIMITER_STORAGE[:] = _limiter_storage()
    pki.create(application)
    with application.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
        load_test_citizens()
    return application


@pytest.fixture(autouse=True)
def _fresh_state(request):
    """Each test starts with the sandbox data as loaded and no rate limits spent."""
    yield
    if "app" not in request.fixturenames:
        return
    app = request.getfixturevalue("app")
    from webapp.extensions import db, limiter
    from webapp.sandbox import load_test_citizens

    # Flask-Limiter keeps one storage for its (module-wide) limiter, and the
    # last create_app() sets it: a test that built another app (production,
    # Redis, the browser matrix's with limits off) must not leave its storage
    # or its switch to the tests after it.
    limiter._storage, limiter._limiter, limiter.enabled = _LIMITER_STORAGE
    with app.app_context():
        limiter.reset()
        # Children before parents; load_test_citizens() then writes the accounts and phones again.
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        load_test_citizens()


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_token(client, path: str) -> str:
    """The CSRF token of the form on a page."""
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def log_in(client, iin: str = MOTHER_WITH_BABY, password: str = SANDBOX_PASSWORD, lang: str = "en"):
    """Log in through the real form, CSRF token and all; the login's response.

    Like a browser, it then opens the page the login leads to, where the
    "You are logged in" message is shown in the login's language.
    """
    token = csrf_token(client, f"/{lang}/login")
    response = client.post(f"/{lang}/login", data={"csrf_token": token, "iin": iin, "password": password})
    if response.status_code == 302:
        client.get(response.location)
    return response


@pytest.fixture
def sent_application(app, client) -> str:
    """The number of an application the mother sent, signed with EDS; `client` stays logged in as her."""
    from tests.helpers import at_check, sign_and_send
    from webapp.extensions import db
    from webapp.models import Application

    at_check(client)
    assert sign_and_send(app, client).status_code == 302
    with app.app_context():
        return db.session.scalar(db.select(Application.number))


@pytest.fixture
def citizen_client(client):
    """A client logged in as the mother of a baby born in 2026."""
    response = log_in(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def http_server():
    """Start fake web services (tests.fake_http.FakeHttpServer) that close when the test ends."""
    from tests.fake_http import FakeHttpServer

    servers = []

    def start(answer):
        servers.append(FakeHttpServer(answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def real_queue(app, monkeypatch, tmp_path):
    """Huey off immediate mode, on SQLite; `run_until(done)` runs a consumer in threads until done() is true.

    Call it inside an app context; it gives up after `seconds`.
    """
    import time

    from webapp.jobs import queue as jobs

    monkeypatch.setitem(app.config, "HUEY_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "HUEY_SQLITE_PATH", str(tmp_path / "huey.sqlite3"))
    monkeypatch.setitem(app.extensions, "jobs", {**app.extensions["jobs"], "huey": None, "tasks": {}, "consumer": None})

    def run_until(done, seconds: float = 20) -> None:
        jobs.start_consumer(app, workers=1)
        try:
            deadline = time.monotonic() + seconds
            while not done() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            jobs.stop_consumer(app)

    return run_until
