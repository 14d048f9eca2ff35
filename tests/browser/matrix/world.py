"""The portal the matrix looks at: its own app and database, served on a real
port, with one citizen's applications in every state a page needs.

The matrix has its own app rather than the suite's `app` fixture because
`tests/conftest.py` wipes that app's data after every test, and the matrix
visits the same pages hundreds of times over one set of data.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug.serving import make_server

from tests.conftest import MOTHER_WITH_BABY, NATIONAL_TEST_PKI, PageCheckingClient, csrf_token, log_in
from webapp.config import REPO_ROOT

SLUGS = sorted(p.stem for p in (REPO_ROOT / "webapp" / "services" / "definitions").glob("*.yaml"))
CHILD_CARE = "child-care-under-one"
FILES = Path(__file__).resolve().parents[1] / "files"


@dataclass
class Page:
    """One page of the matrix: a name, a path with `{lang}` in it, who looks at it."""

    name: str
    path: str
    citizen: bool = False  # seen logged in as the mother, else anonymous
    status: int = 200
    # A key page: screenshotted in each language and size.
    key: bool = False
    # False for a wizard step the world's answers do not show (its URL redirects).
    shown: bool = True


def page_names() -> list[str]:
    """Every page's name, known before the world is built (pytest collects by name)."""
    return [p.name for p in _pages({}, {})]


def _pages(paths: dict, first_steps: dict[str, str]) -> list[Page]:
    """The pages, from the service definitions and the paths the world made."""
    pages = [
        Page("home", "/{lang}/"),
        Page("catalogue", "/{lang}/services", key=True),
        *(Page(f"passport-{slug}", f"/{{lang}}/services/{slug}", key=slug == CHILD_CARE) for slug in SLUGS),
        Page("login", "/{lang}/login"),
        Page("verify", "/{lang}/verify"),
        Page("not-found", "/{lang}/no-such-page", status=404),
        Page("sandbox-citizens", "/{lang}/sandbox/citizens"),
        Page("sandbox-sms", "/{lang}/sandbox/sms"),
        Page("sandbox-operator", "/{lang}/sandbox/operator"),
        Page("sandbox-operator-application", "/{lang}/sandbox/operator/applications/" + paths.get("decided", "")),
        Page("account", "/{lang}/account", citizen=True),
        Page("drafts", "/{lang}/account/drafts", citizen=True),
        Page("phone", "/{lang}/account/phone", citizen=True),
        Page("phone-confirm", paths.get("phone-confirm", ""), citizen=True),
        *(Page(f"before-you-start-{slug}", f"/{{lang}}/services/{slug}/apply", citizen=True) for slug in SLUGS),
        # Child-care's first step is among its steps below.
        *(Page(f"first-step-{slug}", first_steps.get(slug, ""), citizen=True) for slug in SLUGS if slug != CHILD_CARE),
        # Every step of the definition; the ones the mother's answers do not show are skipped.
        *(Page(f"step-{CHILD_CARE}-{step}", f"/{{lang}}/services/{CHILD_CARE}/apply/{step}", citizen=True,
               key=step == "child", shown=step in paths.get("steps", [step]))
          for step in _steps(CHILD_CARE)),
        Page("check", f"/{{lang}}/services/{CHILD_CARE}/apply/check", citizen=True, key=True),
        Page("sms-password", paths.get("sms-password", ""), citizen=True, key=True),
        Page("sms-not-received", paths.get("sms-password", "") + "/not-received", citizen=True),
        Page("egov-mobile", paths.get("egov-mobile", ""), citizen=True, key=True),
        Page("sandbox-egov-mobile", "/{lang}/sandbox/egov-mobile"),
        Page("confirmation", "/{lang}/account/applications/" + paths.get("sent", "") + "/sent", citizen=True, key=True),
        Page("history", "/{lang}/account/history", citizen=True, key=True),
        Page("application", "/{lang}/account/applications/" + paths.get("decided", ""), citizen=True, key=True),
        Page("application-refused-provisionally",
             "/{lang}/account/applications/" + paths.get("objectable", ""), citizen=True),
        Page("notification", "/{lang}/account/notifications/" + paths.get("notification", ""), citizen=True),
        Page("withdraw", "/{lang}/account/applications/" + paths.get("sent", "") + "/withdraw", citizen=True),
        Page("documents", "/{lang}/account/applications/" + paths.get("documents", "") + "/documents", citizen=True),
        Page("objection", "/{lang}/account/applications/" + paths.get("objectable", "") + "/objection", citizen=True),
        Page("complaint", "/{lang}/account/applications/" + paths.get("decided", "") + "/complaint", citizen=True),
        Page("malfunction", "/{lang}/account/requests/malfunction", citizen=True),
        Page("request-check", paths.get("request-check", ""), citizen=True),
        Page("request-sms-password", paths.get("request-sms-password", ""), citizen=True),
        Page("requests", "/{lang}/account/requests", citizen=True),
        Page("request", "/{lang}/account/requests/" + paths.get("request", ""), citizen=True),
    ]
    return pages


def _steps(slug: str) -> list[str]:
    """The step ids of a service's wizard, in order, from its definition."""
    from webapp.services import find

    return [step.id for step in find(slug).wizard.steps]


@dataclass
class World:
    base: str
    app: object
    pages: dict[str, Page] = field(default_factory=dict)


def _lang_path(location: str) -> str:
    """A redirect's path with its language replaced by `{lang}`."""
    path = urlsplit(location).path
    return re.sub(r"^/(kk|ru|en)/", "/{lang}/", path)


def make_app(tmp_dir: Path):
    """The portal on its own SQLite file and sandbox CA, built by the migrations (as the `app` fixture)."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.config import TestConfig
    from webapp.sandbox import load_test_citizens, pki

    pki_dir = tmp_dir / "pki"
    application = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_dir / 'matrix.sqlite3'}",
            "ATTACHMENTS_DIR": str(tmp_dir / "attachments"),
            "SANDBOX_PKI_DIR": str(pki_dir),
            "TRUSTED_CA_BUNDLE": os.pathsep.join(
                [str(pki_dir / "ca-bundle.pem"), str(NATIONAL_TEST_PKI / "nca_rsa_test.crt")]
            ),
            # Two SMS passwords for the same citizen within a minute.
            "OTP_RESEND_SECONDS": 0,
            # The matrix opens the same pages hundreds of times from one address.
            "RATELIMIT_ENABLED": False,
            # The eGov Mobile page shows its QR code for the whole run, not "expired" after 3 minutes.
            "EGOV_MOBILE_SECONDS": 6 * 3600,
        },
    )
    application.test_client_class = PageCheckingClient
    pki.create(application)
    with application.app_context():
        upgrade(directory=str(REPO_ROOT / "migrations"))
        load_test_citizens()
    return application


def build(app) -> dict[str, str]:
    """Make, through the Flask client as the mother, everything a page needs; the paths made."""
    from signing.xmldsig import sign_enveloped
    from tests.helpers import fill, provider_says_in_turn, upload
    from tests.helpers import at_check, issued, key, send
    from webapp import clock
    from webapp.extensions import db
    from webapp.models import Application, Notification

    numbers = []
    for _ in range(4):
        client = app.test_client()  # at_check logs in afresh
        # In Kazakh, as everything below that sends an SMS: the sandbox outbox shows
        # the messages as sent, and an English one would read as untranslated there.
        at_check(client, lang="kk")
        assert send(client, sign_enveloped(issued(client, lang="kk"), key(app)), lang="kk").status_code == 302
        with app.app_context():
            numbers.append(db.session.scalar(db.select(Application.number).order_by(Application.id.desc())))
    sent, documents, objectable, decided = numbers
    with app.app_context():
        moment = clock.now()  # the provider acts after the applications were sent, on the same clock
    provider_says_in_turn(app, documents, ("registered", {"at": moment}),
             ("documents_requested", {"at": moment, "documents": ("Birth certificate",)}))
    provider_says_in_turn(app, objectable, ("registered", {"at": moment}),
             ("provisional_refusal", {"at": moment, "reason": "income above the threshold"}))
    provider_says_in_turn(app, decided, ("registered", {"at": moment}),
             ("assigned", {"at": moment, "amount": Decimal("43250.50"),
                           "period": (dt.date(2026, 2, 14), dt.date(2027, 2, 13))}))
    with app.app_context():
        notification = db.session.scalar(
            db.select(Notification.public_id).join(Application, Notification.application_id == Application.id)
            .filter(Application.number == decided).order_by(Notification.id.desc()))
    paths = {"sent": sent, "documents": documents, "objectable": objectable, "decided": decided,
             "notification": notification}

    # A sent request (a malfunction report, signed by SMS) and one waiting for its SMS password.
    from tests.helpers import sign_by_sms

    saved = fill(client, "/kk/account/requests/malfunction",
                 {"service": CHILD_CARE, "registration_number": decided, "text": "1. Pressed Sign.\n2. Blank."})
    signed = sign_by_sms(client, saved.location)
    paths["request"] = urlsplit(signed.location).path.rsplit("/", 1)[1]
    saved = fill(client, f"/kk/account/applications/{objectable}/objection", {"text": "My income fell."},
                 [upload("scan.png")])
    paths["request-check"] = _lang_path(saved.location)
    asked = client.post(f"{saved.location}/sign/sms", data={"csrf_token": csrf_token(client, saved.location)})
    paths["request-sms-password"] = _lang_path(asked.location)

    # The child-care wizard at its check page, an SMS password asked for it.
    client = app.test_client()
    at_check(client, lang="kk")
    # The steps the mother's answers show (the definition has more, for other families).
    paths["steps"] = [step for step in _steps(CHILD_CARE)
                      if client.get(f"/en/services/{CHILD_CARE}/apply/{step}").status_code == 200]
    check = f"/kk/services/{CHILD_CARE}/apply/check"
    asked = client.post(f"/kk/services/{CHILD_CARE}/apply/sign/sms", data={"csrf_token": csrf_token(client, check)})
    assert "/sign/sms/" in asked.location, asked.text[:2000]
    paths["sms-password"] = _lang_path(asked.location)
    # And a QR code for eGov Mobile.
    asked = client.post(f"/kk/services/{CHILD_CARE}/apply/sign/egov-mobile", data={"csrf_token": csrf_token(client, check)})
    assert "/egov-mobile/" in asked.location, asked.text[:2000]
    paths["egov-mobile"] = _lang_path(asked.location)

    # A new phone number waiting for its password.
    token = csrf_token(client, "/kk/account/phone")
    asked = client.post("/kk/account/phone", data={"csrf_token": token, "phone": "+7 705 111 22 33"})
    assert "/confirm/" in asked.location, asked.text[:2000]
    paths["phone-confirm"] = _lang_path(asked.location)
    return paths


def first_steps(app) -> dict[str, str]:
    """Each service started by the mother: where its start leads (its first step, or why not)."""
    client = app.test_client()
    assert log_in(client, MOTHER_WITH_BABY).status_code == 302
    found = {}
    for slug in SLUGS:
        if slug == CHILD_CARE:
            continue  # its draft is at the check page, its steps are pages of their own
        base = f"/en/services/{slug}/apply"
        started = client.post(f"{base}/start", data={"csrf_token": csrf_token(client, base), "action": "start"})
        assert started.status_code == 302, started.text[:2000]
        found[slug] = _lang_path(started.location)
    return found


class Server:
    """The app served by werkzeug in a thread (as tests/browser's live_server)."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.base = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self):
        self.server.shutdown()


def world(tmp_dir: Path) -> tuple[World, Server]:
    app = make_app(tmp_dir)
    paths = build(app)
    steps = first_steps(app)
    server = Server(app)
    made = World(server.base, app, {p.name: p for p in _pages(paths, steps)})
    return made, server
