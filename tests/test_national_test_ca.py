"""A genuine national TEST certificate (tests/data/nca-test-pki/, expired in
2023) is told as what it is: with SANDBOX_TRUST_NATIONAL_TEST_CA the sandbox
trusts the national TEST CA, and the certificate is refused as expired;
without it, as a national test certificate the portal does not accept, not
as one of an unknown authority."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signing.xmldsig import SigningKey, sign_enveloped
from tests.conftest import NATIONAL_TEST_PKI
from tests.helpers import refused
from webapp.config import REPO_ROOT
from webapp.signatures import NATIONAL_TEST_CA_FILES, trusted_ca_files

NATIONAL_TEST_KEY = SigningKey.from_pkcs12(NATIONAL_TEST_PKI / "fl_rsa_sign.p12", "Qwerty12")


@pytest.fixture
def sandbox_trust(app, monkeypatch):
    """The sandbox's own trust (its CA's bundle only), read again for the test and after it."""
    monkeypatch.setitem(app.config, "TRUSTED_CA_BUNDLE", None)
    monkeypatch.setitem(app.extensions["signatures"], "trust", None)

    def switch(on: bool):
        monkeypatch.setitem(app.config, "SANDBOX_TRUST_NATIONAL_TEST_CA", on)
        app.extensions["signatures"]["trust"] = None

    return switch


def test_the_national_test_ca_shipped_is_the_public_one():
    assert [f.name for f in NATIONAL_TEST_CA_FILES] == ["nca_rsa_test.crt"]
    assert NATIONAL_TEST_CA_FILES[0].read_bytes() == (NATIONAL_TEST_PKI / "nca_rsa_test.crt").read_bytes()


def test_the_switch_adds_the_national_test_cas_in_the_sandbox_only(app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_CA_BUNDLE", None)
    sandbox_bundle = Path(app.config["SANDBOX_PKI_DIR"]) / "ca-bundle.pem"
    monkeypatch.setitem(app.config, "SANDBOX_TRUST_NATIONAL_TEST_CA", False)
    assert trusted_ca_files(app) == [sandbox_bundle]
    monkeypatch.setitem(app.config, "SANDBOX_TRUST_NATIONAL_TEST_CA", True)
    assert trusted_ca_files(app) == [sandbox_bundle, *NATIONAL_TEST_CA_FILES]
    monkeypatch.setitem(app.config, "SANDBOX", False)
    assert trusted_ca_files(app) == [sandbox_bundle]


@pytest.mark.parametrize("value,on", [("1", True), ("", False), ("off", False)])
def test_the_config_switch_reads_the_environment(value, on):
    # A fresh interpreter: reloading webapp.config here would give other tests new classes.
    environment = {**os.environ, "SANDBOX_TRUST_NATIONAL_TEST_CA": value}
    read = subprocess.run(
        [sys.executable, "-c", "from webapp.config import SandboxConfig as c; print(c.SANDBOX_TRUST_NATIONAL_TEST_CA)"],
        env=environment, capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    )
    assert read.stdout.strip() == str(on)


def test_trusted_an_expired_national_test_certificate_is_expired(app, client, sandbox_trust):
    sandbox_trust(True)
    refused(app, client, lambda document: sign_enveloped(document, NATIONAL_TEST_KEY), "Your certificate has expired")


def test_not_trusted_a_national_test_certificate_is_told_as_one(app, client, sandbox_trust):
    sandbox_trust(False)
    refused(app, client, lambda document: sign_enveloped(document, NATIONAL_TEST_KEY),
             "is a test certificate of the National Certification Authority")
