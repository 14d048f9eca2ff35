"""SMS gateways: where the outbox hands a message over.

A gateway has one method, `send(sms) -> gateway message id`, and says how
a failure should be treated by raising `PermanentFailure` (do not retry:
refused, wrong credentials, a bad number) or `TemporaryFailure` (retry
later: the gateway is down, slow or overloaded). The outbox job
(webapp/sms/outbox.py) records either on the message.

- `HttpGateway`: the operator's HTTP API: a JSON POST
  {"to": "+77011234567", "text": "...", "id": "<idempotency key>"} with
  HTTP basic auth. 2xx: accepted; 4xx: permanent failure (wrong
  credentials, a refused number), except 408 and 429, which ask to come
  back later; 5xx, timeouts and network errors: temporary; a redirect is
  not followed (a POST would lose its body) and is a permanent failure. The id is the message's public id, the same on every
  retry, so the gateway can drop a duplicate.

Other kinds come from plug-ins: the sandbox registers "sandbox" (its outbox
page, webapp/sandbox/gateways.py) through `register_gateway`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from flask import Flask, current_app

from webapp.config import ConfigError
from webapp.outbound import DeliveryError, PermanentFailure, Poster, TemporaryFailure

__all__ = ["DeliveryError", "PermanentFailure", "TemporaryFailure", "Sms", "Gateway", "HttpGateway", "from_config",
           "register_gateway", "init_app", "gateway", "available"]

@dataclass(frozen=True)
class Sms:
    """One message as a gateway sees it."""

    to: str
    text: str
    id: str  # idempotency key: the same on every attempt for one message


class Gateway(Protocol):
    name: str
    # Whether the outbox keeps the message's text (one-time code included)
    # after sending: only where testers must read it.
    keeps_text: bool

    def send(self, sms: Sms) -> str:
        """Hand the message over; return the gateway's id for it, or raise DeliveryError."""
        ...


class HttpGateway:
    """The operator's HTTP gateway: JSON POST with HTTP basic auth."""

    name = "http"
    keeps_text = False

    def __init__(self, url: str, user: str | None = None, password: str | None = None, timeout: float = 10):
        if not url:
            raise ValueError("HttpGateway needs the gateway's URL")
        self.url = url
        self.timeout = timeout
        self._poster = Poster(url, user, password, timeout, who="gateway")

    def __repr__(self) -> str:  # never the password
        return f"HttpGateway({self.url!r})"

    def send(self, sms: Sms) -> str:
        body = json.dumps({"to": sms.to, "text": sms.text, "id": sms.id}, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Idempotency-Key": sms.id,
        }
        payload = self._poster.post(body, headers)
        return _gateway_id(payload) or sms.id


def _gateway_id(payload: bytes) -> str | None:
    """The gateway's own id for the message, when its answer gives one."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if isinstance(data, dict):
        for key in ("id", "message_id", "messageId"):
            if isinstance(data.get(key), (str, int)) and str(data[key]):
                return str(data[key])[:100]
    return None


Factory = Callable[[Mapping], Gateway]


def from_config(config: Mapping, kinds: Mapping[str, Factory] | None = None) -> Gateway | None:
    """The gateway SMS_GATEWAY names; None when SMS codes are off ("none").

    `kinds`: the gateways plug-ins add, by name, each built from the configuration.
    """
    kind = (config.get("SMS_GATEWAY") or "none").lower()
    kinds = kinds or {}
    if kind in kinds:
        return kinds[kind](config)
    if kind == "http":
        if not config.get("SMS_GATEWAY_URL"):
            raise ConfigError("SMS_GATEWAY=http needs SMS_GATEWAY_URL")
        return HttpGateway(
            config["SMS_GATEWAY_URL"],
            config.get("SMS_GATEWAY_USER"),
            config.get("SMS_GATEWAY_PASSWORD"),
            timeout=config.get("SMS_GATEWAY_TIMEOUT", 10),
        )
    if kind == "none":
        return None
    raise ConfigError(f"SMS_GATEWAY must be {', '.join([*kinds, 'http'])} or none, not {kind!r}")


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
