"""The document a citizen signs keeps the language it was issued in: a
password asked for on one language's page and entered on another's, or an
EDS signature made over the document of one language's page and sent from
another's, signs the same document. A changed answer issues a new one, in
the language of the page that issues it."""

from __future__ import annotations

import pytest
from lxml import etree

from signing.xmldsig import sign_enveloped
from tests.conftest import MOTHER_WITH_BABY, csrf_token
from tests.helpers import CHILD_CARE, at_check, issued, key, send
from tests.helpers import enter, last_code
from webapp.extensions import db
from webapp.models import Application

PAIRS = [("en", "ru"), ("en", "kk"), ("kk", "ru")]


def language_of(document: bytes) -> str:
    return etree.fromstring(document).get("language")


@pytest.mark.parametrize("asked,entered", PAIRS)
def test_the_right_password_on_another_languages_page_signs(app, client, asked, entered):
    at_check(client, lang=asked)
    base = f"/{asked}/services/{CHILD_CARE}/apply"
    asked_for = client.post(f"{base}/sign/sms", data={"csrf_token": csrf_token(client, f"{base}/check")})
    assert asked_for.status_code == 302 and "/sign/sms/" in asked_for.location
    elsewhere = asked_for.location.replace(f"/{asked}/", f"/{entered}/", 1)
    done = enter(client, elsewhere, last_code(client))
    assert done.status_code == 302 and done.location.endswith("/sent"), done.text[:3000]
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert language_of(application.document) == asked
        assert application.language == asked


@pytest.mark.parametrize("issued_in,sent_from", PAIRS)
def test_an_eds_signature_sent_from_another_languages_page_is_accepted(app, client, issued_in, sent_from):
    at_check(client, lang=issued_in)
    document = issued(client, lang=issued_in)
    # The page in the other language offers the same document to sign.
    assert issued(client, lang=sent_from) == document
    response = send(client, sign_enveloped(document, key(app, MOTHER_WITH_BABY)), lang=sent_from)
    assert response.status_code == 302 and response.location.endswith("/sent"), response.text[:3000]
    with app.app_context():
        application = db.session.scalar(db.select(Application))
        assert application.document == document and language_of(document) == issued_in


def test_a_changed_answer_issues_a_new_document_in_the_language_of_the_page_that_asks_for_it(app, client):
    at_check(client, lang="en")
    first = issued(client, lang="en")
    assert language_of(first) == "en" and language_of(issued(client, lang="ru")) == "en"
    base = f"/ru/services/{CHILD_CARE}/apply"
    token = csrf_token(client, f"{base}/account?return=check")
    changed = client.post(f"{base}/account?return=check",
                          data={"csrf_token": token, "action": "continue", "account": "KZ435639722818662011"})
    assert changed.status_code == 302
    again = issued(client, lang="kk")
    assert again != first and language_of(again) == "kk" and issued(client, lang="en") == again
