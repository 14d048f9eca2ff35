"""Background jobs on Huey: sending SMS, tidying old one-time codes, handing
applications over to the service provider (and, in the sandbox, its automatic
decisions), and every minute re-queueing what a killed worker left half-done
(webapp/recovery.py).

Where jobs wait, and who runs them:

- REDIS_URL set: `RedisHuey`; a separate consumer process runs them:
  `flask --app webapp jobs worker` (or Huey's own `huey_consumer
  webapp.jobs.queue.huey`, which builds the app from the environment).
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
fixed names; a task pushes the app's context itself, since a consumer runs
it outside any request.
"""

from __future__ import annotations

import atexit
import logging
import signal
import threading

import click
from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

log = logging.getLogger(__name__)

SEND_SMS = "qyzmet.send_sms"
PURGE_CODES = "qyzmet.purge_codes"
PURGE_REQUEST_DRAFTS = "qyzmet.purge_request_drafts"
PURGE_APPLICATION_DRAFTS = "qyzmet.purge_application_drafts"
SWEEP = "qyzmet.sweep"
DELIVER_APPLICATION = "qyzmet.deliver_application"
SANDBOX_AUTO_DECIDE = "qyzmet.sandbox_auto_decide"

_build_lock = threading.RLock()


def init_app(app: Flask) -> None:
    """Add `flask jobs worker`, and the embedded consumer when there is one."""
    app.extensions["jobs"] = {"huey": None, "tasks": {}, "consumer": None}

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
            from webapp import observability

            observability.serve_worker_metrics(app, metrics_port)
        huey = get_huey(app)
        # Work a killed worker left claimed is queued again now, not at the next minute.
        with app.app_context():
            _sweep(app)
        click.echo(f"Consuming {huey.name!r} jobs from {_where(app)}.")
        huey.create_consumer(**_consumer_options(app, workers), check_worker_health=True).run()

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
                state["huey"], state["tasks"] = _build(app)
    return state["huey"]


def send_sms(message_id: int, redact: str | None = None) -> None:
    """Queue the job that sends one outbox message (webapp/sms/outbox.py)."""
    get_huey()
    current_app.extensions["jobs"]["tasks"][SEND_SMS](message_id, redact)


def deliver_application(application_id: int) -> None:
    """Queue the job that hands one stored application over to the provider (webapp/provider/delivery.py).

    Retries (PROVIDER_RETRIES, the first PROVIDER_RETRY_DELAY seconds later,
    doubling) are read when the job is queued.
    """
    get_huey()
    config = current_app.config
    current_app.extensions["jobs"]["tasks"][DELIVER_APPLICATION](
        application_id, retries=config["PROVIDER_RETRIES"], retry_delay=config["PROVIDER_RETRY_DELAY"]
    )


def sandbox_auto_decide(application_id: int, delay: float = 0) -> None:
    """Queue the sandbox provider's automatic decision on an application, `delay` seconds from now."""
    get_huey()
    task = current_app.extensions["jobs"]["tasks"][SANDBOX_AUTO_DECIDE]
    if delay and delay > 0:
        task.schedule((application_id,), delay=delay)
    else:
        task(application_id)


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


def _build(app: Flask) -> tuple[Huey, dict]:
    config = app.config
    options = {"name": config["HUEY_NAME"], "immediate": config["HUEY_IMMEDIATE"], "results": False, "utc": True}
    if config.get("REDIS_URL"):
        huey: Huey = RedisHuey(url=config["REDIS_URL"], **options)
    else:
        huey = SqliteHuey(filename=config["HUEY_SQLITE_PATH"], **options)

    @huey.task(
        retries=config["SMS_SEND_RETRIES"], retry_delay=config["SMS_SEND_RETRY_DELAY"], context=True, name=SEND_SMS
    )
    def send_sms_task(message_id: int, redact: str | None = None, task=None):
        from webapp.sms import outbox

        with app.app_context():
            outbox.deliver(message_id, final=not task.retries, redact=redact)

    @huey.periodic_task(crontab(minute="17"), name=PURGE_CODES)
    def purge_codes_task():
        from webapp.sms import codes

        with app.app_context():
            codes.purge()

    @huey.periodic_task(crontab(minute="47"), name=PURGE_REQUEST_DRAFTS)
    def purge_request_drafts_task():
        from webapp.requests import routes as citizen_requests

        with app.app_context():
            citizen_requests.purge_drafts()

    @huey.periodic_task(crontab(minute="37"), name=PURGE_APPLICATION_DRAFTS)
    def purge_application_drafts_task():
        from webapp.applications import drafts

        with app.app_context():
            drafts.purge_expired()

    @huey.periodic_task(crontab(minute="*"), name=SWEEP)
    def sweep_task():
        with app.app_context():
            _sweep(app)

    tasks = {
        SEND_SMS: send_sms_task, PURGE_CODES: purge_codes_task, PURGE_REQUEST_DRAFTS: purge_request_drafts_task,
        PURGE_APPLICATION_DRAFTS: purge_application_drafts_task, SWEEP: sweep_task,
    }

    # Handing applications over to the service provider: never twice (delivery.deliver skips a delivered one).
    @huey.task(
        retries=config["PROVIDER_RETRIES"], retry_delay=config["PROVIDER_RETRY_DELAY"], retry_backoff=2,
        context=True, name=DELIVER_APPLICATION,
    )
    def deliver_application_task(application_id: int, task=None):
        from webapp.provider import delivery

        with app.app_context():
            delivery.deliver(application_id, final=not task.retries)

    tasks[DELIVER_APPLICATION] = deliver_application_task

    if config.get("SANDBOX"):
        # The sandbox provider's automatic decisions (webapp/sandbox/auto_decide.py): sandbox only.
        @huey.task(name=SANDBOX_AUTO_DECIDE)
        def sandbox_auto_decide_task(application_id: int):
            from webapp.sandbox import auto_decide

            with app.app_context():
                auto_decide.decide_application(application_id)

        tasks[SANDBOX_AUTO_DECIDE] = sandbox_auto_decide_task

    return huey, tasks


def _sweep(app: Flask) -> None:
    """Queue again what a killed worker left half-done (webapp/recovery.py); never stops the worker."""
    from webapp import recovery

    try:
        recovery.sweep()
    except Exception:  # noqa: BLE001  (the database may be down; the next minute tries again)
        log.exception("Sweeping for work left by dead workers failed")
        from webapp.extensions import db

        db.session.rollback()


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


def __getattr__(name: str):
    """`huey_consumer webapp.jobs.queue.huey`: the Huey instance of an app built from the environment."""
    if name == "huey":
        from webapp import create_app

        return get_huey(create_app())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
