"""Every service's wizard, walked through the Flask client from its journey file."""

from __future__ import annotations

import re

import pytest
from lxml import etree

from tests.journeys import SLUGS, load, walk
from webapp.services import catalogue, find

def test_every_online_service_has_a_journey(app):
    with app.app_context():
        online = sorted(p.slug for p in catalogue() if p.wizard)
    assert online == SLUGS


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
@pytest.mark.parametrize("slug", SLUGS)
def test_happy_path_reaches_check_your_answers(app, client, slug, lang):
    journey = load(slug)
    with app.app_context():
        service = find(slug)
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
        service = find(slug)
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
    from tests.helpers import issued, key, send

    journey = load(slug)
    with app.app_context():
        service = find(slug)
    walk(client, service, journey, lang=lang)
    sent = send(client, sign_enveloped(issued(client, slug, lang), key(app, journey["citizen"])), slug, lang)
    assert sent.status_code == 302 and sent.location.endswith("/sent"), sent.text[:2000]
    page = client.get(sent.location)  # PageCheckingClient refuses a catalogue header too
    assert page.status_code == 200 and catalogue_header(page.text) == []


def _step_counts(pages) -> list[tuple[int, int | None]]:
    """(N, M) of each page's "Step N of M" ("Step N": M is None)."""
    counts = []
    for page in pages:
        found = re.search(r'class="q-caption-m q-step">Step (\d+)(?: of (\d+))?<', page.text)
        assert found, f"{page.request.path}: no step count"
        counts.append((int(found.group(1)), int(found.group(2)) if found.group(2) else None))
    return counts


def _all_walks():
    for slug in SLUGS:
        yield pytest.param(slug, load(slug), id=f"{slug}-happy")
        for n, case in enumerate(load(slug).get("not_eligible", ())):
            yield pytest.param(slug, case, id=f"{slug}-not-eligible-{n}")


@pytest.mark.parametrize("slug,journey", list(_all_walks()))
def test_the_number_of_steps_never_jumps(app, client, slug, journey):
    """M in "Step N of M" stays the same from one step to the next, or is not given at all (issue 13)."""
    with app.app_context():
        service = find(slug)
    pages = []
    last = walk(client, service, journey, pages=pages)
    counts = _step_counts(pages)
    assert [n for n, _ in counts] == list(range(1, len(counts) + 1)), counts
    totals = [m for _, m in counts]
    for before, after in zip(totals, totals[1:]):
        assert before is None or after is None or before == after, counts
    # Once known, the number stays known; at the end it is the number of steps walked.
    if None in totals and any(m is not None for m in totals):
        assert None not in totals[[m is not None for m in totals].index(True):], counts
    if last.request.path.endswith("/check") and totals[-1] is not None:
        assert totals[-1] == len(counts), counts


@pytest.mark.parametrize("lang", ["en", "kk", "ru"])
def test_a_leave_that_cannot_be_true_is_refused_with_a_translated_reason(app, client, lang):
    """Leave from 1 January 2030 to 1 January 2030 (issue 13): a future start, and an end not after it."""
    from flask_babel import force_locale, gettext

    journey = load("maternity-and-adoption")
    certificate = {"number": "LN-2030-1", "from": "2030-01-01", "to": "2030-01-01"}
    impossible = {**journey, "answers": {**journey["answers"], "certificate-details": {"certificates": [certificate]}}}
    with app.app_context():
        service = find("maternity-and-adoption")
    with pytest.raises(AssertionError, match="step certificate-details refused the answers") as refused:
        walk(client, service, impossible, lang=lang)
    dates = next(f for f in service.wizard.step("certificate-details").fields[0].fields if f.id == "from")
    with app.test_request_context(f"/{lang}/"), force_locale(lang):
        start = gettext(dates.errors["date_future"]) % {"field": gettext("%(item)s %(number)s: %(field)s",
                                                                         item=gettext("Certificate"), number=1,
                                                                         field=gettext("Start of leave"))}
    assert start in str(refused.value).replace("&#34;", '"').replace("&#39;", "'")
    if lang != "en":
        assert "the certificate is issued when the leave begins" not in str(refused.value)


@pytest.mark.parametrize("lang,place", [("kk", "Қайнар ауылы, Абай ауданы"), ("ru", "село Кайнар, Абайский район"),
                                        ("en", "Kainar village, Abai district")])
def test_registry_places_are_written_in_the_application_language(app, client, lang, place):
    with app.app_context():
        service = find("semipalatinsk-compensation")
    walk(client, service, load("semipalatinsk-compensation"), lang=lang)
    xml = client.get(f"/{lang}/services/semipalatinsk-compensation/apply/application.xml").text
    assert f'<fact name="residencePeriod">maximum|{place}|1961-09-25|1978-06-30</fact>' in xml


def test_what_happened_is_a_paragraph_with_a_character_count(app, client):
    """Issue 13: the local-assistance "why" answer was a one-line input; it is a textarea with a
    character count the server writes (so it works without JavaScript) and checks."""
    from tests.journeys import token

    with app.app_context():
        service = find("local-social-assistance")
    journey = load("local-social-assistance")
    unanswered = {**journey, "answers": {k: v for k, v in journey["answers"].items() if k != "circumstances"}}
    with pytest.raises(AssertionError, match="step circumstances refused"):
        walk(client, service, unanswered, lang="ru")
    path = "/ru/services/local-social-assistance/apply/circumstances"
    page = client.get(path).text
    assert re.search(r'<textarea class="q-textarea" id="circumstances" name="circumstances" rows="5"'
                     r' aria-describedby="circumstances-hint circumstances-limit">', page)
    assert "Можно ввести до 500 символов" in page and "Осталось символов: 500" in page
    assert 'aria-live="polite"' in page and "maxlength" not in page
    too_long = "Сгорел дом.\r\n" + "а" * 490
    refused = client.post(path, data={"csrf_token": token(page), "action": "continue", "circumstances": too_long})
    assert refused.status_code == 200
    assert "количество символов не должно превышать 500" in refused.text
    assert "Слишком много символов: 2" in refused.text and "а" * 490 in refused.text
    two_paragraphs = "Сгорел дом.\r\n\r\n\r\nНужны  одежда и   посуда."
    saved = client.post(path, data={"csrf_token": token(refused.text), "action": "continue",
                                    "circumstances": two_paragraphs})
    assert saved.status_code == 302 and saved.location.endswith("/account")
    account = client.get(saved.location).text
    client.post(saved.location, data={"csrf_token": token(account), "action": "continue",
                                      "account": journey["answers"]["account"]["account"]})
    check = client.get("/ru/services/local-social-assistance/apply/check").text
    assert '<p class="q-body">Сгорел дом.</p><p class="q-body">Нужны одежда и посуда.</p>' in check
