"""The portal over HTTP under gunicorn, next to bare Flask sending the same bytes, with wrk.

    .venv/bin/python -m bench.http_bench [--quick] [--seconds N] [--rounds R] [--soak-seconds S] [--json PATH]
    make bench BENCH_ARGS='--json bench-http.json'

Set-up (not timed): a fresh SQLite file in a temporary directory (or the
PostgreSQL database --database-url names, emptied first), migrated, the
sandbox citizens loaded (no sandbox CA: no measured page needs it), and History of Services
seeded with bench.history_bench.seed_histories (citizen B: 5,000
applications). The portal runs under gunicorn on 127.0.0.1 (bench/serve.py,
the sandbox config); two citizens log in through the real login form (CSRF
token and all) and their session cookies are reused: B browses the
catalogue, a passport and History of Services, W (a pensioner) fills the
ENPF pension wizard up to its last step.

Each case's response is captured once and checked (status, what the page
must show), then written to a manifest served by bench/bare_app.py under a
second gunicorn with the same settings: the baseline answers the same status,
body and headers. wrk (-t1 -c16 by default) drives each case with a Lua
script carrying the method, headers, cookie and body, and counts any answer
with another status than the captured one. Portal and bare runs alternate
case by case, round by round, so the machine's noise hits both.

Then: bytes over the wire (each page's first visit: HTML plus every
stylesheet and script it references, as served and gzip -6 as nginx would
send them; the htmx fragments), each worker's RSS after the load, and a soak
(wrk on a mix of every case while RSS is sampled) for growth.

The exit code is 0 even when a target misses: a report, not a gate.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import http.cookiejar
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import history_bench
from bench.serve import Gunicorn, portal_environment, reset_postgresql

PORTAL_PORT, BARE_PORT = 8101, 8102  # this benchmark's range is 8100-8199
LANG = "en"
PASSWORD = history_bench.PASSWORD
CITIZEN_B = history_bench.CITIZEN_B  # 5,000 applications in History of Services
CITIZEN_W = "581003309206"  # aged 68, pension savings, no application pending (tests/journeys/enpf-pension-payments.yaml)
SERVICE = "enpf-pension-payments"
WIZARD = f"/{LANG}/services/{SERVICE}/apply"
VALID_IBAN, INVALID_IBAN = "KZ946012155802839469", "KZ00 1234"
HISTORY = f"/{LANG}/account/history"

CONNECTIONS = 16
WRK_THREADS = 1  # wrk's own thread: the machine has 2 cores, both needed by gunicorn's workers
DEFAULT_SECONDS, DEFAULT_ROUNDS, DEFAULT_WARMUP = 5.0, 3, 1.0
DEFAULT_SOAK = 300.0
QUICK = {"seconds": 1.0, "rounds": 1, "warmup": 0.3, "soak": 12.0}
SOAK_SAMPLE_SECONDS = 5.0

# Targets (issue 17): a ratio to bare Flask's requests/s per kind of case.
RATIO_TARGETS = {
    "anon": 0.60,  # anonymous public pages (served from the page cache)
    "get": 0.30,   # a citizen's own pages
    "post": 0.25,  # the wizard's form posted
    "poll": 0.60,  # History of Services' unchanged poll (304)
}
HISTORY_SCALING_TARGET = 1.5  # History with 5 applications at most this many times as fast as with 5,000
P99_TARGET_MS = 50.0
FIRST_VISIT_TARGET = 50 * 1024
FRAGMENT_TARGET = 8 * 1024
RSS_TARGET_MB = 150.0
SOAK_GROWTH_TARGET = 0.05


CASE_NAMES = ("anon_home", "anon_catalogue", "anon_passport", "anon_verify", "catalogue", "passport", "wizard_step",
              "wizard_post_valid", "wizard_post_invalid", "check", "history_5", "history_5000", "poll_304")


@dataclass
class Case:
    name: str
    kind: str  # "anon", "get", "post" or "poll": which throughput target applies (RATIO_TARGETS)
    method: str
    path: str
    headers: dict[str, str]
    body: str = ""
    expect_status: int = 200
    meaning: str = ""
    # Filled in when captured.
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""


# --------------------------------------------------------------------------
# A citizen's browser: urllib with a cookie jar, no redirects followed unless asked


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None):
        """(status, headers as a list, body); a 3xx or 4xx is an answer, not an exception."""
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, list(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, list(error.headers.items()), error.read()

    def get(self, path: str, headers: dict[str, str] | None = None):
        return self.request("GET", path, headers)

    def post(self, path: str, form: dict[str, str], headers: dict[str, str] | None = None):
        body = urllib.parse.urlencode(form).encode()
        return self.request(
            "POST", path, {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}, body
        )

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)

    def log_in(self, iin: str) -> None:
        """Through the real login form (CSRF token and all), then the page it leads to (its flash shown once)."""
        status, _, body = self.get(f"/{LANG}/login")
        token = csrf_in(body)
        status, headers, _ = self.post(f"/{LANG}/login", {"csrf_token": token, "iin": iin, "password": PASSWORD})
        if status != 302:
            raise RuntimeError(f"logging in as {iin} failed: {status}")
        self.get(header(headers, "Location").replace(self.base, ""))


def csrf_in(body: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    if not found:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1).decode()


def header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name.lower()), "")


def htmx_headers(target: str, current_url: str, csrf: str) -> dict[str, str]:
    """What htmx 2 sends from an element aimed at #target (base.html's hx-headers add the CSRF token)."""
    return {"HX-Request": "true", "HX-Target": target, "HX-Current-URL": current_url, "X-CSRFToken": csrf}


# --------------------------------------------------------------------------
# Set-up: the database, the portal, the citizens, the cases


def prepare_environment(directory: Path, database_url: str | None, redis_url: str | None) -> tuple[dict, dict]:
    """The portal's environment, its database ready; the seconds each part of that took."""
    if database_url:
        reset_postgresql(database_url)
    url = database_url or f"sqlite:///{directory / 'portal.sqlite3'}"
    env = portal_environment(
        database_url=url,
        pki_dir=directory / "pki",
        redis_url=redis_url,
        HUEY_SQLITE_PATH=str(directory / "huey.sqlite3"),
        QYZMET_TODAY="2026-11-23",  # the sandbox data describe late 2026, as the tests do
    )
    return env, prepare_database_in_process(url, directory)


def prepare_database_in_process(database_url: str, directory: Path) -> dict[str, float]:
    """What bench.serve.prepare_database does, in this process (the `flask` start-ups saved): the
    migrations and the sandbox citizens, but no sandbox CA: none of the measured pages signs or verifies
    and the portal reads its trust anchors on first use only, so their bytes are the same without it
    (checked) and set-up saves ~10 s of RSA key generation, as bench/history_bench.py does. Then History
    of Services' 5,000 applications by the history benchmark's own seeding code."""
    from webapp import create_app
    from webapp.config import TestConfig
    from webapp.extensions import db

    seconds = {}
    started = time.perf_counter()
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HUEY_SQLITE_PATH": str(directory / "seed-huey.sqlite3"),
            "ATTACHMENTS_DIR": str(directory / "attachments"),
            "SANDBOX_PKI_DIR": str(directory / "pki"),
        },
    )
    history_bench.migrate_and_load_citizens(app)
    seconds["migrations_and_citizens"] = time.perf_counter() - started
    started = time.perf_counter()
    history_bench.seed_histories(app)
    seconds["histories"] = time.perf_counter() - started
    with app.app_context():
        db.engine.dispose()
    return {key: round(value, 1) for key, value in seconds.items()}


def walk_wizard(browser: Browser) -> str:
    """Start W's ENPF application and answer every step up to check-your-answers; the CSRF token."""
    status, _, page = browser.get(WIZARD)
    token = csrf_in(page)
    answers = {"account": {"account": "other"}, "iban": {"iban": VALID_IBAN}}
    status, headers, _ = browser.post(f"{WIZARD}/start", {"csrf_token": token, "action": "start"})
    for _ in range(20):
        if status != 302:
            raise RuntimeError(f"the wizard did not move on: {status}")
        path = urllib.parse.urlsplit(header(headers, "Location")).path
        if path.endswith("/check"):
            return token
        step_id = path.rsplit("/", 1)[-1]
        status, _, page = browser.get(path)
        if status != 200:
            raise RuntimeError(f"step {step_id}: {status}")
        form = {"csrf_token": csrf_in(page), "action": "continue", **answers.get(step_id, {"confirmed": "yes"})}
        status, headers, _ = browser.post(path, form)
    raise RuntimeError("the wizard did not end")


def build_cases(base: str, b: Browser, w: Browser, w_token: str, a: Browser, visitor: Browser) -> list[Case]:
    # The history page carries the ETag its results fragment polls with.
    _, _, page = b.get(HISTORY)
    etag = history_bench.etag_in(page.decode())
    b_token = csrf_in(page) if b'csrf_token' in page else ""
    b_token = b_token or re.search(rb'"X-CSRFToken": "([^"]+)"', page).group(1).decode()
    b_cookie, w_cookie = {"Cookie": b.cookie_header()}, {"Cookie": w.cookie_header()}
    a_cookie, visitor_cookie = {"Cookie": a.cookie_header()}, {"Cookie": visitor.cookie_header()}
    form = "application/x-www-form-urlencoded"
    wizard_post = {**w_cookie, **htmx_headers("wizard", base + f"{WIZARD}/iban", w_token),
                   "HX-Boosted": "true", "Content-Type": form}
    return [
        Case("anon_home", "anon", "GET", f"/{LANG}/", {},
             meaning="the home page, anonymous (no cookie)"),
        Case("anon_catalogue", "anon", "GET", f"/{LANG}/services", {},
             meaning="the catalogue of services, anonymous (no cookie)"),
        Case("anon_passport", "anon", "GET", f"/{LANG}/services/{SERVICE}", {},
             meaning="a service passport, anonymous (no cookie)"),
        Case("anon_verify", "anon", "GET", f"/{LANG}/verify", visitor_cookie,
             meaning="the verify-a-document form, an anonymous visitor's session (its CSRF token in the form)"),
        Case("catalogue", "get", "GET", f"/{LANG}/services", b_cookie,
             meaning="the catalogue of services, a whole page, logged in"),
        Case("passport", "get", "GET", f"/{LANG}/services/{SERVICE}", b_cookie,
             meaning="a service passport, a whole page"),
        Case("wizard_step", "get", "GET", f"{WIZARD}/iban", w_cookie,
             meaning="a wizard step (the IBAN question, answered), a whole page"),
        Case("wizard_post_valid", "post", "POST", f"{WIZARD}/iban", wizard_post,
             urllib.parse.urlencode({"csrf_token": w_token, "action": "continue", "iban": VALID_IBAN}),
             expect_status=302,
             meaning="the step's form as htmx posts it, a valid IBAN: validated, the draft saved, 302 to check"),
        Case("wizard_post_invalid", "post", "POST", f"{WIZARD}/iban", wizard_post,
             urllib.parse.urlencode({"csrf_token": w_token, "action": "continue", "iban": INVALID_IBAN}),
             expect_status=200,
             meaning="the same with an invalid IBAN: the #wizard fragment re-rendered with the error"),
        Case("check", "get", "GET", f"{WIZARD}/check", w_cookie,
             meaning="check your answers, a whole page"),
        Case("history_5", "get", "GET", HISTORY, a_cookie,
             meaning="History of Services, 5 applications, a whole page"),
        Case("history_5000", "get", "GET", HISTORY, b_cookie,
             meaning="History of Services, page 1 of 5,000 applications, a whole page"),
        Case("poll_304", "poll", "GET", HISTORY,
             {**b_cookie, **htmx_headers("history-results", base + HISTORY, b_token),
              "If-None-Match": f'"{etag}"', "Qyzmet-Poll": "1"},
             expect_status=304,
             meaning="the results fragment's unchanged poll: If-None-Match, HX-Request, Qyzmet-Poll; an empty 304"),
    ]


def capture(browser: Browser, cases: list[Case]) -> list[str]:
    """Each case's response, once, checked: a fast wrong answer must never pass for a fast right one."""
    checks = []
    for case in cases:
        body = case.body.encode() if case.body else None
        # A fresh browser with the case's own Cookie header: exactly what wrk will send.
        status, headers, data = browser.request(case.method, case.path, dict(case.headers), body)
        if status != case.expect_status:
            raise RuntimeError(f"{case.name}: {status}, expected {case.expect_status}: {data[:500]!r}")
        text = data.decode("utf-8", "replace")
        if case.name == "wizard_post_valid" and not header(headers, "Location").endswith("/check"):
            raise RuntimeError(f"wizard_post_valid did not lead to check: {header(headers, 'Location')}")
        if case.name == "wizard_post_invalid" and ("q-error-message" not in text or text.lstrip().startswith("<!")):
            raise RuntimeError("wizard_post_invalid did not re-render the fragment with an error")
        if case.name == "history_5000" and "5,000 applications" not in text:
            raise RuntimeError("history_5000 does not show 5,000 applications")
        if case.name == "history_5" and "5 applications" not in text:
            raise RuntimeError("history_5 does not show 5 applications")
        if case.kind == "anon" and ("Log out" in text or ("Cookie" not in case.headers and header(headers, "Set-Cookie"))):
            raise RuntimeError(f"{case.name} is not an anonymous page, or gives a visitor without a cookie one")
        if case.name == "poll_304" and data:
            raise RuntimeError("poll_304 has a body")
        if case.kind in ("get", "anon") and status == 200 and not text.lstrip().lower().startswith("<!doctype html>"):
            raise RuntimeError(f"{case.name} is not a whole page")
        case.status, case.response_headers, case.response_body = status, headers, data
        checks.append(f"{case.name}: {status}, {len(data)} bytes")
    return checks


def write_manifest(cases: list[Case], directory: Path) -> Path:
    manifest = {}
    for case in cases:
        body_file = directory / f"bare-{case.name}.body"
        body_file.write_bytes(case.response_body)
        manifest[case.name] = {"status": case.status, "headers": case.response_headers, "body_file": str(body_file)}
    path = directory / "bare.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return path


def check_bare(bare_base: str, cases: list[Case]) -> None:
    browser = Browser(bare_base)
    for case in cases:
        status, headers, data = browser.request(case.method, f"/__bare/{case.name}", case.headers,
                                                case.body.encode() if case.body else None)
        if status != case.status or data != case.response_body:
            raise RuntimeError(f"bare {case.name} answers {status} with {len(data)} bytes, not the portal's")


# --------------------------------------------------------------------------
# wrk


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for these ASCII values


LUA_REPORT = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + (t:get("unexpected") or 0) end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f, ' ..
    '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "status_errors": %d, ' ..
    '"timeouts": %d, "unexpected_status": %d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout, bad))
end
"""


def case_script(case: Case, path: str) -> str:
    lines = [f"wrk.method = {_lua_string(case.method)}", f"wrk.path = {_lua_string(path)}"]
    for name, value in case.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if case.body:
        lines.append(f"wrk.body = {_lua_string(case.body)}")
    lines.append(
        f"function response(status, headers, body) if status ~= {case.status} then unexpected = unexpected + 1 end end"
    )
    return "\n".join(lines) + LUA_REPORT


def mix_script(cases: list[Case]) -> str:
    """One request after another from every case, in turn (the soak)."""
    entries = []
    for case in cases:
        path = case.path
        headers = "{" + ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in case.headers.items()) + "}"
        body = _lua_string(case.body) if case.body else "nil"
        entries.append(f"wrk.format({_lua_string(case.method)}, {_lua_string(path)}, {headers}, {body})")
    return (
        "local requests = {}\nlocal n = 0\n"
        "function init(args)\n  unexpected = 0\n"
        + "".join(f"  table.insert(requests, {e})\n" for e in entries)
        + "end\n"
        "function request()\n  n = n % #requests + 1\n  return requests[n]\nend\n"
        "function response(status, headers, body) if status >= 400 then unexpected = unexpected + 1 end end\n"
        + LUA_REPORT.replace("function init(args) unexpected = 0 end\n", "")
    )


def run_wrk(base: str, script: Path, seconds: float, connections: int) -> dict:
    command = [
        "wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
        "-s", str(script), base,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    found = re.search(r"^WRKJSON (.*)$", out.stdout, re.M)
    if not found:
        raise RuntimeError(f"wrk said: {out.stdout}\n{out.stderr}")
    result = json.loads(found.group(1))
    result["requests_per_second"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def combine(runs: list[dict]) -> dict:
    """Several rounds of one side of one case: throughput over all, latencies weighted by requests."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["duration_us"] for r in runs) / 1e6
    weight = lambda key: sum(r[key] * r["requests"] for r in runs) / max(requests, 1)  # noqa: E731
    return {
        "requests": requests,
        "seconds": seconds,
        "requests_per_second": requests / seconds if seconds else 0.0,
        "p50_ms": weight("p50_us") / 1000,
        "p99_ms": max(r["p99_us"] for r in runs) / 1000,
        "mean_ms": weight("mean_us") / 1000,
        "per_round_rps": [round(r["requests_per_second"], 1) for r in runs],
        "errors": sum(r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"] for r in runs),
        "unexpected_status": sum(r["unexpected_status"] for r in runs),
    }


# --------------------------------------------------------------------------
# Bytes over the wire


def page_assets(html: bytes) -> list[str]:
    """Every stylesheet and script the page references, in order, once each."""
    found = re.findall(rb'<link[^>]+rel="stylesheet"[^>]*href="([^"]+)"|<link[^>]+href="([^"]+)"[^>]*rel="stylesheet"'
                       rb'|<script[^>]+src="([^"]+)"', html)
    urls = []
    for groups in found:
        url = next(g for g in groups if g).decode().replace("&amp;", "&")
        if url not in urls:
            urls.append(url)
    return urls


def wire_sizes(browser: Browser, cases: list[Case], fragments: dict[str, bytes]) -> dict:
    gz = lambda data: len(gzip.compress(data, compresslevel=6, mtime=0))  # noqa: E731
    assets: dict[str, dict] = {}
    compressed_by_server = False
    pages = {}
    for case in cases:
        if case.kind != "get" or case.status != 200:
            continue
        total_raw, total_gz = len(case.response_body), gz(case.response_body)
        urls = page_assets(case.response_body)
        for url in urls:
            if url not in assets:
                path = urllib.parse.urlsplit(url).path + ("?" + urllib.parse.urlsplit(url).query if "?" in url else "")
                status, headers, data = browser.get(path, {"Accept-Encoding": "gzip"})
                if header(headers, "Content-Encoding"):
                    compressed_by_server = True
                    data = gzip.decompress(data)
                assets[url] = {"status": status, "bytes": len(data), "gzip6_bytes": gz(data)}
            total_raw += assets[url]["bytes"]
            total_gz += assets[url]["gzip6_bytes"]
        pages[case.name] = {
            "html_bytes": len(case.response_body), "html_gzip6_bytes": gz(case.response_body),
            "assets": urls, "first_visit_bytes": total_raw, "first_visit_gzip6_bytes": total_gz,
            "result": "PASS" if total_gz <= FIRST_VISIT_TARGET else "MISS",
        }
    frags = {
        name: {"bytes": len(data), "gzip6_bytes": gz(data),
               "result": "PASS" if gz(data) <= FRAGMENT_TARGET else "MISS"}
        for name, data in fragments.items()
    }
    return {"server_compresses": compressed_by_server, "assets": assets, "pages": pages, "fragments": frags}


def capture_fragments(base: str, b: Browser, w: Browser, cases: list[Case]) -> dict[str, bytes]:
    """The htmx fragments as htmx asks for them: the poll when something changed, the wizard partials."""
    by_name = {c.name: c for c in cases}
    poll = by_name["poll_304"]
    stale = {**poll.headers, "If-None-Match": '"h-stale"'}
    w_token = by_name["wizard_post_valid"].headers["X-CSRFToken"]
    out = {}
    status, _, out["poll_fragment"] = b.get(HISTORY, stale)
    status2, _, out["wizard_step_fragment"] = w.get(
        f"{WIZARD}/iban", {**htmx_headers("wizard", base + f"{WIZARD}/account", w_token), "HX-Boosted": "true"})
    status3, _, out["check_fragment"] = w.get(
        f"{WIZARD}/check", {**htmx_headers("wizard", base + f"{WIZARD}/iban", w_token), "HX-Boosted": "true"})
    out["wizard_error_fragment"] = by_name["wizard_post_invalid"].response_body
    for name, data in out.items():
        if data.lstrip().lower().startswith(b"<!doctype"):
            raise RuntimeError(f"{name} came back as a whole page, not a fragment")
    if (status, status2, status3) != (200, 200, 200):
        raise RuntimeError(f"fragments answered {status}, {status2}, {status3}")
    return out


# --------------------------------------------------------------------------
# The run


def machine() -> dict:
    def version(name: str) -> str | None:
        try:
            import importlib.metadata

            return importlib.metadata.version(name)
        except Exception:
            return None

    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "gunicorn": version("gunicorn"),
        "flask": version("flask"),
        "wrk": (wrk_version.stdout + wrk_version.stderr).split("\n")[0].strip(),
        "load_average_at_start": os.getloadavg(),
    }


def soak(portal: Gunicorn, script: Path, seconds: float) -> dict:
    """wrk on the mix for `seconds` while each worker's RSS is sampled every few seconds."""
    samples: list[tuple[float, dict[int, float]]] = []
    result: dict = {}
    interval = min(SOAK_SAMPLE_SECONDS, max(seconds / 12, 0.5))

    def drive():
        result.update(run_wrk(portal.url, script, seconds, CONNECTIONS))

    thread = threading.Thread(target=drive)
    started = time.monotonic()
    thread.start()
    while thread.is_alive():
        samples.append((time.monotonic() - started, portal.rss_mb()))
        thread.join(interval)
    window = min(60.0, seconds / 3)
    first = [s for t, s in samples if t <= window]
    last = [s for t, s in samples if t >= seconds - window]
    growth = {}
    for pid in samples[0][1] if samples else {}:
        a = [s[pid] for s in first if pid in s]
        b = [s[pid] for s in last if pid in s]
        if a and b:
            growth[str(pid)] = statistics.fmean(b) / statistics.fmean(a) - 1
    worst = max(growth.values()) if growth else float("nan")
    return {
        "seconds": seconds,
        "window_seconds": window,
        "samples": [{"t": round(t, 1), "rss_mb": {str(k): round(v, 1) for k, v in s.items()}} for t, s in samples],
        "growth_by_worker": growth,
        "worst_growth": worst,
        "result": "PASS" if growth and worst <= SOAK_GROWTH_TARGET else "MISS",
        "wrk": {k: result.get(k) for k in ("requests", "requests_per_second", "p50_us", "p99_us", "unexpected_status",
                                           "connect_errors", "read_errors", "timeouts")},
    }


def run(args) -> dict:
    for tool in ("wrk",):
        if not shutil.which(tool):
            raise SystemExit("wrk is not installed: run `make wrk` (Debian's wrk)")
    report: dict = {"machine": machine(), "setup": {}, "settings": {}}
    with tempfile.TemporaryDirectory(prefix="qyzmet-http-bench-") as tmp:
        directory = Path(tmp)
        env, report["setup"]["database_seconds"] = prepare_environment(directory, args.database_url, args.redis_url)
        if args.no_page_cache:
            env["QYZMET_PAGE_CACHE"] = "0"
        report["settings"] = {
            "database": "PostgreSQL (--database-url)" if args.database_url else "SQLite (temporary file)",
            "redis": bool(args.redis_url), "config": "sandbox", "workers": args.workers, "threads": 1,
            "worker_class": "sync", "page_cache": not args.no_page_cache, "connections": CONNECTIONS, "wrk_threads": WRK_THREADS,
            "seconds_per_round": args.seconds, "rounds": args.rounds, "warmup_seconds": args.warmup,
        }
        portal = Gunicorn(args.port, env, workers=args.workers, log_path=directory / "portal.log")
        with portal:
            started = time.perf_counter()
            b, w, a, visitor = Browser(portal.url), Browser(portal.url), Browser(portal.url), Browser(portal.url)
            b.log_in(CITIZEN_B)
            w.log_in(CITIZEN_W)
            a.log_in(history_bench.CITIZEN_A)
            visitor.get(f"/{LANG}/verify")  # an anonymous visitor's session, made by the form's CSRF token
            w_token = walk_wizard(w)
            all_cases = build_cases(portal.url, b, w, w_token, a, visitor)
            checks = capture(Browser(portal.url), all_cases)
            fragments = capture_fragments(portal.url, b, w, all_cases)
            cases = [case for case in all_cases if not args.cases or case.name in args.cases]
            manifest = write_manifest(cases, directory)
            report["setup"]["citizens_and_capture_seconds"] = round(time.perf_counter() - started, 1)
            report["setup"]["checks"] = checks
            bare = Gunicorn(args.bare_port, env, workers=args.workers, app=f"bench.bare_app:create({str(manifest)!r})",
                            log_path=directory / "bare.log")
            with bare:
                check_bare(bare.url, cases)
                scripts = {}
                for case in cases:
                    for side, path in (("portal", case.path), ("bare", f"/__bare/{case.name}")):
                        script = directory / f"{side}-{case.name}.lua"
                        script.write_text(case_script(case, path), encoding="utf-8")
                        scripts[case.name, side] = script
                servers = {"portal": portal, "bare": bare}
                if args.warmup > 0:
                    for case in cases:
                        for side in ("portal", "bare"):
                            run_wrk(servers[side].url, scripts[case.name, side], args.warmup, CONNECTIONS)
                runs: dict[tuple[str, str], list[dict]] = {key: [] for key in scripts}
                for round_number in range(args.rounds):
                    for case in cases:
                        # Alternate which side goes first, round by round.
                        order = ("portal", "bare") if round_number % 2 == 0 else ("bare", "portal")
                        for side in order:
                            runs[case.name, side].append(
                                run_wrk(servers[side].url, scripts[case.name, side], args.seconds, CONNECTIONS))
                report["rss_after_load_mb"] = {str(k): round(v, 1) for k, v in portal.rss_mb().items()}
                report["bare_rss_after_load_mb"] = {str(k): round(v, 1) for k, v in bare.rss_mb().items()}
            report["cases"] = {}
            for case in cases:
                p, bb = combine(runs[case.name, "portal"]), combine(runs[case.name, "bare"])
                ratio = p["requests_per_second"] / bb["requests_per_second"] if bb["requests_per_second"] else 0.0
                target = RATIO_TARGETS[case.kind]
                report["cases"][case.name] = {
                    "meaning": case.meaning, "kind": case.kind, "method": case.method, "path": case.path, "status": case.status,
                    "response_bytes": len(case.response_body), "portal": p, "bare": bb, "ratio": ratio,
                    "ratio_target": target, "ratio_result": "PASS" if ratio >= target else "MISS",
                    "p99_result": "PASS" if p["p99_ms"] < P99_TARGET_MS else "MISS",
                    "clean": p["errors"] == 0 and p["unexpected_status"] == 0 and bb["unexpected_status"] == 0,
                }
            by_name = report["cases"]
            if "history_5" in by_name and "history_5000" in by_name:
                slower = (by_name["history_5"]["portal"]["requests_per_second"]
                          / max(by_name["history_5000"]["portal"]["requests_per_second"], 1e-9))
                report["history_scaling"] = {"history_5_over_history_5000": slower,
                                             "target": HISTORY_SCALING_TARGET,
                                             "result": "PASS" if slower <= HISTORY_SCALING_TARGET else "MISS"}
            report["wire"] = wire_sizes(Browser(portal.url), all_cases, fragments)
            rss = report["rss_after_load_mb"]
            report["rss_result"] = "PASS" if rss and max(rss.values()) <= RSS_TARGET_MB else "MISS"
            if args.soak_seconds > 0:
                mix = directory / "soak.lua"
                mix.write_text(mix_script(all_cases), encoding="utf-8")
                report["soak"] = soak(portal, mix, args.soak_seconds)
                report["rss_after_soak_mb"] = {str(k): round(v, 1) for k, v in portal.rss_mb().items()}
    report["machine"]["load_average_at_end"] = os.getloadavg()
    return report


def format_report(report: dict) -> str:
    m, s = report["machine"], report["settings"]
    lines = [
        "HTTP benchmark: the portal under gunicorn next to bare Flask sending the same bytes (bench/README.md)",
        f"machine:  {m['cpu_count']} CPUs, Python {m['python']}, gunicorn {m['gunicorn']}, Flask {m['flask']},"
        f" {m['wrk']}, load average {m['load_average_at_start'][0]:.2f} at start,"
        f" {m['load_average_at_end'][0]:.2f} at end",
        f"settings: {s['database']}, Redis {'on' if s['redis'] else 'off'}, {s['config']} config,"
        f" page cache {'on' if s.get('page_cache', True) else 'OFF'}, gunicorn"
        f" {s['workers']} {s['worker_class']} workers x {s['threads']} thread on 127.0.0.1; wrk -t{s['wrk_threads']}"
        f" -c{s['connections']}, {s['rounds']} rounds x {s['seconds_per_round']:g} s per case and side, interleaved",
        "",
        f"{'case':<22}{'status':>7}{'bytes':>8}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'bare req/s':>11}{'bare p99':>9}{'ratio':>7}{'target':>8}  result",
    ]
    misses = []
    for name, c in report["cases"].items():
        p, b = c["portal"], c["bare"]
        result = "PASS" if c["ratio_result"] == "PASS" and c["p99_result"] == "PASS" else "MISS"
        lines.append(
            f"{name:<22}{c['status']:>7}{c['response_bytes']:>8}{p['requests_per_second']:>9.0f}{p['p50_ms']:>8.1f}"
            f"{p['p99_ms']:>8.1f}{b['requests_per_second']:>11.0f}{b['p99_ms']:>9.1f}{c['ratio']:>7.2f}"
            f"{'≥ %.2f' % c['ratio_target']:>8}  {result}{'' if c['clean'] else ' (errors!)'}"
        )
        if c["ratio_result"] == "MISS":
            misses.append(f"*** MISS: {name} answers {c['ratio']:.2f} of bare Flask's requests/s"
                          f" (target ≥ {c['ratio_target']:.2f}) ***")
        if c["p99_result"] == "MISS":
            misses.append(f"*** MISS: {name} p99 {p['p99_ms']:.1f} ms (target < {P99_TARGET_MS:g} ms) ***")
        if not c["clean"]:
            misses.append(f"*** {name}: {p['errors']} socket errors, {p['unexpected_status']} unexpected statuses"
                          f" (bare: {b['unexpected_status']}) ***")
    if "history_scaling" in report:
        hs = report["history_scaling"]
        lines.append(f"History of Services: 5 applications {hs['history_5_over_history_5000']:.2f}x the requests/s of"
                     f" 5,000 (target ≤ {hs['target']:g}x)  {hs['result']}")
        if hs["result"] == "MISS":
            misses.append(f"*** MISS: History with 5,000 applications is {hs['history_5_over_history_5000']:.2f}x"
                          f" slower than with 5 ***")
    wire = report["wire"]
    lines += ["", "bytes over the wire (first visit: HTML + every stylesheet and script; gzip -6 as nginx sends it)"
              + ("" if wire["server_compresses"] else " — gunicorn/the portal send them uncompressed")]
    lines.append(f"{'page':<22}{'HTML':>8}{'HTML gz':>9}{'visit':>9}{'visit gz':>10}{'target':>9}  result")
    for name, pg in wire["pages"].items():
        lines.append(f"{name:<22}{pg['html_bytes']:>8}{pg['html_gzip6_bytes']:>9}{pg['first_visit_bytes']:>9}"
                     f"{pg['first_visit_gzip6_bytes']:>10}{'≤ 50 KB':>9}  {pg['result']}")
        if pg["result"] == "MISS":
            misses.append(f"*** MISS: {name}'s first visit is {pg['first_visit_gzip6_bytes']} bytes gzipped ***")
    lines.append("assets: " + ", ".join(f"{u} {a['bytes']}/{a['gzip6_bytes']} gz" for u, a in wire["assets"].items()))
    lines.append(f"{'fragment':<22}{'bytes':>8}{'gz':>9}{'target':>9}  result")
    for name, fr in wire["fragments"].items():
        lines.append(f"{name:<22}{fr['bytes']:>8}{fr['gzip6_bytes']:>9}{'≤ 8 KB':>9}  {fr['result']}")
        if fr["result"] == "MISS":
            misses.append(f"*** MISS: fragment {name} is {fr['gzip6_bytes']} bytes gzipped ***")
    rss = report["rss_after_load_mb"]
    lines += ["", f"worker RSS after the load: {', '.join(f'{v:.1f} MB' for v in rss.values())}"
              f" (target ≤ {RSS_TARGET_MB:g} MB)  {report['rss_result']}"]
    if report["rss_result"] == "MISS":
        misses.append(f"*** MISS: a worker's RSS is {max(rss.values()):.1f} MB after the load ***")
    if "soak" in report:
        sk = report["soak"]
        growth = ", ".join(f"{g * 100:+.1f} %" for g in sk["growth_by_worker"].values())
        lines.append(
            f"soak: {sk['seconds']:g} s of the mix ({sk['wrk']['requests']} requests,"
            f" {sk['wrk']['requests_per_second']:.0f} req/s, {sk['wrk']['unexpected_status']} answers ≥ 400),"
            f" RSS growth first→last {sk['window_seconds']:g} s by worker: {growth}"
            f" (target ≤ {SOAK_GROWTH_TARGET * 100:g} %)  {sk['result']}"
        )
        if sk["result"] == "MISS":
            misses.append(f"*** MISS: RSS grew {sk['worst_growth'] * 100:.1f} % during the soak ***")
    lines += [""] + misses if misses else []
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http_bench",
        description="The portal under gunicorn next to bare Flask, with wrk (see bench/README.md).",
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"a few seconds per case and a {QUICK['soak']:g} s soak (development, smoke test)")
    parser.add_argument("--seconds", type=float, help=f"wrk run per case, side and round (default {DEFAULT_SECONDS:g})")
    parser.add_argument("--rounds", type=int, help=f"interleaved rounds (default {DEFAULT_ROUNDS})")
    parser.add_argument("--warmup", type=float, help=f"warm-up per case and side (default {DEFAULT_WARMUP:g})")
    parser.add_argument("--soak-seconds", type=float, help=f"the soak's length (default {DEFAULT_SOAK:g}; 0: none)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for both servers (default 2)")
    parser.add_argument("--port", type=int, default=PORTAL_PORT, help=f"the portal's port (default {PORTAL_PORT})")
    parser.add_argument("--bare-port", type=int, default=BARE_PORT, help=f"bare Flask's port (default {BARE_PORT})")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or None,
                        help="a PostgreSQL database to use instead of SQLite (default: DATABASE_URL): EMPTIED first")
    parser.add_argument("--no-page-cache", action="store_true",
                        help="the portal without its page cache (QYZMET_PAGE_CACHE=0): the 'before' of issue 17")
    parser.add_argument("--redis-url", help="REDIS_URL for the portal (sessions, rate limits, jobs in Redis)")
    parser.add_argument("--cases", type=lambda value: [c for c in value.split(",") if c], default=[],
                        metavar="A,B", help=f"time only these cases (of {', '.join(CASE_NAMES)})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON to PATH")
    args = parser.parse_args(argv)
    unknown = set(args.cases) - set(CASE_NAMES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    quick = QUICK if args.quick else {}
    args.seconds = args.seconds or quick.get("seconds", DEFAULT_SECONDS)
    args.rounds = args.rounds or quick.get("rounds", DEFAULT_ROUNDS)
    args.warmup = args.warmup if args.warmup is not None else quick.get("warmup", DEFAULT_WARMUP)
    args.soak_seconds = args.soak_seconds if args.soak_seconds is not None else quick.get("soak", DEFAULT_SOAK)
    started = time.monotonic()
    report = run(args)
    report["total_seconds"] = round(time.monotonic() - started, 1)
    report["finished_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    print(format_report(report))
    print(f"\ntotal run time {report['total_seconds']:.0f} s")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
