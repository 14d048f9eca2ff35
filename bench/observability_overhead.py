"""What the request-id, access-log and Prometheus hooks cost per request.

    .venv/bin/python -m bench.observability_overhead

The same trivial route on two apps, with the hooks and without them
(METRICS_ENABLED off, the request-id hooks removed), through the Flask test
client, in interleaved rounds of 200 requests; the medians and the median
difference are reported. The access line goes through a
JSON handler to /dev/null, as production logs JSON.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time

from webapp import create_app, observability
from webapp.config import TestConfig


ROUNDS = 40
PER_ROUND = 200


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
    with tempfile.TemporaryDirectory() as pki_dir:
        clients = {hooks: build(hooks, pki_dir).test_client() for hooks in (False, True)}
        for client in clients.values():
            for _ in range(300):
                client.get("/bench")
        # Interleaved rounds, so the load of a shared machine falls on both sides alike.
        rounds: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(ROUNDS):
            for hooks, client in clients.items():
                started = time.perf_counter()
                for _ in range(PER_ROUND):
                    client.get("/bench")
                rounds[hooks].append((time.perf_counter() - started) / PER_ROUND * 1e6)
        direct = _direct(clients[True].application)
    differences = sorted(b - a for a, b in zip(rounds[False], rounds[True]))
    without, with_hooks = statistics.median(rounds[False]), statistics.median(rounds[True])
    print(
        f"median per request without hooks: {without:.0f} µs, with: {with_hooks:.0f} µs; "
        f"median difference of {ROUNDS} interleaved rounds: {statistics.median(differences):.0f} µs "
        f"(quartiles {differences[len(differences) // 4]:.0f}..{differences[3 * len(differences) // 4]:.0f})"
    )
    print("the hooks alone, per request: " + ", ".join(f"{name} {cost:.0f} µs" for name, cost in direct.items()))


def _direct(app, n: int = 20000) -> dict[str, float]:
    """Each hook timed on its own inside one request context: steadier than whole requests on a busy machine."""
    with app.test_request_context("/bench"):
        app.preprocess_request()
        response = app.make_response("ok")
        before = [f for f in app.before_request_funcs[None] if "prometheus" in getattr(f, "__module__", "")]
        after = [f for f in app.after_request_funcs[None] if "prometheus" in getattr(f, "__module__", "")]

        def ours():
            observability._start_request()
            observability._finish_request(response)

        def prometheus():
            for hook in before:
                hook()
            for hook in after:
                hook(response)

        costs = {}
        for name, hook in (("request id + access line", ours), ("prometheus-flask-exporter", prometheus)):
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                for _ in range(n):
                    hook()
                best = min(best, time.perf_counter() - started)
            costs[name] = best / n * 1e6
    return costs


if __name__ == "__main__":
    main()
