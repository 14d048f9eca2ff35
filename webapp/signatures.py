"""The portal's use of signing/: whom it trusts, how it checks revocation,
and what it tells a citizen whose signature it refuses.

signing/ knows nothing of Flask; this module feeds it the configuration and
turns its reason codes into translated messages. A plug-in (the sandbox)
adds trust anchors, the portal's key and in-process revocation answers
through `add_trust_source`, `set_portal_key_source` and
`wrap_revocation_fetch`, before `init_app`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l

from signing import gost
from signing.revocation import RevocationChecker, http_fetch
from signing.verify import HolderType, Purpose, Refused, TrustStore, Verdict, signer_certificate, verify
from signing.xmldsig import SigningKey
from webapp import observability
from webapp import clock
from webapp.clock import now

# The national CA's public TEST CAs (RSA, PEM; GOST TEST 2022, DER); certificates they issued are
# test keys, never a citizen's own.
_NATIONAL_TEST_CA_DIR = Path(__file__).parent / "sandbox" / "national_test_ca"
NATIONAL_TEST_CA_FILES = sorted([*_NATIONAL_TEST_CA_DIR.glob("*.crt"), *_NATIONAL_TEST_CA_DIR.glob("*.cer")])

# What the citizen reads for each reason signing.verify gives. A reason
# missing here falls back to the general message (and a test says none is).
REFUSAL_MESSAGES = {
    "malformed": _l("The signed document could not be read. Sign the application again."),
    "too_large": _l("The signed document is too large: the portal reads documents of up to 2 MB and 10,000 elements. Sign the application shown on this page again."),
    "doctype": _l("The signed document contains a document type declaration, which is not allowed. Sign the application again."),
    "comments": _l("The signed document contains comments or processing instructions, which are not allowed. Sign the application again."),
    "not_signed": _l("The document is not signed. Sign the application with your EDS."),
    "signature_location": _l("The signature is not where it should be. Sign the application again with NCALayer."),
    "algorithm": _l("The document is signed with an algorithm the portal does not accept. Sign it again with your key from the National Certification Authority."),
    "legacy_gost": _l("Your key is of an old type (GOST 34.310-2004) that is no longer accepted. Get a new key from the National Certification Authority, or sign with an SMS password."),
    "key_info": _l("The signature does not carry your certificate the way NCALayer does. Sign the application again with NCALayer."),
    "key_value_mismatch": _l("The key in the signature does not match its certificate. Sign the application again."),
    "signature_invalid": _l("The signature does not match the document. Sign the application again."),
    "document_mismatch": _l("The signed document is not the application shown on this page. It may have changed since you signed it. Check your answers and sign again."),
    "untrusted": _l("Your certificate was not issued by the National Certification Authority. Sign with a key from the National Certification Authority."),
    "ca_certificate": _l("A certificate authority's certificate cannot sign an application. Choose your own signing key."),
    "expired": _l("Your certificate has expired. Get a new key from the National Certification Authority, or sign with an SMS password."),
    "not_yet_valid": _l("Your certificate is not valid yet. Check the date on your computer, or use another key."),
    "revoked": _l("Your certificate has been revoked. Get a new key from the National Certification Authority, or sign with an SMS password."),
    "revocation_unavailable": _l("We could not check whether your certificate has been revoked. Try again in a few minutes."),
    "wrong_key_type": _l("You chose an authentication key (its file is named AUTH_GOST512… or AUTH_RSA256…). To sign an application, choose your signing key (GOST512… or RSA256…)."),
    "wrong_key_type_login": _l("You chose a signing key (its file is named GOST512… or RSA256…). To log in, choose your authentication key (AUTH_GOST512… or AUTH_RSA256…)."),
    "not_individual": _l("This key belongs to an organisation's employee. Sign with your personal key."),
    "not_organisation": _l("This key belongs to an individual, not to an organisation."),
    "another_person": _l("This key belongs to another person. Sign with your own key."),
    "signature_structure": _l("The signature is not laid out as NCALayer lays it out. Sign the application again with NCALayer."),
    "replayed": _l("This signed document has already been used. Sign the application again."),
    "challenge_expired": _l("The login request has expired. Try again."),
    "unknown_person": _l("The state database has no record of the person this key belongs to."),
    "national_test_ca": _l("Your certificate is a test certificate of the National Certification Authority, which this portal does not accept. Sign with a key the National Certification Authority issued to you, or with an SMS password."),
}
GENERAL_REFUSAL = _l("The signature could not be checked. Sign the application again.")


def refusal_message(reason: str, purpose: Purpose = Purpose.SIGN) -> str:
    """The translated message for a refusal reason."""
    if reason == "wrong_key_type" and purpose is Purpose.LOG_IN:
        reason = "wrong_key_type_login"
    return str(REFUSAL_MESSAGES.get(reason, GENERAL_REFUSAL))


def trust_store() -> TrustStore:
    """The trust anchors, read once; again while there are none (the sandbox CA may come later)."""
    state = current_app.extensions["signatures"]
    if state["trust"] is None or not state["trust"].certificates:
        files = [f for f in trusted_ca_files(current_app) if f.is_file()]
        state["trust"] = TrustStore.from_pem_files(*files) if files else TrustStore.from_certificates([])
    return state["trust"]


def national_test_cas() -> TrustStore:
    """The national CA's TEST CAs (public test material, webapp/sandbox/national_test_ca/), read once."""
    state = current_app.extensions["signatures"]
    if state.get("national_test_cas") is None:
        state["national_test_cas"] = TrustStore.from_pem_files(*NATIONAL_TEST_CA_FILES)
    return state["national_test_cas"]


def _untrusted_reason(signed_xml: bytes) -> str:
    """Why a signer's CA is not trusted, when the portal knows it: a national TEST CA it is not told to trust."""
    certificate = signer_certificate(signed_xml)
    if certificate is not None and national_test_cas().issuer_of(certificate) is not None:
        return "national_test_ca"
    return "untrusted"


def verify_citizen(signed_xml: bytes, *, issued: bytes | None, purpose: Purpose, iin: str | None = None) -> Verdict:
    """Verify a citizen's EDS signature; Refused carries the reason code (counted in /metrics)."""
    try:
        verdict = verify(
            signed_xml,
            trust=trust_store(),
            purpose=purpose,
            holder=HolderType.INDIVIDUAL,
            issued=issued,
            expected_iin=iin,
            revocation=current_app.extensions["signatures"]["revocation"],
            now=now(),
        )
    except Refused as refusal:
        reason = _untrusted_reason(signed_xml) if refusal.reason == "untrusted" else refusal.reason
        observability.count_signature(purpose.value, reason)
        if reason != refusal.reason:
            raise Refused(reason, refusal.detail) from None
        raise
    observability.count_signature(purpose.value, None)
    return verdict


def portal_key() -> SigningKey:
    """The portal's own signing key, opened once (opening costs tens of milliseconds)."""
    state = current_app.extensions["signatures"]
    if state.get("portal_key") is None:
        path = current_app.config.get("PORTAL_SIGNING_KEY")
        password = current_app.config.get("PORTAL_SIGNING_KEY_PASSWORD") or ""
        source = current_app.extensions.get("portal_key_source")
        if not path and source is not None:
            path, password = source() or (None, "")
        if not path:
            raise RuntimeError("PORTAL_SIGNING_KEY is not configured")
        state["portal_key"] = SigningKey.from_pkcs12(Path(path), password)
    return state["portal_key"]


def trusted_ca_files(app: Flask) -> list[Path]:
    """The CA files the configuration names (several, separated by os.pathsep), as the plug-ins'
    trust sources change them (the sandbox: its CA's bundle, the national TEST CAs if asked)."""
    configured = app.config.get("TRUSTED_CA_BUNDLE")
    files = [Path(p) for p in configured.split(os.pathsep) if p] if configured else []
    for source in app.extensions.get("trust_sources", ()):
        files = source(app, files)
    return files


TrustSource = Callable[[Flask, list[Path]], list[Path]]


def add_trust_source(app: Flask, source: TrustSource) -> None:
    """A plug-in's trust anchors: `source(app, files)` gives the CA files to trust instead of `files`."""
    app.extensions.setdefault("trust_sources", []).append(source)


def set_portal_key_source(app: Flask, source: Callable[[], tuple[Path, str] | None]) -> None:
    """Where the portal's key is when PORTAL_SIGNING_KEY is not set: `source()` gives (PKCS#12 file, password)."""
    app.extensions["portal_key_source"] = source


def wrap_revocation_fetch(app: Flask, wrap: Callable[[Flask, Callable], Callable]) -> None:
    """A plug-in answering some revocation addresses itself: `wrap(app, fetch)` gives the fetch to use."""
    app.extensions["revocation_fetch_wrap"] = wrap


def init_app(app: Flask) -> None:
    """Set up the revocation checker; the trust anchors are read on first use.

    In the sandbox the CA files may not exist yet (`flask sandbox pki`
    makes them); signatures are refused as untrusted until they do. A
    machine that cannot check GOST signatures (OpenSSL's GOST provider
    missing) stops the start.
    """
    gost.self_test()  # no GOST provider: stop here rather than fail every GOST signature
    fetch = http_fetch
    wrap = app.extensions.get("revocation_fetch_wrap")
    if wrap is not None:
        fetch = wrap(app, http_fetch)
    app.extensions["signatures"] = {
        "trust": None,
        "revocation": RevocationChecker(
            methods=tuple(app.config["REVOCATION_METHODS"]),
            ocsp_url=app.config["OCSP_URL"],
            crl_urls=tuple(app.config["CRL_URLS"]),
            fetch=fetch,
            cache_seconds=app.config["REVOCATION_CACHE_SECONDS"],
            # The portal's clock: the sandbox CA answers on a pinned day's clock too.
            clock=clock.now,
        ),
    }


__all__ = ["Purpose", "Refused", "refusal_message", "verify_citizen", "init_app", "trust_store"]
