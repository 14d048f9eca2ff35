"""GOST-signed X.509: certificates, CRLs and OCSP answers, checked and issued.

cryptography parses GOST certificates, CRLs and OCSP responses (it hands out
their to-be-signed bytes, signatures and algorithm OIDs) but can neither
load a GOST key nor verify a GOST signature, and its chain verifier refuses
them. So, for objects signed with GOST 34.10-2015:

- the public key is read from the SubjectPublicKeyInfo with asn1crypto (the
  national CA's layout: AlgorithmIdentifier {key OID, {curve OID, Streebog
  OID}}, BIT STRING holding an OCTET STRING of x‖y little-endian);
- signatures are checked with :mod:`signing.gost`;
- the chain to a GOST trust anchor is validated here (:func:`chain`), with
  the policy TrustStore applies through cryptography for RSA chains;
- for issuing (the sandbox CA), cryptography's builders assemble the
  certificate or CRL and the signature is put in afterwards with asn1crypto
  (:func:`sign_certificate`, :func:`sign_crl`); OCSP responses are built with
  asn1crypto alone (:func:`build_ocsp_response`), as cryptography's OCSP
  builder needs the responder's key.

Certificates, CRLs and responses are taken apart and put together as
sequences of their elements' DER (:func:`_elements`, :func:`_sequence`), not
through asn1crypto's X.509 classes: asn1crypto 1.5 takes a length header
ending in 0x80 (a 128-, 384-, ... byte structure) for an indefinite length,
re-encodes the whole structure from its parts, and fails on the GOST key
inside (its Any re-encodes too). That TLV walk is hand-written.

Hand-written glue, all of it: no maintained library checks or issues GOST
X.509 objects in Python. No Flask here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from asn1crypto import algos, core, ocsp as asn1_ocsp, x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509 import ocsp

from signing.gost import BY_KEY_OID, BY_SIGNATURE_OID, LEGACY_OIDS, Curve, GostError, GostPrivateKey, GostPublicKey

DER = serialization.Encoding.DER


# --- keys in certificates ------------------------------------------------------


class KeyParameters(core.Sequence):
    """The GOST key's parameter sets (curve, digest), in certificates and in key files."""

    _fields = [
        ("public_key_param_set", core.ObjectIdentifier),
        ("digest_param_set", core.ObjectIdentifier, {"optional": True}),
    ]


class KeyAlgorithm(core.Sequence):
    _fields = [("algorithm", core.ObjectIdentifier), ("parameters", KeyParameters)]


class _PublicKeyInfo(core.Sequence):
    _fields = [("algorithm", KeyAlgorithm), ("public_key", core.OctetBitString)]


class _AnyPublicKeyInfo(core.Sequence):
    """Any algorithm's SubjectPublicKeyInfo (asn1crypto's own refuses algorithms it does not know)."""

    _fields = [("algorithm", core.Any), ("public_key", core.BitString)]


def _tlv(der: bytes, start: int) -> int:
    """The end of the DER element (tag, length, value) starting at `start`."""
    if der[start] & 0x1F == 0x1F:
        raise ValueError("high tag numbers do not occur in X.509")
    first = der[start + 1]
    if first < 0x80:
        return start + 2 + first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise ValueError("not a DER length")
    return start + 2 + count + int.from_bytes(der[start + 2 : start + 2 + count], "big")


def _elements(der: bytes) -> list[bytes]:
    """The DER of each element of a SEQUENCE, byte for byte."""
    if not der or der[0] != 0x30 or _tlv(der, 0) != len(der):
        raise ValueError("not one DER SEQUENCE")
    first = der[1]
    position = 2 + (first & 0x7F if first >= 0x80 else 0)
    elements = []
    while position < len(der):
        end = _tlv(der, position)
        if end > len(der):
            raise ValueError("a DER element runs past its SEQUENCE")
        elements.append(der[position:end])
        position = end
    return elements


def _sequence(elements: Sequence[bytes], tag: int = 0x30) -> bytes:
    """A SEQUENCE (or, with tag 0xA0, an EXPLICIT [0]) of DER elements."""
    content = b"".join(elements)
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        count = (size.bit_length() + 7) // 8
        length = bytes([0x80 | count]) + size.to_bytes(count, "big")
    return bytes([tag]) + length + content


def _tbs_certificate(der: bytes) -> tuple[list[bytes], int]:
    """(the TBSCertificate's elements, the index of its signature AlgorithmIdentifier)."""
    elements = _elements(_elements(der)[0])
    return elements, 2 if elements[0][0] == 0xA0 else 1  # [0] version, serialNumber, signature, ...


def _tbs_cert_list(der: bytes) -> tuple[list[bytes], int]:
    """(the TBSCertList's elements, the index of its signature AlgorithmIdentifier)."""
    elements = _elements(_elements(der)[0])
    return elements, 1 if elements[0][0] == 0x02 else 0  # version INTEGER OPTIONAL, signature, ...


def spki(key: GostPublicKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a GOST key, as the national CA writes it."""
    curve = key.curve
    return _PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": curve.key_oid,
                "parameters": {"public_key_param_set": curve.curve_oid, "digest_param_set": curve.digest_oid},
            },
            "public_key": core.OctetString(key.to_bytes()).dump(),
        }
    ).dump()


def public_key_from_spki(der: bytes) -> GostPublicKey:
    """A GOST key from a DER SubjectPublicKeyInfo; GostError if it is not one."""
    try:
        info = _PublicKeyInfo.load(der)
        algorithm = info["algorithm"]["algorithm"].dotted
        parameters = info["algorithm"]["parameters"]
        curve_oid = parameters["public_key_param_set"].dotted
        digest = parameters["digest_param_set"]
        raw = core.OctetString.load(info["public_key"].native).native
    except (ValueError, TypeError, KeyError) as error:
        raise GostError(f"not a GOST SubjectPublicKeyInfo: {error}") from None
    curve = BY_KEY_OID.get(algorithm)
    if curve is None or curve.curve_oid != curve_oid:
        raise GostError(f"key {algorithm} on curve {curve_oid} is not a GOST 34.10-2015 key the portal knows")
    if digest.native is not None and digest.dotted != curve.digest_oid:
        raise GostError(f"key {algorithm} names the digest {digest.dotted}")
    return GostPublicKey.from_bytes(curve, raw)


def _spki_der(certificate: x509.Certificate) -> bytes:
    elements, signature_index = _tbs_certificate(certificate.public_bytes(DER))
    return elements[signature_index + 4]  # signature, issuer, validity, subject, subjectPublicKeyInfo


def key_algorithm(certificate: x509.Certificate) -> str:
    """The dotted OID of the certificate's key algorithm."""
    return certificate.public_key_algorithm_oid.dotted_string


def has_gost_key(certificate: x509.Certificate) -> bool:
    return key_algorithm(certificate) in BY_KEY_OID


def has_legacy_gost_key(certificate: x509.Certificate) -> bool:
    return key_algorithm(certificate) in LEGACY_OIDS


@lru_cache(maxsize=1024)
def public_key_of(certificate: x509.Certificate) -> GostPublicKey:
    """The certificate's GOST key (cached: the same certificates come back); GostError otherwise."""
    if not has_gost_key(certificate):
        raise GostError(f"the certificate holds a {key_algorithm(certificate)} key, not a GOST 34.10-2015 one")
    return public_key_from_spki(_spki_der(certificate))


def _public_key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's bytes, of any algorithm."""
    return _AnyPublicKeyInfo.load(_spki_der(certificate))["public_key"].contents[1:]  # [0]: unused-bits count


def key_hash(certificate: x509.Certificate) -> bytes:
    """SHA-1 of the subjectPublicKey BIT STRING: the OCSP responder's byKey id, RFC 5280's key identifier."""
    return hashlib.sha1(_public_key_bits(certificate)).digest()


def key_identifier(key: GostPublicKey) -> bytes:
    """The subject (or authority) key identifier of a GOST key (RFC 5280 4.2.1.2, method 1)."""
    return hashlib.sha1(core.OctetString(key.to_bytes()).dump()).digest()


def same_key(one: x509.Certificate, other: x509.Certificate) -> bool:
    """Do two certificates hold the same public key (any algorithm)?"""
    return _spki_der(one) == _spki_der(other)


# --- signatures on X.509 objects ---------------------------------------------


def is_gost_signed(signed: x509.Certificate | x509.CertificateRevocationList | ocsp.OCSPResponse) -> bool:
    """Signed with GOST 34.10-2015 (by its signatureAlgorithm)."""
    return signed.signature_algorithm_oid.dotted_string in BY_SIGNATURE_OID


def is_legacy_gost_signed(signed: x509.Certificate | x509.CertificateRevocationList | ocsp.OCSPResponse) -> bool:
    return signed.signature_algorithm_oid.dotted_string in LEGACY_OIDS


def verify_signed(signature_oid: str, tbs: bytes, signature: bytes, issuer_key: GostPublicKey) -> bool:
    """Does `signature` (GOST, r‖s little-endian) over `tbs` come from `issuer_key`, with the matching algorithm?"""
    curve: Curve | None = BY_SIGNATURE_OID.get(signature_oid)
    if curve is None or curve is not issuer_key.curve:
        return False
    return issuer_key.verify(signature, tbs)


@lru_cache(maxsize=4096)
def _certificate_signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    # Cached by both certificates' DER: a signature over fixed bytes is a fixed fact,
    # and the same citizens' certificates are verified again and again.
    outer = certificate.signature_algorithm_oid.dotted_string
    der = certificate.public_bytes(DER)
    elements, signature_index = _tbs_certificate(der)
    if elements[signature_index] != _elements(der)[1]:
        return False  # RFC 5280 4.1.1.2: the signed and the outer algorithm must be the same
    return verify_signed(outer, certificate.tbs_certificate_bytes, certificate.signature, public_key_of(issuer))


def issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Was the certificate signed by the issuer's key, under the issuer's name? Any algorithm.

    GOST here; everything else through cryptography's verify_directly_issued_by.
    """
    if certificate.issuer.public_bytes() != issuer.subject.public_bytes():
        return False
    if is_gost_signed(certificate):
        try:
            return _certificate_signed_by(certificate, issuer)
        except GostError:
            return False  # the issuer holds no (usable) GOST key
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def crl_signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """Is the GOST-signed CRL the issuer's, by name and by signature?"""
    if crl.issuer.public_bytes() != issuer.subject.public_bytes():
        return False
    der = crl.public_bytes(DER)
    elements, signature_index = _tbs_cert_list(der)
    if elements[signature_index] != _elements(der)[1]:
        return False
    outer = crl.signature_algorithm_oid.dotted_string
    try:
        return verify_signed(outer, crl.tbs_certlist_bytes, crl.signature, public_key_of(issuer))
    except GostError:
        return False


def ocsp_signed_by(response: ocsp.OCSPResponse, signer: x509.Certificate) -> bool:
    """Is the GOST-signed BasicOCSPResponse signed by this certificate's key?"""
    try:
        algorithm = response.signature_algorithm_oid.dotted_string
        return verify_signed(algorithm, response.tbs_response_bytes, response.signature, public_key_of(signer))
    except GostError:
        return False


# --- the chain to a GOST trust anchor ----------------------------------------


class ChainError(Exception):
    """The chain does not hold; reason is verify's code (untrusted, expired, not_yet_valid)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def _extension(certificate: x509.Certificate, kind: type) -> object | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _ca_problem(issuer: x509.Certificate, known_critical: frozenset) -> str | None:
    """Why the issuer may not issue certificates, or None (TrustStore's CA policy for RSA, by hand)."""
    constraints = _extension(issuer, x509.BasicConstraints)
    if constraints is None or not constraints.ca:  # type: ignore[attr-defined]
        return "the issuing certificate is not a CA (basicConstraints CA:TRUE is missing)"
    usage = _extension(issuer, x509.KeyUsage)
    if usage is not None and not usage.key_cert_sign:  # type: ignore[attr-defined]
        return "the issuing certificate's keyUsage lacks keyCertSign"
    for extension in issuer.extensions:
        if extension.critical and extension.oid not in known_critical:
            return f"the issuing certificate has an unrecognised critical extension {extension.oid.dotted_string}"
    return None


def _validity(certificate: x509.Certificate, whose: str, at: datetime) -> None:
    if at < certificate.not_valid_before_utc:
        raise ChainError("not_yet_valid", f"{whose} certificate is valid from {certificate.not_valid_before_utc}")
    if at > certificate.not_valid_after_utc:
        raise ChainError("expired", f"{whose} certificate expired on {certificate.not_valid_after_utc}")


def chain(
    certificate: x509.Certificate,
    anchors_by_subject: Mapping[bytes, Sequence[x509.Certificate]],
    anchors: Iterable[x509.Certificate],
    at: datetime,
    known_critical: frozenset,
) -> list[x509.Certificate]:
    """The verified chain [signer, anchor] (or [signer] when it is itself an anchor) at `at`.

    NCALayer sends no chain, so the signer's issuing CA must be an anchor
    (as for RSA). The issuer must hold the GOST key that signed the
    certificate, be a CA (basicConstraints CA:TRUE, keyCertSign if keyUsage
    is present, no unknown critical extension), and both must be valid at
    `at`. Raises ChainError with verify's reason codes.
    """
    if certificate in tuple(anchors):
        _validity(certificate, "the signer's", at)
        return [certificate]
    candidates = anchors_by_subject.get(certificate.issuer.public_bytes(), ())
    issuer = next((candidate for candidate in candidates if issued_by(certificate, candidate)), None)
    if issuer is None:
        raise ChainError("untrusted", "no trust anchor's GOST key signed the signer's certificate")
    _validity(certificate, "the signer's", at)
    _validity(issuer, "the issuing CA's", at)
    problem = _ca_problem(issuer, known_critical)
    if problem is not None:
        raise ChainError("untrusted", problem)
    return [certificate, issuer]


# --- issuing (the sandbox CA) ---------------------------------------------------


def _gost_algorithm(curve: Curve) -> bytes:
    return algos.SignedDigestAlgorithm({"algorithm": curve.signature_oid, "parameters": core.Null()}).dump()


def _placeholder() -> ed25519.Ed25519PrivateKey:
    """A throwaway key that lets cryptography's builders produce the DER we then re-sign."""
    return ed25519.Ed25519PrivateKey.generate()


def _signed(tbs: bytes, issuer_key: GostPrivateKey) -> bytes:
    """Certificate and CertificateList alike: SEQUENCE {tbs, signatureAlgorithm, signature BIT STRING}."""
    return _sequence([tbs, _gost_algorithm(issuer_key.curve), core.OctetBitString(issuer_key.sign(tbs)).dump()])


def sign_certificate(
    builder: x509.CertificateBuilder, *, subject_key: GostPublicKey, issuer_key: GostPrivateKey
) -> x509.Certificate:
    """A certificate with `subject_key`, signed by `issuer_key`; everything else comes from the builder.

    Give the builder everything but the public key. Key identifiers come
    from :func:`key_identifier` (x509.SubjectKeyIdentifier(key_identifier(k))):
    cryptography cannot compute them from a GOST key.
    """
    placeholder = _placeholder()
    draft = builder.public_key(placeholder.public_key()).sign(placeholder, None)
    elements, signature_index = _tbs_certificate(draft.public_bytes(DER))
    elements[signature_index] = _gost_algorithm(issuer_key.curve)
    elements[signature_index + 4] = spki(subject_key)
    return x509.load_der_x509_certificate(_signed(_sequence(elements), issuer_key))


def sign_crl(
    builder: x509.CertificateRevocationListBuilder, *, issuer_key: GostPrivateKey
) -> x509.CertificateRevocationList:
    """The builder's CRL, signed by `issuer_key` (the AuthorityKeyIdentifier, if wanted, from key_identifier)."""
    elements, signature_index = _tbs_cert_list(builder.sign(_placeholder(), None).public_bytes(DER))
    elements[signature_index] = _gost_algorithm(issuer_key.curve)
    return x509.load_der_x509_crl(_signed(_sequence(elements), issuer_key))


OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1"  # id-pkix-ocsp-basic
_HASHES = {name: getattr(hashlib, name) for name in ("sha1", "sha224", "sha256", "sha384", "sha512")}


@dataclass(frozen=True)
class CertId:
    """Which certificate an OCSP answer is about (RFC 6960 CertID)."""

    hash_algorithm: str  # "sha1" or "sha256"
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial_number: int

    @classmethod
    def of(cls, serial_number: int, issuer: x509.Certificate, hash_algorithm: str = "sha1") -> "CertId":
        digest = _HASHES[hash_algorithm]
        name_hash, key_hash_ = digest(issuer.subject.public_bytes()), digest(_public_key_bits(issuer))
        return cls(hash_algorithm, name_hash.digest(), key_hash_.digest(), serial_number)

    @classmethod
    def from_request(cls, request: ocsp.OCSPRequest) -> "CertId":
        """The CertID an OCSP request asks about (cryptography parses requests of any issuer)."""
        name_hash, key_hash_ = request.issuer_name_hash, request.issuer_key_hash
        return cls(request.hash_algorithm.name, name_hash, key_hash_, request.serial_number)


@dataclass(frozen=True)
class OcspAnswer:
    cert_id: CertId
    status: str  # "good", "revoked" or "unknown"
    this_update: datetime
    next_update: datetime | None = None
    revoked_at: datetime | None = None


def _generalized(moment: datetime) -> core.GeneralizedTime:
    return core.GeneralizedTime(moment.replace(microsecond=0))


def build_ocsp_response(
    answers: Sequence[OcspAnswer],
    *,
    responder: x509.Certificate,
    responder_key: GostPrivateKey,
    produced_at: datetime,
    nonce: bytes | None = None,
    by_key: bool = False,
) -> bytes:
    """A DER OCSPResponse (successful, BasicOCSPResponse) signed with GOST by the responder.

    The responder is named (as the national responder does) or, with
    `by_key`, identified by its key hash; its certificate travels in the
    response. `nonce` echoes the request's.
    """
    responses = []
    for answer in answers:
        cert_id = answer.cert_id
        if answer.status == "good":
            status = asn1_ocsp.CertStatus(name="good", value=core.Null())
        elif answer.status == "revoked":
            if answer.revoked_at is None:
                raise ValueError("a revoked answer needs revoked_at")
            status = asn1_ocsp.CertStatus(
                name="revoked", value={"revocation_time": _generalized(answer.revoked_at)}
            )
        elif answer.status == "unknown":
            status = asn1_ocsp.CertStatus(name="unknown", value=core.Null())
        else:
            raise ValueError(f"unknown OCSP status {answer.status!r}")
        single = {
            "cert_id": {
                "hash_algorithm": {"algorithm": cert_id.hash_algorithm},
                "issuer_name_hash": cert_id.issuer_name_hash,
                "issuer_key_hash": cert_id.issuer_key_hash,
                "serial_number": cert_id.serial_number,
            },
            "cert_status": status,
            "this_update": _generalized(answer.this_update),
        }
        if answer.next_update is not None:
            single["next_update"] = _generalized(answer.next_update)
        responses.append(single)
    if by_key:
        responder_id = asn1_ocsp.ResponderId(name="by_key", value=key_hash(responder))
    else:
        name = asn1_x509.Name.load(responder.subject.public_bytes())
        responder_id = asn1_ocsp.ResponderId(name="by_name", value=name)
    data = {"responder_id": responder_id, "produced_at": _generalized(produced_at), "responses": responses}
    if nonce is not None:
        data["response_extensions"] = [{"extn_id": "nonce", "critical": False, "extn_value": nonce}]
    tbs = asn1_ocsp.ResponseData(data).dump()  # no key inside: asn1crypto's class is safe here
    basic = _sequence(
        [
            tbs,
            _gost_algorithm(responder_key.curve),
            core.OctetBitString(responder_key.sign(tbs)).dump(),
            _sequence([_sequence([responder.public_bytes(DER)])], tag=0xA0),  # certs [0] EXPLICIT SEQUENCE OF
        ]
    )
    basic_response = _sequence([core.ObjectIdentifier(OCSP_BASIC).dump(), core.OctetString(basic).dump()])
    response_bytes = _sequence([basic_response], tag=0xA0)  # [0] EXPLICIT ResponseBytes
    return _sequence([asn1_ocsp.OCSPResponseStatus("successful").dump(), response_bytes])
