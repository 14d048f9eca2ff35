"""What the request-id, access-log and Prometheus hooks cost per request.

    .venv/bin/python -m bench.observability_overhead

The same trivial route on two apps, with the hooks and without them
(METRICS_ENABLED off, the request-id hooks removed), through the Flask test
client, 5 x 1000 requests each, three rounds alternating; the minimum of
each side is reported, then the difference. The access line goes through a
JSON handler to /dev/null, as production logs JSON.
"""

from __future__ import annotations

import logging
import tempfile
import time

from webapp import create_app, observability
from webapp.config import TestConfig


def build(hooks: bool, pki_dir: str):
    app = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": "sqlite://", "SANDBOX_PKI_DIR": pki_dir, "METRICS_ENABLED": hooks})
    if not hooks:
        app.before_request_funcs[None].remove(observability._start_request)
        app.after_request_funcs[None].remove(observability._finish_request)
    app.add_url_rule("/bench", "bench", lambda: "ok")
    return app


def main() -> None:
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler = logging.StreamHandler(open("/dev/null", "w"))
    handler.setFormatter(observability.json_formatter())
    root.addHandler(handler)
    results: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as pki_dir:
        for hooks in (False, True) * 3:
            client = build(hooks, pki_dir).test_client()
            for _ in range(200):
                client.get("/bench")
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                for _ in range(1000):
                    client.get("/bench")
                samples.append((time.perf_counter() - started) / 1000 * 1e6)
            results[hooks].append(min(samples))
    without, with_hooks = min(results[False]), min(results[True])
    print(f"without hooks: {without:.0f} µs/request, with: {with_hooks:.0f} µs/request, cost: {with_hooks - without:.0f} µs")


if __name__ == "__main__":
    main()
