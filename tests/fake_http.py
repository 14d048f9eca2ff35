"""One fake web service on 127.0.0.1 for tests: the provider's system, an SMS
gateway, an OCSP responder. Each test says how it answers; the server keeps
what it received."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


class FakeHttpServer:
    """A web service on a port of the system's choosing: `answer(received)` gives each Reply.

    Every request is kept in `requests` before it is answered; a client that
    gives up waiting (a timeout test) is no error.
    """

    def __init__(self, answer: Callable[[Received], Reply]):
        self.answer = answer
        self.requests: list[Received] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received = Received(self.command, self.path, dict(self.headers), body)
                fake.requests.append(received)
                reply = answer(received)
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": reply.content_type, **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def url(self, path: str = "") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def header(self, name: str) -> list[str | None]:
        """That header of every request received, in order."""
        return [r.headers.get(name) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class scripted:
    """Answer each request by a script of statuses, checking basic auth (a wrong one gets 401).

    Script items: a status code, or ("slow", seconds, status); the last item
    repeats, and a test may replace `script` midway. `reply(status, count)`
    words the answer (count: requests answered so far, this one included).
    """

    def __init__(self, script, user: str, password: str, reply: Callable[[int, int], Reply]):
        self.script = list(script) or [200]
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.reply = reply
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, received: Received) -> Reply:
        with self.lock:
            action = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            self.count += 1
            count = self.count
        if isinstance(action, tuple):
            _slow, seconds, action = action
            time.sleep(seconds)
        return self.reply(action if received.headers.get("Authorization") == self.expected else 401, count)
