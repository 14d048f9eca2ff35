"""How fast is the portal's signature work, next to what it is built on?

    .venv/bin/python -m bench.signing_bench [--seconds N] [--json PATH]

Seven operations, in one process, each timed call by call
(time.perf_counter_ns) for a fixed budget after a warm-up:

- bare_signxml_verify: signxml alone verifying a citizen's NCALayer-shaped
  RSA signature of an application (chain to the sandbox CA bundle included);
- portal_verify: signing.verify.verify() of the same document, with every
  check the portal makes (issued document, IIN, key purpose, holder type,
  revocation answered from the checker's cache);
- raw_rsa_sign: one RSA PKCS#1 v1.5 SHA-256 signature of a SignedInfo-sized
  input (~600 bytes) with an already loaded key;
- portal_sign: signing.xmldsig.sign_enveloped() of the application with the
  portal's (an organisation's) key, loaded once;
- bare_gost_verify: the same application signed with a GOST 2015-512 key,
  verified as signxml would if it could: parse, the key from KeyInfo's
  certificate, digest and signature (signing.xmldsig.verify_gost);
- portal_gost_verify: verify() of the GOST document with every check, the
  chain to a throwaway GOST CA built here (signing.gost_ca) and GOST OCSP
  from the checker's cache, the certificate's own signature check cached as
  in a running portal;
- portal_gost_verify_cold: the same with those certificate caches emptied
  before each call (a citizen's first signature since the process started).

Ratios with their targets: portal_verify / bare_signxml_verify (≤ 2.0),
portal_sign / raw_rsa_sign (≤ 3.0), bare_gost_verify / bare_signxml_verify
(≤ 20), portal_gost_verify / bare_gost_verify (≤ 2.0), and two for
information; bare_gost_verify must also take at most 5 ms. A ratio or limit
over its target is printed as MISS; the exit code is 0 all the same (this is
a report, not a gate). The sandbox PKI is built in a temporary directory
first; its cost is reported separately and is not part of any timing. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from bench.timing import percentile, time_calls
from signing import gost_x509
from signing.sandbox import pki
from signing.certificates import EKU_EMAIL_PROTECTION, ROLE_INDIVIDUAL
from signing.gost_ca import GostAuthority
from signing.revocation import RevocationChecker
from signing.verify import HolderType, Purpose, TrustStore, verify
from signing.xmldsig import DS, SigningKey, safe_parser, sign_enveloped, verify_gost
from webapp.applications.document import AnswerValue, ApplicationDocument, AttachedFile, FactGroup

# The operations, in the order they are timed within each round.
OPERATIONS = (
    "bare_signxml_verify",
    "portal_verify",
    "raw_rsa_sign",
    "portal_sign",
    "bare_gost_verify",
    "portal_gost_verify",
    "portal_gost_verify_cold",
)
# (numerator, denominator, target): the numerator may take at most `target` times the denominator;
# a target of None is for information.
RATIOS = (
    ("portal_verify", "bare_signxml_verify", 2.0),
    ("portal_sign", "raw_rsa_sign", 3.0),
    ("bare_gost_verify", "bare_signxml_verify", 20.0),
    ("portal_gost_verify", "bare_gost_verify", 2.0),
    ("portal_gost_verify_cold", "bare_gost_verify", None),
    ("portal_gost_verify", "portal_verify", None),
)
# (operation, target): its mean may take at most `target` microseconds.
LIMITS = (("bare_gost_verify", 5000.0),)
RATIO_BASIS = "mean"  # ratios compare means; p50 ratios are reported beside them

DEFAULT_SECONDS = 3.0
DEFAULT_ROUNDS = 3
MAX_WARMUP_SECONDS = 0.5
MIN_WARMUP_CALLS = 3

CITIZEN = "900101300018"
OTHER_CITIZEN = "950202400027"
EMPLOYEE = "850505300021"
ORGANISATION = "180340021234"  # the portal's own key is this organisation's signing key

# RSA keys from the sandbox (its holders are GOST by default): the RSA baselines. The GOST key is
# issued below by a throwaway GOST CA with a delegated OCSP responder (gost_setting).
HOLDERS = (
    pki.Holder(CITIZEN, "Ахметова", "Айгерім", "Болатқызы", email="aigerim@example.kz", algorithm=pki.RSA),
    pki.Holder(OTHER_CITIZEN, "Сейтқали", "Ержан", "Нұрланұлы", algorithm=pki.RSA),
)
ORGANISATIONS = (
    pki.Holder(
        EMPLOYEE,
        "Омаров",
        "Ерлан",
        "Серікұлы",
        bin=ORGANISATION,
        organisation='АО "Государственный фонд социального страхования"',
        roles=(pki.ROLE_HEAD,),
        algorithm=pki.RSA,
    ),
)


# --------------------------------------------------------------------------
# The document


def application_document(iin: str, issued_at: dt.datetime) -> bytes:
    """An application as ApplicationDocument.to_xml() writes it: ~4.9 KB, 16 answers, 39 facts, 3 attachments."""
    document = ApplicationDocument(
        service="child-care-under-one",
        language="kk",
        applicant=(
            ("iin", iin),
            ("surname", "Ахметова"),
            ("givenName", "Айгерім"),
            ("patronymic", "Болатқызы"),
            ("birthDate", "1990-01-01"),
            ("sex", "female"),
            ("citizenship", "KZ"),
            ("documentNumber", "045123789"),
        ),
        facts=(
            FactGroup(
                "identityDocument",
                (
                    ("type", "Қазақстан Республикасы азаматының жеке куәлігі"),
                    ("number", "045123789"),
                    ("issuedBy", "ҚР ІІМ"),
                    ("issuedOn", "2021-02-11"),
                    ("validUntil", "2031-02-10"),
                ),
            ),
            FactGroup(
                "residence",
                (
                    ("region", "Алматы қаласы"),
                    ("district", "Бостандық ауданы"),
                    ("street", "Абай даңғылы"),
                    ("house", "150"),
                    ("flat", "42"),
                    ("registeredOn", "2016-09-14"),
                ),
            ),
            FactGroup("marriage", (("spouse", "870902304006"), ("marriageRegisteredOn", "2015-06-20"))),
            FactGroup(
                "children",
                (
                    ("child1Iin", "250315600011"),
                    ("child1Name", "АХМЕТОВ НҰРСҰЛТАН ЕРЖАНҰЛЫ"),
                    ("child1BirthRegisteredOn", "2025-03-20"),
                    ("child2Iin", "190704500022"),
                    ("child2Name", "АХМЕТОВА ДАНА ЕРЖАНҚЫЗЫ"),
                ),
            ),
            FactGroup(
                "birthRecord",
                (
                    ("recordNumber", "2025-0320-004417"),
                    ("registeredBy", "Алматы қаласы Бостандық ауданының АХАЖ бөлімі"),
                    ("registeredOn", "2025-03-20"),
                    ("mother", iin),
                    ("father", "870902304006"),
                ),
            ),
            FactGroup(
                "employment",
                (
                    ("employerBin", "050140003217"),
                    ("employerName", 'ТОО "Алматы Сауда Орталығы"'),
                    ("averageMonthlyIncome", "412350.00"),
                    ("contributionMonths", "24"),
                ),
            ),
            # The social contributions of the last twelve months, as the pension fund reports them.
            FactGroup(
                "contributions",
                tuple((f"2024-{month:02d}", f"{14_432.25 + 97 * month:.2f}") for month in range(4, 13))
                + tuple((f"2025-{month:02d}", f"{14_432.25 + 97 * month:.2f}") for month in range(1, 4)),
            ),
        ),
        answers=(
            AnswerValue("child", "choice", "250315600011"),
            AnswerValue("iban", "text", "KZ86125KZT5004100100"),
            AnswerValue("bank", "choice", "HSBKKZKX"),
            AnswerValue("phone", "phone", "+77011234567"),
            AnswerValue("email", "email", "aigerim@example.kz"),
            AnswerValue("leaveStart", "date", "2025-05-21"),
            AnswerValue("leaveEnd", "date", "2026-03-15"),
            AnswerValue("adopted", "yesno", "false"),
            AnswerValue("guardian", "yesno", "false"),
            AnswerValue("livesInBaikonur", "yesno", "false"),
            AnswerValue("postalAddress", "text", "050040, Алматы қаласы, Бостандық ауданы, Абай даңғылы, 150-үй, 42-пәтер"),
            AnswerValue("notifyBy", "choice", "sms"),
            AnswerValue("note", "text", "Бала күтімі бойынша демалыстамын; жұмыс берушінің бұйрығы қоса беріледі."),
            AnswerValue(
                "previousChildren",
                "group",
                (
                    (AnswerValue("iin", "text", "190704500022"), AnswerValue("paymentReceived", "yesno", "true")),
                    (AnswerValue("iin", "text", "170211600033"), AnswerValue("paymentReceived", "yesno", "false")),
                ),
            ),
            AnswerValue("leaveOrder", "file", ["f-7d3a9c1e"]),
            AnswerValue("incomeCertificate", "file", ["f-0b52e8a4", "f-c91d3f70"]),
        ),
        attachments=(
            AttachedFile("f-7d3a9c1e", "leaveOrder", "бұйрық-демалыс.pdf", "application/pdf", 184_233, "3f7a" * 16),
            AttachedFile("f-0b52e8a4", "incomeCertificate", "справка-о-доходах-1.jpg", "image/jpeg", 912_004, "0b52" * 16),
            AttachedFile("f-c91d3f70", "incomeCertificate", "справка-о-доходах-2.jpg", "image/jpeg", 877_310, "c91d" * 16),
        ),
        nonce="6b1c0f2e9a8d4c3fb7e5a2d1c0f9e8d7",
        issued_at=issued_at,
    )
    return document.to_xml()


# --------------------------------------------------------------------------
# The setting: a sandbox PKI, keys, documents


class InProcessRevocation:
    """The sandbox's (or the GOST CA's) OCSP responder and CRL, answered in-process, calls counted."""

    def __init__(self, sandbox: pki.SandboxPKI, gost: GostAuthority):
        self.sandbox = sandbox
        self.gost = gost
        self.calls = 0

    def fetch(self, url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
        self.calls += 1
        if url.startswith(self.gost.base_url):
            return self.gost.fetch(url, body, content_type)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if url.endswith("/ocsp") and body is not None:
            return self.sandbox.ocsp_response(body, now)
        if url.endswith("/crl"):
            return self.sandbox.crl(now)
        raise OSError(f"404: {url}")


GOST_CA_NAME = "QYZMET BENCH CA (GOST)"
# The national CA's GOST signing keys: digitalSignature, nonRepudiation, keyAgreement.
GOST_SIGN_USAGE = x509.KeyUsage(True, True, False, False, True, False, False, False, False)


def gost_setting(now: dt.datetime) -> tuple[GostAuthority, SigningKey]:
    """A throwaway GOST CA (delegated OCSP responder) and the citizen's GOST signing key."""
    authority = GostAuthority.create(
        x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "KZ"), x509.NameAttribute(NameOID.COMMON_NAME, GOST_CA_NAME)]),
        now=now,
        base_url="http://127.0.0.1:5000/bench/gost-ca",
        delegated_responder=True,
    )
    key = authority.issue(
        pki.holder_name(HOLDERS[0]),
        now=now,
        key_usage=GOST_SIGN_USAGE,
        extended_key_usage=[EKU_EMAIL_PROTECTION, ROLE_INDIVIDUAL],
    )
    return authority, key


def clear_gost_caches() -> None:
    """Forget the GOST certificates' keys and signature checks, as a fresh process has."""
    gost_x509.public_key_of.cache_clear()
    gost_x509._certificate_signed_by.cache_clear()


@dataclass
class Setting:
    operations: dict[str, Callable[[], object]]
    revocation: InProcessRevocation
    pki_seconds: float
    keys_seconds: float
    key_files: int
    sizes: dict[str, int]
    checks: list[str] = field(default_factory=list)


def prepare(directory: Path) -> Setting:
    """Build the PKI, load the keys, sign the document; check every operation once."""
    started = time.perf_counter()
    sandbox = pki.create(
        directory,
        HOLDERS,
        now=dt.datetime.now(dt.UTC),
        special_holder=CITIZEN,
        organisations=ORGANISATIONS,
    )
    pki_seconds = time.perf_counter() - started

    started = time.perf_counter()
    citizen_file = sandbox.key_file(CITIZEN, pki.SIGN)
    portal_file = sandbox.key_file(ORGANISATION, pki.SIGN)
    assert citizen_file is not None and portal_file is not None
    citizen_key = SigningKey.from_pkcs12(citizen_file.path, sandbox.password)
    portal_key = SigningKey.from_pkcs12(portal_file.path, sandbox.password)
    trust = TrustStore.from_pem_files(sandbox.bundle_path)
    keys_seconds = time.perf_counter() - started

    authority, gost_key = gost_setting(dt.datetime.now(dt.UTC))
    gost_trust = TrustStore.from_certificates([authority.certificate])
    revocation = InProcessRevocation(sandbox, authority)
    checker = RevocationChecker(fetch=revocation.fetch, cache_seconds=300)

    issued = application_document(CITIZEN, dt.datetime.now(dt.UTC).replace(microsecond=0))
    signed = sign_enveloped(issued, citizen_key)  # NCALayer's shape: the sandbox agent signs the same way
    ca_pem_file = str(sandbox.bundle_path)
    bare_config = SignatureConfiguration(location="./", expect_references=1)
    # The raw RSA input: the canonical SignedInfo of a portal signature (what sign_enveloped signs).
    portal_signed = sign_enveloped(issued, portal_key)
    signed_info = etree.fromstring(portal_signed).find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo")
    raw_input = etree.tostring(signed_info, method="c14n", exclusive=False, with_comments=False)
    private_key = portal_key.private_key

    def bare_signxml_verify():
        return XMLVerifier().verify(signed, ca_pem_file=ca_pem_file, expect_config=bare_config)

    def portal(document: bytes, anchors: TrustStore) -> Callable[[], object]:
        """verify() with every check the portal makes on a citizen's signature."""
        return lambda: verify(
            document,
            trust=anchors,
            purpose=Purpose.SIGN,
            holder=HolderType.INDIVIDUAL,
            issued=issued,
            expected_iin=CITIZEN,
            revocation=checker,
        )

    portal_verify = portal(signed, trust)

    def raw_rsa_sign():
        return private_key.sign(raw_input, padding.PKCS1v15(), hashes.SHA256())

    def portal_sign():
        return sign_enveloped(issued, portal_key)

    gost_signed = sign_enveloped(issued, gost_key)  # the same shape, the national CA's GOST algorithms
    certificate_path = f"{{{DS}}}KeyInfo/{{{DS}}}X509Data/{{{DS}}}X509Certificate"

    def bare_gost_verify():
        root = etree.fromstring(gost_signed, safe_parser())
        der = base64.b64decode("".join(root[-1].find(certificate_path).text.split()))
        certificate = x509.load_der_x509_certificate(der)
        key = gost_x509.public_key_from_spki(gost_x509._spki_der(certificate))  # not the cached public_key_of
        return verify_gost(root, key)

    portal_gost_verify = portal(gost_signed, gost_trust)

    def portal_gost_verify_cold():
        clear_gost_caches()
        return portal_gost_verify()

    # Each operation must do its whole job, or its timing means nothing.
    checks = []
    bare = bare_signxml_verify()
    if bare.signed_data != etree.tostring(etree.fromstring(issued), method="c14n"):
        raise RuntimeError("signxml verified something other than the issued document")
    checks.append("bare_signxml_verify: signxml returns the issued document")
    verdict = portal_verify()  # the first call asks the in-process OCSP responder and fills the cache
    if verdict.signer.iin != CITIZEN or verdict.revocation is None or verdict.revocation.status != "good":
        raise RuntimeError(f"portal verify gave an unexpected verdict: {verdict.signer.iin}, {verdict.revocation}")
    evidence = verdict.revocation
    checks.append(f"portal_verify: signer {verdict.signer.iin}, revocation {evidence.status} by {evidence.method}")
    private_key.public_key().verify(raw_rsa_sign(), raw_input, padding.PKCS1v15(), hashes.SHA256())
    checks.append("raw_rsa_sign: the signature verifies with the public key")
    organisation = verify(
        portal_sign(), trust=trust, holder=HolderType.ORGANISATION, issued=issued, expected_bin=ORGANISATION
    )
    if organisation.signer.bin != ORGANISATION:
        raise RuntimeError("the portal's signature did not verify as the organisation's")
    checks.append(f"portal_sign: verifies as BIN {organisation.signer.bin}'s signature")
    if bare_gost_verify() != bare.signed_data:
        raise RuntimeError("the GOST signature verified something other than the issued document")
    checks.append("bare_gost_verify: verify_gost returns the issued document")
    for name, check in (("portal_gost_verify", portal_gost_verify), ("portal_gost_verify_cold", portal_gost_verify_cold)):
        verdict = check()  # the first call asks the GOST CA's delegated OCSP responder and fills the cache
        evidence = verdict.revocation
        if verdict.signer.iin != CITIZEN or evidence is None or evidence.status != "good":
            raise RuntimeError(f"{name} gave an unexpected verdict: {verdict.signer.iin}, {evidence}")
        checks.append(f"{name}: signer {verdict.signer.iin}, chain to {GOST_CA_NAME}, {evidence.status} by {evidence.method}")

    return Setting(
        operations={
            "bare_signxml_verify": bare_signxml_verify,
            "portal_verify": portal_verify,
            "raw_rsa_sign": raw_rsa_sign,
            "portal_sign": portal_sign,
            "bare_gost_verify": bare_gost_verify,
            "portal_gost_verify": portal_gost_verify,
            "portal_gost_verify_cold": portal_gost_verify_cold,
        },
        revocation=revocation,
        pki_seconds=pki_seconds,
        keys_seconds=keys_seconds,
        key_files=len(sandbox.all_keys()),
        sizes={
            "issued_bytes": len(issued),
            "signed_bytes": len(signed),
            "gost_signed_bytes": len(gost_signed),
            "raw_rsa_input_bytes": len(raw_input),
        },
        checks=checks,
    )


# --------------------------------------------------------------------------
# Timing


def summarise(samples: list[int]) -> dict[str, float | int]:
    ordered = sorted(samples)
    micro = 1e-3
    return {
        "iterations": len(samples),
        "mean_us": statistics.fmean(samples) * micro,
        "p50_us": percentile(ordered, 0.50) * micro,
        "p99_us": percentile(ordered, 0.99) * micro,
        "min_us": ordered[0] * micro,
        "max_us": ordered[-1] * micro,
        "stdev_us": (statistics.stdev(samples) if len(samples) > 1 else 0.0) * micro,
        "timed_seconds": sum(samples) * 1e-9,
    }


def measure(setting: Setting, seconds: float, rounds: int, warmup: float) -> dict[str, object]:
    """Warm every operation up, then time them in `rounds` interleaved slices of seconds/rounds each.

    Interleaving spreads any change in the machine's load (other processes,
    frequency scaling) over all the operations instead of one.
    """
    for name in OPERATIONS:
        time_calls(setting.operations[name], warmup, minimum=MIN_WARMUP_CALLS)
    fetches_before = setting.revocation.calls
    samples: dict[str, list[int]] = {name: [] for name in OPERATIONS}
    for _ in range(rounds):
        for name in OPERATIONS:
            gc.collect()  # garbage left by the previous slice is not this operation's
            samples[name].extend(time_calls(setting.operations[name], seconds / rounds))
    return {
        "operations": {name: summarise(samples[name]) for name in OPERATIONS},
        "revocation_fetches_while_timing": setting.revocation.calls - fetches_before,
    }


def ratios(operations: dict[str, dict[str, float]]) -> dict[str, dict[str, object]]:
    result = {}
    for numerator, denominator, target in RATIOS:
        value = operations[numerator][f"{RATIO_BASIS}_us"] / operations[denominator][f"{RATIO_BASIS}_us"]
        result[f"{numerator} / {denominator}"] = {
            "numerator": numerator,
            "denominator": denominator,
            "basis": RATIO_BASIS,
            "value": value,
            "p50_value": operations[numerator]["p50_us"] / operations[denominator]["p50_us"],
            "target": target,
            "result": "INFO" if target is None else "PASS" if value <= target else "MISS",
        }
    return result


def limits(operations: dict[str, dict[str, float]]) -> dict[str, dict[str, object]]:
    return {
        name: {
            "value_us": operations[name][f"{RATIO_BASIS}_us"],
            "p50_us": operations[name]["p50_us"],
            "target_us": target,
            "result": "PASS" if operations[name][f"{RATIO_BASIS}_us"] <= target else "MISS",
        }
        for name, target in LIMITS
    }


# --------------------------------------------------------------------------
# The machine


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict[str, object]:
    from cryptography.hazmat.backends.openssl.backend import backend

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "cryptography": _version("cryptography"),
        "openssl": backend.openssl_version_text(),
        "signxml": _version("signxml"),
        "lxml": _version("lxml"),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "load_average": load,
    }


# --------------------------------------------------------------------------
# The report


def run(seconds: float, rounds: int, warmup: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="qyzmet-bench-pki-") as directory:
        setting = prepare(Path(directory))
        measured = measure(setting, seconds, rounds, warmup)
    report: dict[str, object] = {
        "benchmark": "qyzmet-signing",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "budget": {"seconds_per_operation": seconds, "rounds": rounds, "warmup_seconds_per_operation": warmup},
        "setup": {
            "pki_seconds": setting.pki_seconds,
            "keys_seconds": setting.keys_seconds,
            "holders": len(HOLDERS),
            "organisations": len(ORGANISATIONS),
            "key_files": setting.key_files,
            "checks": setting.checks,
        },
        "document": setting.sizes,
        "operations": measured["operations"],
        "ratios": ratios(measured["operations"]),
        "limits": limits(measured["operations"]),
        "revocation_fetches_while_timing": measured["revocation_fetches_while_timing"],
    }
    return report


def format_report(report: dict) -> str:
    m, setup, document, budget = report["machine"], report["setup"], report["document"], report["budget"]
    lines = [
        "Qyzmet signing benchmark",
        f"machine:  {m['cpu_count']} CPUs ({m['cpus_usable']} usable),"
        f" {m['cpu_model'] or 'unknown CPU'}, {m['platform']}",
        f"software: Python {m['python']} ({m['python_implementation']}), cryptography {m['cryptography']}"
        f" ({m['openssl']}), signxml {m['signxml']}, lxml {m['lxml']} (libxml2 {m['libxml2']})",
    ]
    if m["load_average"] is not None:
        averages = ", ".join(f"{x:.2f}" for x in m["load_average"])
        lines.append(f"load:     {averages} (1, 5, 15 min averages, after the run)")
    lines += [
        f"setup:    sandbox PKI ({setup['holders']} citizens + {setup['organisations']} organisation,"
        f" {setup['key_files']} key files, 2 CAs) built in {setup['pki_seconds']:.2f} s;"
        f" keys and trust store loaded in {setup['keys_seconds'] * 1000:.0f} ms (not timed below)",
        f"document: application {document['issued_bytes']} bytes, signed {document['signed_bytes']} bytes (RSA),"
        f" {document['gost_signed_bytes']} bytes (GOST 2015-512); raw RSA input {document['raw_rsa_input_bytes']} bytes",
        f"budget:   {budget['seconds_per_operation']:g} s per operation in {budget['rounds']} interleaved rounds,"
        f" after {budget['warmup_seconds_per_operation']:g} s warm-up each",
        "",
        f"{'operation':<22}{'iterations':>11}{'mean µs':>11}{'p50 µs':>11}{'p99 µs':>11}",
    ]
    for name, s in report["operations"].items():
        lines.append(
            f"{name:<22}{s['iterations']:>11}{s['mean_us']:>11.1f}{s['p50_us']:>11.1f}{s['p99_us']:>11.1f}"
        )
    lines += ["", f"{'ratio (of means)':<48}{'value':>7}{'p50':>7}{'target':>9}  result"]
    misses = []
    for name, r in report["ratios"].items():
        target = "—" if r["target"] is None else f"≤ {r['target']:.1f}"
        lines.append(f"{name:<48}{r['value']:>7.2f}{r['p50_value']:>7.2f}{target:>9}  {r['result']}")
        if r["result"] == "MISS":
            misses.append(f"*** MISS: {name} is {r['value']:.2f}, over its target of {r['target']:.1f} ***")
    lines += ["", f"{'limit (of the mean)':<48}{'mean µs':>9}{'p50 µs':>9}{'target':>11}  result"]
    for name, r in report["limits"].items():
        target = f"≤ {r['target_us']:.0f}"
        lines.append(f"{name:<48}{r['value_us']:>9.1f}{r['p50_us']:>9.1f}{target:>11}  {r['result']}")
        if r["result"] == "MISS":
            misses.append(f"*** MISS: {name} takes {r['value_us']:.0f} µs, over its limit of {r['target_us']:.0f} µs ***")
    fetches = report["revocation_fetches_while_timing"]
    lines.append("")
    lines.append(
        f"revocation: answered from the checker's cache while timing ({fetches} fetches)"
        if fetches == 0
        else f"revocation: {fetches} fetches while timing (the cache expired: portal_verify includes them)"
    )
    lines += misses
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.signing_bench", description="Time the portal's XML signature work (see bench/README.md)."
    )
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="timed budget per operation (default 3)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report as JSON to PATH")
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help="interleaved slices the budget is split into (default 3)"
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help=f"warm-up per operation, in seconds (default: the budget, at most {MAX_WARMUP_SECONDS})",
    )
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rounds < 1:
        parser.error("--seconds must be positive and --rounds at least 1")
    warmup = min(args.seconds, MAX_WARMUP_SECONDS) if args.warmup is None else max(args.warmup, 0.0)

    report = run(args.seconds, args.rounds, warmup)
    print(format_report(report))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
