"""The HTTP benchmark's baseline: a bare Flask app answering the portal's captured responses.

    gunicorn 'bench.bare_app:create("/tmp/…/bare.json")'

bench/http_bench.py captures each case's response from the portal (status,
headers, body), writes them to a JSON manifest with the bodies in files, and
serves this app with the very gunicorn settings the portal runs with. Every
case answers at /__bare/<case>, for GET and POST alike, with the same status,
the same body and the same headers (less the ones the server adds itself):
what is left of the portal's time after this is the portal's own work.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, Response, abort

# The server writes these itself; copying them would send them twice.
SERVER_HEADERS = {"content-length", "date", "server", "connection", "transfer-encoding", "keep-alive"}


def create(manifest: str) -> Flask:
    """The app for one manifest: {case: {"status", "headers": [[name, value]…], "body_file"}}."""
    cases = json.loads(Path(manifest).read_text(encoding="utf-8"))
    answers = {
        name: (
            Path(case["body_file"]).read_bytes(),
            case["status"],
            [(k, v) for k, v in case["headers"] if k.lower() not in SERVER_HEADERS],
        )
        for name, case in cases.items()
    }
    app = Flask(__name__)

    @app.route("/__bare/<name>", methods=["GET", "POST"])
    def answer(name: str):
        found = answers.get(name) or abort(404)
        body, status, headers = found
        return Response(body, status=status, headers=headers)

    return app
