"""The locust user of the load run: each simulated citizen walks bench/load/journey.py.

Started by the runner (python -m bench.load, bench/load/run.py), which passes:
  QYZMET_LOAD_CITIZENS  a JSON file of [{"iin", "password", "phone"}]: the generated test
                        citizens; every journey takes the next one (a citizen signs once,
                        so SMS limits per citizen never bite and no two users share one)
  QYZMET_LOAD_THINK     "low,high": seconds a person pauses between pages (default 1,3)
  QYZMET_LOAD_RESULTS   where to write, when locust quits, what the journeys saw: the
                        registration numbers with their citizens, failures by step, 5xx
                        responses, SMS passwords asked for
By hand:  QYZMET_LOAD_CITIZENS=citizens.json locust -f bench/load/locustfile.py --host http://127.0.0.1:8200
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter

from gevent import GreenletExit
from locust import HttpUser, constant, events, task
from locust.exception import StopUser

from bench.load.journey import Citizen, Journey, JourneyError

JOURNEY = "JOURNEY"  # the request type of the whole-journey rows (not HTTP requests)


def _think() -> tuple[float, float]:
    low, _, high = os.environ.get("QYZMET_LOAD_THINK", "1,3").partition(",")
    return float(low), float(high or low)


class _Shared:
    """State of the whole run in this (single) locust process."""

    def __init__(self) -> None:
        path = os.environ.get("QYZMET_LOAD_CITIZENS")
        people = json.loads(open(path, encoding="utf-8").read()) if path else []
        self.citizens = iter([Citizen(p["iin"], p["password"], p.get("phone")) for p in people])
        self.lock = threading.Lock()
        self.started = 0
        self.completed: list[dict] = []  # {"iin", "number", "seconds"}
        self.failed: list[dict] = []  # {"iin", "step", "error", "number"}
        self.interrupted: list[dict] = []  # {"iin", "after", "number"}: stopped by the end of the run
        self.statuses: Counter = Counter()
        self.server_errors: list[str] = []
        self.sms_requests = 0
        self.out_of_citizens = 0

    def next_citizen(self) -> Citizen | None:
        with self.lock:
            citizen = next(self.citizens, None)
            if citizen is None:
                self.out_of_citizens += 1
            else:
                self.started += 1
            return citizen


shared = _Shared()


@events.request.add_listener
def _count_status(request_type, name, response=None, exception=None, **_kwargs):
    if request_type == JOURNEY or response is None:
        return
    status = getattr(response, "status_code", 0) or 0
    shared.statuses[status] += 1
    if status >= 500:
        shared.server_errors.append(f"{status} {request_type} {name}")


@events.quitting.add_listener
def _write_results(environment, **_kwargs):
    path = os.environ.get("QYZMET_LOAD_RESULTS")
    if not path:
        return
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({
            "journeys_started": shared.started,
            "completed": shared.completed,
            "failed": shared.failed,
            "interrupted": shared.interrupted,
            "statuses": {str(k): v for k, v in sorted(shared.statuses.items())},
            "server_errors": shared.server_errors,
            "sms_requests": shared.sms_requests,
            "out_of_citizens": shared.out_of_citizens,
        }, handle, indent=1)


class CitizenUser(HttpUser):
    """One simulated person at a time: each journey is a new citizen in a fresh browser session."""

    wait_time = constant(0)  # the think time is inside the journey, between its pages

    @task
    def journey(self) -> None:
        citizen = shared.next_citizen()
        if citizen is None:
            raise StopUser()  # every generated citizen has had their turn
        self.client.cookies.clear()
        asked = []

        def on_step(step: str, _seconds: float, error: Exception | None) -> None:
            if step == "SMS: ask for a password" and error is None:
                asked.append(step)

        journey = Journey(self.client, self.host, citizen, think=_think(), on_step=on_step)
        started = time.perf_counter()
        try:
            try:
                number = journey.run()
            except Exception as error:  # a defect here, not an answer: still a failed journey, by name
                if isinstance(error, JourneyError):
                    raise
                raise JourneyError("unexpected error in the journey", repr(error)) from error
        except JourneyError as error:
            elapsed = time.perf_counter() - started
            with shared.lock:
                shared.sms_requests += len(asked)
                shared.failed.append({"iin": citizen.iin, "step": error.step, "error": str(error)[:500],
                                      "number": journey.number})
            events.request.fire(request_type=JOURNEY, name=f"failed at {error.step}", response_time=elapsed * 1000,
                                response_length=0, exception=error, context={})
            return
        except GreenletExit:
            # Locust stopping the user when the run's stop timeout is over: neither
            # a success nor a failure, but the database may hold its application.
            with shared.lock:
                shared.sms_requests += len(asked)
                shared.interrupted.append({"iin": citizen.iin, "after": journey.steps[-1] if journey.steps else None,
                                           "number": journey.number})
            raise
        elapsed = time.perf_counter() - started
        with shared.lock:
            shared.sms_requests += len(asked)
            shared.completed.append({"iin": citizen.iin, "number": number, "seconds": round(elapsed, 3)})
        events.request.fire(request_type=JOURNEY, name="whole journey", response_time=elapsed * 1000,
                            response_length=0, exception=None, context={})
