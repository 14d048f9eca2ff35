"""How fast is History of Services for a citizen with 5,000 applications, next to bare Flask?

    .venv/bin/python -m bench.history_bench [--seconds N] [--json PATH]

The portal is built once in this process as the tests build it (TestConfig,
a fresh SQLite file in a temporary directory, or the PostgreSQL database
DATABASE_URL names, emptied first as the test suite empties it; the
migrations; the sandbox test citizens; no sandbox CA, which these pages never
use), with two citizens' histories inserted directly: citizen A with 5 applications, citizen B with
5,000. Each citizen logs in through the real form (CSRF token and all) on
its own Flask test client. Then six operations, all through a Flask test
client (the same WSGI path in-process: no sockets, no server), each timed
request by request (time.perf_counter_ns) for a fixed budget after a warm-up:

- bare_flask: a separate, tiny Flask app whose one route answers what the
  unchanged poll answers (304, empty body, the same headers), asked with the
  same request headers;
- bare_flask_page: another tiny Flask app whose one route answers 200 with
  the bytes of the history page for 5;
- history_5: GET /en/account/history as A (a whole page, 5 rows);
- history_5000: the same as B (page 1: 20 rows of 5,000);
- history_5000_later_page: B's next page, through page 1's "Older
  applications" link (the keyset cursor);
- poll_304: the results fragment's poll as B, unchanged: HX-Request,
  HX-Target: history-results and If-None-Match with the current ETag.

and the ratios with their targets: history_5000 / history_5 (≤ 1.5) and
poll_304's throughput relative to bare Flask's (≥ 0.70), with two more for
information. A ratio that misses its target is printed as MISS; the exit
code is 0 all the same (this is a report, not a gate). See bench/README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import importlib.metadata
import io
import json
import logging
import os
import platform
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask, Response
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, insert, select, text

from bench.timing import percentile, time_calls

# The operations, in the order they are timed within each round.
OPERATIONS = ("bare_flask", "bare_flask_page", "history_5", "history_5000", "history_5000_later_page", "poll_304")
# The ones the portal answers (profiled with --profile).
PORTAL_OPERATIONS = ("history_5", "history_5000", "history_5000_later_page", "poll_304")
# (name, numerator, denominator, target, kind, meaning): each value is mean(numerator) / mean(denominator).
# kind "max": the value may be at most target; "min": at least target; None: for information.
RATIOS = (
    ("history_5000 / history_5", "history_5000", "history_5", 1.5, "max",
     "time of page 1 for 5,000 applications over the page for 5"),
    ("poll_304 throughput / bare_flask", "bare_flask", "poll_304", 0.70, "min",
     "requests/s of the unchanged poll as a share of a bare Flask 304's"),
    ("history_5 / bare_flask_page", "history_5", "bare_flask_page", None, None,
     "the page for 5 over bare Flask sending as many bytes"),
    ("history_5000_later_page / history_5000", "history_5000_later_page", "history_5000", None, None,
     "a later keyset page over page 1"),
)
RATIO_BASIS = "mean"  # ratios compare means; p50 ratios are reported beside them

DEFAULT_SECONDS = 3.0
DEFAULT_ROUNDS = 3
MAX_WARMUP_SECONDS = 0.5
MIN_WARMUP_CALLS = 3
PROFILE_SECONDS = 1.0

# Sandbox test citizens (webapp/registries/sandbox data) and their password.
CITIZEN_A = "831219453975"
CITIZEN_B = "900517401370"
PASSWORD = "Sandbox1!"
SMALL, LARGE = 5, 5000
PAGE_ROWS = 20  # webapp.history.listing.PAGE_SIZE
LANG = "en"
HISTORY = f"/{LANG}/account/history"
RESULTS = "history-results"  # webapp.history.routes.RESULTS: the fragment's id and HX-Target
SERVICE = "child-care-under-one"
STATUSES = ("registered", "in_processing", "documents_requested", "assigned", "refused")
# A sent application's stored XML is ~4.9 KB unsigned and ~7.9 KB signed (bench/signing_bench.py):
# the list query loads whole rows, so the bench's rows carry as much.
DOCUMENT_BYTES, SIGNED_BYTES = 4900, 7900
UNREAD_PER_CITIZEN = 2  # unread notifications on each citizen's newest applications

NATIONAL_TEST_CA = Path(__file__).resolve().parents[1] / "tests" / "data" / "nca-test-pki" / "nca_rsa_test.crt"


# --------------------------------------------------------------------------
# The setting: the portal, two citizens' histories, logged-in clients


def _database_url(directory: Path) -> str:
    """PostgreSQL when DATABASE_URL names it (emptied first, as tests/conftest.py does), else a fresh SQLite file."""
    url = os.environ.get("DATABASE_URL")
    if url:
        engine = create_engine(url)
        meta = MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
        engine.dispose()
        return url
    return f"sqlite:///{directory / 'bench.sqlite3'}"


def _xml(size: int, tag: str, i: int) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?><{tag} n="{i}">'.encode()
    tail = f"</{tag}>".encode()
    return head + b"x" * max(0, size - len(head) - len(tail)) + tail


def insert_history(iin: str, count: int, prefix: str) -> list[str]:
    """`count` applications of one citizen, newest first by index (row 0 is the newest), each with
    one read notification; the newest UNREAD_PER_CITIZEN also have an unread one. Their numbers."""
    from webapp.extensions import db
    from webapp.models import Application, Notification

    base = dt.datetime(2026, 11, 20, 12, tzinfo=dt.timezone.utc)
    rows = []
    for i in range(count):
        status = STATUSES[i % len(STATUSES)]
        rows.append({
            "number": f"{prefix}-{i:07d}", "iin": iin, "service_slug": SERVICE, "language": LANG,
            "answers": {f"field{k}": f"value {k}" for k in range(16)},
            "document_nonce": f"bench{iin}{i:08d}", "document": _xml(DOCUMENT_BYTES, "application", i),
            "document_sha256": "0" * 64, "signed_xml": _xml(SIGNED_BYTES, "application", i), "signed_with": "eds",
            "signer_name": "BENCH", "signer_serial": "01", "signer_issuer": "CN=BENCH", "signed_at": base,
            "status": status, "submitted_at": base - dt.timedelta(minutes=i), "due_on": dt.date(2026, 12, 3),
            "citizen_due_on": dt.date(2026, 11, 30) if status == "documents_requested" else None, "version": 1,
        })
    db.session.execute(insert(Application), rows)
    ids = dict(db.session.execute(select(Application.number, Application.id).where(Application.iin == iin)).all())
    numbers = [row["number"] for row in rows]
    notifications = [
        {"public_id": f"n{prefix}{i:08d}r", "iin": iin, "application_id": ids[number], "kind": "registered",
         "data": {}, "created_at": base, "read_at": base}
        for i, number in enumerate(numbers)
    ] + [
        {"public_id": f"n{prefix}{i:08d}u", "iin": iin, "application_id": ids[number], "kind": "in_processing",
         "data": {}, "created_at": base, "read_at": None}
        for i, number in enumerate(numbers[:UNREAD_PER_CITIZEN])
    ]
    db.session.execute(insert(Notification), notifications)
    db.session.commit()
    return numbers


def seed_histories(app: Flask) -> tuple[list[str], list[str]]:
    """The two histories (A: SMALL applications, B: LARGE) in app's database, then ANALYZE so the planner
    has the statistics autovacuum would give it. Their numbers, newest first. bench/http_bench.py seeds
    the database it serves under gunicorn with this too."""
    from webapp.extensions import db

    with app.app_context():
        small = insert_history(CITIZEN_A, SMALL, "8001")
        large = insert_history(CITIZEN_B, LARGE, "8002")
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return small, large


def log_in(client: FlaskClient, iin: str) -> None:
    """Through the real login form, as tests.conftest.log_in does."""
    page = client.get(f"/{LANG}/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/{LANG}/login", data={"csrf_token": token, "iin": iin, "password": PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"logging in as {iin} failed: {response.status_code}")


def numbers_on(text: str) -> list[str]:
    """The registration numbers in the list's rows, in order (as tests/test_history.py reads them)."""
    return re.findall(
        r'<th scope="row" class="q-table__cell q-history-table__number"[^>]*><a class="q-link" href="[^"]+">([\d-]+)</a>',
        text,
    )


def older_link(text: str) -> str:
    found = re.search(r'rel="next" href="([^"]+)"', text)
    if not found:
        raise RuntimeError("page 1 of 5,000 applications has no 'Older applications' link")
    return found.group(1).replace("&amp;", "&")


def etag_in(text: str) -> str:
    """The ETag the results fragment sends back as If-None-Match when it polls."""
    found = re.search(r'hx-headers=\'\{"If-None-Match": "\\"([^"\\]+)\\"", "Qyzmet-Poll": "1"\}\'', text)
    if not found:
        raise RuntimeError("the history page carries no polling ETag")
    return found.group(1)


def bare_app(status: int, body: bytes, headers: list[tuple[str, str]], mimetype: str) -> Flask:
    """A tiny Flask app whose one route, at the history's path, answers these bytes."""
    app = Flask(__name__)

    @app.get(HISTORY)
    def history():
        return Response(body, status=status, headers=headers, mimetype=mimetype)

    return app


def _get(client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> Callable[[], object]:
    def operation():
        response = client.get(path, headers=headers)
        response.get_data()  # the whole body, read as a server would send it
        return response

    return operation


@dataclass
class Setting:
    app: Flask
    operations: dict[str, Callable[[], object]]
    setup_seconds: dict[str, float]
    database: dict[str, object]
    sizes: dict[str, int]
    paths: dict[str, str]
    checks: list[str] = field(default_factory=list)


def migrate_and_load_citizens(app: Flask) -> None:
    """The migrations to head and the sandbox test citizens, as the tests build their database."""
    from flask_migrate import upgrade

    from webapp.config import REPO_ROOT
    from webapp.sandbox import load_test_citizens

    logging.disable(logging.INFO)  # the migrations' INFO lines; warnings still show
    try:
        with app.app_context():
            upgrade(directory=str(REPO_ROOT / "migrations"))
            load_test_citizens()
    finally:
        logging.disable(logging.NOTSET)


def prepare(directory: Path) -> Setting:
    """Build the portal, insert the histories, log both citizens in; check every operation once."""
    from webapp import create_app
    from webapp.config import TestConfig
    from webapp.extensions import db

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    # As tests/conftest.py builds it, less the sandbox CA: nothing on these pages signs or verifies, and
    # the portal reads its trust anchors on first use only (webapp/signatures.py), so an empty PKI folder
    # changes no byte of them and saves seconds of RSA key generation.
    pki_dir = directory / "pki"
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": _database_url(directory),
            "ATTACHMENTS_DIR": str(directory / "attachments"),
            "HUEY_SQLITE_PATH": str(directory / "huey.sqlite3"),
            "SANDBOX_PKI_DIR": str(pki_dir),
            "TRUSTED_CA_BUNDLE": os.pathsep.join([str(pki_dir / "ca-bundle.pem"), str(NATIONAL_TEST_CA)]),
        },
    )
    seconds["app"] = time.perf_counter() - started

    started = time.perf_counter()
    migrate_and_load_citizens(app)
    seconds["migrations_and_citizens"] = time.perf_counter() - started

    started = time.perf_counter()
    small, large = seed_histories(app)
    with app.app_context():
        engine = db.engine
        database = {"dialect": engine.dialect.name, "driver": engine.dialect.driver,
                    "server_version": ".".join(map(str, engine.dialect.server_version_info or ())) or None}
        if engine.dialect.name == "sqlite":
            import sqlite3

            database["server_version"] = sqlite3.sqlite_version
            database["url"] = "sqlite (temporary file)"
        else:
            database["url"] = engine.url.render_as_string(hide_password=True)
    seconds["histories"] = time.perf_counter() - started

    started = time.perf_counter()
    client_a, client_b = app.test_client(), app.test_client()
    log_in(client_a, CITIZEN_A)
    log_in(client_b, CITIZEN_B)
    seconds["logins"] = time.perf_counter() - started

    # Each operation must do its whole job, or its timing means nothing.
    checks = []
    page_5 = client_a.get(HISTORY)
    if page_5.status_code != 200 or numbers_on(page_5.text) != small or "5 applications" not in page_5.text:
        raise RuntimeError(f"A's history is wrong: {page_5.status_code}, {numbers_on(page_5.text)}")
    checks.append(f"history_5: 200, A's {SMALL} applications newest first, '5 applications'")
    page_1 = client_b.get(HISTORY)
    if (page_1.status_code != 200 or numbers_on(page_1.text) != large[:PAGE_ROWS]
            or "5,000 applications" not in page_1.text):
        raise RuntimeError(f"B's page 1 is wrong: {page_1.status_code}, {numbers_on(page_1.text)}")
    checks.append(f"history_5000: 200, B's newest {PAGE_ROWS} of '5,000 applications'")
    later = older_link(page_1.text)
    page_2 = client_b.get(later)
    if page_2.status_code != 200 or numbers_on(page_2.text) != large[PAGE_ROWS:2 * PAGE_ROWS]:
        raise RuntimeError(f"B's later page is wrong: {page_2.status_code}, {numbers_on(page_2.text)}")
    checks.append(f"history_5000_later_page: 200 at {later}, rows {PAGE_ROWS + 1}-{2 * PAGE_ROWS}")
    etag = etag_in(page_1.text)
    poll_headers = {"HX-Request": "true", "HX-Target": RESULTS, "If-None-Match": f'"{etag}"', "Qyzmet-Poll": "1"}
    poll = client_b.get(HISTORY, headers=poll_headers)
    if poll.status_code != 304 or poll.data != b"" or poll.headers.get("ETag") != f'"{etag}"':
        raise RuntimeError(f"the unchanged poll is not an empty 304: {poll.status_code}, {poll.headers}")
    stale = client_b.get(HISTORY, headers={**poll_headers, "If-None-Match": '"h-stale"'})
    if stale.status_code != 200 or numbers_on(stale.text) != large[:PAGE_ROWS] or stale.text.lstrip().startswith("<!"):
        raise RuntimeError(f"a poll with a stale ETag did not get the fragment: {stale.status_code}")
    checks.append(f"poll_304: empty 304 with ETag {etag[:14]}…; a stale ETag gets the {len(stale.data)}-byte fragment")

    # The baselines send what the portal sends: the 304's very headers, the page's very bytes.
    not_modified_headers = [(k, v) for k, v in poll.headers.items() if k.lower() not in ("content-type", "content-length")]
    poll_app = bare_app(304, b"", not_modified_headers, "text/html")
    page_app = bare_app(200, page_5.data, [], "text/html")
    bare_client, bare_page_client = poll_app.test_client(), page_app.test_client()
    bare = bare_client.get(HISTORY, headers=poll_headers)
    if bare.status_code != 304 or bare.data != b"" or bare.headers.get("ETag") != f'"{etag}"':
        raise RuntimeError("the bare Flask 304 is not an empty 304")
    checks.append(f"bare_flask: empty 304 with the poll's {len(not_modified_headers)} headers")
    bare_page = bare_page_client.get(HISTORY)
    if bare_page.status_code != 200 or bare_page.data != page_5.data:
        raise RuntimeError("the bare Flask page is not the history page's bytes")
    checks.append(f"bare_flask_page: 200 with the {len(page_5.data)} bytes of the history page for {SMALL}")

    return Setting(
        app=app,
        operations={
            "bare_flask": _get(bare_client, HISTORY, poll_headers),
            "bare_flask_page": _get(bare_page_client, HISTORY),
            "history_5": _get(client_a, HISTORY),
            "history_5000": _get(client_b, HISTORY),
            "history_5000_later_page": _get(client_b, later),
            "poll_304": _get(client_b, HISTORY, poll_headers),
        },
        setup_seconds=seconds,
        database=database,
        sizes={
            "history_5_bytes": len(page_5.data),
            "history_5000_bytes": len(page_1.data),
            "history_5000_later_page_bytes": len(page_2.data),
            "poll_fragment_bytes": len(stale.data),
            "poll_304_bytes": len(poll.data),
            "poll_304_headers": len(poll.headers),
        },
        paths={"history": HISTORY, "later_page": later},
        checks=checks,
    )


# --------------------------------------------------------------------------
# Timing


def summarise(samples: list[int]) -> dict[str, float | int]:
    ordered = sorted(samples)
    micro = 1e-3
    mean = statistics.fmean(samples)
    return {
        "iterations": len(samples),
        "mean_us": mean * micro,
        "p50_us": percentile(ordered, 0.50) * micro,
        "p99_us": percentile(ordered, 0.99) * micro,
        "min_us": ordered[0] * micro,
        "max_us": ordered[-1] * micro,
        "stdev_us": (statistics.stdev(samples) if len(samples) > 1 else 0.0) * micro,
        "requests_per_second": 1e9 / mean,
        "timed_seconds": sum(samples) * 1e-9,
    }


def measure(setting: Setting, seconds: float, rounds: int, warmup: float) -> dict[str, dict]:
    """Warm every operation up, then time them in `rounds` interleaved slices of seconds/rounds each.

    Interleaving spreads any change in the machine's load (other processes,
    frequency scaling) over all the operations instead of one.
    """
    for name in OPERATIONS:
        time_calls(setting.operations[name], warmup, minimum=MIN_WARMUP_CALLS)
    samples: dict[str, list[int]] = {name: [] for name in OPERATIONS}
    for _ in range(rounds):
        for name in OPERATIONS:
            gc.collect()  # garbage left by the previous slice is not this operation's
            samples[name].extend(time_calls(setting.operations[name], seconds / rounds))
    return {name: summarise(samples[name]) for name in OPERATIONS}


def ratios(operations: dict[str, dict[str, float]]) -> dict[str, dict[str, object]]:
    result = {}
    for name, numerator, denominator, target, kind, meaning in RATIOS:
        value = operations[numerator][f"{RATIO_BASIS}_us"] / operations[denominator][f"{RATIO_BASIS}_us"]
        if kind is None:
            verdict = "INFO"
        elif kind == "max":
            verdict = "PASS" if value <= target else "MISS"
        else:
            verdict = "PASS" if value >= target else "MISS"
        result[name] = {
            "numerator": numerator,
            "denominator": denominator,
            "meaning": meaning,
            "basis": RATIO_BASIS,
            "value": value,
            "p50_value": operations[numerator]["p50_us"] / operations[denominator]["p50_us"],
            "target": target,
            "target_kind": kind,
            "result": verdict,
        }
    return result


def profile(setting: Setting, names: Sequence[str], seconds: float, top: int = 25) -> dict[str, str]:
    """cProfile of each named operation run for `seconds`: the top functions by own time and by cumulative time."""
    out = {}
    for name in names:
        profiler = cProfile.Profile()
        function = setting.operations[name]
        calls = 0
        deadline = time.perf_counter() + seconds
        profiler.enable()
        while time.perf_counter() < deadline or calls == 0:
            function()
            calls += 1
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.strip_dirs()
        text.write(f"{name}: {calls} requests profiled\n")
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        out[name] = text.getvalue()
    return out


# --------------------------------------------------------------------------
# The machine


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine(database: dict[str, object]) -> dict[str, object]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "flask": _version("flask"),
        "werkzeug": _version("werkzeug"),
        "jinja2": _version("jinja2"),
        "sqlalchemy": _version("sqlalchemy"),
        "flask_session": _version("flask-session"),
        "database": database,
        "load_average": load,
    }


# --------------------------------------------------------------------------
# The report


def run(seconds: float, rounds: int, warmup: float, profile_seconds: float = 0.0) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="qyzmet-bench-history-") as directory:
        setting = prepare(Path(directory))
        operations = measure(setting, seconds, rounds, warmup)
        profiles = profile(setting, PORTAL_OPERATIONS, profile_seconds) if profile_seconds > 0 else {}
        with setting.app.app_context():
            from webapp.extensions import db

            db.engine.dispose()  # let go of the temporary SQLite file before it is removed
    report: dict[str, object] = {
        "benchmark": "qyzmet-history",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(setting.database),
        "budget": {"seconds_per_operation": seconds, "rounds": rounds, "warmup_seconds_per_operation": warmup},
        "setup": {
            "seconds": setting.setup_seconds,
            "citizens": {"A": {"iin": CITIZEN_A, "applications": SMALL}, "B": {"iin": CITIZEN_B, "applications": LARGE}},
            "unread_notifications_per_citizen": UNREAD_PER_CITIZEN,
            "paths": setting.paths,
            "checks": setting.checks,
        },
        "sizes": setting.sizes,
        "operations": operations,
        "ratios": ratios(operations),
    }
    if profiles:
        report["profiles"] = profiles
    return report


def format_report(report: dict) -> str:
    m, setup, sizes, budget = report["machine"], report["setup"], report["sizes"], report["budget"]
    db_info = m["database"]
    s = setup["seconds"]
    lines = [
        "Qyzmet History of Services benchmark (in-process WSGI, Flask test clients)",
        f"machine:  {m['cpu_count']} CPUs ({m['cpus_usable']} usable),"
        f" {m['cpu_model'] or 'unknown CPU'}, {m['platform']}",
        f"software: Python {m['python']} ({m['python_implementation']}), Flask {m['flask']}, Werkzeug {m['werkzeug']},"
        f" Jinja2 {m['jinja2']}, SQLAlchemy {m['sqlalchemy']}, Flask-Session {m['flask_session']}",
        f"database: {db_info['dialect']}+{db_info['driver']} {db_info['server_version']} ({db_info['url']})",
    ]
    if m["load_average"] is not None:
        averages = ", ".join(f"{x:.2f}" for x in m["load_average"])
        lines.append(f"load:     {averages} (1, 5, 15 min averages, after the run)")
    lines += [
        f"setup:    app {s['app']:.2f} s, migrations + test citizens"
        f" {s['migrations_and_citizens']:.2f} s, histories ({SMALL} + {LARGE:,} applications, ANALYZE) {s['histories']:.2f} s,"
        f" two logins {s['logins'] * 1000:.0f} ms (not timed below)",
        f"pages:    history for {SMALL} {sizes['history_5_bytes']} bytes, for {LARGE:,} {sizes['history_5000_bytes']}"
        f" bytes (later page {sizes['history_5000_later_page_bytes']}); poll: 304 with {sizes['poll_304_headers']}"
        f" headers (the fragment, when changed: {sizes['poll_fragment_bytes']} bytes)",
        f"budget:   {budget['seconds_per_operation']:g} s per operation in {budget['rounds']} interleaved rounds,"
        f" after {budget['warmup_seconds_per_operation']:g} s warm-up each",
        "",
        f"{'operation':<26}{'iterations':>11}{'mean µs':>11}{'p50 µs':>11}{'p99 µs':>11}{'req/s':>10}",
    ]
    for name, st in report["operations"].items():
        lines.append(
            f"{name:<26}{st['iterations']:>11}{st['mean_us']:>11.1f}{st['p50_us']:>11.1f}{st['p99_us']:>11.1f}"
            f"{st['requests_per_second']:>10.0f}"
        )
    lines += ["", f"{'ratio (of means)':<42}{'value':>7}{'p50':>7}{'target':>9}  result"]
    misses = []
    for name, r in report["ratios"].items():
        if r["target_kind"] is None:
            target = "—"
        else:
            target = f"{'≤' if r['target_kind'] == 'max' else '≥'} {r['target']:.2f}"
        lines.append(f"{name:<42}{r['value']:>7.2f}{r['p50_value']:>7.2f}{target:>9}  {r['result']}")
        if r["result"] == "MISS":
            misses.append(f"*** MISS: {name} is {r['value']:.2f}, target {target} ({r['meaning']}) ***")
    lines += misses
    for name, text in report.get("profiles", {}).items():
        lines += ["", f"---- profile: {name} ----", text.rstrip()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.history_bench",
        description="Time History of Services against bare Flask (see bench/README.md).",
    )
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="timed budget per operation (default 3)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON to PATH")
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help="interleaved slices the budget is split into (default 3)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help=f"warm-up per operation, in seconds (default: the budget, at most {MAX_WARMUP_SECONDS})",
    )
    parser.add_argument(
        "--profile",
        type=float,
        nargs="?",
        const=PROFILE_SECONDS,
        default=0.0,
        metavar="SECONDS",
        help=f"after timing, cProfile each portal operation for SECONDS (default {PROFILE_SECONDS:g}) and print"
        " the top functions",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1:
        parser.error("--seconds must be positive and --rounds at least 1")
    warmup = min(args.seconds, MAX_WARMUP_SECONDS) if args.warmup is None else max(args.warmup, 0.0)

    report = run(args.seconds, args.rounds, warmup, max(args.profile, 0.0))
    print(format_report(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
