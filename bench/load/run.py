"""The load run as a reusable piece: PostgreSQL + gunicorn + one Huey worker + headless locust.

    from bench.load.run import LoadRun

    with LoadRun(users=200, seconds=300) as run:   # prepares the database, starts everything
        ...                                        # run.portal (bench.serve.Gunicorn), run.worker (Worker),
        run.wait()                                 # run.env, run.locust (Popen); inject faults meanwhile
    result = run.result()                          # locust's numbers + the database counted against them
    print(result["ok"], result["checks"])

`python -m bench.load` (bench/load/__main__.py) is this with a printed report.
Everything listens on 127.0.0.1 only; the run is bounded by `seconds` plus
`stop_timeout` (journeys in flight may finish) plus `settle_timeout` (the
worker finishes sending SMS and handing applications over).

Rate limits: all citizens come from 127.0.0.1, so the per-address SMS limit
(SMS_LIMIT_PER_ADDRESS, 30 an hour by default) is raised through the
environment for the run; the per-citizen limits and rules stay as they are
(each journey is a different generated citizen, see webapp/sandbox/synthetic.py).
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

from bench.serve import (
    BIN, REPO_ROOT, Gunicorn, ensure_postgresql, flask, portal_environment, prepare_database, reset_postgresql,
    wait_for_queue,
)

DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/qyzmet_load"
REDIS_URL = "redis://127.0.0.1:6379/3"
PORT = 8200
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
JOURNEY_PAUSES = 15  # think-time pauses in one journey (bench/load/journey.py; the history poll counts as one), for sizing the citizens
# What the run raises, and why: every simulated citizen shares the address 127.0.0.1.
RATE_LIMITS = {"SMS_LIMIT_PER_ADDRESS": "1000000 per hour", "LOGIN_LIMIT_PER_ADDRESS": "100000 per minute"}


def reset_redis(url: str) -> None:
    """Empty the run's own Redis database (sessions, rate limits, the job queue of an earlier run)."""
    import redis

    redis.Redis.from_url(url).flushdb()


class Worker:
    """`flask --app webapp jobs worker`: the Huey consumer, in its own process group."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> "Worker":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(BIN / "flask"), "--app", "webapp", "jobs", "worker"],
                env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        return self

    def running(self) -> bool:
        return bool(self.process and self.process.poll() is None)

    def kill(self) -> None:
        """SIGKILL the worker mid-job (a crash)."""
        if self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Huey's graceful stop (SIGINT), then kill what is left."""
        if self.running():
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()


def citizens_needed(users: int, seconds: float, think: tuple[float, float]) -> int:
    """Enough generated citizens that no user runs out: one per journey, journeys no shorter than the pauses."""
    from webapp.sandbox.synthetic import MAX_COUNT

    shortest = max(1.0, JOURNEY_PAUSES * think[0])
    return min(MAX_COUNT, users * (math.ceil(seconds / shortest) + 2))


def read_stats(prefix: Path) -> dict:
    """Locust's per-step rows (requests, failures, p50/p95/p99 in ms) from <prefix>_stats.csv."""
    rows = {}
    path = Path(f"{prefix}_stats.csv")
    if not path.exists():
        return rows
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            def number(key):
                value = row.get(key, "")
                return float(value) if value not in ("", "N/A") else None
            rows[f"{row['Type']} {row['Name']}"] = {
                "type": row["Type"],
                "name": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50_ms": number("50%"),
                "p95_ms": number("95%"),
                "p99_ms": number("99%"),
                "max_ms": number("Max Response Time"),
            }
    return rows


def read_failures(prefix: Path) -> list[dict]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [{"method": r["Method"], "name": r["Name"], "error": r["Error"][:300],
                 "occurrences": int(r["Occurrences"])} for r in csv.DictReader(handle)]


def access_log_statuses(path: Path) -> Counter:
    """Statuses in gunicorn's access log (format "%(s)s %(m)s %(U)s %(M)s"): the server's own count."""
    statuses = Counter()
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            first = line.split(" ", 1)[0]
            if first.isdigit():
                statuses[int(first)] += 1
    return statuses


def _percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def access_log_times(path: Path) -> dict:
    """Time inside gunicorn per route (ms; ids and numbers folded): what the server spent, without
    the wait in its listen queue that locust's times include."""
    import re

    times: dict[str, list[int]] = {}
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) != 4 or not parts[3].isdigit():
                continue
            route = re.sub(r"/sign/sms/[^/]+", "/sign/sms/<challenge>", parts[2])
            route = re.sub(r"/applications/[\w-]+", "/applications/<number>", route)
            times.setdefault(f"{parts[1]} {route}", []).append(int(parts[3]))
    return {
        route: {"requests": len(v), "p50_ms": _percentile(v, 0.5), "p95_ms": _percentile(v, 0.95),
                "p99_ms": _percentile(v, 0.99), "busy_seconds": round(sum(v) / 1000, 1)}
        for route, v in sorted(times.items(), key=lambda item: -sum(item[1]))
    }


class LoadRun:
    """Set up the portal on PostgreSQL with a worker, run locust in the background, count the result."""

    def __init__(
        self,
        *,
        users: int = 200,
        seconds: float = 300,
        spawn_rate: float | None = None,
        think: tuple[float, float] = (1.0, 3.0),
        port: int = PORT,
        database_url: str = DATABASE_URL,
        redis_url: str = REDIS_URL,
        workers: int = 4,
        threads: int = 1,
        citizens: int | None = None,
        workdir: str | Path | None = None,
        extra_env: dict[str, str] | None = None,
        stop_timeout: float = 120,
        settle_timeout: float = 120,
    ) -> None:
        self.users = users
        self.seconds = seconds
        self.spawn_rate = spawn_rate or max(1.0, users / 30)  # the users arrive over about 30 s
        self.think = think
        self.port = port
        self.database_url = database_url
        self.redis_url = redis_url
        self.citizens = citizens or citizens_needed(users, seconds, think)
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="qyzmet-load-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.stop_timeout = stop_timeout
        self.settle_timeout = settle_timeout
        self.env = portal_environment(
            database_url=database_url,
            pki_dir=self.workdir / "pki",
            redis_url=redis_url,
            SANDBOX_PKI_URL=f"http://127.0.0.1:{port}/sandbox/pki",
            SANDBOX_SYNTHETIC_CITIZENS=str(self.citizens),
            QYZMET_TODAY="2026-11-23",  # the day the sandbox data describe (babies under one)
            **RATE_LIMITS,
            **(extra_env or {}),
        )
        self.portal = Gunicorn(
            port, self.env, workers=workers, threads=threads, log_path=self.workdir / "gunicorn.log",
            extra_args=("--access-logfile", str(self.workdir / "access.log"),
                        "--access-logformat", "%(s)s %(m)s %(U)s %(M)s"),
        )
        self.worker = Worker(self.env, self.workdir / "worker.log")
        self.locust: subprocess.Popen | None = None
        self.stats_prefix = self.workdir / "locust"
        self.journeys_path = self.workdir / "journeys.json"
        self.citizens_path = self.workdir / "citizens.json"
        self.timings: dict[str, float] = {}
        self.settled: dict | None = None

    # Setting up

    def prepare(self) -> None:
        """A fresh database and Redis DB, migrated, with the sandbox and the generated citizens."""
        started = time.monotonic()
        ensure_postgresql(self.database_url)
        reset_postgresql(self.database_url)
        reset_redis(self.redis_url)
        prepare_database(self.env)
        flask(self.env, "sandbox", "load-synthetic")
        self.citizens_path.write_text(json.dumps(self.citizen_list()), encoding="utf-8")
        self.timings["prepare_seconds"] = round(time.monotonic() - started, 1)

    def citizen_list(self) -> list[dict]:
        """The generated citizens, as every portal process generates them (deterministically)."""
        from webapp.registries.sandbox import SandboxRegistries
        from webapp.sandbox.synthetic import WithSyntheticCitizens

        registries = WithSyntheticCitizens(SandboxRegistries(), self.citizens)
        return [{"iin": p.iin, "password": pw, "phone": ph} for p, pw, ph in registries.synthetic_citizens()]

    def start_locust(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "QYZMET_LOAD_CITIZENS": str(self.citizens_path),
            "QYZMET_LOAD_THINK": f"{self.think[0]},{self.think[1]}",
            "QYZMET_LOAD_RESULTS": str(self.journeys_path),
        }
        command = [
            str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless",
            "-u", str(self.users), "-r", f"{self.spawn_rate:g}", "-t", f"{int(self.seconds)}s",
            "--host", self.portal.url, "--csv", str(self.stats_prefix), "--only-summary",
            "--stop-timeout", f"{int(self.stop_timeout)}", "--exit-code-on-error", "0",
            "--loglevel", "WARNING", "--logfile", str(self.workdir / "locust.log"),
        ]
        with open(self.workdir / "locust.out", "ab") as out:
            self.locust = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        self.timings["locust_started"] = time.time()

    def start(self) -> "LoadRun":
        self.prepare()
        self.portal.start()
        self.worker.start()
        for _ in range(2 * self.portal.workers):  # each worker has generated the citizens; wake them
            urllib.request.urlopen(self.portal.url + "/en/login", timeout=30).close()
        self.start_locust()
        return self

    # Running

    def wait(self) -> int:
        """Until locust has finished (its time, then the journeys in flight), then until the worker has settled."""
        deadline = self.seconds + self.stop_timeout + 120
        try:
            code = self.locust.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            os.killpg(self.locust.pid, signal.SIGKILL)
            code = self.locust.wait()
        self.timings["locust_seconds"] = round(time.time() - self.timings["locust_started"], 1)
        self.timings["drain_seconds"] = self.drain()
        self.settled = self.settle()
        return code

    def drain(self, quiet: float = 5, timeout: float = 120) -> float:
        """Wait until gunicorn has answered what was still in its listen queue when locust stopped
        (stopped users' requests are served all the same): its access log stops growing."""
        log = self.workdir / "access.log"
        started = last_change = time.monotonic()
        size = log.stat().st_size if log.exists() else 0
        while time.monotonic() - last_change < quiet and time.monotonic() - started < timeout:
            time.sleep(0.5)
            now = log.stat().st_size if log.exists() else 0
            if now != size:
                size, last_change = now, time.monotonic()
        return round(time.monotonic() - started, 1)

    def settle(self) -> dict:
        """Wait (bounded) until no SMS is queued or sending and every application is handed over."""
        from sqlalchemy import create_engine

        engine = create_engine(self.database_url)
        try:
            return wait_for_queue(engine, self.settle_timeout)
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.locust and self.locust.poll() is None:
            os.killpg(self.locust.pid, signal.SIGTERM)
            try:
                self.locust.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.locust.pid, signal.SIGKILL)
                self.locust.wait()
        self.worker.stop()
        self.portal.stop()

    def __enter__(self) -> "LoadRun":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # Counting

    def result(self) -> dict:
        """Locust's numbers and the journeys' record, counted against the database; `ok` is the gate."""
        from sqlalchemy import create_engine, text

        journeys = json.loads(self.journeys_path.read_text()) if self.journeys_path.exists() else {}
        completed = journeys.get("completed", [])
        failed = journeys.get("failed", [])
        interrupted = journeys.get("interrupted", [])
        stats = read_stats(self.stats_prefix)
        http = {k: v for k, v in stats.items() if v["type"] != "JOURNEY"}
        whole = stats.get("JOURNEY whole journey")
        server_statuses = access_log_statuses(self.workdir / "access.log")

        engine = create_engine(self.database_url)
        with engine.connect() as connection:
            apps = connection.execute(text(
                "SELECT number, iin, signed_with, length(signed_xml) AS signed_bytes, delivered_at IS NOT NULL "
                "AS delivered FROM applications")).all()
            codes = connection.execute(text(
                "SELECT public_id, iin, message_id, used_at IS NOT NULL AS used FROM one_time_codes "
                "WHERE purpose = 'sign-application'")).all()
            messages = connection.execute(text(
                "SELECT id, status, attempts, gateway_message_id FROM sms_messages "
                "WHERE purpose = 'sign-application'")).all()
        engine.dispose()

        checks: list[dict] = []

        def check(name: str, ok: bool, detail: str) -> None:
            checks.append({"check": name, "ok": bool(ok), "detail": detail})

        five_xx_client = sum(v for k, v in journeys.get("statuses", {}).items() if int(k) >= 500)
        five_xx_server = sum(v for k, v in server_statuses.items() if k >= 500)
        check("no 5xx (locust saw / gunicorn's access log)", five_xx_client == 0 and five_xx_server == 0,
              f"{five_xx_client} / {five_xx_server}: {journeys.get('server_errors', [])[:5]}")
        check("journeys completed, none failed", bool(completed) and not failed,
              f"{len(completed)} completed, {len(failed)} failed, {len(interrupted)} stopped by the end of the run, "
              f"of {journeys.get('journeys_started', 0)} started")

        in_db = Counter(row.number for row in apps)
        owner = {row.number: row.iin for row in apps}
        seen = [(j["iin"], j["number"]) for j in completed] + [(j["iin"], j["number"]) for j in failed if j["number"]]
        lost = [n for _iin, n in seen if in_db[n] == 0]
        doubled = [n for n, c in in_db.items() if c > 1] + [n for n, c in Counter(n for _i, n in seen).items() if c > 1]
        wrong = [n for iin, n in seen if n in owner and owner[n] != iin]
        check("every registration number locust saw exists exactly once, for its citizen (zero lost)",
              not lost and not doubled and not wrong,
              f"{len(seen)} seen; lost {lost[:5]}; more than once {doubled[:5]}; another citizen's {wrong[:5]}")
        per_citizen = Counter(row.iin for row in apps)
        twice = [iin for iin, c in per_citizen.items() if c > 1]
        check("one application per journey (each generated citizen journeys once: zero duplicated)", not twice,
              f"{len(apps)} applications from {len(per_citizen)} citizens; citizens with more: {twice[:5]}")
        seen_numbers = {n for _iin, n in seen}
        # An application whose number no journey saw: only a journey that failed at or after
        # entering the password (the answer lost on the way back) may explain one.
        # A journey the end of the run interrupted may have sent its application too.
        unconfirmed_ok = {j["iin"] for j in failed if j["step"] in ("SMS: enter the password", "confirmation")}
        unconfirmed_ok |= {j["iin"] for j in interrupted}
        unseen = [row for row in apps if row.number not in seen_numbers]
        unexplained = [row.number for row in unseen if row.iin not in unconfirmed_ok]
        check("every application in the database belongs to a journey", not unexplained,
              f"{len(unseen)} never shown ({len(unseen) - len(unexplained)} after a journey failed at the password "
              f"or confirmation, or was stopped by the end of the run); unexplained {unexplained[:5]}")
        unsigned = [row.number for row in apps if row.signed_with != "sms" or not row.signed_bytes]
        check("no application without a signature (all signed by SMS)", not unsigned, f"unsigned: {unsigned[:5]}")

        by_message = Counter(c.message_id for c in codes)
        shared = [m for m, n in by_message.items() if m is not None and n > 1]
        without = [c.public_id for c in codes if c.message_id is None]
        resent = [m.id for m in messages if m.attempts != 1]
        unsent = [m.id for m in messages if m.status != "sent"]
        gateway_ids = Counter(m.gateway_message_id for m in messages if m.gateway_message_id)
        gateway_twice = [g for g, n in gateway_ids.items() if n > 1]
        requests_made = journeys.get("sms_requests", 0)
        # A request in flight when its journey failed or was stopped may have had its code issued.
        in_flight = len(interrupted) + sum(1 for j in failed if j["step"] == "SMS: ask for a password")
        check("one SMS per code request, each sent once (no duplicate sends)",
              not shared and not without and not resent and not unsent and not gateway_twice
              and len(messages) == len(codes) and requests_made <= len(codes) <= requests_made + in_flight,
              f"{requests_made} requests by journeys (+{in_flight} possibly in flight), {len(codes)} codes, "
              f"{len(messages)} messages; "
              f"sharing a message {shared[:5]}; without one {without[:5]}; attempts != 1 {resent[:5]}; "
              f"not sent {unsent[:5]}; gateway id twice {gateway_twice[:5]}")
        used = sum(1 for c in codes if c.used)
        check("every application used its own code", used == len(apps),
              f"{used} codes used, {len(apps)} applications")

        # Counted by the locustfile's own listener up to the last journey; locust's CSV may miss the last few.
        total = sum(journeys.get("statuses", {}).values()) or sum(v["requests"] for v in http.values())
        seconds = self.timings.get("locust_seconds") or self.seconds
        failures_by_step = Counter(j["step"] for j in failed)
        return {
            "ok": all(c["ok"] for c in checks),
            "checks": checks,
            "users": self.users,
            "seconds": self.seconds,
            "think": list(self.think),
            "gunicorn_workers": self.portal.workers,
            "citizens_generated": self.citizens,
            "requests": total,
            "request_failures": sum(v["failures"] for v in http.values()),
            "requests_per_second": round(total / seconds, 1) if seconds else None,
            "locust_wall_seconds": seconds,
            "statuses_seen_by_locust": journeys.get("statuses", {}),
            "statuses_in_access_log": {str(k): v for k, v in sorted(server_statuses.items())},
            "five_xx": five_xx_client,
            "journeys_started": journeys.get("journeys_started", 0),
            "journeys_completed": len(completed),
            "journeys_failed": len(failed),
            "journeys_interrupted_by_the_end": len(interrupted),
            "journey_failures_by_step": dict(failures_by_step),
            "journey_failure_examples": [j["error"] for j in failed[:5]],
            "request_failures_by_step": read_failures(self.stats_prefix),
            "users_out_of_citizens": journeys.get("out_of_citizens", 0),
            "whole_journey_seconds": whole and {k: (whole[k] / 1000 if whole[k] is not None else None)
                                                for k in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
            "steps": http,
            "server_side_by_route": access_log_times(self.workdir / "access.log"),
            "database": {
                "applications": len(apps),
                "applications_delivered": sum(1 for row in apps if row.delivered),
                "codes_issued": len(codes),
                "codes_used": used,
                "sign_sms_messages": len(messages),
            },
            "settled": self.settled,
            "timings": {k: v for k, v in self.timings.items() if k != "locust_started"},
            "workdir": str(self.workdir),
        }


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `python -m bench.load`")
