"""History of Services: the list, its filters and keyset pages, live updates
by ETag/304, the unread count in the header, and only the citizen's own."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.conftest import CITIZEN_WITHOUT_PHONE, log_in
from tests.helpers import CHILD_CARE, FRAGMENT, MATERNITY, MONDAY, bulk, etag_in, link, numbers_on, provider_says
from webapp.extensions import db
from webapp.models import Notification

# The list.


def test_the_list_shows_each_application_with_its_status_due_date_and_unread(app, client, sent_application):
    page = client.get("/en/account/history")
    assert page.status_code == 200
    assert numbers_on(page) == [sent_application]
    assert f'href="/en/account/applications/{sent_application}"' in page.text
    assert "Child care allowance" in page.text or "child" in page.text.lower()
    assert "Sent to the service provider" in page.text
    provider_says(app, sent_application, "registered", at=MONDAY)
    provider_says(app, sent_application, "documents_requested", at=MONDAY + dt.timedelta(hours=2), documents=("Birth certificate",))
    page = client.get("/en/account/history")
    assert "Documents requested" in page.text
    assert "December 3, 2026" in page.text  # 8 working days from registration
    assert "Your answer is due by November 30, 2026" in page.text  # 5 working days to provide them
    assert "2 unread notifications" in page.text  # in the row, and in the header
    assert re.search(r'class="q-header__badge"><span aria-hidden="true">2</span>', page.text)


def test_every_status_has_a_label(app, client):
    from webapp.history.texts import STATUS_LABELS

    statuses = ("sent", "registered", "in_processing", "documents_requested", "documents_provided",
                "provisional_refusal", "objection", "assigned", "refused", "withdrawn")
    assert set(STATUS_LABELS) == set(statuses)
    log_in(client)
    for i, status in enumerate(statuses):
        bulk(app, 1, start=i, status=status)
    page = client.get("/en/account/history")
    for status in statuses:
        assert f">{STATUS_LABELS[status]}<" in page.text.replace("&#39;", "'")


def test_overdue_applications_are_flagged(app, client):
    log_in(client)
    late = bulk(app, 1, start=0, due_on=dt.date(2026, 11, 20))  # before the pinned today, 23 November 2026
    on_time = bulk(app, 1, start=1, due_on=dt.date(2026, 11, 23))
    decided = bulk(app, 1, start=2, due_on=dt.date(2026, 11, 2), status="assigned")
    page = client.get("/en/account/history")
    rows = {n: row for n, row in re.findall(r'>([\d-]+)</a></th>(.*?)</tr>', page.text, re.S)}
    assert "Overdue" in rows[late[0]]
    assert "Overdue" not in rows[on_time[0]] and "Overdue" not in rows[decided[0]]


def test_filter_by_status_and_service_and_search_by_number(app, client):
    log_in(client)
    bulk(app, 3, start=0, status="assigned")
    bulk(app, 2, start=3, status="refused", service_slug=MATERNITY)
    bulk(app, 2, start=5, status="refused")
    assert numbers_on(client.get("/en/account/history?status=assigned")) == [f"9000-{i:07d}" for i in range(3)]
    assert numbers_on(client.get(f"/en/account/history?service={MATERNITY}")) == ["9000-0000003", "9000-0000004"]
    both = client.get(f"/en/account/history?status=refused&service={CHILD_CARE}")
    assert numbers_on(both) == ["9000-0000005", "9000-0000006"]
    assert "2 applications match" in both.text
    assert numbers_on(client.get("/en/account/history?number=0000004")) == ["9000-0000004"]
    assert numbers_on(client.get("/en/account/history?number=+9000-0000006+")) == ["9000-0000006"]
    nothing = client.get("/en/account/history?number=12345")
    assert numbers_on(nothing) == [] and "No applications match" in nothing.text
    # Unknown values are ignored, not errors.
    assert len(numbers_on(client.get("/en/account/history?status=nonsense&service=../x&number=%25"))) == 7


def test_the_filter_form_works_without_javascript_and_swaps_only_the_results_with_it(app, client):
    log_in(client)
    bulk(app, 2, status="assigned")
    page = client.get("/en/account/history")
    form = re.search(r"<form method=\"get\" action=\"/en/account/history\"[^>]*>", page.text).group(0)
    assert 'hx-target="#history-results"' in form and 'hx-push-url="true"' in form
    fragment = client.get("/en/account/history?status=assigned", headers=FRAGMENT)
    assert not fragment.text.lstrip().lower().startswith("<!doctype")
    assert fragment.text.lstrip().startswith('<div id="history-results"')
    assert len(numbers_on(fragment)) == 2
    assert 'id="unread-count" data-hx-swap-oob="true"' in fragment.text  # the header's count, out of band


def test_five_thousand_applications_page_by_keyset(app, client):
    log_in(client)
    numbers = bulk(app, 5000)
    first = client.get("/en/account/history")
    assert numbers_on(first) == numbers[:20]
    assert "5,000 applications" in first.text
    assert not link(first, "prev")
    second = client.get(link(first, "next"))
    assert numbers_on(second) == numbers[20:40]
    assert numbers_on(client.get(link(second, "prev"))) == numbers[:20]
    # Deep in the list: the page after row 4,199 is rows 4,200 to 4,219, and the last page ends the list.
    deep = client.get(f"/en/account/history?after={numbers[4199]}")
    assert numbers_on(deep) == numbers[4200:4220]
    assert numbers_on(client.get(link(deep, "prev"))) == numbers[4180:4200]
    last = client.get(f"/en/account/history?after={numbers[4979]}")
    assert numbers_on(last) == numbers[4980:]
    assert not link(last, "next") and link(last, "prev")
    # Filters hold across pages.
    filtered = client.get(f"/en/account/history?status=registered&after={numbers[99]}")
    assert numbers_on(filtered) == numbers[100:120]
    assert "status=registered" in link(filtered, "next")


def test_pages_do_not_lose_or_repeat_applications_sent_at_the_same_moment(app, client):
    log_in(client)
    numbers = bulk(app, 45, same_time=True)
    seen, page = [], client.get("/en/account/history")
    while True:
        seen += numbers_on(page)
        following = link(page, "next")
        if not following:
            break
        page = client.get(following)
    assert sorted(seen) == sorted(numbers) and len(seen) == len(set(seen)) == 45
    assert seen == sorted(numbers, reverse=True)  # the same moment: the later row first


@pytest.mark.parametrize("lang", ["kk", "ru"])
def test_the_list_in_kazakh_and_russian(app, client, sent_application, lang):
    provider_says(app, sent_application, "registered", at=MONDAY)
    page = client.get(f"/{lang}/account/history")
    assert page.status_code == 200 and numbers_on(page) == [sent_application]


# Live updates: the results fragment polls with If-None-Match.


def test_polling_gets_304_until_something_changes(app, client, sent_application):
    page = client.get("/en/account/history")
    etag = etag_in(page)
    assert 'hx-trigger="every 10s"' in page.text
    unchanged = client.get("/en/account/history", headers={**FRAGMENT, "If-None-Match": f'"{etag}"'})
    assert unchanged.status_code == 304 and unchanged.data == b""
    assert unchanged.headers["ETag"] == f'"{etag}"'
    assert unchanged.headers["HX-Reswap"] == "none"
    assert unchanged.headers["Cache-Control"] == "no-store"
    assert {"HX-Request", "HX-Target"} <= {v.strip() for v in unchanged.headers["Vary"].split(",")}
    # The provider registers the application: the next poll gets the new fragment.
    provider_says(app, sent_application, "registered", at=MONDAY)
    changed = client.get("/en/account/history", headers={**FRAGMENT, "If-None-Match": f'"{etag}"'})
    assert changed.status_code == 200
    assert ">Registered<" in changed.text
    new_etag = etag_in(changed)
    assert new_etag != etag and changed.headers["ETag"] == f'"{new_etag}"'
    assert re.search(r'id="unread-count" data-hx-swap-oob="true"><span class="q-header__badge">', changed.text)
    assert client.get("/en/account/history", headers={**FRAGMENT, "If-None-Match": f'"{new_etag}"'}).status_code == 304
    # Reading the notification changes the unread counts, and so the ETag.
    with app.app_context():
        public_id = db.session.scalar(db.select(Notification.public_id))
    client.get(f"/en/account/notifications/{public_id}")
    assert client.get("/en/account/history", headers={**FRAGMENT, "If-None-Match": f'"{new_etag}"'}).status_code == 200


def test_the_etag_depends_on_the_query_and_the_language(app, client, sent_application):
    etag = etag_in(client.get("/en/account/history"))
    assert etag_in(client.get("/en/account/history?status=sent")) != etag
    assert etag_in(client.get("/ru/account/history")) != etag
    other_query = client.get("/en/account/history?status=sent", headers={**FRAGMENT, "If-None-Match": f'"{etag}"'})
    assert other_query.status_code == 200


def test_a_whole_page_is_never_a_304(app, client, sent_application):
    etag = etag_in(client.get("/en/account/history"))
    page = client.get("/en/account/history", headers={"If-None-Match": f'"{etag}"'})
    assert page.status_code == 200 and page.text.lstrip().lower().startswith("<!doctype html>")
    assert page.headers["Cache-Control"] == "no-store"


# The unread count in the header.


def test_the_header_counts_unread_notifications_on_every_page(app, client, sent_application):
    provider_says(app, sent_application, "registered", at=MONDAY)
    provider_says(app, sent_application, "in_processing", at=MONDAY + dt.timedelta(hours=1))
    for path in ("/en/services", "/en/account", f"/en/account/applications/{sent_application}", "/en/verify"):
        page = client.get(path)
        assert re.search(r'id="unread-count"><span class="q-header__badge"><span aria-hidden="true">2</span>', page.text), path
    with app.app_context():
        public_id = db.session.scalar(db.select(Notification.public_id).filter_by(kind="registered"))
    page = client.get(f"/en/account/notifications/{public_id}")
    assert '<span aria-hidden="true">1</span>' in page.text and "1 unread notification<" in page.text


def test_no_count_without_a_logged_in_citizen_or_without_unread(app, client):
    assert 'id="unread-count"' not in client.get("/en/services").text
    log_in(client)
    assert re.search(r'<span id="unread-count"></span>', client.get("/en/services").text)


# Only the citizen's own.


def test_another_citizen_sees_none_of_it(app, client, sent_application):
    provider_says(app, sent_application, "registered", at=MONDAY)
    other = app.test_client()
    log_in(other, CITIZEN_WITHOUT_PHONE)
    page = other.get("/en/account/history")
    assert sent_application not in page.text and "You have not sent any applications yet" in page.text
    search = other.get(f"/en/account/history?number={sent_application}")
    assert numbers_on(search) == [] and "No applications match" in search.text
    # A cursor naming someone else's application is ignored: the first page.
    bulk(app, 3, iin=CITIZEN_WITHOUT_PHONE)
    assert numbers_on(other.get(f"/en/account/history?after={sent_application}")) == [f"9000-{i:07d}" for i in range(3)]
    assert 'id="unread-count"></span>' in other.get("/en/account/history").text


def test_the_list_needs_a_login(client):
    response = client.get("/en/account/history")
    assert response.status_code == 302 and "/en/login" in response.location


def test_a_background_poll_does_not_extend_the_session(app, citizen_client):
    from webapp.models import WebSession

    with app.app_context():
        before = db.session.scalar(db.select(WebSession.expiry))
    response = citizen_client.get("/en/account/history", headers={"HX-Request": "true", "HX-Target": "history-results", "Qyzmet-Poll": "1"})
    assert response.status_code in (200, 304)
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        assert db.session.scalar(db.select(WebSession.expiry)) == before
