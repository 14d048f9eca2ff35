"""Languages: the URL picks it, the switcher keeps the page, formats follow it."""

import datetime as dt
import re

import pytest

from webapp.i18n import date_and_time, long_date, money


@pytest.mark.parametrize(
    "header, expected",
    [("ru-RU,ru;q=0.9", "/ru/"), ("en-GB,en;q=0.8", "/en/"), ("kk", "/kk/"), ("de-DE", "/kk/"), (None, "/kk/")],
)
def test_root_redirects_by_accept_language(client, header, expected):
    headers = {"Accept-Language": header} if header else {}
    response = client.get("/", headers=headers)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_unknown_language_is_not_found(client):
    assert client.get("/de/services").status_code == 404


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_html_lang_matches_the_url(client, lang):
    page = client.get(f"/{lang}/services").get_data(as_text=True)
    assert f'<html lang="{lang}">' in page


def test_switcher_keeps_the_page_and_its_query(client):
    page = client.get("/en/services?situation=disability&q=care").get_data(as_text=True)
    assert 'href="/kk/services?situation=disability&amp;q=care"' in page
    assert 'href="/ru/services?situation=disability&amp;q=care"' in page
    passport = client.get("/ru/services/child-care-under-one").get_data(as_text=True)
    assert 'href="/en/services/child-care-under-one"' in passport


def test_pages_are_in_their_language(client):
    assert "Ақысыз" in client.get("/kk/services/child-care-under-one").get_data(as_text=True)
    assert "Бесплатно" in client.get("/ru/services/child-care-under-one").get_data(as_text=True)
    assert "Free of charge" in client.get("/en/services/child-care-under-one").get_data(as_text=True)


@pytest.mark.parametrize(
    "lang, amount, date, moment",
    [
        ("kk", "42\xa0500,50\xa0₸", "2026\u202fж. 23 қараша", "2026\u202fж. 24 қараша, 01:45"),
        ("ru", "42\xa0500,50\xa0₸", "23 ноября 2026", "24 ноября 2026, 01:45"),
        ("en", "₸42,500.50", "November 23, 2026", "November 24, 2026, 1:45\u202fAM"),
    ],
)
def test_money_and_dates_per_locale(app, lang, amount, date, moment):
    with app.test_request_context(f"/{lang}/services"):
        app.preprocess_request()
        assert money(42500.5) == amount
        assert long_date(dt.date(2026, 11, 23)) == date
        # A moment is written in Kazakhstan's time (UTC+5): 20:45 UTC is the next day there.
        assert date_and_time(dt.datetime(2026, 11, 23, 20, 45, tzinfo=dt.timezone.utc)) == moment


def test_gettext_of_an_empty_text_is_the_catalogue_header_and_the_page_check_refuses_it(app, client):
    """What the check looks for is what gettext("") really gives, in every language."""
    from flask_babel import force_locale, gettext

    from tests.conftest import catalogue_header, check_page

    with app.test_request_context("/en/"):
        for lang in ("kk", "ru", "en"):
            with force_locale(lang):
                assert "Project-Id-Version" in catalogue_header(gettext(""))
        header = gettext("")
    response = client.get("/en/services")
    response.set_data(response.get_data(as_text=True).replace("</main>", f"<p>{header}</p></main>"))
    with pytest.raises(AssertionError, match="catalogue's header"):
        check_page(response)


def test_the_t_filter_refuses_an_empty_text_under_test_and_shows_nothing_in_service(app, caplog):
    from flask import render_template_string

    with app.test_request_context("/en/"):
        assert render_template_string("{{ 'Qyzmet'|t }}") == "Qyzmet"
        for empty in ("", "  ", None):
            with pytest.raises(ValueError, match="catalogue's header"):
                render_template_string("{{ text|t }}", text=empty)
        app.testing = False
        try:
            assert render_template_string("[{{ ''|t }}]") == "[]"
        finally:
            app.testing = True
    assert "An empty text went through the t filter" in caplog.text


def test_a_russian_sentence_ending_in_a_date_has_one_full_stop(app, client):
    """Issue 13: the Russian confirmation said "… до 3 декабря 2026 г.." (CLDR's "г." plus the full stop)."""
    from tests.helpers import ask_for_password, enter, last_code
    from tests.helpers import at_check

    at_check(client, lang="ru")
    sent = ask_for_password(client, "/ru/services/child-care-under-one/apply")
    confirmation = client.get(enter(client, sent.location, last_code(client)).location)
    assert confirmation.status_code == 200
    assert re.search(r"до \d{1,2} [а-я]+ \d{4}\.(?!\.)", confirmation.text), "the due date ends the sentence"
    assert "г.." not in confirmation.text
