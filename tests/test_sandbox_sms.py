"""The sandbox SMS outbox page: testers read the one-time codes there."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import MOTHER_WITH_BABY
from webapp import create_app
from webapp.sms import outbox

START = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)
OTHER_IIN = "811108409267"


@pytest.fixture
def messages(app):
    """Three messages for two citizens, queued a minute apart."""
    with app.app_context():
        outbox.queue("+77011234567", "Code 111111 to sign your application", purpose="sign-application",
                     iin=MOTHER_WITH_BABY, now=START)
        outbox.queue("+77059876543", "Code 222222 to sign your application", purpose="sign-application",
                     iin=OTHER_IIN, now=START + dt.timedelta(minutes=1))
        outbox.queue("+77011234567", "Code 333333 to confirm this phone number", purpose="change-phone",
                     iin=MOTHER_WITH_BABY, now=START + dt.timedelta(minutes=2))


def test_the_short_address_redirects_to_the_testers_language(client):
    response = client.get("/sandbox/sms?phone=%2B77011234567", headers={"Accept-Language": "ru"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/ru/sandbox/sms?phone=%2B77011234567"


def test_the_page_lists_messages_newest_first(client, messages):
    page = client.get("/en/sandbox/sms").get_data(as_text=True)
    assert page.index("333333") < page.index("222222") < page.index("111111")
    assert "+77059876543" in page and MOTHER_WITH_BABY in page
    assert page.count(">Sent<") == 3
    assert "3 messages" in page


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ("phone=%2B77011234567", ["111111", "333333"], ["222222"]),
        ("phone=8+705+987-65-43", ["222222"], ["111111", "333333"]),  # as typed, with a leading 8
        (f"iin={OTHER_IIN}", ["222222"], ["111111", "333333"]),
        (f"iin={MOTHER_WITH_BABY}&phone=%2B77059876543", [], ["111111", "222222", "333333"]),
    ],
)
def test_the_page_filters_by_phone_or_iin(client, messages, query, shown, hidden):
    page = client.get(f"/en/sandbox/sms?{query}").get_data(as_text=True)
    assert all(code in page for code in shown)
    assert not any(code in page for code in hidden)


def test_the_json_list_for_test_scripts(client, messages):
    data = client.get(f"/sandbox/sms.json?iin={MOTHER_WITH_BABY}").get_json()
    assert [m["code"] for m in data] == ["333333", "111111"]
    first = data[0]
    assert first["phone"] == "+77011234567" and first["iin"] == MOTHER_WITH_BABY
    assert first["status"] == "sent" and first["purpose"] == "change-phone"
    assert first["created_at"] == "2026-11-23T09:02:00+00:00"
    assert [m["code"] for m in client.get("/sandbox/sms.json?phone=%2B77059876543").get_json()] == ["222222"]
    assert len(client.get("/sandbox/sms.json").get_json()) == 3


def test_htmx_polls_a_fragment_and_there_is_a_plain_reload_link(client, messages):
    page = client.get("/en/sandbox/sms?iin=" + OTHER_IIN).get_data(as_text=True)
    poller = re.search(r'<div id="sms-messages"[^>]*>', page).group(0)
    assert 'hx-trigger="every 3s"' in poller
    assert f'hx-get="/en/sandbox/sms?iin={OTHER_IIN}"' in poller
    assert f'href="/en/sandbox/sms?iin={OTHER_IIN}"' in page  # the reload link, no JavaScript needed

    response = client.get(
        "/en/sandbox/sms?iin=" + OTHER_IIN, headers={"HX-Request": "true", "HX-Target": "sms-messages"}
    )
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert not fragment.lstrip().lower().startswith("<!doctype")
    assert fragment.lstrip().startswith('<div id="sms-messages"') and "<h1" not in fragment
    assert "222222" in fragment and "111111" not in fragment


def test_the_page_without_messages(client):
    page = client.get("/kk/sandbox/sms").get_data(as_text=True)
    assert "<table" not in page and 'id="sms-messages"' in page


def test_failed_messages_show_why(app, client, monkeypatch):
    monkeypatch.setitem(app.extensions, "sms_gateway", None)
    with app.app_context():
        outbox.queue("+77011234567", "Code 444444", purpose="sign-application", iin=MOTHER_WITH_BABY)
    page = client.get("/en/sandbox/sms").get_data(as_text=True)
    assert ">Failed<" in page and "no SMS gateway is configured" in page


def test_there_is_no_sms_outbox_in_production(tmp_path, monkeypatch):
    from tests.production import production_environment

    for key, value in production_environment(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("QYZMET_ENV", "production")
    # No background jobs in this test process.
    monkeypatch.setenv("HUEY_EMBEDDED_CONSUMER", "0")
    app = create_app()
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert not [rule for rule in rules if "sandbox" in rule]
    assert app.test_client().get("/sandbox/sms.json").status_code == 404
    assert app.test_client().get("/en/sandbox/sms").status_code == 404
    assert app.extensions["jobs"]["consumer"] is None
