"""An eleventh service needs one definition and its translations, no code."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import PageCheckingClient
from tests.journeys import walk
from webapp import create_app
from webapp.config import TestConfig
from webapp.services import DEFINITIONS, catalogue

EXTRA = Path(__file__).parent / "data" / "eleventh-service"
NS = "{urn:qyzmet:application:1}"

JOURNEY = {
    "citizen": "900517401370",
    "answers": {
        "heating": {"heating": "coal"},
        "household": {"people": " 4 ", "income": "185 000,50", "moved_in": "2019-09-01", "landlord_iin": "", "note": ""},
        "rooms": {"rooms": [{"name": "Kitchen", "area": "12"}, {"name": "Bedroom", "area": "18"}]},
        "stove": {"stove_checked": "yes"},
        "stove-certificate": {"stove_certificate": ["certificate.pdf", "scan.png"]},
        "phone": {"phone": "8 (701) 123-45-67"},
    },
}


@pytest.fixture
def eleven_app(app, tmp_path):
    """The portal with one more folder of definitions, on the same database."""
    application = create_app(TestConfig, {
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SERVICE_DEFINITIONS": (str(DEFINITIONS), str(EXTRA)),
        "ATTACHMENTS_DIR": str(tmp_path / "attachments"),
    })
    application.test_client_class = PageCheckingClient
    return application


def test_the_new_service_is_in_the_catalogue(eleven_app):
    with eleven_app.app_context():
        assert [p.slug for p in catalogue()][-1] == "winter-fuel-allowance"
    page = eleven_app.test_client().get("/en/services/winter-fuel-allowance")
    assert page.status_code == 200
    assert "Request Online" in page.text


def test_the_new_service_can_be_completed(eleven_app, tmp_path):
    client = eleven_app.test_client()
    with eleven_app.app_context():
        service = next(p for p in catalogue() if p.slug == "winter-fuel-allowance")
    page = walk(client, service, JOURNEY)
    assert page.request.path.endswith("/check")
    assert "Kitchen" in page.text and "scan.png" in page.text
    root = etree.fromstring(client.get("/en/services/winter-fuel-allowance/apply/application.xml").data)
    answers = {a.get("name"): a for a in root.iter(f"{NS}answer") if a.getparent().tag == f"{NS}answers"}
    assert answers["heating"].text == "coal"
    assert answers["people"].text == "4"
    assert answers["income"].text == "185000.50"
    assert answers["moved_in"].text == "2019-09-01"
    assert answers["contactPhone"].text == "+77011234567"
    assert "landlord_iin" not in answers
    items = answers["rooms"].findall(f"{NS}item")
    assert [[(a.get("name"), a.text) for a in item] for item in items] == [
        [("name", "Kitchen"), ("area", "12")], [("name", "Bedroom"), ("area", "18")]]
    files = root.findall(f"{NS}attachments/{NS}attachment")
    assert sorted(f.get("contentType") for f in files) == ["application/pdf", "image/png"]
    refs = [f.get("ref") for f in answers["stove_certificate"].findall(f"{NS}file")]
    assert sorted(refs) == sorted(f.get("id") for f in files)
    # Stored under random names outside static/, with the original name only as metadata.
    stored = list((tmp_path / "attachments").iterdir())
    assert len(stored) == 2 and not any(p.name.endswith((".pdf", ".png")) for p in stored)


def test_the_eligibility_rule_of_the_new_service(eleven_app):
    client = eleven_app.test_client()
    with eleven_app.app_context():
        service = next(p for p in catalogue() if p.slug == "winter-fuel-allowance")
    page = walk(client, service, {"citizen": "900517401370", "answers": {"heating": {"heating": "gas"}}})
    assert page.request.path.endswith("/not-eligible")
    assert "only for homes heated with coal or wood" in page.text


@pytest.mark.parametrize("citizen", [
    "811108409267",  # no children
    "880505459231",  # children of 10 and 15: the definition's selection leaves them out
])
def test_a_rule_on_a_selection_of_registry_records_needs_no_code(eleven_app, citizen):
    client = eleven_app.test_client()
    with eleven_app.app_context():
        service = next(p for p in catalogue() if p.slug == "winter-fuel-allowance")
    page = walk(client, service, {"citizen": citizen, "answers": {"heating": {"heating": "coal"}}})
    assert page.request.path.endswith("/not-eligible")
    assert "households with a child under seven" in page.text
    assert "only for homes heated with coal" not in page.text
