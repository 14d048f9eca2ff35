"""One citizen's whole journey through the portal, as plain HTTP steps.

    import requests
    from bench.load.journey import Citizen, Journey

    journey = Journey(requests.Session(), "http://127.0.0.1:8200", Citizen("900517401370", "Sandbox1!"),
                      think=(1.0, 3.0))
    number = journey.run()          # the registration number; raises JourneyError on anything unexpected

It works over any requests.Session-like client: a plain `requests.Session`
(the smoke test, the scale test, the fault run) or a locust `HttpUser`'s
client (bench/load/locustfile.py), to which every request also passes
`name=<step>` so locust keeps per-step statistics. Each step checks its
status and a marker in the page and raises `JourneyError(step, ...)`
otherwise; `on_step(step, seconds, error)` (optional) hears of each step.

The journey: the login form (CSRF token parsed from the page) → the
child-care service's wizard (its answers come from the state registries: the
first child and the first own bank account offered) → check your answers →
an SMS password, read from the sandbox outbox /sandbox/sms.json once the
worker has sent it, while the password page polls itself as htmx would →
the password → the confirmation with the registration number → History of
Services and its background poll (If-None-Match + Qyzmet-Poll, as the page's
htmx poller sends them).
"""

from __future__ import annotations

import inspect
import random
import re
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urljoin, urlsplit

SERVICE = "child-care-under-one"
LANG = "en"

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_RADIO = re.compile(r'name="([\w-]+)" type="radio" value="([^"]*)"')
_NUMBER = re.compile(r"Your registration number<br><strong>([\w-]+)</strong>")
_HISTORY_ETAG = re.compile(r'hx-headers=\'\{"If-None-Match": "\\"([^"\\]+)\\"", "Qyzmet-Poll": "1"\}\'')


class JourneyError(Exception):
    """A step answered something the journey did not expect."""

    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step


@dataclass(frozen=True)
class Citizen:
    iin: str
    password: str
    phone: str | None = None


@dataclass
class Journey:
    client: object  # requests.Session or locust's HttpSession
    base_url: str
    citizen: Citizen
    think: tuple[float, float] = (1.0, 3.0)  # seconds a person pauses between pages
    sms_timeout: float = 60.0  # how long to wait for the worker to send the SMS
    poll_interval: float = 1.0  # the password page polls itself every second
    history_polls: int = 1  # background polls of History of Services after the first view
    history_poll_interval: float = 10.0  # the page's poller fires every 10 s (hx-trigger="every 10s")
    on_step: Callable[[str, float, Exception | None], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    number: str | None = None
    steps: list[str] = field(default_factory=list)
    # Outbox messages whose code this journey already used (a citizen may journey twice).
    _used_messages: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        # locust's HttpSession.request takes name= (the stats row); requests' does not.
        self._named = "name" in inspect.signature(self.client.request).parameters

    # Plumbing

    def url(self, path: str) -> str:
        return urljoin(self.base_url, path)

    def request(self, step: str, method: str, path: str, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", 60)
        if self._named:
            kwargs["name"] = step
        try:
            return self.client.request(method, self.url(path), **kwargs)
        except Exception as error:  # a refused connection, a timeout
            raise JourneyError(step, f"{method} {path}: {error!r}") from error

    def pause(self) -> None:
        low, high = self.think
        if high > 0:
            self.sleep(random.uniform(low, high))

    def step(self, name: str, action: Callable[[], object]):
        """Run one named step, tell on_step how long it took and whether it failed."""
        started = time.perf_counter()
        try:
            result = action()
        except Exception as error:
            failure = error if isinstance(error, JourneyError) else JourneyError(name, repr(error))
            if self.on_step:
                self.on_step(name, time.perf_counter() - started, failure)
            if failure is error:
                raise
            raise failure from error
        self.steps.append(name)
        if self.on_step:
            self.on_step(name, time.perf_counter() - started, None)
        return result

    @staticmethod
    def expect(step: str, response, status: int | tuple[int, ...], marker: str | None = None) -> None:
        statuses = status if isinstance(status, tuple) else (status,)
        path = urlsplit(response.url or "").path
        if response.status_code not in statuses:
            # locust answers a refused connection with status 0 and the error on the response
            detail = getattr(response, "error", None) or (response.text or "")[:300]
            raise JourneyError(step, f"{path} answered {response.status_code}, expected {statuses}: {detail!r}")
        if marker is not None and marker not in response.text:
            raise JourneyError(step, f"{path} lacks {marker!r}")

    @staticmethod
    def token(step: str, html: str) -> str:
        found = _CSRF.search(html)
        if not found:
            raise JourneyError(step, "the page has no CSRF token")
        return found.group(1)

    @staticmethod
    def location(step: str, response) -> str:
        if response.status_code not in (302, 303):
            detail = getattr(response, "error", None) or (response.text or "")[:300]
            raise JourneyError(step, f"expected a redirect, got {response.status_code}: {detail!r}")
        return urlsplit(response.headers["Location"]).path

    # The journey

    def run(self) -> str:
        """The whole journey; returns the registration number."""
        self.log_in()
        self.pause()
        check = self.fill_wizard()
        self.pause()
        challenge = self.ask_for_sms_password(check)
        code = self.wait_for_code(challenge)
        self.pause()
        self.number = self.enter_password(challenge, code)
        self.pause()
        self.follow_in_history(self.number)
        return self.number

    def log_in(self) -> None:
        def login_page():
            page = self.request("login page", "GET", f"/{LANG}/login")
            self.expect("login page", page, 200, 'name="iin"')
            return self.token("login page", page.text)

        token = self.step("login page", login_page)
        self.pause()

        def log_in():
            response = self.request("log in", "POST", f"/{LANG}/login",
                                    data={"csrf_token": token, "iin": self.citizen.iin, "password": self.citizen.password})
            if response.status_code != 302:
                raise JourneyError("log in", f"log in as {self.citizen.iin} answered {response.status_code}")

        self.step("log in", log_in)

    def fill_wizard(self) -> str:
        """Start the application and answer each step; the check page's HTML."""
        base = f"/{LANG}/services/{SERVICE}/apply"

        def start_page():
            page = self.request("service: before you start", "GET", base)
            self.expect("service: before you start", page, 200, f'action="{base}/start"')
            return self.token("service: before you start", page.text)

        token = self.step("service: before you start", start_page)
        self.pause()

        def start():
            response = self.request("service: start", "POST", f"{base}/start",
                                    data={"csrf_token": token, "action": "start"})
            return self.location("service: start", response)

        path = self.step("service: start", start)
        for _ in range(20):
            if path.endswith("/check"):
                break
            if path.endswith("/not-eligible"):
                raise JourneyError("wizard", f"{self.citizen.iin} is not eligible")
            step_id = path.rsplit("/", 1)[-1]
            name = f"wizard: {step_id}"

            def show(path=path, name=name):
                page = self.request(name, "GET", path)
                self.expect(name, page, 200, 'name="action" value="continue"')
                return page.text

            html = self.step(name, show)
            self.pause()

            def answer(path=path, name=name, html=html):
                data = {"csrf_token": self.token(name, html), "action": "continue"}
                # A confirm step asks "is this correct?"; a choice step offers registry facts:
                # take the first real option (never "not listed"/"another").
                for field_name, value in _RADIO.findall(html):
                    if field_name == "confirmed":
                        data["confirmed"] = "yes"
                    elif field_name not in data and value != "other":
                        data[field_name] = value
                response = self.request(f"{name} (answer)", "POST", path, data=data)
                if response.status_code == 200:
                    raise JourneyError(name, f"the step refused the answers {data}")
                return self.location(name, response)

            path = self.step(f"{name} (answer)", answer)
        else:
            raise JourneyError("wizard", "the wizard did not end after 20 steps")

        def check():
            page = self.request("check your answers", "GET", path)
            self.expect("check your answers", page, 200, f'action="{base}/sign/sms"')
            return page.text

        return self.step("check your answers", check)

    def ask_for_sms_password(self, check_html: str) -> str:
        """Ask for the SMS password; the password page's path."""
        base = f"/{LANG}/services/{SERVICE}/apply"

        def ask():
            response = self.request("SMS: ask for a password", "POST", f"{base}/sign/sms",
                                    data={"csrf_token": self.token("SMS: ask for a password", check_html)})
            page = self.location("SMS: ask for a password", response)
            if "/sign/sms/" not in page:
                raise JourneyError("SMS: ask for a password", f"redirected to {page}")
            return page

        page = self.step("SMS: ask for a password", ask)

        def show():
            response = self.request("SMS: password page", "GET", page)
            self.expect("SMS: password page", response, 200, 'autocomplete="one-time-code"')
            return response.text

        self.password_page_html = self.step("SMS: password page", show)
        return page

    def wait_for_code(self, password_page: str) -> str:
        """Poll as the page does until the worker has sent the SMS; read its code from the outbox."""
        challenge_id = password_page.rsplit("/", 1)[-1]
        deadline = time.monotonic() + self.sms_timeout
        while True:
            def outbox():
                response = self.request("SMS: sandbox outbox", "GET", "/sandbox/sms.json",
                                        params={"iin": self.citizen.iin})
                self.expect("SMS: sandbox outbox", response, 200)
                for message in response.json():  # newest first
                    if message["purpose"] == "sign-application" and message["id"] not in self._used_messages:
                        if message["status"] == "sent" and message.get("code"):
                            return message
                        return None  # the newest signing SMS is not sent yet
                return None

            message = self.step("SMS: sandbox outbox", outbox)
            if message is not None:
                self._used_messages.add(message["id"])
                return message["code"]
            if time.monotonic() > deadline:
                raise JourneyError("SMS: sandbox outbox", f"no SMS sent for challenge {challenge_id} "
                                                          f"within {self.sms_timeout:.0f} s")
            self.sleep(self.poll_interval)

            def poll():
                # What htmx sends every second while the SMS is queued or sending.
                response = self.request("SMS: password page poll", "GET", password_page, headers={
                    "HX-Request": "true", "HX-Target": "sms-status", "Qyzmet-Poll": "1"})
                self.expect("SMS: password page poll", response, 200, 'id="sms-status"')

            self.step("SMS: password page poll", poll)

    def enter_password(self, password_page: str, code: str) -> str:
        """Enter the code; the registration number on the confirmation page."""
        def enter():
            response = self.request("SMS: enter the password", "POST", password_page, data={
                "csrf_token": self.token("SMS: enter the password", self.password_page_html), "code": code})
            sent = self.location("SMS: enter the password", response)
            if not sent.endswith("/sent"):
                raise JourneyError("SMS: enter the password", f"redirected to {sent}, not the confirmation")
            return sent

        sent = self.step("SMS: enter the password", enter)

        def confirmation():
            page = self.request("confirmation", "GET", sent)
            self.expect("confirmation", page, 200, "Application sent")
            found = _NUMBER.search(page.text)
            if not found or f"/{found.group(1)}/sent" not in sent:
                raise JourneyError("confirmation", "the page shows no registration number matching its address")
            return found.group(1)

        return self.step("confirmation", confirmation)

    def follow_in_history(self, number: str) -> None:
        """History of Services lists the application; its background poll answers as htmx expects."""
        path = f"/{LANG}/account/history"

        def history():
            page = self.request("history", "GET", path)
            self.expect("history", page, 200, f">{number}</a>")
            found = _HISTORY_ETAG.search(page.text)
            if not found:
                raise JourneyError("history", "the page carries no polling ETag")
            return found.group(1)

        etag = self.step("history", history)
        for _ in range(self.history_polls):
            if self.history_poll_interval > 0:
                self.sleep(self.history_poll_interval)

            def poll(etag=etag):
                response = self.request("history poll", "GET", path, headers={
                    "HX-Request": "true", "HX-Target": "history-results", "If-None-Match": f'"{etag}"',
                    "Qyzmet-Poll": "1"})
                if response.status_code == 304:
                    if response.content:
                        raise JourneyError("history poll", "a 304 with a body")
                    return etag
                self.expect("history poll", response, 200, f">{number}</a>")
                if response.text.lstrip().startswith("<!"):
                    raise JourneyError("history poll", "a whole page instead of the fragment")
                found = _HISTORY_ETAG.search(response.text)
                return found.group(1) if found else etag

            etag = self.step("history poll", poll)
