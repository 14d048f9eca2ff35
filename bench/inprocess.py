"""SQL statements and CPU time per request for each case of bench/http_bench.py, in this process (no HTTP).

    .venv/bin/python -m bench.inprocess                       # 50 requests per case
    .venv/bin/python -m bench.inprocess --requests 200 --profile history_5000,wizard_step
    .venv/bin/python -m bench.inprocess --no-page-cache
    DATABASE_URL=postgresql+psycopg://… .venv/bin/python -m bench.inprocess   # on PostgreSQL: EMPTIED first

The portal is built as bench/history_bench.py builds it (the same database set-up, 5,000 applications for
citizen B), the citizens log in and W walks the ENPF wizard as in bench/http_bench.py, and each case's
request (the same method, path, headers, cookie and body, through Flask's test client) is sent
`--requests` times. Every statement on the portal's engine is counted (a SQLAlchemy
`before_cursor_execute` listener, and the few run on the DBAPI connection itself (webapp/dbapi_statements.py):
the session store's included), and the process's CPU time
(time.process_time) is divided by the requests. `--profile A,B` runs those cases again under cProfile
and prints their top functions by own and by cumulative time. Counts are exact; the CPU times are indicative.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import event

from bench import history_bench, http_bench
from webapp.dbapi_statements import DBAPIStatement


class TestBrowser:
    """bench.http_bench.Browser's interface over Flask's test client."""

    def __init__(self, app, use_cookies: bool = True):
        self.client = app.test_client(use_cookies=use_cookies)
        self.base = "http://localhost"

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None):
        response = self.client.open(path, method=method, headers=headers or {}, data=body)
        return response.status_code, list(response.headers.items()), response.get_data()

    def get(self, path: str, headers: dict[str, str] | None = None):
        return self.request("GET", path, headers)

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None):
        response = self.client.post(path, data=form, headers=headers or {})
        return response.status_code, list(response.headers.items()), response.get_data()

    def cookie_header(self) -> str:
        cookie = self.client.get_cookie("qyzmet_session")
        return f"qyzmet_session={cookie.value}" if cookie else ""

    log_in = http_bench.Browser.log_in


def build(directory: Path, page_cache: bool):
    from webapp import create_app
    from webapp.config import TestConfig

    database_url = history_bench._database_url(directory)
    app = create_app(TestConfig, {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "ATTACHMENTS_DIR": str(directory / "attachments"),
        "HUEY_SQLITE_PATH": str(directory / "huey.sqlite3"),
        "SANDBOX_PKI_DIR": str(directory / "pki"),
        "FIXED_TODAY": "2026-11-23",
        "PAGE_CACHE": page_cache,
    })
    history_bench.migrate_and_load_citizens(app)
    history_bench.seed_histories(app)
    return app


def measure(app, cases, requests: int) -> dict[str, dict]:
    from webapp.extensions import db

    counter = {"statements": 0}
    with app.app_context():
        engine = db.engine

    def count(*args, **kwargs):
        counter["statements"] += 1

    event.listen(engine, "before_cursor_execute", count)
    DBAPIStatement.observers.append(count)  # the statements run past SQLAlchemy's execution
    browser = TestBrowser(app, use_cookies=False)
    results = {}
    try:
        for case in cases:
            body = case.body.encode() if case.body else None
            browser.request(case.method, case.path, dict(case.headers), body)  # warm
            counter["statements"] = 0
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                status, _, _ = browser.request(case.method, case.path, dict(case.headers), body)
                if status != case.status:
                    raise RuntimeError(f"{case.name}: {status}, expected {case.status}")
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            results[case.name] = {
                "status": case.status,
                "sql_per_request": counter["statements"] / requests,
                "cpu_ms": cpu * 1000 / requests,
                "wall_ms": wall * 1000 / requests,
            }
    finally:
        event.remove(engine, "before_cursor_execute", count)
        DBAPIStatement.observers.remove(count)
    return results


def profile(app, cases, requests: int, top: int = 25) -> dict[str, str]:
    browser = TestBrowser(app, use_cookies=False)
    out = {}
    for case in cases:
        body = case.body.encode() if case.body else None
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            browser.request(case.method, case.path, dict(case.headers), body)
        profiler.disable()
        text = io.StringIO()
        for order in ("tottime", "cumulative"):
            text.write(f"by {order}:\n")
            pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(top)
        out[case.name] = text.getvalue()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="requests per case (default 50)")
    parser.add_argument("--no-page-cache", action="store_true", help="the portal without its page cache")
    parser.add_argument("--profile", type=lambda v: [c for c in v.split(",") if c], default=[], metavar="A,B",
                        help="cases to run again under cProfile")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qyzmet-inprocess-") as tmp:
        app = build(Path(tmp), page_cache=not args.no_page_cache)
        b, w, a, visitor = (TestBrowser(app) for _ in range(4))
        b.log_in(http_bench.CITIZEN_B)
        w.log_in(http_bench.CITIZEN_W)
        a.log_in(history_bench.CITIZEN_A)
        visitor.get(f"/{http_bench.LANG}/verify")
        w_token = http_bench.walk_wizard(w)
        cases = http_bench.build_cases(b.base, b, w, w_token, a, visitor)
        http_bench.capture(TestBrowser(app, use_cookies=False), cases)
        results = measure(app, cases, args.requests)
        database = "PostgreSQL (DATABASE_URL)" if os.environ.get("DATABASE_URL") else "SQLite (temporary file)"
        print(f"In-process cost per request ({database}, page cache {'off' if args.no_page_cache else 'on'},"
              f" {args.requests} requests per case, load average {os.getloadavg()[0]:.2f})")
        print(f"{'case':<22}{'status':>7}{'SQL/req':>9}{'CPU ms':>8}{'wall ms':>9}")
        for name, r in results.items():
            print(f"{name:<22}{r['status']:>7}{r['sql_per_request']:>9.1f}{r['cpu_ms']:>8.2f}{r['wall_ms']:>9.2f}")
        if args.profile:
            for name, text in profile(app, [c for c in cases if c.name in args.profile], args.requests).items():
                print(f"\n--- {name} ({args.requests} requests) ---\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
