"""SMS: one-time codes for citizens who sign without EDS, and the outbox that sends them.

- `codes`: the one-time code lifecycle: issue, check, the citizen's limits.
- `outbox`: a message is a row in `sms_messages`, sent by a background job.
- `gateways`: where messages go: the sandbox outbox, or the operator's HTTP API.

The gateway is built from SMS_GATEWAY by `init_app`; webapp/jobs.py runs the
sending job. Without a gateway (SMS_GATEWAY=none) SMS codes are unavailable
and EDS remains.
"""

from __future__ import annotations

from flask import Flask, current_app

from webapp.sms.gateways import Gateway, from_config


def init_app(app: Flask) -> None:
    """Build the gateway SMS_GATEWAY names."""
    app.extensions["sms_gateway"] = from_config(app.config)


def gateway() -> Gateway | None:
    """The app's SMS gateway; None when SMS codes are off."""
    return current_app.extensions.get("sms_gateway")


def available() -> bool:
    """Whether the portal can send SMS codes at all."""
    return gateway() is not None
