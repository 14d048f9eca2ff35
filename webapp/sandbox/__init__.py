"""The testers' sandbox, a plug-in: test citizens, the sandbox CA's keys, the
SMS outbox and the operator console playing the provider.

create_app calls `init_app` only when SANDBOX is on: in production none of
this is imported, and its routes do not exist.
"""

from __future__ import annotations

import click
from flask import Flask

from webapp import clock, signatures, templating
from webapp.jobs import queue
from webapp.provider import delivery
from webapp.sms import gateways as sms_gateways
from webapp.sandbox import auto_decide, egov_mobile, gateways, operator, pki, sms, synthetic  # noqa: F401  (sms: routes join bp)
from webapp.sandbox.blueprint import bp
from webapp.sandbox.citizens import load_test_citizens

__all__ = ["init_app", "load_test_citizens"]


def init_app(app: Flask) -> None:
    """Plug the sandbox in: its blueprint and `flask sandbox` commands, its gateways, the automatic
    decisions' job, its CA and the portal's key (before the portal builds its gateways and trust),
    and the generated citizens if asked."""
    app.register_blueprint(bp)
    sms_gateways.register_gateway(app, "sandbox", gateways.sms_gateway)
    delivery.register_gateway(app, "sandbox", gateways.provider_gateway)
    queue.add_tasks(app, auto_decide.tasks)
    signatures.add_trust_source(app, pki.trusted_ca_files)
    signatures.set_portal_key_source(app, pki.portal_key_file)
    signatures.wrap_revocation_fetch(app, pki.sandbox_fetch)
    templating.add(app, globals={"operator_status": operator.operator_status,
                                 "sandbox_egov_mobile_links": egov_mobile.portal_links})
    if app.config.get("SANDBOX_SYNTHETIC_CITIZENS"):
        app.extensions["state_registries"] = synthetic.WithSyntheticCitizens(
            app.extensions["state_registries"], app.config["SANDBOX_SYNTHETIC_CITIZENS"]
        )
        # Generated now (a second or two per thousand), not in some citizen's first request.
        app.extensions["state_registries"].synthetic_citizens()

    @app.cli.group("sandbox")
    def sandbox_cli():
        """Sandbox data for testers."""

    @sandbox_cli.command("load")
    def load():
        """Load (or reset) the test citizens' accounts and phones."""
        click.echo(f"Loaded {load_test_citizens()} test citizens.")

    @sandbox_cli.command("load-synthetic")
    def load_synthetic():
        """Create the accounts and phones of the SANDBOX_SYNTHETIC_CITIZENS generated citizens (load runs)."""
        registries = app.extensions["state_registries"]
        if not isinstance(registries, synthetic.WithSyntheticCitizens):
            raise click.UsageError("Set SANDBOX_SYNTHETIC_CITIZENS to how many generated citizens you need.")
        click.echo(f"Loaded {synthetic.load_synthetic_citizens(registries)} generated test citizens.")

    @sandbox_cli.command("pki")
    @click.option("--if-missing", is_flag=True, help="Keep the sandbox CA when it already exists with every key.")
    def make_pki(if_missing: bool):
        """Make the sandbox CA and every test citizen's EDS keys."""
        directory = pki.pki_dir(app)
        if if_missing and pki.complete(app):
            click.echo(f"The sandbox CA is in {directory}.")
            moment, keys = clock.now(), pki.load().all_keys()
            if keys and not all(k.not_before <= moment <= k.not_after for k in keys if k.variant == "normal"):
                # Made on another day than the one pinned now (QYZMET_TODAY): EDS would be refused.
                click.echo(f"Its keys are not valid on {moment:%Y-%m-%d}: make it again with "
                           "`flask --app webapp sandbox pki`.", err=True)
            return
        pki.create(app)
        click.echo(f"Made the sandbox CA and the test citizens' keys in {directory}.")
