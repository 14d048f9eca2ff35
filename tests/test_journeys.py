"""Every service's wizard, walked through the Flask client from its journey file."""

from __future__ import annotations

import pytest
from lxml import etree

from tests.journeys import JOURNEYS, load, walk
from webapp.services import catalogue

SLUGS = sorted(p.stem for p in JOURNEYS.glob("*.yaml"))


def _service(slug):
    return next(p for p in catalogue() if p.slug == slug)


def test_every_online_service_has_a_journey(app):
    with app.app_context():
        online = sorted(p.slug for p in catalogue() if p.wizard)
    assert online == SLUGS


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
@pytest.mark.parametrize("slug", SLUGS)
def test_happy_path_reaches_check_your_answers(app, client, slug, lang):
    journey = load(slug)
    with app.app_context():
        service = _service(slug)
    page = walk(client, service, journey, lang=lang)
    assert page.request.path.endswith("/check"), page.request.path
    assert page.status_code == 200
    xml = client.get(f"/{lang}/services/{slug}/apply/application.xml")
    assert xml.status_code == 200
    assert xml.mimetype == "application/xml"
    root = etree.fromstring(xml.data)
    assert root.tag == "{urn:qyzmet:application:1}application"
    assert root.get("service") == slug
    assert root.findtext("{urn:qyzmet:application:1}applicant/{urn:qyzmet:application:1}iin") == journey["citizen"]
    for expected in journey.get("xml_contains", ()):
        assert expected in xml.text
    # The document the citizen will sign does not change while the answers don't.
    assert client.get(f"/{lang}/services/{slug}/apply/application.xml").data == xml.data


def _not_eligible_cases():
    for slug in SLUGS:
        for n, case in enumerate(load(slug).get("not_eligible", ())):
            yield pytest.param(slug, case, id=f"{slug}-{n}")


@pytest.mark.parametrize("slug,case", list(_not_eligible_cases()))
def test_not_eligible_branches_explain_and_offer_the_offline_route(app, client, slug, case):
    with app.app_context():
        service = _service(slug)
    page = walk(client, service, case)
    assert page.request.path.endswith("/not-eligible"), page.request.path
    assert case["reason"] in page.text
    assert "Government for Citizens" in page.text


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_confirmation_page_is_words_for_people(app, client, slug, lang):
    """Signed and sent, each service's confirmation page shows no catalogue header: no
    empty passport text (two of the ten say nothing of the online result) went through gettext."""
    from signing.xmldsig import sign_enveloped
    from tests.conftest import catalogue_header
    from tests.test_eds import issued, key, send

    journey = load(slug)
    with app.app_context():
        service = _service(slug)
    walk(client, service, journey, lang=lang)
    sent = send(client, sign_enveloped(issued(client, slug, lang), key(app, journey["citizen"])), slug, lang)
    assert sent.status_code == 302 and sent.location.endswith("/sent"), sent.text[:2000]
    page = client.get(sent.location)  # PageCheckingClient refuses a catalogue header too
    assert page.status_code == 200 and catalogue_header(page.text) == []
