"""The scale test: two gunicorn instances behind nginx, one killed mid-run.

    make scale                                   # the full run (~2 minutes of load)
    make scale SCALE_ARGS='--quick'              # a smoke run (~45 s of load)
    .venv/bin/python -m bench.scale --citizens 40 --duration 120 --json scale.json

Everything runs on loopback, as an operator would run it, with no test client:

- PostgreSQL (database `qyzmet_scale`, emptied first) and Redis (db 5, emptied
  first), shared by every process: sessions, rate limits and the Huey queue
  live in Redis, so any instance can serve any citizen;
- two gunicorn instances of `webapp:create_app()` (`bench.serve.Gunicorn`, with
  deploy/gunicorn.conf.py when it exists) on 8301 and 8302, and one Huey
  worker (`flask --app webapp jobs worker`) sending the SMS and handing the
  applications to the sandbox provider;
- Debian's nginx with deploy/nginx.conf filled in (`upstream` of the two
  instances), its pid, logs and temporary files in a temporary directory:
  nothing under /etc/nginx or /var is written.

The sandbox configuration, not production: the journey reads the one-time
passwords from the sandbox SMS outbox (/sandbox/sms.json) and the sandbox
provider takes the applications; production would need an SMS gateway and a
provider to talk to, and TLS in front (Secure cookies). Everything the test is
about (statelessness of the instances, the balancer, idempotent submission, the
queue) is the same code in both.

Citizens (threads, each its own requests.Session and its own test citizen)
log in once through nginx and then do whole journeys (bench/load/journey.py:
the child-care wizard, an SMS password, the confirmation, History of
Services) until the time is up, keeping History of Services open (its
background poll) while the portal's 60 s pause between two SMS passwords
runs out. At --kill-at seconds (at the first moment within 5 s when citizens
have at least two forms under way) instance A gets SIGKILL (master and
workers at once); --down seconds later it is started again. A citizen who sees an error
(a 502 from nginx for a request that died with A, a refused connection) does
what a person does: tries the same request again (a browser's resubmit). The
application's idempotency has to make that safe.

The checks (a non-zero exit when any fails):

- no lost application: every registration number a citizen was shown exists
  exactly once in the database, for that citizen; every application in the
  database was shown to a citizen; per citizen, as many applications as
  confirmations;
- no duplicate SMS: every one-time code has its own message, every message was
  handed to the gateway once (attempts = 1) and sent; every application was
  handed to the provider;
- sessions survive the loss of an instance: citizens who logged in directly
  on instance A before the kill are still logged in through nginx and on B
  while A is dead, and no journey citizen was sent back to the login page;
- every citizen's journeys finished, errors included (after their retries);
- nginx spread the load over both instances and A took requests again after
  its restart.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bench.serve import (
    BIN, REPO_ROOT, Gunicorn, ensure_postgresql, flask, portal_environment, prepare_database, reset_postgresql,
    wait_for_queue,
)

DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qyzmet_scale"
REDIS_URL = "redis://127.0.0.1:6379/5"
NGINX_PORT = 8380
INSTANCE_PORTS = (8301, 8302)
NGINX_TEMPLATE = REPO_ROOT / "deploy" / "nginx.conf"
GUNICORN_CONF = REPO_ROOT / "deploy" / "gunicorn.conf.py"
LANG = "en"

# Statuses a citizen answers by trying again: nginx's "the instance died" (502),
# "none available" (503) and "it did not answer in time" (504).
RETRY_STATUSES = (502, 503, 504)


# ── nginx ────────────────────────────────────────────────────────────────────


def find_nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        raise SystemExit("nginx is not installed: run `make nginx` (Debian's nginx-light or nginx)")
    return found


def render_nginx_conf(template: str, values: dict[str, str]) -> str:
    """Fill in ${QYZMET_...} as envsubst with a list of names would; nginx's own $variables stay."""

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"deploy/nginx.conf names ${{{name}}}, which the runner does not fill in")
        return values[name]

    return re.sub(r"\$\{(QYZMET_[A-Z_]+)\}", substitute, template)


class Nginx:
    """Debian's nginx in the foreground, with a generated config and every path in state_dir."""

    def __init__(self, port: int, upstreams: list[str], state_dir: Path) -> None:
        self.port = port
        self.upstreams = upstreams
        self.state_dir = state_dir
        self.conf = state_dir / "nginx.conf"
        self.binary = find_nginx()
        self.process: subprocess.Popen | None = None
        self._stderr = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.state_dir / "access.log"

    def write_conf(self) -> None:
        # Worker processes run as an unprivileged user when the master is root: they
        # must be able to reach the temporary directories nginx makes here.
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir.chmod(0o755)
        servers = " ".join(f"server {u} max_fails=1 fail_timeout=5s;" for u in self.upstreams)
        self.conf.write_text(render_nginx_conf(NGINX_TEMPLATE.read_text(), {
            "QYZMET_LISTEN": f"127.0.0.1:{self.port}",
            "QYZMET_UPSTREAM_SERVERS": servers,
            "QYZMET_NGINX_STATE": str(self.state_dir),
        }))

    def _args(self) -> list[str]:
        # -e: the error log before the config is read, so /var/log/nginx is never opened.
        return [self.binary, "-c", str(self.conf), "-p", str(self.state_dir), "-e", str(self.state_dir / "error.log")]

    def start(self, timeout: float = 15) -> "Nginx":
        self.write_conf()
        test = subprocess.run([*self._args(), "-t", "-q"], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t refused the generated config:\n{test.stderr}")
        self._stderr = open(self.state_dir / "stderr.log", "ab")
        self.process = subprocess.Popen(
            [*self._args(), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: "
                                   f"{(self.state_dir / 'error.log').read_text()[-2000:]}")
            try:
                requests.get(self.url + "/healthz", timeout=2)
                return self
            except requests.RequestException:
                time.sleep(0.2)
        raise TimeoutError("nginx did not answer")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._stderr:
            self._stderr.close()
            self._stderr = None

    def upstream_counts(self, since: float = 0.0, until: float = float("inf")) -> dict:
        """Per upstream, requests and statuses from the JSON access log (a time window by epoch seconds)."""
        from datetime import datetime

        served: Counter = Counter()
        statuses: Counter = Counter()
        passed_on = 0
        for line in self.access_log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            at = datetime.fromisoformat(entry["time"]).timestamp()
            if not since <= at < until:
                continue
            statuses[entry["status"]] += 1
            tried = [u.strip() for u in entry["upstream"].split(",") if u.strip()]
            if len(tried) > 1:
                passed_on += 1  # proxy_next_upstream: the first instance failed, the next one answered
            if tried:
                served[tried[-1]] += 1
        return {"served_by": dict(served), "statuses": dict(statuses), "passed_to_next_upstream": passed_on}


class Worker:
    """`flask --app webapp jobs worker`: the Huey consumer."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "Worker":
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(BIN / "flask"), "--app", "webapp", "jobs", "worker"],
            env=self.env, cwd=REPO_ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # Huey's graceful stop
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log:
            self._log.close()
            self._log = None


# ── citizens ─────────────────────────────────────────────────────────────────


@dataclass
class Event:
    at: float  # seconds since the load began
    citizen: str
    method: str
    path: str
    outcome: str  # "502", "ConnectionError", "login redirect", ...
    retried_ok: bool = False


class Recorder:
    """What the citizens saw, shared by the threads."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.lock = threading.Lock()
        self.errors: list[Event] = []
        self.session_losses: list[Event] = []
        self.requests = 0
        self.posts_in_flight = 0
        self.step_seconds: dict[str, list[float]] = defaultdict(list)

    def now(self) -> float:
        return time.monotonic() - self.started

    def error(self, event: Event) -> Event:
        with self.lock:
            self.errors.append(event)
        return event

    def session_lost(self, event: Event) -> None:
        with self.lock:
            self.session_losses.append(event)

    def count(self) -> None:
        with self.lock:
            self.requests += 1

    @contextlib.contextmanager
    def posting(self, method: str):
        """Count POSTs under way, so the kill can land while some are."""
        if method != "POST":
            yield
            return
        with self.lock:
            self.posts_in_flight += 1
        try:
            yield
        finally:
            with self.lock:
                self.posts_in_flight -= 1

    def step(self, name: str, seconds: float, error: Exception | None) -> None:
        if error is None:
            with self.lock:
                self.step_seconds[name].append(seconds)


class SourceAddressAdapter(requests.adapters.HTTPAdapter):
    """Connections from one loopback address of 127.0.0.0/8: each citizen is a different client to nginx."""

    def __init__(self, source: str, **kwargs) -> None:
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kwargs)


def citizen_address(index: int) -> str:
    """127.1.0.1, 127.1.0.2, ...: Linux answers every 127/8 address on lo without configuration."""
    return f"127.1.{index // 250}.{index % 250 + 1}"


def new_session(address: str | None) -> requests.Session:
    session = requests.Session()
    if address:
        session.mount("http://", SourceAddressAdapter(address))
    return session


class CitizenClient:
    """A requests.Session as a person uses a browser: an error page or no answer is tried again.

    The same request, the same form (CSRF token, password) again: a browser's
    reload or "resubmit". nginx itself never replays a POST that reached an
    instance; this is the citizen deciding to. It also notices being sent
    back to the login page after logging in: a lost session.
    """

    def __init__(self, recorder: Recorder, iin: str, address: str | None = None, retries: int = 5,
                 pause: float = 1.0) -> None:
        self.session = new_session(address)
        self.recorder = recorder
        self.iin = iin
        self.retries = retries
        self.pause = pause
        self.logged_in = False

    def request(self, method: str, url: str, **kwargs):
        path = urlsplit(url).path
        failed: list[Event] = []
        for attempt in range(self.retries + 1):
            self.recorder.count()
            try:
                with self.recorder.posting(method):
                    response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as error:
                failed.append(self.recorder.error(Event(self.recorder.now(), self.iin, method, path, type(error).__name__)))
                if attempt == self.retries:
                    raise
                time.sleep(self.pause)
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                failed.append(self.recorder.error(Event(self.recorder.now(), self.iin, method, path, str(response.status_code))))
                time.sleep(self.pause)
                continue
            if response.status_code >= 500:
                self.recorder.error(Event(self.recorder.now(), self.iin, method, path, str(response.status_code)))
            if self.logged_in and response.status_code in (302, 303) and "/login" in response.headers.get("Location", ""):
                self.recorder.session_lost(Event(self.recorder.now(), self.iin, method, path, "login redirect"))
            if response.status_code < 500:
                for event in failed:
                    event.retried_ok = True
            return response
        raise AssertionError("unreachable")


_COOL_DOWN = re.compile(r"You can ask for a new one in (\d+) second")


def scale_journey_class():
    """The load journey, with one more thing a person does: when the answer to "send me a password"
    was lost (the instance died after sending it), asking again is refused for the portal's pause
    between two passwords; the citizen waits it out and asks again."""
    from bench.load.journey import Journey

    class ScaleJourney(Journey):
        cool_downs = 0

        def request(self, step, method, path, **kwargs):
            response = super().request(step, method, path, **kwargs)
            for _ in range(2):
                found = _COOL_DOWN.search(response.text) if step == "SMS: ask for a password" and response.status_code == 200 else None
                if not found:
                    break
                self.cool_downs += 1
                self.sleep(int(found.group(1)) + 1)
                response = super().request(step, method, path, **kwargs)
            return response

    return ScaleJourney


def citizen_journeys(journey_class, base_url: str, citizen, address: str | None, recorder: Recorder,
                     deadline: float, think: tuple[float, float], results: dict, resend_pause: float) -> None:
    """One citizen: log in once, then whole journeys until the deadline."""
    from bench.load.journey import JourneyError

    client = CitizenClient(recorder, citizen.iin, address)
    mine = results.setdefault(citizen.iin, {"numbers": [], "failures": [], "code_requests": 0, "logins": 0,
                                            "cool_down_waits": 0})
    journey = journey_class(client, base_url, citizen, think=think, on_step=recorder.step, history_polls=0)
    last_code = -resend_pause
    while time.monotonic() < deadline:
        try:
            if not client.logged_in:
                journey.log_in()
                client.logged_in = True
                mine["logins"] += 1
            # The portal allows one SMS password a minute per citizen: keep History of
            # Services open meanwhile, as a person waiting would (its background poll).
            while time.monotonic() < last_code + resend_pause and time.monotonic() < deadline:
                if mine["numbers"]:
                    journey.follow_in_history(mine["numbers"][-1])
                time.sleep(min(10.0, max(0.0, last_code + resend_pause - time.monotonic())))
            if time.monotonic() >= deadline:
                break
            check = journey.fill_wizard()
            journey.pause()
            mine["code_requests"] += 1
            challenge = journey.ask_for_sms_password(check)
            last_code = time.monotonic()
            code = journey.wait_for_code(challenge)
            journey.pause()
            number = journey.enter_password(challenge, code)
            mine["numbers"].append(number)
            journey.follow_in_history(number)
        except JourneyError as error:
            mine["failures"].append({"at": round(recorder.now(), 1), "step": error.step, "error": str(error)[:300]})
            time.sleep(2)
        finally:
            mine["cool_down_waits"] = journey.cool_downs


# ── the lost answer, on purpose ─────────────────────────────────────────────


def replay_submission(journey_class, a_url: str, b_url: str, citizen, address: str | None, recorder: Recorder) -> dict:
    """The case the kill may or may not hit, made certain: the password POST reaches A, which
    stores the application, and its answer is lost; the citizen sends the same form again and B
    answers. One application must come of it, the same registration number on both answers."""
    client = CitizenClient(recorder, citizen.iin, address)
    answers: list[str] = []

    class Replaying(journey_class):
        def request(self, step, method, path, **kwargs):
            if step != "SMS: enter the password":
                return super().request(step, method, path, **kwargs)
            first = super().request(step, method, path, **kwargs)  # on A; the citizen never sees it
            answers.append(first.headers.get("Location", str(first.status_code)))
            self.base_url = b_url
            again = super().request(step, method, path, **kwargs)  # the resubmit, on B
            answers.append(again.headers.get("Location", str(again.status_code)))
            return again

    journey = Replaying(client, a_url, citizen, think=(0, 0), history_polls=0)
    client.logged_in = False
    number = journey.run()
    return {"iin": citizen.iin, "number": number, "answers": answers}


# ── the session check ────────────────────────────────────────────────────────


def log_in_directly(base_url: str, iin: str, password: str, address: str | None) -> requests.Session:
    session = new_session(address)
    page = session.get(f"{base_url}/{LANG}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = session.post(f"{base_url}/{LANG}/login", data={"csrf_token": token, "iin": iin, "password": password},
                          allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"logging {iin} in on {base_url} answered {answer.status_code}")
    return session


def logged_in(session: requests.Session, base_url: str) -> bool:
    """The personal account answers 200 to a logged-in citizen, a redirect to the login page otherwise."""
    answer = session.get(f"{base_url}/{LANG}/account", allow_redirects=False, timeout=30)
    return answer.status_code == 200


# ── the run ──────────────────────────────────────────────────────────────────


def verify(engine, results: dict) -> tuple[dict, list[tuple[str, bool, str]]]:
    """Compare what the citizens were shown with what the database holds."""
    from sqlalchemy import inspect as sa_inspect, text

    checks: list[tuple[str, bool, str]] = []
    with engine.connect() as connection:
        apps = connection.execute(text(
            "SELECT number, iin, document_nonce, signed_with, delivered_at FROM applications")).all()
        has_attempts = "delivery_attempts" in {c["name"] for c in sa_inspect(connection).get_columns("applications")}
        deliveries = dict(connection.execute(text(
            "SELECT number, delivery_attempts FROM applications")).all()) if has_attempts else {}
        codes = connection.execute(text(
            "SELECT c.public_id, c.message_id, c.used_at IS NOT NULL FROM one_time_codes c "
            "WHERE c.purpose = 'sign-application'")).all()
        messages = connection.execute(text(
            "SELECT id, status, attempts FROM sms_messages WHERE purpose = 'sign-application'")).all()

    shown = [(iin, number) for iin, mine in results.items() for number in mine["numbers"]]
    shown_numbers = Counter(number for _, number in shown)
    in_db = Counter(row.number for row in apps)
    db_owner = {row.number: row.iin for row in apps}

    missing = [n for n in shown_numbers if in_db[n] != 1]
    wrong_owner = [n for iin, n in shown if db_owner.get(n) != iin]
    checks.append(("every confirmation shown exists once in the database, for its citizen",
                   not missing and not wrong_owner and bool(shown),
                   f"{len(shown)} shown; missing or doubled {missing[:5]}; wrong citizen {wrong_owner[:5]}"))
    orphans = [n for n in in_db if n not in shown_numbers]
    checks.append(("every application in the database was shown to its citizen", not orphans,
                   f"{len(apps)} in the database, {len(orphans)} never shown: {orphans[:5]}"))
    repeated = [n for n, c in shown_numbers.items() if c > 1]
    per_citizen_db = Counter(row.iin for row in apps)
    mismatched = {iin: (len(mine["numbers"]), per_citizen_db.get(iin, 0)) for iin, mine in results.items()
                  if len(set(mine["numbers"])) != per_citizen_db.get(iin, 0)}
    checks.append(("one application per journey (per citizen: applications = confirmations)",
                   not mismatched and not repeated,
                   f"mismatched citizens {dict(list(mismatched.items())[:5])}; a number shown twice {repeated[:5]}"))

    by_message = Counter(message_id for _, message_id, _ in codes)
    shared = [m for m, c in by_message.items() if m is not None and c > 1]
    without = sum(1 for _, m, _ in codes if m is None)
    resent = [m.id for m in messages if m.attempts != 1]
    unsent = [m.id for m in messages if m.status != "sent"]
    checks.append(("no duplicate SMS: one message a code, each handed to the gateway once and sent",
                   not shared and not without and not resent and not unsent and len(messages) == len(codes),
                   f"{len(codes)} codes, {len(messages)} messages; shared {shared[:5]}, without a message {without}, "
                   f"attempts != 1 {resent[:5]}, not sent {unsent[:5]}"))
    code_requests = sum(mine["code_requests"] for mine in results.values())
    undelivered = [row.number for row in apps if row.delivered_at is None]
    twice = [n for n, attempts in deliveries.items() if attempts and attempts > 1]
    checks.append(("every application handed to the provider" + (", in one attempt" if has_attempts else ""),
                   not undelivered and not twice,
                   f"undelivered {undelivered[:5]}; more than one attempt {twice[:5]}"))
    numbers = {
        "applications_in_database": len(apps),
        "confirmations_shown": len(shown),
        "code_requests_by_citizens": code_requests,
        "codes_issued": len(codes),
        "codes_used": sum(1 for *_, used in codes if used),
        "sign_sms_messages": len(messages),
    }
    return numbers, checks


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args) -> int:
    from sqlalchemy import create_engine

    Journey = scale_journey_class()

    work = Path(tempfile.mkdtemp(prefix="qyzmet-scale-"))
    report: dict = {"config": vars(args), "work_dir": str(work)}
    ensure_postgresql(args.database_url)
    reset_postgresql(args.database_url)
    import redis

    redis.Redis.from_url(args.redis_url).flushdb()  # only this run's db index: sessions, limits, queue

    # Each citizen connects from its own loopback address; with PROXY_COUNT=1 the portal reads
    # it from nginx's X-Forwarded-For, so the per-address limits stay at their production values.
    # A tree whose portal cannot trust a proxy sees everyone as nginx (127.0.0.1): there the
    # per-address limits are lifted instead, or the whole run would count as one person.
    from webapp.config import Config

    behind_proxy = hasattr(Config, "PROXY_COUNT")
    proxy_settings = ({"PROXY_COUNT": "1"} if behind_proxy else
                      {"LOGIN_LIMIT_PER_ADDRESS": "100000 per minute", "SMS_LIMIT_PER_ADDRESS": "100000 per hour"})
    report["portal_trusts_x_forwarded_for"] = behind_proxy
    env = portal_environment(
        database_url=args.database_url, pki_dir=work / "pki", redis_url=args.redis_url,
        QYZMET_TODAY="2026-11-23",
        HUEY_EMBEDDED_CONSUMER="0",  # the worker below consumes
        SANDBOX_PKI_URL=f"http://127.0.0.1:{args.port}/sandbox/pki",
        **proxy_settings,
        SANDBOX_SYNTHETIC_CITIZENS=str(args.citizens + 1),  # the last one: the replayed submission
    )
    print(f"Preparing {args.database_url.rsplit('/', 1)[1]} (migrations, sandbox citizens, sandbox CA) ...", flush=True)
    prepare_database(env)
    flask(env, "sandbox", "load-synthetic")

    extra = ("-c", str(GUNICORN_CONF)) if GUNICORN_CONF.exists() else ()
    a = Gunicorn(INSTANCE_PORTS[0], env, workers=args.workers, threads=args.threads, extra_args=extra,
                 log_path=work / "gunicorn-a.log")
    b = Gunicorn(INSTANCE_PORTS[1], env, workers=args.workers, threads=args.threads, extra_args=extra,
                 log_path=work / "gunicorn-b.log")
    worker = Worker(env, work / "worker.log")
    nginx = Nginx(args.port, [f"127.0.0.1:{p}" for p in INSTANCE_PORTS], work / "nginx")
    checks: list[tuple[str, bool, str]] = []
    try:
        a.start()
        b.start()
        worker.start()
        nginx.start()
        print(f"Two instances ({a.url}, {b.url}), one worker, nginx at {nginx.url}; state in {work}", flush=True)

        *citizens, replay_citizen = choose_citizens(args.citizens + 1)
        probes = choose_probes(nginx.url, args.probes, {c.iin for c in citizens})

        # Citizens who log in on instance A itself, before it dies.
        addresses = iter(citizen_address(i) if behind_proxy else None for i in range(len(citizens) + len(probes) + 1))
        probe_sessions = [(p["iin"], log_in_directly(a.url, p["iin"], p["password"], next(addresses))) for p in probes]
        probes_before = all(logged_in(s, a.url) for _, s in probe_sessions)
        replay = replay_submission(Journey, a.url, b.url, replay_citizen, next(addresses), Recorder(time.monotonic()))

        started = time.monotonic()
        recorder = Recorder(started)
        deadline = started + args.duration
        results: dict = {replay["iin"]: {"numbers": [replay["number"]], "failures": [], "code_requests": 1,
                                         "logins": 0, "cool_down_waits": 0}}
        threads = [
            threading.Thread(
                target=citizen_journeys,
                args=(Journey, nginx.url, citizen, next(addresses), recorder, deadline,
                      (args.think_min, args.think_max), results, args.resend_pause),
                daemon=True,
            )
            for citizen in citizens
        ]
        for index, thread in enumerate(threads):
            thread.start()
            time.sleep(min(0.2, args.ramp / max(1, len(threads))))  # a short ramp, not a stampede of logins
        print(f"{len(threads)} citizens started; A is killed at {args.kill_at:.0f} s", flush=True)

        time.sleep(max(0.0, started + args.kill_at - time.monotonic()))
        # The worst moment for an instance to die is with forms under way: wait (a few
        # seconds at most) until some POSTs are in flight, about half of them on A.
        settle = time.monotonic() + 5
        while recorder.posts_in_flight < 2 and time.monotonic() < settle:
            time.sleep(0.01)
        posts_at_kill = recorder.posts_in_flight
        killed_at = recorder.now()
        wall_killed = time.time()
        a.kill()
        print(f"SIGKILL to instance A at {killed_at:.1f} s", flush=True)
        time.sleep(1)
        # While A is dead: the citizens who logged in on A are still logged in, through nginx and on B.
        a_dead = not port_answers(a.url)
        probes_via_nginx = [logged_in(s, nginx.url) for _, s in probe_sessions]
        probes_via_b = [logged_in(s, b.url) for _, s in probe_sessions]
        time.sleep(max(0.0, started + args.kill_at + args.down - time.monotonic()))
        a.start()
        restarted_at = recorder.now()
        wall_restarted = time.time()
        print(f"Instance A serving again at {restarted_at:.1f} s", flush=True)

        for thread in threads:
            thread.join(timeout=max(1.0, deadline - time.monotonic()) + args.finish_timeout)
        ended_at = recorder.now()
        stuck = sum(1 for t in threads if t.is_alive())
        print(f"Load over at {ended_at:.1f} s; waiting for the worker to finish the queue ...", flush=True)
        engine = create_engine(args.database_url)
        queue = wait_for_queue(engine, 60)
        numbers, db_checks = verify(engine, results)
        engine.dispose()

        during = [e for e in recorder.errors if killed_at - 1 <= e.at <= restarted_at + 10]
        failures = [dict(f, iin=iin) for iin, mine in results.items() for f in mine["failures"]]
        logins = sum(mine["logins"] for mine in results.values())
        traffic_before = nginx.upstream_counts(until=wall_killed)
        traffic_after = nginx.upstream_counts(since=wall_restarted + 1)
        traffic_all = nginx.upstream_counts()

        checks.extend(db_checks)
        replayed_once = len(set(replay["answers"])) == 1 and replay["answers"][0].endswith(f"/{replay['number']}/sent")
        checks.append(("the same password form sent to A and again to B: one application, the same number",
                       replayed_once, f"answers {replay['answers']}; the database check above counts its applications"))
        checks.append(("sessions survive: citizens logged in on A are logged in via nginx and on B while A is dead",
                       probes_before and a_dead and all(probes_via_nginx) and all(probes_via_b) and bool(probe_sessions),
                       f"A dead: {a_dead}; {sum(probes_via_nginx)}/{len(probe_sessions)} via nginx, "
                       f"{sum(probes_via_b)}/{len(probe_sessions)} on B"))
        checks.append(("no journey citizen was sent back to the login page",
                       not recorder.session_losses and logins == len(citizens),
                       f"{len(recorder.session_losses)} login redirects; {logins} logins for {len(citizens)} citizens"))
        checks.append(("every journey finished (after the citizens' own retries)",
                       not failures and not stuck and numbers["confirmations_shown"] > 0,
                       f"{len(failures)} failed journeys, {stuck} citizens still busy; first: {failures[:2]}"))
        a_addr = f"127.0.0.1:{INSTANCE_PORTS[0]}"
        b_addr = f"127.0.0.1:{INSTANCE_PORTS[1]}"
        checks.append(("nginx spread the load over both instances, and over A again after its restart",
                       traffic_before["served_by"].get(a_addr, 0) > 0 and traffic_before["served_by"].get(b_addr, 0) > 0
                       and traffic_after["served_by"].get(a_addr, 0) > 0,
                       f"before the kill {traffic_before['served_by']}; after the restart {traffic_after['served_by']}"))
        ids_found, ids_total = request_ids_in_logs(nginx, [a.log_path, b.log_path])
        checks.append(("nginx's request ids are in the instances' logs (X-Request-ID)",
                       ids_total > 0 and ids_found >= 0.95 * ids_total,
                       f"{ids_found} of {ids_total} requests answered by an instance"))
        checks.append(("the queue drained", queue["pending_sms"] == 0 and queue["undelivered_applications"] == 0,
                       json.dumps(queue)))

        all_steps = [s for values in recorder.step_seconds.values() for s in values]
        report.update({
            "citizens": len(citizens),
            "duration_s": round(ended_at, 1),
            "killed_at_s": round(killed_at, 1),
            "posts_in_flight_at_kill": posts_at_kill,
            "restarted_at_s": round(restarted_at, 1),
            "requests": recorder.requests,
            "journeys_completed": numbers["confirmations_shown"],
            "journeys_failed": len(failures),
            "logins": logins,
            "replayed_submission": replay,
            **numbers,
            "errors_seen_by_citizens": len(recorder.errors),
            "errors_during_kill_window": len(during),
            "errors_retried_ok": sum(1 for e in recorder.errors if e.retried_ok),
            "cool_down_waits": sum(mine["cool_down_waits"] for mine in results.values()),
            "errors": [e.__dict__ for e in recorder.errors[:50]],
            "session_losses": [e.__dict__ for e in recorder.session_losses[:20]],
            "failures": failures[:20],
            "nginx": {"all": traffic_all, "before_kill": traffic_before, "after_restart": traffic_after},
            "step_p50_ms": round(percentile(all_steps, 0.5) * 1000),
            "step_p95_ms": round(percentile(all_steps, 0.95) * 1000),
            "queue_after": queue,
            "checks": [{"check": name, "ok": ok, "detail": detail} for name, ok, detail in checks],
        })
    finally:
        nginx.stop()
        worker.stop()
        a.stop()
        b.stop()

    print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        print(f"JSON: {args.json}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if checks and all(ok for _, ok, _ in checks) else 1


def request_ids_in_logs(nginx: Nginx, logs: list[Path]) -> tuple[int, int]:
    """How many of the requests an instance answered carry nginx's $request_id in an instance's log."""
    text = "".join(path.read_text(errors="replace") for path in logs if path and path.exists())
    ids = []
    for line in nginx.access_log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        # Probes are not logged by the portal; a 502 never reached a live instance.
        if entry["upstream_status"].split(",")[-1].strip().isdigit() and int(entry["status"]) < 500 \
                and not entry["uri"].startswith(("/healthz", "/readyz", "/metrics")):
            ids.append(entry["request_id"])
    return sum(1 for request_id in ids if request_id in text), len(ids)


def port_answers(url: str) -> bool:
    try:
        requests.get(url + "/healthz", timeout=2)
        return True
    except requests.RequestException:
        return False


def _sandbox_citizens(base_url: str) -> list[dict]:
    return requests.get(f"{base_url}/sandbox/citizens.json", timeout=60).json()


def choose_citizens(count: int):
    """The generated test citizens (webapp/sandbox/synthetic.py): each can apply for child care
    online and has a phone; the same N every portal process adds with SANDBOX_SYNTHETIC_CITIZENS=N."""
    from bench.load.journey import Citizen
    from webapp.registries.sandbox import SandboxRegistries
    from webapp.sandbox.synthetic import WithSyntheticCitizens

    generated = WithSyntheticCitizens(SandboxRegistries(), count).synthetic_citizens()
    return [Citizen(person.iin, password, phone) for person, password, phone in generated]


def choose_probes(base_url: str, count: int, busy: set[str]) -> list[dict]:
    """Citizens who only log in (on A) for the session check: not among the journeys' citizens."""
    listed = [c for c in _sandbox_citizens(base_url) if c.get("password") and c["iin"] not in busy]
    return listed[:count]


def print_table(report: dict) -> None:
    rows = [
        ("citizens (threads)", report.get("citizens")),
        ("load duration, s", report.get("duration_s")),
        ("instance A killed at, s (POSTs in flight then)", f"{report.get('killed_at_s')} ({report.get('posts_in_flight_at_kill')})"),
        ("instance A serving again at, s", report.get("restarted_at_s")),
        ("requests by citizens", report.get("requests")),
        ("journeys completed (confirmations shown)", report.get("journeys_completed")),
        ("journeys failed", report.get("journeys_failed")),
        ("applications in the database", report.get("applications_in_database")),
        ("SMS password requests / codes issued / SMS", "{} / {} / {}".format(
            report.get("code_requests_by_citizens"), report.get("codes_issued"), report.get("sign_sms_messages"))),
        ("errors seen by citizens (all / around the kill)", "{} / {}".format(
            report.get("errors_seen_by_citizens"), report.get("errors_during_kill_window"))),
        ("... of which the citizen's retry succeeded", report.get("errors_retried_ok")),
        ("citizens who waited out the SMS pause after a lost answer", report.get("cool_down_waits")),
        ("requests nginx passed to the other instance", (report.get("nginx") or {}).get("all", {}).get("passed_to_next_upstream")),
        ("step time p50 / p95, ms", f"{report.get('step_p50_ms')} / {report.get('step_p95_ms')}"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print()
    for check in report.get("checks", []):
        print(f"  [{'ok' if check['ok'] else 'FAIL'}] {check['check']}")
        print(f"         {check['detail']}")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=40, help="concurrent citizens (threads), default 40")
    parser.add_argument("--duration", type=float, default=120, help="seconds of load, default 120")
    parser.add_argument("--kill-at", type=float, default=None, help="seconds into the load to kill A (default: 40%%)")
    parser.add_argument("--down", type=float, default=10, help="seconds A stays dead, default 10")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 12 citizens, 45 s")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance, default 2")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker, default 4")
    parser.add_argument("--think-min", type=float, default=0.5)
    parser.add_argument("--think-max", type=float, default=2.0)
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which the citizens start")
    parser.add_argument("--resend-pause", type=float, default=61.0,
                        help="seconds a citizen waits between two SMS passwords (the portal's OTP_RESEND_SECONDS + 1)")
    parser.add_argument("--probes", type=int, default=5, help="citizens logged in on A for the session check")
    parser.add_argument("--finish-timeout", type=float, default=90,
                        help="seconds a journey under way may take after the load's end")
    parser.add_argument("--port", type=int, default=NGINX_PORT, help="nginx's port, default 8380")
    parser.add_argument("--database-url", default=DATABASE_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--json", metavar="PATH", help="write the report as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, nginx.conf)")
    args = parser.parse_args(argv)
    if args.quick:
        args.citizens = min(args.citizens, 12)
        args.duration = min(args.duration, 45)
        args.down = min(args.down, 5)
    if args.kill_at is None:
        args.kill_at = args.duration * 0.4
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
