"""Faults during load: python -m bench.load.faults [--users 24] [--json PATH] (make load LOAD_ARGS=--faults).

Citizens' whole journeys (bench/load/journey.py) run all the time, `--users`
at once, against the portal under gunicorn on a PostgreSQL cluster of the
run's own (initdb in a temporary directory, port 8255), Redis DB 4, one Huey
worker, and a fake SMS gateway and service provider on 127.0.0.1:8252 that
record every message by idempotency key. One after the other:

1. PostgreSQL stopped for --pg-down seconds, then started again: citizens get
   the translated 503 page (never a 500), no half-written application, the
   drafts of citizens caught by the outage unchanged, journeys complete again
   on the same gunicorn worker processes.
2. The SMS gateway failing (HTTP 500, then timeouts) for --gateway-down
   seconds: the password page tells the citizen, sending is retried, no
   idempotency key accepted twice.
3. The Huey worker SIGKILLed while the (slowed) gateway holds sends in
   flight, then restarted: the sends it lost are done again by the sweep
   (webapp/recovery.py), each key reaching the phone once, every application
   handed over to the provider, nothing left "sending".
4. An upload over MAX_CONTENT_LENGTH in the middle of a wizard: the
   translated 413 page, the draft unchanged, and the citizen goes on to send.

The signing agent being absent is a browser matter, covered by
tests/browser/test_eds_in_browser.py. Prints a table (fault, check, result);
--json PATH writes it as JSON; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from glob import glob
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from bench.load.journey import LANG, SERVICE, Citizen, Journey, JourneyError
from bench.load.run import RATE_LIMITS, Worker, reset_redis
from bench.serve import Gunicorn, flask, portal_environment, prepare_database

PORT = 8250  # the portal
FAKE_PORT = 8252  # the fake SMS gateway and provider
PG_PORT = 8255  # the run's own PostgreSQL cluster
REDIS_URL = "redis://127.0.0.1:6379/4"
STALE_SECONDS = 20  # JOBS_STALE_SECONDS for the run: over the gateway's 10 s timeout
UNAVAILABLE = "Sorry, the service is unavailable"  # the 503 page's title in English (the journeys' language)
TOO_LARGE = "The file or form is too large"
SMS_FAILED = "We could not send the SMS"
SMS_RETRYING = "not answering yet; we keep trying"


# ── the run's own PostgreSQL ────────────────────────────────────────────


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise SystemExit(f"{name} not found: install PostgreSQL's server binaries (apt-get install postgresql)")
    return found


class Cluster:
    """A PostgreSQL cluster of the run's own: initdb, start, stop (the fault), start again."""

    def __init__(self, directory: Path, port: int = PG_PORT):
        self.directory = directory
        self.data = directory / "pgdata"
        self.log = directory / "postgresql.log"
        self.socket_dir = directory
        self.port = port
        # initdb refuses to run as root: run the server as the postgres user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/qyzmet_faults"

    def _run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        if self.as_user:
            shutil.chown(self.directory, "postgres")
        self._run(_pg_binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run(_pg_binary("createdb") if shutil.which("createdb") else "createdb",
                  "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "qyzmet_faults")

    def start(self) -> None:
        self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                  "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        """A fast shutdown: open connections are cut, as when the server goes away."""
        self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except Exception:  # noqa: BLE001  (already stopped)
            pass


# ── the fake SMS gateway and provider ───────────────────────────────────


@dataclass
class FakeOutside:
    """The operator's SMS gateway (/sms) and the provider (/provider) on 127.0.0.1.

    mode: "ok"; "fail" (HTTP 500); "timeout" (hangs past the portal's timeout, then 503,
    delivering nothing); "slow" (takes `slow_seconds`, then delivers). Every POST is
    recorded; a key is delivered once (the phone gets one text), and a repeat of an
    accepted key is counted, as a real gateway dropping a duplicate would see it.
    """

    mode: str = "ok"
    slow_seconds: float = 3.0
    hang_seconds: float = 11.0
    posts: list[tuple[float, str, str]] = field(default_factory=list)  # (time, kind, key)
    accepted: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, key) -> 2xx answers
    phone: dict[str, str] = field(default_factory=dict)  # SMS key -> the text, delivered once
    in_flight: dict[tuple[str, str], float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, port: int) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                kind = self.path.strip("/")
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get("Idempotency-Key") or ""
                mode = fake.mode
                with fake.lock:
                    fake.posts.append((time.time(), kind, key))
                    fake.in_flight[(kind, key)] = time.time()
                try:
                    if mode == "fail":
                        return self._answer(500, b"down")
                    if mode == "timeout":
                        time.sleep(fake.hang_seconds)
                        return self._answer(503, b"hung")
                    if mode == "slow":
                        time.sleep(fake.slow_seconds)
                    with fake.lock:
                        fake.accepted[(kind, key)] = fake.accepted.get((kind, key), 0) + 1
                        if kind == "sms":
                            fake.phone.setdefault(key, json.loads(body)["text"])
                    return self._answer(200, json.dumps({"id": f"{kind}-{key}"}).encode())
                finally:
                    with fake.lock:
                        fake.in_flight.pop((kind, key), None)

            def _answer(self, status: int, payload: bytes):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the portal gave up waiting (or was killed)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def code_for(self, key: str) -> str | None:
        with self.lock:
            text = self.phone.get(key)
        found = re.search(r"\b(\d{6})\b", text or "")
        return found.group(1) if found else None

    def repeats(self, kind: str, since: float = 0, until: float = float("inf")) -> int:
        """Keys of `kind` accepted more than once (each repeat counted) among posts in the window."""
        with self.lock:
            keys = {key for at, k, key in self.posts if k == kind and since <= at <= until}
            return sum(max(0, self.accepted.get((kind, key), 0) - 1) for key in keys)


# ── journeys ────────────────────────────────────────────────────────────


class RecordingSession(requests.Session):
    """requests.Session that records every answer: (time, status, path, the 503 page shown)."""

    def __init__(self, record):
        super().__init__()
        self._record = record

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, url, *args, **kwargs)
        self._record(response)
        return response


class FaultJourney(Journey):
    """The journey, reading the SMS password from the fake gateway's phone (the portal blanks
    codes out of its outbox for a real gateway) and noting what the password page said."""

    fake: FakeOutside = None
    told_failed = False
    told_retrying = False
    sightings: list | None = None  # (time, "retrying" | "failed"), shared by the crowd

    def wait_for_code(self, password_page: str) -> str:
        deadline = time.monotonic() + self.sms_timeout
        while True:
            def outbox():
                response = self.request("SMS: sandbox outbox", "GET", "/sandbox/sms.json",
                                        params={"iin": self.citizen.iin})
                self.expect("SMS: sandbox outbox", response, 200)
                for message in response.json():
                    if message["purpose"] == "sign-application" and message["id"] not in self._used_messages:
                        return message
                return None

            message = self.step("SMS: sandbox outbox", outbox)
            if message and message["status"] == "sent":
                code = self.fake.code_for(message["id"])
                if not code:
                    raise JourneyError("SMS: phone", f"the portal says sent, the phone has no text for {message['id']}")
                self._used_messages.add(message["id"])
                return code
            if time.monotonic() > deadline:
                raise JourneyError("SMS: sandbox outbox", f"no SMS within {self.sms_timeout:.0f} s")
            self.sleep(self.poll_interval)

            def poll():
                response = self.request("SMS: password page poll", "GET", password_page, headers={
                    "HX-Request": "true", "HX-Target": "sms-status", "Qyzmet-Poll": "1"})
                self.expect("SMS: password page poll", response, 200, 'id="sms-status"')
                return response.text

            fragment = self.step("SMS: password page poll", poll)
            if SMS_RETRYING in fragment:
                self.told_retrying = True
                if self.sightings is not None:
                    self.sightings.append((time.time(), "retrying"))
            if SMS_FAILED in fragment:
                self.told_failed = True
                if self.sightings is not None:
                    self.sightings.append((time.time(), "failed"))
                raise JourneyError("SMS: told it failed", "the gateway failed; the page said so")


@dataclass
class Outcome:
    citizen: str
    started: float
    ended: float
    number: str | None = None
    error: str | None = None
    told_failed: bool = False
    told_retrying: bool = False
    pid_hint: str | None = None


class Crowd:
    """`users` threads, each running journeys back to back with fresh citizens, until stopped."""

    def __init__(self, base_url: str, citizens: list[dict], fake: FakeOutside, users: int,
                 think: tuple[float, float]):
        self.base_url = base_url
        self.citizens = list(citizens)
        self.fake = fake
        self.users = users
        self.think = think
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.responses: list[tuple[float, int, str, bool]] = []
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.sightings: list[tuple[float, str]] = []  # what password pages told citizens about their SMS

    def record(self, response) -> None:
        shown = response.status_code == 503 and UNAVAILABLE in response.text
        with self.lock:
            self.responses.append((time.time(), response.status_code, response.request.path_url.split("?")[0], shown))

    def next_citizen(self) -> dict | None:
        with self.lock:
            return self.citizens.pop() if self.citizens else None

    def user(self) -> None:
        # Citizens arrive spread over a journey's length, so a fault finds them at every step.
        time.sleep(random.uniform(0, 15 * sum(self.think) / 2))
        while not self.stopping.is_set():
            person = self.next_citizen()
            if person is None:
                return
            journey = FaultJourney(RecordingSession(self.record), self.base_url,
                                   Citizen(person["iin"], person["password"], person.get("phone")),
                                   think=self.think, sms_timeout=150, history_polls=0)
            journey.fake = self.fake
            journey.sightings = self.sightings
            outcome = Outcome(person["iin"], time.time(), 0)
            try:
                outcome.number = journey.run()
            except JourneyError as error:
                outcome.error = str(error)[:300]
            except Exception as error:  # noqa: BLE001  (recorded as a failed journey)
                outcome.error = repr(error)[:300]
            outcome.ended = time.time()
            outcome.told_failed, outcome.told_retrying = journey.told_failed, journey.told_retrying
            with self.lock:
                self.outcomes.append(outcome)
            if outcome.error:
                time.sleep(random.uniform(2.0, 6.0))  # a citizen who met an error comes back a little later

    def start(self) -> None:
        for index in range(self.users):
            thread = threading.Thread(target=self.user, daemon=True, name=f"citizen-{index}")
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout: float = 200) -> None:
        self.stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))

    def completed_between(self, since: float, until: float = float("inf")) -> int:
        with self.lock:
            return sum(1 for o in self.outcomes if o.number and since <= o.ended <= until)

    def wait_completions(self, count: int, since: float, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.completed_between(since) >= count:
                break
            time.sleep(0.5)
        return self.completed_between(since)


# ── the run ─────────────────────────────────────────────────────────────


class Report:
    def __init__(self):
        self.rows: list[dict] = []

    def check(self, fault: str, what: str, ok: bool, detail: str) -> bool:
        self.rows.append({"fault": fault, "check": what, "ok": bool(ok), "detail": detail})
        return ok

    @property
    def ok(self) -> bool:
        return all(row["ok"] for row in self.rows)

    def table(self) -> str:
        lines = [f"{'fault':22} {'check':52} {'result':6} detail", "-" * 120]
        for row in self.rows:
            lines.append(f"{row['fault']:22.22} {row['check']:52.52} {'ok' if row['ok'] else 'FAIL':6} {row['detail']}")
        return "\n".join(lines)


def _db(url: str):
    from sqlalchemy import create_engine

    return create_engine(url, pool_pre_ping=True)


def _scalar(engine, sql: str, **params):
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def _rows(engine, sql: str, **params):
    from sqlalchemy import text

    with engine.connect() as connection:
        return connection.execute(text(sql), params).all()


def wait_for(predicate, timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001  (the database coming back)
            pass
        time.sleep(interval)
    return False


def fault_database(args, cluster: Cluster, portal: Gunicorn, crowd: Crowd, fake: FakeOutside, engine,
                   report: Report) -> None:
    name = "PostgreSQL down"
    pids_before = sorted(portal.worker_pids())
    # Citizens who have filled the wizard (their drafts saved) when the server goes, beside the crowd.
    held = []
    for _ in range(args.held):
        person = crowd.next_citizen()
        journey = FaultJourney(RecordingSession(crowd.record), portal.url,
                               Citizen(person["iin"], person["password"]), think=(0, 0), sms_timeout=150,
                               history_polls=0)
        journey.fake = fake
        journey.log_in()
        held.append((journey, journey.fill_wizard()))
    iins = [journey.citizen.iin for journey, _ in held]
    drafts = "SELECT iin, CAST(answers AS TEXT) FROM application_drafts WHERE iin = ANY(:iins)"
    before = dict(_rows(engine, drafts, iins=iins))
    engine.dispose()
    down_at = time.time()
    cluster.stop()
    time.sleep(min(2.0, args.pg_down))
    check = f"/{LANG}/services/{SERVICE}/apply/check"
    told = [journey.client.get(portal.url + check, timeout=30) for journey, _ in held]
    time.sleep(max(0.0, args.pg_down - (time.time() - down_at)))
    cluster.start()
    up_at = time.time()
    print(f"  PostgreSQL was down {up_at - down_at:.1f} s", flush=True)

    after = dict(_rows(engine, drafts, iins=iins))
    sent = []
    for journey, check_html in held:
        try:
            challenge = journey.ask_for_sms_password(check_html)
            sent.append(journey.enter_password(challenge, journey.wait_for_code(challenge)))
        except Exception as error:  # noqa: BLE001  (reported below)
            sent.append(f"failed: {str(error)[:120]}")
    recovered = crowd.wait_completions(args.recovered, since=up_at + 1, timeout=args.recovery_timeout)
    with crowd.lock:
        during = [r for r in crowd.responses if down_at <= r[0] <= up_at + 1]
        all_500 = [r for r in crowd.responses if r[1] == 500]
    shown = sum(1 for r in during if r[1] == 503 and r[3])
    bare_503 = sum(1 for r in during if r[1] == 503 and not r[3])
    other_5xx = sum(1 for r in during if r[1] >= 500 and r[1] != 503)
    report.check(name, "citizens got the translated 503 page",
                 shown > 0 and bare_503 == 0 and other_5xx == 0
                 and all(r.status_code == 503 and UNAVAILABLE in r.text for r in told),
                 f"{shown} translated 503 pages while down, {bare_503} 503 without it, {other_5xx} other 5xx")
    report.check(name, "never a 500", not all_500, f"{len(all_500)} 500s in the whole run so far")
    unchanged = [iin for iin in iins if iin in before and after.get(iin) == before[iin]]
    numbers = [n for n in sent if not n.startswith("failed")]
    report.check(name, "drafts saved before the outage unchanged", len(unchanged) == len(iins) == len(numbers),
                 f"{len(unchanged)}/{len(iins)} drafts filled before the stop unchanged after it; "
                 f"then sent as {', '.join(sent)}")
    pids_after = sorted(portal.worker_pids())
    report.check(name, "recovers without a restart (same gunicorn pids)",
                 recovered >= args.recovered and pids_after == pids_before,
                 f"{recovered} crowd journeys completed after PostgreSQL came back; "
                 f"workers {pids_before} -> {pids_after}")


def fault_gateway(args, fake: FakeOutside, crowd: Crowd, engine, report: Report) -> None:
    name = "SMS gateway failing"
    started = time.time()
    fake.mode = "fail"

    def refused_keys() -> int:
        with fake.lock:
            return len({key for at, kind, key in fake.posts if kind == "sms" and at >= started})

    # Fail for at least half the time, and until a few citizens' SMS met it (journeys may all be mid-wizard).
    time.sleep(args.gateway_down / 2)
    wait_for(lambda: refused_keys() >= 3, timeout=120, interval=0.5)
    fake.mode = "timeout"
    time.sleep(args.gateway_down / 2)
    fake.mode = "ok"
    ended = time.time()
    print(f"  the gateway failed for {ended - started:.1f} s (HTTP 500, then timeouts); "
          f"{refused_keys()} SMS met it", flush=True)
    recovered = crowd.wait_completions(args.recovered, since=ended + fake.hang_seconds, timeout=args.recovery_timeout)
    # What the password pages said while the gateway failed (and the retries after it ran out).
    sightings = [kind for at, kind in list(crowd.sightings) if started <= at <= ended + 60]
    told_failed, told_retrying = sightings.count("failed"), sightings.count("retrying")
    retried_sent = _scalar(engine, "SELECT count(*) FROM sms_messages WHERE status = 'sent' AND attempts > 1 "
                                   "AND created_at >= to_timestamp(:t)", t=started - 30)
    failed = _scalar(engine, "SELECT count(*) FROM sms_messages WHERE status = 'failed' "
                             "AND created_at >= to_timestamp(:t)", t=started - 30)
    report.check(name, "the citizen is told (password page)", told_failed + told_retrying > 0,
                 f"{told_retrying} password-page polls said 'we keep trying', {told_failed} 'could not send' "
                 f"({failed} SMS failed after every retry)")
    report.check(name, "sending is retried", retried_sent > 0,
                 f"{retried_sent} SMS sent on a second or later attempt")
    repeats = fake.repeats("sms", since=started - 30, until=time.time())
    report.check(name, "no SMS accepted twice (idempotency key)", repeats == 0,
                 f"{repeats} repeats of an accepted key; {recovered} journeys completed after it recovered")


def fault_worker(args, fake: FakeOutside, worker: Worker, crowd: Crowd, engine, report: Report) -> None:
    name = "worker SIGKILL mid-job"
    fake.mode = "slow"
    caught = wait_for(lambda: len(fake.in_flight) >= 1, timeout=90, interval=0.05)
    with fake.lock:
        in_flight = dict(fake.in_flight)
    killed_at = time.time()
    worker.kill()
    fake.mode = "ok"
    time.sleep(1)
    worker.start()
    if not caught:
        report.check(name, "a job in flight when killed", False, "no send was in flight within 90 s")
        return
    print(f"  killed the worker with {len(in_flight)} sends in flight: {sorted(k for k, _ in in_flight)}", flush=True)

    def nothing_left():
        sending = _scalar(engine, "SELECT count(*) FROM sms_messages WHERE status IN ('sending', 'queued')")
        undelivered = _scalar(engine, "SELECT count(*) FROM applications WHERE delivered_at IS NULL")
        return sending == 0 and undelivered == 0

    crowd_done_by = time.monotonic() + args.recovery_timeout
    settled = wait_for(nothing_left, timeout=STALE_SECONDS + 60 + 30)
    sms_keys = [key for kind, key in in_flight if kind == "sms"]
    statuses = dict(_rows(engine, "SELECT public_id, status FROM sms_messages WHERE public_id = ANY(:keys)",
                          keys=sms_keys)) if sms_keys else {}
    at_phone = [key for key in sms_keys if key in fake.phone]
    report.check(name, "the lost jobs ran again (sweep)", settled and all(s == "sent" for s in statuses.values()),
                 f"{len(in_flight)} in flight at the kill; after: {statuses or 'no SMS among them'}; "
                 f"nothing left sending or undelivered: {settled}")
    repeats_sms = fake.repeats("sms", since=killed_at - 60)
    repeats_provider = fake.repeats("provider", since=killed_at - 60)
    report.check(name, "each SMS reached the phone once", len(at_phone) == len(sms_keys),
                 f"{len(at_phone)}/{len(sms_keys)} in-flight SMS on the phone once; {repeats_sms} SMS and "
                 f"{repeats_provider} hand-overs re-sent with the same idempotency key (dropped as duplicates)")
    duplicates = _scalar(engine, "SELECT count(*) FROM (SELECT public_id FROM sms_messages GROUP BY public_id "
                                 "HAVING count(*) > 1) d")
    per_code = _scalar(engine, "SELECT count(*) FROM (SELECT message_id FROM one_time_codes WHERE message_id IS NOT NULL "
                               "GROUP BY message_id HAVING count(*) > 1) d")
    report.check(name, "no duplicate message or hand-over row", duplicates == 0 and per_code == 0,
                 f"{duplicates} duplicated outbox keys, {per_code} codes sharing a message")
    crowd.wait_completions(args.recovered, since=killed_at + 1, timeout=max(1, crowd_done_by - time.monotonic()))


def fault_upload(args, portal: Gunicorn, citizen: dict, engine, report: Report, max_bytes: int) -> None:
    name = "oversized upload"
    outcome: dict = {}

    def on_step(step, seconds, error):
        if outcome or error or not step.startswith("wizard: ") or step.endswith("(answer)"):
            return
        path = journey.last_get
        draft_before = _scalar(engine, "SELECT CAST(answers AS TEXT) FROM application_drafts WHERE iin = :iin",
                               iin=citizen["iin"])
        page = journey.client.get(portal.url + path)
        token = Journey.token(step, page.text)
        too_big = b"%PDF-1.4\n" + os.urandom(max_bytes + 1024 * 1024)
        response = journey.client.post(portal.url + path, data={"csrf_token": token, "action": "continue"},
                                       files={"upload": ("scan.pdf", too_big, "application/pdf")},
                                       allow_redirects=False, timeout=60)
        outcome.update(
            status=response.status_code, page=TOO_LARGE in response.text, step=path,
            kept=_scalar(engine, "SELECT CAST(answers AS TEXT) FROM application_drafts WHERE iin = :iin",
                         iin=citizen["iin"]) == draft_before and draft_before is not None,
        )

    class Watching(RecordingSession):
        def request(self, method, url, *a, **kw):
            if method == "GET":
                journey.last_get = url.replace(portal.url, "").split("?")[0]
            return super().request(method, url, *a, **kw)

    journey = FaultJourney(Watching(lambda response: None), portal.url,
                           Citizen(citizen["iin"], citizen["password"]), think=(0, 0), on_step=on_step,
                           sms_timeout=150, history_polls=0)
    journey.fake = FAKE
    try:
        number = journey.run()
        error = None
    except Exception as failure:  # noqa: BLE001
        number, error = None, str(failure)[:200]
    report.check(name, "translated 413 page", outcome.get("status") == 413 and outcome.get("page"),
                 f"{max_bytes + 1024 * 1024} bytes to {outcome.get('step')}: HTTP {outcome.get('status')}")
    report.check(name, "draft kept, the citizen goes on", outcome.get("kept") and number is not None,
                 f"draft unchanged: {outcome.get('kept')}; the application then sent as {number or error}")


def final_checks(engine, fake: FakeOutside, crowd: Crowd, report: Report) -> None:
    name = "whole run"
    half = _scalar(engine, """
        SELECT count(*) FROM applications a
        WHERE a.number IS NULL OR a.signed_xml IS NULL OR length(a.signed_xml) = 0
           OR NOT EXISTS (SELECT 1 FROM application_events e WHERE e.application_id = a.id)""")
    total = _scalar(engine, "SELECT count(*) FROM applications")
    report.check("PostgreSQL down", "no half-written application", half == 0,
                 f"{total} applications, {half} without number, signed XML or events")
    with crowd.lock:
        numbers = [o.number for o in crowd.outcomes if o.number]
        failed = [o for o in crowd.outcomes if o.error]
        five_hundreds = sum(1 for r in crowd.responses if r[1] == 500)
        requests_made = len(crowd.responses)
    stored = {row[0] for row in _rows(engine, "SELECT number FROM applications")}
    missing = [n for n in numbers if n not in stored]
    report.check(name, "every confirmed application is stored", not missing,
                 f"{len(numbers)} journeys completed, {len(failed)} ended by a fault, {len(missing)} confirmed but missing")
    report.check(name, "never a 500", five_hundreds == 0, f"{five_hundreds} of {requests_made} requests")
    undelivered = _scalar(engine, "SELECT count(*) FROM applications WHERE delivered_at IS NULL")
    delivered_keys = {key for (kind, key), count in fake.accepted.items() if kind == "provider" and count}
    report.check(name, "every application handed over", undelivered == 0 and stored <= delivered_keys | {None},
                 f"{undelivered} not delivered; the provider has {len(delivered_keys)} of {len(stored)}")


FAKE: FakeOutside = None  # the run's fake gateway (for the upload journey)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=24, help="journeys at once (24)")
    parser.add_argument("--think", default="0.5,1.5", help="seconds between pages, LOW,HIGH (0.5,1.5)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--warmup", type=int, default=8, help="journeys completed before the first fault (8)")
    parser.add_argument("--recovered", type=int, default=3, help="journeys that must complete after each fault (3)")
    parser.add_argument("--recovery-timeout", type=float, default=150, help="seconds to wait for them (150)")
    parser.add_argument("--held", type=int, default=3, help="citizens with a filled draft when PostgreSQL stops (3)")
    parser.add_argument("--pg-down", type=float, default=15, help="seconds PostgreSQL stays down (15)")
    parser.add_argument("--gateway-down", type=float, default=24, help="seconds the SMS gateway fails (24)")
    parser.add_argument("--only", default="db,sms,worker,upload", help="which faults, comma-separated")
    parser.add_argument("--workdir", help="logs and the PostgreSQL cluster go here (a temp dir, removed after)")
    parser.add_argument("--json", dest="json_path", help="also write the checks as JSON here")
    args = parser.parse_args(argv)
    low, _, high = args.think.partition(",")
    args.think_range = (float(low), float(high or low))
    args.faults = {name.strip() for name in args.only.split(",") if name.strip()}
    return args


def main(argv=None) -> int:
    global FAKE
    args = parse_args(argv)
    keep = bool(args.workdir)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="qyzmet-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = Report()
    started = time.monotonic()
    # The server runs as the postgres user when this runs as root: it must reach its directory.
    workdir.chmod(0o755)
    (workdir / "pg").mkdir(exist_ok=True)
    cluster = Cluster(workdir / "pg")
    FAKE = fake = FakeOutside()
    server = fake.serve(FAKE_PORT)
    citizens_count = args.users * 12 + 20
    env = portal_environment(
        database_url=cluster.url, pki_dir=workdir / "pki", redis_url=REDIS_URL,
        SANDBOX_PKI_URL=f"http://127.0.0.1:{PORT}/sandbox/pki",
        SANDBOX_SYNTHETIC_CITIZENS=str(citizens_count), QYZMET_TODAY="2026-11-23",
        SMS_GATEWAY="http", SMS_GATEWAY_URL=f"http://127.0.0.1:{FAKE_PORT}/sms",
        PROVIDER_GATEWAY="http", PROVIDER_URL=f"http://127.0.0.1:{FAKE_PORT}/provider",
        JOBS_STALE_SECONDS=str(STALE_SECONDS), DATABASE_CONNECT_TIMEOUT="3",
        **RATE_LIMITS,
    )
    portal = Gunicorn(PORT, env, workers=args.workers, log_path=workdir / "gunicorn.log")
    worker = Worker(env, workdir / "worker.log")
    crowd = None
    engine = None
    try:
        print(f"Setting up in {workdir}: PostgreSQL on {PG_PORT}, Redis DB 4, portal on {PORT}, fakes on {FAKE_PORT}",
              flush=True)
        cluster.init()
        reset_redis(REDIS_URL)
        prepare_database(env)
        flask(env, "sandbox", "load-synthetic")
        from webapp.registries.sandbox import SandboxRegistries
        from webapp.sandbox.synthetic import WithSyntheticCitizens

        people = [{"iin": p.iin, "password": pw, "phone": ph}
                  for p, pw, ph in WithSyntheticCitizens(SandboxRegistries(), citizens_count).synthetic_citizens()]
        upload_citizen, people = people[0], people[1:]
        engine = _db(cluster.url)
        portal.start()
        worker.start()
        crowd = Crowd(portal.url, people[::-1], fake, args.users, args.think_range)
        crowd.start()
        print(f"{args.users} citizens' journeys running; waiting for {args.warmup} to complete", flush=True)
        crowd.wait_completions(args.warmup, since=0, timeout=240)

        if "db" in args.faults:
            print("Fault 1: PostgreSQL stopped and started again", flush=True)
            fault_database(args, cluster, portal, crowd, fake, engine, report)
        if "sms" in args.faults:
            print("Fault 2: the SMS gateway failing", flush=True)
            fault_gateway(args, fake, crowd, engine, report)
        if "worker" in args.faults:
            print("Fault 3: the worker SIGKILLed mid-job", flush=True)
            fault_worker(args, fake, worker, crowd, engine, report)
        if "upload" in args.faults:
            print("Fault 4: an upload over the limit", flush=True)
            fault_upload(args, portal, upload_citizen, engine, report, max_bytes=12 * 1024 * 1024)
        report.check("signing agent absent", "guidance, nothing lost (browser)", True,
                     "not run here: tests/browser/test_eds_in_browser.py::test_without_the_agent_the_page_says_what_to_do")
        crowd.stop()
        wait_for(lambda: _scalar(engine, "SELECT count(*) FROM applications WHERE delivered_at IS NULL") == 0,
                 timeout=STALE_SECONDS + 90)
        final_checks(engine, fake, crowd, report)
    except KeyboardInterrupt:
        report.check("run", "finished", False, "interrupted")
    finally:
        if crowd:
            crowd.stopping.set()
        portal.stop()
        worker.stop()
        if engine is not None:
            engine.dispose()
        cluster.destroy()
        server.shutdown()
        server.server_close()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)

    with_outcomes = crowd.outcomes if crowd else []
    summary = {
        "users": args.users, "seconds": round(time.monotonic() - started, 1),
        "journeys_completed": sum(1 for o in with_outcomes if o.number),
        "journeys_ended_by_a_fault": sum(1 for o in with_outcomes if o.error),
        "requests": len(crowd.responses) if crowd else 0,
        "statuses": _count(r[1] for r in crowd.responses) if crowd else {},
        "sms_posts": sum(1 for _, kind, _ in fake.posts if kind == "sms"),
        "provider_posts": sum(1 for _, kind, _ in fake.posts if kind == "provider"),
        "journey_failures_by_step": _count(o.error.split(":")[0] for o in with_outcomes if o.error),
        "ok": report.ok, "checks": report.rows,
        "journeys": [vars(o) for o in with_outcomes],
    }
    print()
    print(f"Faults during load: {summary['users']} journeys at once, {summary['seconds']:.0f} s; "
          f"{summary['journeys_completed']} journeys completed, {summary['journeys_ended_by_a_fault']} ended by a fault; "
          f"{summary['requests']} requests, statuses {summary['statuses']}")
    print(f"Journeys ended by a fault, by step: {summary['journey_failures_by_step']}")
    print(report.table())
    print("ALL CHECKS PASSED" if report.ok else "*** SOME CHECKS FAILED")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return 0 if report.ok else 1


def _count(values) -> dict:
    counts: dict = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return dict(sorted(counts.items()))


if __name__ == "__main__":
    sys.exit(main())
