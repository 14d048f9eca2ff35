"""The sandbox's gateways, registered by the plug-in (webapp/sandbox/__init__.py):
SMS go to the outbox page, applications to the operator console.

- SMS_GATEWAY=sandbox (`SandboxGateway`): delivers nothing; the message stays
  readable in the outbox table, which testers see at /sandbox/sms.
- PROVIDER_GATEWAY=sandbox (`SandboxProvider`): the sandbox provider's
  "system" is the operator console (/sandbox/operator) in this same
  process, so taking the application is recording it as delivered; with
  SANDBOX_AUTO_DECIDE on, it also schedules the automatic decision
  (webapp/sandbox/auto_decide.py) SANDBOX_AUTO_DECIDE_SECONDS later.
"""

from __future__ import annotations

import logging
from typing import Mapping

from webapp.config import ConfigError
from webapp.provider.delivery import Handover
from webapp.sandbox import auto_decide
from webapp.sms.gateways import Sms

log = logging.getLogger(__name__)


class SandboxGateway:
    """The sandbox: the outbox row is the delivered message; /sandbox/sms shows it."""

    name = "sandbox"
    keeps_text = True

    def send(self, sms: Sms) -> str:
        return f"sandbox-{sms.id}"


class SandboxProvider:
    """The sandbox provider: the operator console in this process is its system."""

    name = "sandbox"

    def __init__(self, auto_decide: bool = False, auto_decide_seconds: float = 30):
        self.auto_decide = auto_decide
        self.auto_decide_seconds = auto_decide_seconds

    def deliver(self, handover: Handover) -> str:
        return f"sandbox-{handover.number}"

    def delivered(self, handover: Handover) -> None:
        if not self.auto_decide:
            return
        try:
            auto_decide.schedule(handover.application_id, delay=self.auto_decide_seconds)
        except Exception:  # noqa: BLE001  (the operator console can still decide by hand)
            log.exception("Could not schedule the automatic decision on application %s", handover.number)


def sms_gateway(config: Mapping) -> SandboxGateway:
    return SandboxGateway()


def provider_gateway(config: Mapping) -> SandboxProvider:
    if not config.get("SANDBOX"):
        raise ConfigError("PROVIDER_GATEWAY=sandbox exists only in the sandbox")
    return SandboxProvider(
        auto_decide=bool(config.get("SANDBOX_AUTO_DECIDE")),
        auto_decide_seconds=float(config.get("SANDBOX_AUTO_DECIDE_SECONDS") or 0),
    )
