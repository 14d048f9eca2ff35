"""The queue of background jobs, on Huey: it builds the app's Huey, registers
the tasks the layers above hand it, and enqueues a job by its name.

It imports no domain module, so every module may queue a job: the bodies
(sending SMS, tidying old one-time codes and drafts, handing applications
over to the service provider, re-queueing what a killed worker left
half-done) are in webapp/jobs/tasks.py, registered by `tasks.init_app`; the
sandbox plug-in registers its automatic decisions the same way.

Where jobs wait, and who runs them:

- REDIS_URL set: `RedisHuey`; a separate consumer process runs them:
  `flask --app webapp jobs worker` (or Huey's own `huey_consumer
  webapp.huey`, which builds the app from the environment).
- No REDIS_URL (the embedded default): `SqliteHuey` in HUEY_SQLITE_PATH
  (instance/huey.sqlite3), and the web process runs a consumer in threads
  of its own, started at its first request. That is Huey's documented
  embedding, `huey.create_consumer(...)` then `consumer.start()`; the web
  server keeps its own signal handlers (Ctrl+C still stops `flask run`).
  HUEY_EMBEDDED_CONSUMER=0 turns it off for a separate `jobs worker`.
- HUEY_IMMEDIATE (the tests): each job runs inside the call that queues
  it, on Huey's in-memory storage. Huey's immediate mode runs no
  scheduler, so a retry with a delay would wait forever: the tests set
  SMS_SEND_RETRY_DELAY = 0 and retries follow at once.

Each app gets its own Huey instance, built on first use (so commands that
never queue a job open no queue), with the tasks registered on it under
fixed names; their settings (retries, delays) are read from the app's
configuration then. A task pushes the app's context itself, since a
consumer runs it outside any request.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import click
from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from webapp import observability

log = logging.getLogger(__name__)

# The production jobs' names (their bodies: webapp/jobs/tasks.py); a job is queued by its name.
SEND_SMS = "qyzmet.send_sms"
PURGE_CODES = "qyzmet.purge_codes"
PURGE_REQUEST_DRAFTS = "qyzmet.purge_request_drafts"
PURGE_APPLICATION_DRAFTS = "qyzmet.purge_application_drafts"
PURGE_SESSIONS = "qyzmet.purge_sessions"
PURGE_MOBILE_SIGNINGS = "qyzmet.purge_mobile_signings"
SWEEP = "qyzmet.sweep"
DELIVER_APPLICATION = "qyzmet.deliver_application"

_build_lock = threading.RLock()


@dataclass(frozen=True)
class Task:
    """A job's body and how it runs.

    `every`: a Huey crontab for a periodic job. `final`: the body takes
    `final=` (no retry follows this attempt). `at_start`: a `jobs worker`
    also runs it once when it starts.
    """

    name: str
    body: Callable[..., Any]
    retries: int = 0
    retry_delay: float = 0
    retry_backoff: float = 0
    every: Any = None
    final: bool = False
    at_start: bool = False


TaskSource = Callable[[Mapping[str, Any]], Iterable[Task]]


def add_tasks(app: Flask, source: TaskSource) -> None:
    """Register the tasks `source(app.config)` gives; they join the app's Huey when it is built."""
    state = app.extensions.setdefault("jobs", _new_state())
    if state["huey"] is not None:
        raise RuntimeError("tasks must be added before the first job is queued")
    state["sources"].append(source)


def _new_state() -> dict:
    return {"huey": None, "tasks": {}, "specs": {}, "consumer": None, "sources": []}


def init_app(app: Flask) -> None:
    """Add `flask jobs worker`, and the embedded consumer when there is one."""
    app.extensions.setdefault("jobs", _new_state())

    @app.cli.group("jobs")
    def jobs_cli():
        """Background jobs (sending SMS)."""

    @jobs_cli.command("worker")
    @click.option("-w", "--workers", type=int, default=None, help="Worker threads (HUEY_WORKERS).")
    @click.option(
        "--metrics-port", type=int, default=None, envvar="JOBS_METRICS_PORT",
        help="Serve this worker's Prometheus metrics (SMS sent/failed, queue depth) on 127.0.0.1:PORT.",
    )
    def worker(workers: int | None, metrics_port: int | None):
        """Run the jobs until Ctrl+C: the consumer beside the web process."""
        if app.config["HUEY_IMMEDIATE"]:
            raise click.ClickException("HUEY_IMMEDIATE is on: jobs run where they are queued, there is nothing to consume.")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        if metrics_port:
            # SMS are sent here, not in the web processes: their counters are this process's.
            observability.serve_worker_metrics(app, metrics_port)
        huey = get_huey(app)
        # Work a killed worker left claimed is queued again now, not at the next minute.
        for task in app.extensions["jobs"]["specs"].values():
            if task.at_start:
                with app.app_context():
                    task.body()
        click.echo(f"Consuming {huey.name!r} jobs from {_where(app)}.")
        huey.create_consumer(**_consumer_options(app, workers), check_worker_health=True).run()

    # /metrics's queue depth: jobs waiting in Huey's storage, read when scraped.
    observability.measure_queue(app, lambda: get_huey(app).pending_count())

    if embedded_consumer(app):

        @app.before_request
        def _start_consumer_once():
            if app.extensions["jobs"]["consumer"] is None:
                start_consumer(app)


def embedded_consumer(app: Flask) -> bool:
    """Whether the web process runs the jobs itself."""
    if app.config["HUEY_IMMEDIATE"]:
        return False
    setting = app.config.get("HUEY_EMBEDDED_CONSUMER")
    return not app.config.get("REDIS_URL") if setting is None else bool(setting)


def get_huey(app: Flask | None = None) -> Huey:
    """The app's Huey instance with the tasks registered, built on first use."""
    app = app or current_app._get_current_object()
    state = app.extensions["jobs"]
    if state["huey"] is None:
        with _build_lock:
            if state["huey"] is None:
                state["huey"], state["tasks"], state["specs"] = _build(app)
    return state["huey"]


def registered(app: Flask | None = None) -> set[str]:
    """The names of the jobs the app's Huey runs."""
    app = app or current_app._get_current_object()
    get_huey(app)
    return set(app.extensions["jobs"]["tasks"])


def enqueue(name: str, *args: Any, delay: float | None = None, **options: Any) -> None:
    """Queue the job called `name` with these arguments, `delay` seconds from now when given.

    `options`: Huey's per-call settings (`retries`, `retry_delay`). A name no
    task is registered under raises KeyError.
    """
    get_huey()
    task = current_app.extensions["jobs"]["tasks"][name]
    if delay and delay > 0:
        task.schedule(args, delay=delay, **options)
    else:
        task(*args, **options)


def start_consumer(app: Flask, workers: int | None = None) -> Consumer:
    """Start a consumer in threads of this process (once per app); returns it."""
    state = app.extensions["jobs"]
    with _build_lock:
        if state["consumer"] is not None:
            return state["consumer"]
        consumer = get_huey(app).create_consumer(**_consumer_options(app, workers), check_worker_health=False)
        in_main_thread = threading.current_thread() is threading.main_thread()
        saved = {}
        if in_main_thread:
            saved = {number: signal.getsignal(number) for number in _signals()}
        try:
            consumer.start()
        except ValueError:
            # Not the main thread: Huey could not install its signal handlers,
            # which a consumer inside a web server must not have anyway.
            pass
        finally:
            for number, handler in saved.items():
                signal.signal(number, handler)
        state["consumer"] = consumer
    atexit.register(stop_consumer, app)
    log.info("Jobs: consumer started in the web process, queue in %s", _where(app))
    return consumer


def stop_consumer(app: Flask) -> None:
    """Stop the embedded consumer, letting a running job finish (for up to 10 seconds)."""
    state = app.extensions["jobs"]
    consumer, state["consumer"] = state["consumer"], None
    if consumer is not None:
        consumer.stop(graceful=True)


def _build(app: Flask) -> tuple[Huey, dict, dict[str, Task]]:
    config = app.config
    options = {"name": config["HUEY_NAME"], "immediate": config["HUEY_IMMEDIATE"], "results": False, "utc": True}
    if config.get("REDIS_URL"):
        huey: Huey = RedisHuey(url=config["REDIS_URL"], **options)
    else:
        huey = SqliteHuey(filename=config["HUEY_SQLITE_PATH"], **options)
    specs = {task.name: task for source in app.extensions["jobs"]["sources"] for task in source(config)}
    tasks = {name: _register(huey, app, task) for name, task in specs.items()}
    return huey, tasks, specs


def _register(huey: Huey, app: Flask, spec: Task):
    """One task on Huey under its name, running its body inside the app's context."""
    if spec.every is not None:

        def periodic():
            with app.app_context():
                spec.body()

        return huey.periodic_task(spec.every, name=spec.name)(periodic)

    def run(*args, task=None, **kwargs):  # context=True: Huey passes its own task as `task`
        if spec.final:
            kwargs["final"] = not task.retries  # no retry follows this attempt
        with app.app_context():
            return spec.body(*args, **kwargs)

    return huey.task(
        retries=spec.retries, retry_delay=spec.retry_delay, retry_backoff=spec.retry_backoff, context=True,
        name=spec.name,
    )(run)


def _consumer_options(app: Flask, workers: int | None) -> dict:
    return {
        "workers": workers or app.config["HUEY_WORKERS"],
        "worker_type": "thread",
        # SQLite is polled: look at least every second, so an SMS never waits long.
        "max_delay": 1.0,
        "shutdown_timeout": 10,
    }


def _signals() -> list[int]:
    return [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]


def _where(app: Flask) -> str:
    if app.config.get("REDIS_URL"):
        return "Redis"
    return app.config["HUEY_SQLITE_PATH"]
