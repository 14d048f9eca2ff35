"""A complete, valid production environment for tests: real files for the
trusted CA bundle and the portal's PKCS#12 key, made once per test run.

    env = production_environment(tmp_path, SMS_GATEWAY_URL="https://...")

The database URL is never dialled by tests that only build the app
(port 1); the Redis URL is the test Redis database (index 6), which
`create_app` does not contact until a request needs it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

# The registries adapter production tests run against: the sandbox's test
# citizens, under a name that is not the sandbox's own (production refuses
# webapp.registries.sandbox by name).
from webapp.registries.sandbox import SandboxRegistries as Registries  # noqa: F401

PORTAL_KEY_PASSWORD = "portal-key-password"
REDIS_TEST_URL = "redis://127.0.0.1:6379/6"


@lru_cache(maxsize=1)
def _material() -> tuple[bytes, bytes]:
    """(CA certificate PEM, portal PKCS#12) made once: RSA key generation costs."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test production CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Qyzmet portal")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(ca_key, hashes.SHA256())
    )
    p12 = pkcs12.serialize_key_and_certificates(
        b"portal", key, certificate, [ca],
        serialization.BestAvailableEncryption(PORTAL_KEY_PASSWORD.encode()),
    )
    return ca.public_bytes(serialization.Encoding.PEM), p12


def production_environment(directory: Path, **changes: str | None) -> dict[str, str]:
    """Every setting production needs, valid; `changes` replace some (None removes one)."""
    ca_pem, p12 = _material()
    bundle = Path(directory) / "ca-bundle.pem"
    key = Path(directory) / "portal.p12"
    bundle.write_bytes(ca_pem)
    key.write_bytes(p12)
    attachments = Path(directory) / "attachments"
    attachments.mkdir(exist_ok=True)
    environment = {
        "SECRET_KEY": "p" * 40,
        "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/never-dialled",
        "REDIS_URL": REDIS_TEST_URL,
        "TRUSTED_CA_BUNDLE": str(bundle),
        "STATE_REGISTRIES": "tests.production:Registries",
        "PROVIDER_BINS": "040340000304",
        "PORTAL_SIGNING_KEY": str(key),
        "PORTAL_SIGNING_KEY_PASSWORD": PORTAL_KEY_PASSWORD,
        "REVOCATION_METHODS": "ocsp crl",
        "OCSP_URL": "http://ocsp.pki.gov.kz",
        "CRL_URLS": "http://crl.pki.gov.kz/nca_rsa.crl",
        "NCALAYER_URL": "wss://127.0.0.1:13579",
        "ATTACHMENTS_DIR": str(attachments),
    }
    environment.update(changes)
    return {name: value for name, value in environment.items() if value is not None}
