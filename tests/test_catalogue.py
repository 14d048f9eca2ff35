"""The catalogue and the service passports."""

import re

import pytest

from webapp.services import catalogue

SLUGS = [
    "child-care-under-one",
    "maternity-and-adoption",
    "social-risk-payments",
    "special-state-allowance",
    "semipalatinsk-compensation",
    "local-social-assistance",
    "home-education-disabled-children",
    "bankruptcy-harm-monthly-payments",
    "pension-guarantee-difference",
    "enpf-pension-payments",
]


def test_the_catalogue_holds_the_ten_services_in_order():
    assert [p.slug for p in catalogue()] == SLUGS


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_catalogue_lists_all_ten_services(client, lang):
    page = client.get(f"/{lang}/services").get_data(as_text=True)
    for slug in SLUGS:
        assert f'href="/{lang}/services/{slug}"' in page


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_passport_renders(client, lang, slug):
    response = client.get(f"/{lang}/services/{slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    passport = next(p for p in catalogue() if p.slug == slug)
    if passport.online:
        assert f'href="/{lang}/services/{slug}/apply"' in page
    else:
        assert "/apply" not in page


def test_passport_shows_cost_terms_and_documents_from_state_systems(client):
    page = client.get("/en/services/special-state-allowance").get_data(as_text=True)
    assert "Free of charge" in page
    assert "30 minutes when you apply on the portal" in page
    assert "8 working days" in page
    assert "30 working days" in page
    assert "From state systems" in page


def test_unknown_service_is_not_found(client):
    response = client.get("/en/services/no-such-service")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_filter_by_life_situation(client):
    page = client.get("/en/services?situation=pension-and-old-age").get_data(as_text=True)
    assert "/en/services/enpf-pension-payments" in page
    assert "/en/services/child-care-under-one" not in page


def test_search_in_the_page_language(client):
    english = client.get("/en/services?q=Semipalatinsk").get_data(as_text=True)
    assert "/en/services/semipalatinsk-compensation" in english
    assert "/en/services/child-care-under-one" not in english
    russian = client.get("/ru/services?q=Семипалатинск").get_data(as_text=True)
    assert "/ru/services/semipalatinsk-compensation" in russian


def test_search_with_no_match_says_so(client):
    page = client.get("/en/services?q=zzzz").get_data(as_text=True)
    assert "No services match your search" in page


def test_unknown_situation_is_ignored(client):
    page = client.get("/en/services?situation=%3Cscript%3E").get_data(as_text=True)
    assert "<script>" not in page.split("<body", 1)[1].replace('<script src', '')
    assert "/en/services/enpf-pension-payments" in page


def test_htmx_filter_gets_only_the_results(client):
    response = client.get(
        "/en/services?situation=disability",
        headers={"HX-Request": "true", "HX-Target": "service-results"},
    )
    page = response.get_data(as_text=True)
    assert page.lstrip().startswith('<div id="service-results"')
    assert "<html" not in page
    assert "HX-Request" in response.headers["Vary"]


def test_request_online_needs_login_first(client):
    response = client.get("/en/services/child-care-under-one/apply")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/en/login?next=/en/services/child-care-under-one/apply")


def test_request_online_after_login(citizen_client):
    page = citizen_client.get("/en/services/child-care-under-one/apply").get_data(as_text=True)
    assert "Before you start" in page
    assert "900517401370" in page


@pytest.mark.parametrize("change,where", [
    (lambda d: d.update(result=""), "result"),
    (lambda d: d.update(result_online="   "), "result_online"),
    (lambda d: d["term"]["notes"].append(""), "term.notes[4]"),
    (lambda d: d["application"]["steps"][2]["fields"][0].update(hint=None), "application.steps[2].fields[0].hint"),
    (lambda d: d["application"]["eligibility"][0].update(reason=""), "application.eligibility[0].reason"),
])
def test_the_loader_refuses_an_empty_text_to_translate(tmp_path, change, where):
    """gettext("") is the catalogue's header: an empty text would show it to citizens."""
    import yaml

    from webapp.services import DEFINITIONS, _load

    data = yaml.safe_load((DEFINITIONS / "bankruptcy-harm-monthly-payments.yaml").read_text(encoding="utf-8"))
    change(data)
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"empty texts to translate at {re.escape(where)}$"):
        _load((str(tmp_path),))


def test_an_optional_text_left_out_is_not_an_empty_one(tmp_path):
    """A passport without `result_online` (two of the ten have none) loads; the pages leave it out."""
    import yaml

    from webapp.services import DEFINITIONS, _load

    data = yaml.safe_load((DEFINITIONS / "bankruptcy-harm-monthly-payments.yaml").read_text(encoding="utf-8"))
    assert "result_online" not in data
    (tmp_path / "fine.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert _load((str(tmp_path),))[0].result_online == ""
