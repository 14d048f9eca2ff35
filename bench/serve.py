"""Start the portal under gunicorn on loopback, for the benchmark, the load run and the scale test.

    from bench.serve import Gunicorn, prepare_database

    env = portal_environment(database_url=..., redis_url=..., pki_dir=...)
    prepare_database(env)
    with Gunicorn(port=8101, env=env, workers=2) as server:
        ...  # server.url, server.worker_pids(), server.kill(), server.restart()

Everything here is plain subprocess work: the same gunicorn binary and the
same `webapp:create_app()` an operator runs, no test client.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = REPO_ROOT / ".venv" / "bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def portal_environment(
    *,
    database_url: str,
    pki_dir: str | Path,
    redis_url: str | None = None,
    config: str = "sandbox",
    **extra: str,
) -> dict[str, str]:
    """The environment a portal process runs with (the sandbox config by default)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("QYZMET_", "DATABASE_URL", "REDIS_URL", "HUEY_", "SMS_", "PROVIDER_"))
    }
    env.update(
        QYZMET_ENV=config,
        DATABASE_URL=database_url,
        SANDBOX_PKI_DIR=str(pki_dir),
        FLASK_APP="webapp",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run `flask --app webapp ARGS` with this environment; raise on failure."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "webapp", *args],
        env=env,
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


def ensure_postgresql(database_url: str) -> None:
    """Create the run's own PostgreSQL database when it does not exist yet."""
    from sqlalchemy import create_engine, text

    name = database_url.rsplit("/", 1)[1]
    engine = create_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def reset_postgresql(database_url: str) -> None:
    """Empty a PostgreSQL database (drop and recreate its public schema)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def wait_for_queue(engine, timeout: float) -> dict:
    """Until the worker has sent every SMS and handed every application over (or timeout)."""
    from sqlalchemy import text

    started = time.monotonic()
    deadline = started + timeout
    while True:
        with engine.connect() as connection:
            pending_sms = connection.execute(text(
                "SELECT count(*) FROM sms_messages WHERE status IN ('queued', 'sending')")).scalar()
            undelivered = connection.execute(text(
                "SELECT count(*) FROM applications WHERE delivered_at IS NULL")).scalar()
        if (pending_sms == 0 and undelivered == 0) or time.monotonic() > deadline:
            return {"pending_sms": pending_sms, "undelivered_applications": undelivered,
                    "seconds": round(time.monotonic() - started, 1)}
        time.sleep(1)


def prepare_database(env: dict[str, str]) -> None:
    """Migrate to head, load the sandbox test citizens, make the sandbox CA if missing."""
    flask(env, "db", "upgrade")
    flask(env, "sandbox", "load")
    flask(env, "sandbox", "pki", "--if-missing")


class Gunicorn:
    """One gunicorn master serving the portal on 127.0.0.1:port."""

    def __init__(
        self,
        port: int,
        env: dict[str, str],
        *,
        workers: int = 2,
        threads: int = 1,
        app: str = "webapp:create_app()",
        extra_args: tuple[str, ...] = (),
        log_path: str | Path | None = None,
    ) -> None:
        self.port = port
        self.env = env
        self.workers = workers
        self.threads = threads
        self.app = app
        self.extra_args = extra_args
        self.log_path = Path(log_path) if log_path else None
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [
            str(BIN / "gunicorn"),
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--threads", str(self.threads),
            "--worker-class", "gthread" if self.threads > 1 else "sync",
            "--graceful-timeout", "5",
            *self.extra_args,
            self.app,
        ]

    def start(self, timeout: float = 60) -> "Gunicorn":
        """Start the master and wait until the portal answers."""
        if self.log_path:
            self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.command(),
            env=self.env,
            cwd=REPO_ROOT,
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Poll until any HTTP answer comes back (a 404 counts: the process serves)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn on port {self.port} exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).close()
                return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"gunicorn on port {self.port} did not answer in {timeout:.0f} s")

    def worker_pids(self) -> list[int]:
        """The pids of the master's worker processes."""
        if not self.process:
            return []
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def rss_mb(self) -> dict[int, float]:
        """Each worker's resident set size in MB (from /proc)."""
        sizes = {}
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes[pid] = int(line.split()[1]) / 1024
        return sizes

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (an instance lost)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then kill what is left."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log:
            self._log.close()
            self._log = None

    def restart(self, timeout: float = 60) -> None:
        """Start again after a kill or stop."""
        self.stop()
        self.start(timeout)

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
