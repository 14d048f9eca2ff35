"""Gunicorn settings for the portal behind nginx.

    QYZMET_ENV=production ... gunicorn -c deploy/gunicorn.conf.py 'webapp:create_app()'

Environment (all optional):

- GUNICORN_BIND: where to listen (127.0.0.1:8000; nginx on the same host
  proxies to it). Several addresses separated by spaces.
- GUNICORN_WORKERS: worker processes. Default 2 x cores + 1, gunicorn's own
  rule of thumb: requests are mostly waiting on PostgreSQL and Redis, so
  a few more processes than cores keep the CPUs busy; each worker costs
  memory (measure with bench/serve.py's rss_mb()).
- GUNICORN_THREADS: threads per worker (1). With more than 1 the worker
  class is gthread; the portal is thread-safe (Flask-SQLAlchemy scopes
  sessions per thread), but the default sync worker is simplest: nginx
  buffers slow clients, so a sync worker is never held by one.
- GUNICORN_TIMEOUT: seconds before a silent worker is killed (30). The
  slowest legitimate request is a signature check waiting on OCSP/CRL
  (bounded well below this); the provider hand-over runs in jobs, not here.
- GUNICORN_MAX_REQUESTS / GUNICORN_MAX_REQUESTS_JITTER: recycle a worker
  after about this many requests (2000 +/- 200), so slow leaks cannot grow
  forever, without all workers restarting at once.
- GUNICORN_FORWARDED_ALLOW_IPS: proxies trusted for X-Forwarded-Proto
  (127.0.0.1,::1: nginx on loopback). The client's address comes from
  X-Forwarded-For through PROXY_COUNT in the app (werkzeug's ProxyFix).
- PROMETHEUS_MULTIPROC_DIR: where workers keep their metric values so
  /metrics adds up all of them. Default: a fresh directory per master
  (two instances on one host must not share one). Emptied at start.
- LOG_FORMAT: json (production's default) or text, for gunicorn's own log too.

Gunicorn's access log is off: the app writes one JSON line per request
with its request id (webapp/observability.py).
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000").split()
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
threads = int(os.environ.get("GUNICORN_THREADS") or 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or ("gthread" if threads > 1 else "sync")
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 20)
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 5)  # nginx keeps upstream connections
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 2000)
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER") or 200)
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Bodies bigger than MAX_CONTENT_LENGTH are refused by Flask; headers stay at gunicorn's limits.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = os.environ.get("GUNICORN_PROC_NAME", "qyzmet")
# Workers import the app themselves (no preload): a worker restarted by
# max_requests starts clean, and a bad deploy fails in the workers' logs.
preload_app = False

# Gunicorn's own log in the app's format. The root logger gets no handler
# here: the app adds its own (webapp/observability.py), with request ids.
_json_logs = (os.environ.get("LOG_FORMAT") or ("json" if os.environ.get("QYZMET_ENV") == "production" else "text")) == "json"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [gunicorn] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if _json_logs else "text",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": loglevel.upper(), "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}

# Prometheus multiprocess mode: set before any worker imports prometheus_client.
# (Re-read on SIGHUP: the directory made the first time is kept.)
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if not _metrics_dir:
    _metrics_dir = tempfile.mkdtemp(prefix="qyzmet-prometheus-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
    os.environ["QYZMET_OWN_PROMETHEUS_DIR"] = _metrics_dir
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={_metrics_dir}"]


def on_starting(server):
    """A new master starts from zero: values of a previous run's workers would be summed in."""
    os.makedirs(_metrics_dir, exist_ok=True)
    for name in os.listdir(_metrics_dir):
        path = os.path.join(_metrics_dir, name)
        if os.path.isfile(path) and name.endswith(".db"):
            os.unlink(path)


def child_exit(server, worker):
    """A dead worker's live gauges are dropped; its counters stay in the sums."""
    from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

    GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)


def on_exit(server):
    if os.environ.get("QYZMET_OWN_PROMETHEUS_DIR") == _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
