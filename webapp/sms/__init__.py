"""SMS: one-time codes for citizens who sign without EDS, and the outbox that sends them.

- `codes`: the one-time code lifecycle: issue, check, the citizen's limits.
- `outbox`: a message is a row in `sms_messages`, sent by a background job.
- `gateways`: where messages go: the operator's HTTP API, or a plug-in's
  (the sandbox's outbox page).
- `signing`: confirming a document with an SMS password, for every flow.

The gateway is built from SMS_GATEWAY by `init_app`; webapp/jobs/tasks.py
runs the sending job. Without a gateway (SMS_GATEWAY=none) SMS codes are
unavailable and EDS remains.
"""

from __future__ import annotations

from flask import Flask, current_app

from webapp.sms.gateways import Factory, Gateway, from_config


def register_gateway(app: Flask, kind: str, factory: Factory) -> None:
    """A plug-in's gateway, chosen by SMS_GATEWAY=kind (before `init_app`)."""
    app.extensions.setdefault("sms_gateway_kinds", {})[kind] = factory


def init_app(app: Flask) -> None:
    """Build the gateway SMS_GATEWAY names."""
    app.extensions["sms_gateway"] = from_config(app.config, app.extensions.get("sms_gateway_kinds"))


def gateway() -> Gateway | None:
    """The app's SMS gateway; None when SMS codes are off."""
    return current_app.extensions.get("sms_gateway")


def available() -> bool:
    """Whether the portal can send SMS codes at all."""
    return gateway() is not None
