"""One clock: every "now" in webapp/ comes from webapp/clock.py, which honours
the pinned day, so the dates a citizen and an operator read agree (signed on
the pinned day, due no earlier, every step of the timeline in order)."""

from __future__ import annotations

import ast
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from lxml import html

from signing.xmldsig import sign_enveloped
from tests.journeys import JOURNEYS, load, walk
from tests.helpers import issued, key, send
from webapp import clock
from webapp.config import REPO_ROOT
from webapp.extensions import db
from webapp.models import Application
from webapp.services import find

WEBAPP = REPO_ROOT / "webapp"
SLUGS = sorted(p.stem for p in JOURNEYS.glob("*.yaml"))

# Readings of a clock that are not "now in the portal's world", each with its reason.
WALL_CLOCK_ALLOWED = {
    ("webapp/observability.py", "time.perf_counter"): "how long a request took, for the access log and metrics",
    ("webapp/health.py", "time.perf_counter"): "how long a readiness check took",
    ("webapp/page_cache.py", "time.perf_counter"): "how long a response from the cache took, for the access log and metrics",
    ("webapp/history/poll.py", "time.perf_counter"): "how long an unchanged poll answered before Flask took, for the access log and metrics",
    ("webapp/models.py", "func.now"): "the migrations' server default, for rows written by SQL alone",
}
_DATETIME_NOW = {"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"}
_TIME_CALLS = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
               "localtime", "gmtime", "ctime", "asctime", "strftime"}


def clock_readings(source: str) -> list[str]:
    """Every direct reading of a clock in Python source: datetime/date now, time.*, SQL func.now()."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            found += [f"time.{a.name}" for a in node.names if a.name in _TIME_CALLS]
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner, name = node.func.value, node.func.attr
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        if name in _DATETIME_NOW and owner_name in ("datetime", "date"):
            found.append(f"{owner_name}.{name}")
        elif owner_name == "time" and name in _TIME_CALLS:
            found.append(f"time.{name}")
        elif owner_name == "func" and name == "now":
            found.append("func.now")
    return found


def test_the_scan_finds_every_kind_of_clock_reading():
    source = (
        "import datetime as dt, time\nfrom datetime import date, datetime\nfrom time import monotonic\n"
        "a = dt.datetime.now(dt.timezone.utc)\nb = datetime.utcnow()\nc = date.today()\nd = dt.date.today()\n"
        "e = time.time()\nf = func.now()\ng = clock.now()\nh = moment.date()\n"
    )
    assert sorted(clock_readings(source)) == sorted(
        ["time.monotonic", "datetime.now", "datetime.utcnow", "date.today", "date.today", "time.time", "func.now"])


def test_nothing_in_webapp_reads_a_clock_but_webapp_clock():
    """A new datetime.now() or date.today() outside clock.py brings back two clocks that disagree."""
    found, used = [], set()
    for path in sorted(WEBAPP.rglob("*.py")):
        where = str(path.relative_to(REPO_ROOT))
        if where == "webapp/clock.py":
            continue
        for reading in clock_readings(path.read_text(encoding="utf-8")):
            if (where, reading) in WALL_CLOCK_ALLOWED:
                used.add((where, reading))
            else:
                found.append(f"{where}: {reading}")
    assert not found, "read the portal's clock (webapp.clock.now/today, or wall_now with a reason): " + "; ".join(found)
    assert used == set(WALL_CLOCK_ALLOWED), f"allowed but no longer there: {set(WALL_CLOCK_ALLOWED) - used}"


# ── the clock itself ────────────────────────────────────────────────────


@pytest.mark.parametrize(("real", "expected"), [
    # 14:49 in Almaty (UTC+5) on 2 December: the pinned day at 14:49 there.
    (dt.datetime(2026, 12, 2, 9, 49, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, 9, 49, tzinfo=dt.timezone.utc)),
    # 00:30 on 3 December in Almaty is still 2 December in UTC: the pinned day's 00:30, not the day before's.
    (dt.datetime(2026, 12, 2, 19, 30, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 22, 19, 30, tzinfo=dt.timezone.utc)),
])
def test_a_pinned_day_at_the_current_time_of_day(app, monkeypatch, real, expected):
    monkeypatch.setattr(clock, "wall_now", lambda: real)
    with app.app_context():
        assert app.config["FIXED_TODAY"] == "2026-11-23"
        assert clock.now() == expected
        assert clock.today() == clock.day_of(clock.now()) == dt.date(2026, 11, 23)
        app.config["FIXED_TODAY"] = None
        try:
            assert clock.now() == real and clock.today() == clock.day_of(real)
        finally:
            app.config["FIXED_TODAY"] = "2026-11-23"


def test_outside_the_portal_there_is_no_pinned_day(monkeypatch):
    real = dt.datetime(2026, 12, 2, 9, 49, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(clock, "wall_now", lambda: real)
    assert clock.now() == real


def test_on_day_keeps_the_time_of_day_in_kazakhstan(app):
    with app.app_context():
        late = dt.datetime(2026, 11, 23, 20, 15, tzinfo=dt.timezone.utc)  # 01:15 on 24 November in Almaty
        assert clock.day_of(late) == dt.date(2026, 11, 24)
        moved = clock.on_day(dt.date(2026, 11, 27), late)
        assert clock.day_of(moved) == dt.date(2026, 11, 27) and moved == late + dt.timedelta(days=3)


# ── what the pages say, with the day pinned ─────────────────────────────


KAZAKHSTAN = ZoneInfo("Asia/Almaty")


def kz_day(moment: dt.datetime) -> dt.date:
    """The day a stored moment falls on in Kazakhstan (SQLite hands back naive UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)).astimezone(KAZAKHSTAN).date()


@pytest.fixture
def pinned(app):
    """A pinned day that is not the machine's (the fault: stamps on one, deadlines on the other)."""
    real = dt.datetime.now(KAZAKHSTAN).date()
    day = dt.date(2026, 11, 23) if real != dt.date(2026, 11, 23) else dt.date(2026, 11, 24)
    app.config["FIXED_TODAY"] = day.isoformat()
    yield day
    app.config["FIXED_TODAY"] = "2026-11-23"


_LONG = re.compile(r"(January|February|March|April|May|June|July|August|September|October|November|December) (\d{1,2}), (\d{4})")


def dates_in(text: str) -> list[dt.date]:
    """The dates an English page writes (November 23, 2026, or November 23, 2026, 2:49 PM for a moment), in order."""
    return [dt.datetime.strptime(m.group(0), "%B %d, %Y").date() for m in _LONG.finditer(text)]


def summary(page) -> dict[str, list[dt.date]]:
    """A page's summary lists: each key with the dates its value shows."""
    root = html.fromstring(page.text)
    return {" ".join(row.findtext("dt").split()): dates_in(row.find("dd").text_content())
            for row in root.iter("div") if "q-summary-list__row" in (row.get("class") or "")
            and row.find("dt") is not None}


def main_text(page) -> str:
    return " ".join(html.fromstring(page.text).find(".//main").text_content().split())


def sign_and_send(app, client, slug):
    journey = load(slug)
    walk(client, find(slug), journey, lang="en")
    sent = send(client, sign_enveloped(issued(client, slug), key(app, journey["citizen"])), slug)
    assert sent.status_code == 302 and sent.location.endswith("/sent"), sent.text[:2000]
    with app.app_context():
        record = db.session.scalar(db.select(Application).order_by(Application.id.desc()))
        db.session.expunge(record)
    return record, sent.location


@pytest.mark.parametrize("slug", SLUGS)
def test_every_date_shown_follows_the_pinned_day(app, client, pinned, slug):
    with app.app_context():
        service = find(slug)
    record, confirmation = sign_and_send(app, client, slug)
    assert kz_day(record.signed_at) == kz_day(record.submitted_at) == pinned
    assert record.signed_at <= record.submitted_at and record.due_on >= pinned

    # The confirmation: signed on the pinned day, decided by the due date.
    said = dates_in(main_text(client.get(confirmation)))
    assert said == ([pinned] if service.term.portal_minutes else [pinned, record.due_on])

    # The application page: sent, due, and the timeline's one step.
    page = client.get(f"/en/account/applications/{record.number}")
    rows = summary(page)
    assert rows["Sent"] == [pinned] and rows["Decision due"] == [record.due_on]
    timeline = html.fromstring(page.text).xpath("//time[contains(@class, 'q-timeline__date')]")
    assert [dates_in(t.text_content()) for t in timeline] == [[pinned]]

    # History of Services: the row (or card) of this application.
    assert sorted(set(dates_in(main_text(client.get("/en/account/history"))))) == sorted({pinned, record.due_on})

    # The operator console: its list and its page of the application.
    listed = dates_in(main_text(client.get("/en/sandbox/operator")))
    assert sorted(set(listed)) == sorted({pinned, record.due_on})
    rows = summary(client.get(f"/en/sandbox/operator/applications/{record.number}"))
    assert rows["Sent"] == [pinned] and rows["Due date"] == [record.due_on]


def test_the_providers_steps_and_windows_follow_the_pinned_day(app, client, pinned):
    """Registered, then a provisional refusal from the console: stamped on the pinned day, with
    the citizen's objection window and the hearing counted in working days from it."""
    from tests.helpers import operator_acts
    from webapp.provider import lifecycle
    from webapp.working_days import WorkingCalendar

    record, _ = sign_and_send(app, client, "child-care-under-one")
    console = app.test_client()
    assert operator_acts(console, record.number, "registered").status_code == 302
    assert operator_acts(console, record.number, "provisional_refusal", reason="The birth was registered abroad.").status_code == 302
    calendar = WorkingCalendar()
    objection_due = calendar.add(pinned, lifecycle.OBJECTION_WORKING_DAYS)

    page = client.get(f"/en/account/applications/{record.number}")
    rows = summary(page)
    assert rows["Sent"] == [pinned] and rows["Registered by the service provider"] == [pinned]
    assert rows["Decision due"] == [calendar.add(pinned, 8)]  # registered on the pinned day: 8 working days on
    assert objection_due in next(v for k, v in rows.items() if "object" in k.lower())
    timeline = html.fromstring(page.text).xpath("//time[contains(@class, 'q-timeline__date')]")
    assert [d for t in timeline for d in dates_in(t.text_content())] == [pinned] * 3
    notices = html.fromstring(page.text).xpath("//p[@class='q-hint']/time")
    assert notices and all(dates_in(n.text_content()) == [pinned] for n in notices)

    rows = summary(console.get(f"/en/sandbox/operator/applications/{record.number}"))
    assert rows["Registered by the provider"] == [pinned] and rows["The citizen’s deadline"] == [objection_due]
    # The hearing: no refusal before three working days after the notice, counted from the pinned day.
    refused = operator_acts(console, record.number, "refused", reason="The birth was registered abroad.")
    assert refused.status_code == 409
    assert calendar.add(pinned, lifecycle.HEARING_WORKING_DAYS) in dates_in(refused.text)
