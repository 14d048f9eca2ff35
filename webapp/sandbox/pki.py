"""The sandbox CA for testers: make it, hand out test keys, answer CRL and OCSP.

The CA itself is signing.sandbox.pki; this module wires it to the test citizens,
to `flask sandbox pki` and to routes that exist only in the sandbox, and gives
the portal (webapp/signatures.py, through the plug-in's hooks) the CA to
trust, the portal's own key and in-process CRL and OCSP answers.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from flask import Flask, Response, abort, current_app, request, send_file

from signing.sandbox import pki
from webapp import clock
from webapp.extensions import csrf
from webapp.signatures import NATIONAL_TEST_CA_FILES
from webapp.sandbox.blueprint import bp

# Organisations with keys in the sandbox: the portal itself (its own
# signatures) and, for each body the service passports name as provider
# (SandboxConfig.PROVIDER_BODIES), the official who signs its decisions. The
# organisation is written as the national CA writes it in a certificate.
HEAD = "1.2.398.3.3.4.1.2.1"
PORTAL = pki.Holder(
    iin="800101300016", surname="ПОРТАЛ", given="QYZMET", bin="261140000008",
    organisation="QYZMET SANDBOX PORTAL", roles=(HEAD,),
)
PROVIDER = pki.Holder(
    iin="750303400019", surname="ЖАҚСЫБЕКОВА", given="САУЛЕ", patronymic="ЕРЛАНҚЫЗЫ", bin="040340000304",
    organisation='АО "ГОСУДАРСТВЕННЫЙ ФОНД СОЦИАЛЬНОГО СТРАХОВАНИЯ"', roles=(HEAD,),
)
PROVIDERS = {
    holder.bin: holder
    for holder in (
        PROVIDER,
        pki.Holder(iin="780412301237", surname="ТӨЛЕГЕНОВ", given="АРМАН", patronymic="БОЛАТҰЛЫ", bin="170440001104",
                   organisation='РГУ "ДЕПАРТАМЕНТ КОМИТЕТА ТРУДА, СОЦИАЛЬНОЙ ЗАЩИТЫ И МИГРАЦИИ"', roles=(HEAD,)),
        pki.Holder(iin="810903404562", surname="ОМАРОВА", given="ГҮЛНАР", patronymic="СЕРІКҚЫЗЫ", bin="980640005123",
                   organisation='АО "ЕДИНЫЙ НАКОПИТЕЛЬНЫЙ ПЕНСИОННЫЙ ФОНД"', roles=(HEAD,)),
        pki.Holder(iin="760125407893", surname="ҚАСЕНОВА", given="ДИНАРА", patronymic="МАРАТҚЫЗЫ", bin="031140010771",
                   organisation='ГУ "ОТДЕЛ ЗАНЯТОСТИ И СОЦИАЛЬНЫХ ПРОГРАММ"', roles=(HEAD,)),
        pki.Holder(iin="830630303210", surname="БЕКОВ", given="НҰРЖАН", patronymic="ҚАЙРАТҰЛЫ", bin="990740002342",
                   organisation='НАО "ГОСУДАРСТВЕННАЯ КОРПОРАЦИЯ "ПРАВИТЕЛЬСТВО ДЛЯ ГРАЖДАН""', roles=(HEAD,)),
    )
}
# The citizen with the revoked, expired and not-yet-valid keys.
SPECIAL_HOLDER = "900517401370"
# Every test citizen holds GOST 34.10-2015 keys, as the NCA issues them since
# 28 April 2024, except these two, whose older kits still hold the legacy RSA
# keys (the test citizens' page and README say so).
LEGACY_RSA_CITIZENS = ("740821356607", "440217472381")


def pki_dir(app: Flask | None = None) -> Path:
    return Path((app or current_app).config["SANDBOX_PKI_DIR"])


def holders(app: Flask) -> list[pki.Holder]:
    """A key holder for every test citizen, named as the national CA writes names."""
    result = []
    for person, _password, _phone in app.extensions["state_registries"].test_citizens():
        name = person.names.get("ru") or next(iter(person.names.values()))
        result.append(
            pki.Holder(
                iin=person.iin,
                surname=name.surname.upper(),
                given=name.given.upper(),
                patronymic=name.patronymic.upper(),
                algorithm=pki.RSA if person.iin in LEGACY_RSA_CITIZENS else pki.GOST,
            )
        )
    return result


def create(app: Flask, directory: Path | None = None) -> pki.SandboxPKI:
    """Make (or remake) the sandbox CA and every test citizen's keys.

    The keys are valid from a day before the earlier of the portal's clock and
    the machine's, so they serve both a pinned day (the portal verifies on its
    clock) and real time (NCALayer and the sandbox agent sign on the machine's).
    """
    with app.app_context():
        made = min(clock.now(), clock.wall_now())
    return pki.create(
        directory or pki_dir(app),
        holders(app),
        now=made,
        special_holder=SPECIAL_HOLDER,
        organisations=(PORTAL, *PROVIDERS.values()),
        base_url=app.config["SANDBOX_PKI_URL"],
    )


def complete(app: Flask) -> bool:
    """Whether the sandbox CA exists with a key for the portal and every sandbox provider."""
    try:
        authority = pki.SandboxPKI.load(pki_dir(app))
    except FileNotFoundError:
        return False
    return all(authority.key_file(holder.bin) for holder in (PORTAL, *PROVIDERS.values()))


def load() -> pki.SandboxPKI | None:
    """The sandbox CA, or None when `flask sandbox pki` has not made it yet."""
    try:
        return pki.SandboxPKI.load(pki_dir())
    except FileNotFoundError:
        return None


def trusted_ca_files(app: Flask, configured: list[Path]) -> list[Path]:
    """What the sandbox trusts: the configured CA files, else its own CA's bundle; the national
    TEST CAs too when SANDBOX_TRUST_NATIONAL_TEST_CA is on."""
    files = list(configured)
    if not files and app.config.get("SANDBOX_PKI_DIR"):
        files = [pki_dir(app) / "ca-bundle.pem"]
    if app.config.get("SANDBOX") and app.config.get("SANDBOX_TRUST_NATIONAL_TEST_CA"):
        files += [f for f in NATIONAL_TEST_CA_FILES if f not in files]
    return files


def portal_key_file() -> tuple[Path, str] | None:
    """The portal's signing key in the sandbox CA (PKCS#12 file, password), once it is made."""
    if not current_app.config.get("SANDBOX_PKI_DIR"):
        return None
    authority = load()
    found = authority and authority.key_file(PORTAL.bin, kind="sign")
    return (found.path, authority.password) if found else None


def sandbox_fetch(app: Flask, fallback):
    """Answer the sandbox CA's own CRL and OCSP addresses in-process.

    The portal checking its sandbox CA over HTTP would call itself, which a
    single-threaded server cannot answer; everything else goes to `fallback`.
    """
    base = app.config["SANDBOX_PKI_URL"].rstrip("/")

    def fetch(url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        if not url.startswith(base + "/"):
            return fallback(url, body, content_type)
        authority = pki.SandboxPKI.load(pki_dir(app))
        # As the revocation checker reads it: the portal's clock.
        return authority.fetch(url, body, clock.now())

    return fetch


@bp.route("/sandbox/pki/crl")
def crl():
    """The sandbox RSA CA's certificate revocation list (DER), fresh each time."""
    authority = load() or abort(404)
    return Response(authority.crl(clock.now()), mimetype="application/pkix-crl")


@bp.route("/sandbox/pki/gost/crl")
def gost_crl():
    """The sandbox GOST CA's certificate revocation list (DER, signed with GOST), fresh each time."""
    authority = load() or abort(404)
    return Response(authority.gost_crl(clock.now()), mimetype="application/pkix-crl")


@bp.route("/sandbox/pki/ocsp", methods=["POST"])
@csrf.exempt  # OCSP clients post DER, not forms; the answer is public and signed
def ocsp():
    """The sandbox CAs' OCSP responder (RSA answers for RSA keys, GOST answers for GOST keys)."""
    authority = load() or abort(404)
    if request.content_length and request.content_length > 10_000:
        abort(413)
    answer = authority.ocsp_response(request.get_data(), clock.now())
    return Response(answer, mimetype="application/ocsp-response")


@bp.route("/sandbox/pki/<any('ca.crt', 'root.crt', 'gost-ca.crt'):name>")
def certificate(name: str):
    """The sandbox RSA intermediate, RSA root or GOST CA certificate (PEM)."""
    authority = load() or abort(404)
    cert = {"ca.crt": authority.intermediate, "root.crt": authority.root, "gost-ca.crt": authority.gost_ca}[name]
    return Response(cert.public_bytes(serialization.Encoding.PEM), mimetype="application/x-pem-file")


@bp.route("/sandbox/pki/keys/<holder_id>/<any('auth', 'sign'):kind>/<any('normal', 'revoked', 'expired', 'not-yet-valid'):variant>.p12")
def key_file(holder_id: str, kind: str, variant: str):
    """A test key container (PKCS#12) as the national CA names its files."""
    authority = load() or abort(404)
    found = authority.key_file(holder_id, kind=kind, variant=variant) or abort(404)
    return send_file(
        found.path, mimetype="application/x-pkcs12", as_attachment=True, download_name=found.download_name
    )
