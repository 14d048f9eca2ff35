"""signing.verify against hostile input: every attack refused with its own reason.

Each case builds the bytes a hostile (or unlucky) citizen could submit and
names the reason code verify() must give. Not here: a replayed document.
verify() accepts a genuine signed document as often as it is shown (XML
signatures carry no time); it returns ``Verdict.nonce`` so that the portal
consumes the nonce once, in its database, and refuses the second use.
"""

from __future__ import annotations

import base64
import copy
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from signing.sandbox import pki
from signing.verify import MAX_BYTES, HolderType, Purpose, Refused, verify
from signing.xmldsig import DS, PROLOG, SigningKey, parse, sign_enveloped, wrap76

from tests.signing.conftest import CITIZEN, ISSUED, ORGANISATION, OTHER_CITIZEN

APP = "urn:qyzmet:application:1"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
GOST_2015 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34102015-gostr34112015-512"
STREEBOG_512 = "urn:ietf:params:xml:ns:pkigovkz:xmlsec:algorithms:gostr34112015-512"
GOST_LEGACY = "http://www.w3.org/2001/04/xmldsig-more#gost34310-gost34311"
GOST_LEGACY_DIGEST = "http://www.w3.org/2001/04/xmldsig-more#gost34311"
RUSSIAN_GOST_DIGEST = "http://www.w3.org/2001/04/xmldsig-more#gostr3411"


def ds(name: str) -> str:
    return f"{{{DS}}}{name}"


def app(name: str) -> str:
    return f"{{{APP}}}{name}"


@dataclass
class Context:
    """What a case may use: the sandbox's keys, outsiders' keys, a correctly signed document."""

    keys: Any
    outsiders: Any
    ca_key: SigningKey
    revocation_service: Any
    signed: bytes = b""
    kwargs: dict[str, Any] = field(default_factory=dict)

    def sign(self, document: bytes = ISSUED, key: SigningKey | None = None) -> bytes:
        return sign_enveloped(document, key or self.keys(), line_ending="\r\n")


def edit(signed: bytes, change: Callable[[etree._Element, etree._Element], Any]) -> bytes:
    """Change a signed document's tree: change(root, signature)."""
    root = parse(signed).getroot()
    change(root, root.find(ds("Signature")))
    return PROLOG + etree.tostring(root, encoding="UTF-8")


def resign(signature: etree._Element, key: SigningKey, algorithm: hashes.HashAlgorithm = hashes.SHA256()) -> None:
    """Sign SignedInfo again (after a change to it) so that the signature value is genuine."""
    signed_info = signature.find(ds("SignedInfo"))
    data = etree.tostring(signed_info, method="c14n", exclusive=False, with_comments=False)
    value = key.private_key.sign(data, padding.PKCS1v15(), algorithm)
    signature.find(ds("SignatureValue")).text = "\n" + wrap76(value, "\r\n") + "\n"


def set_algorithm(signature: etree._Element, path: str, algorithm: str) -> None:
    signature.find(path, {"ds": DS}).set("Algorithm", algorithm)


# --- the cases ---------------------------------------------------------------
# Each takes a Context and returns the bytes to submit (and may set ctx.kwargs).


def wrapped_in_forged_root(ctx):
    """The signed document moved inside a new root."""
    body = ctx.signed[len(PROLOG) :]
    return PROLOG + b"<forged><answer>1000000</answer>" + body + b"</forged>"


def signed_content_carried_inside_forged_content(ctx):
    """The forged application at the root, the genuine one tucked inside, the signature last."""

    def change(root, signature):
        genuine = copy.deepcopy(root)
        genuine.remove(genuine.find(ds("Signature")))
        root.find(f"{app('answers')}/{app('answer')}").text = "999999999999"
        root.insert(len(root) - 1, etree.Element(app("carrier")))
        root[len(root) - 2].append(genuine)

    return edit(ctx.signed, change)


def signed_element_under_forged_root_with_signature_last(ctx):
    """The genuine root inside a forged root, its signature hoisted to be the forged root's last child."""

    def change(root, signature):
        forged = etree.Element(app("application"), nsmap={None: APP})
        etree.SubElement(forged, app("nonce")).text = "attacker-nonce"
        root.remove(signature)
        forged.append(root)
        forged.append(signature)
        return forged

    root = parse(ctx.signed).getroot()
    signature = root.find(ds("Signature"))
    return PROLOG + etree.tostring(change(root, signature), encoding="UTF-8")


def signature_not_last(ctx):
    return edit(ctx.signed, lambda root, signature: root.insert(0, signature))


def signature_nested_deeper(ctx):
    return edit(ctx.signed, lambda root, signature: root.find(app("answers")).append(signature))


def duplicated_signature(ctx):
    return edit(ctx.signed, lambda root, signature: root.append(copy.deepcopy(signature)))


def duplicate_ids(ctx):
    """Two elements with Id="x" and a Reference to #x: refused by shape, whichever one is meant."""

    def change(root, signature):
        root.find(app("answers")).set("Id", "x")
        root.find(app("applicant")).set("Id", "x")
        signature.find(f"{ds('SignedInfo')}/{ds('Reference')}").set("URI", "#x")
        resign(signature, ctx.keys())

    return edit(ctx.signed, change)


def external_reference(ctx):
    def change(root, signature):
        signature.find(f"{ds('SignedInfo')}/{ds('Reference')}").set("URI", "http://evil.example/app.xml")
        resign(signature, ctx.keys())

    return edit(ctx.signed, change)


def two_references(ctx):
    def change(root, signature):
        reference = signature.find(f"{ds('SignedInfo')}/{ds('Reference')}")
        reference.addnext(copy.deepcopy(reference))
        resign(signature, ctx.keys())

    return edit(ctx.signed, change)


def enveloping_signature(ctx):
    """ds:Signature as the root: no document around it."""
    return PROLOG + etree.tostring(parse(ctx.signed).getroot().find(ds("Signature")))


def object_inside_signature(ctx):
    def change(root, signature):
        etree.SubElement(signature, ds("Object")).text = "payload"

    return edit(ctx.signed, change)


def comment_in_text_node(ctx):
    """<iin>9001<!---->01300018</iin>: .text would read only "9001"."""
    iin = f"<iin>{CITIZEN}</iin>".encode()
    assert iin in ctx.signed
    return ctx.signed.replace(iin, f"<iin>{CITIZEN[:4]}<!---->{CITIZEN[4:]}</iin>".encode())


def comment_inside_signature(ctx):
    return ctx.signed.replace(b"<ds:SignedInfo>", b"<ds:SignedInfo><!-- hello -->", 1)


def processing_instruction(ctx):
    return ctx.signed.replace(b"<nonce>", b"<?php system('id'); ?><nonce>", 1)


def xxe(ctx):
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<!DOCTYPE application [<!ENTITY passwd SYSTEM "file:///etc/passwd">]>\n'
        b"<application><iin>&passwd;</iin></application>"
    )


def billion_laughs(ctx):
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [' + "".join(entities) + "]>\n<lolz>&lol9;</lolz>"
    ).encode()


def doctype_alone(ctx):
    return PROLOG + b"\n<!DOCTYPE application>\n" + ctx.signed[len(PROLOG) :]


def rsa_sha1(ctx):
    """Properly signed with RSA-SHA1 (and a SHA-1 digest)."""

    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:SignatureMethod", RSA_SHA1)
        resign(signature, ctx.keys(), hashes.SHA1())

    return edit(ctx.signed, change)


def sha1_digest(ctx):
    def change(root, signature):
        unsigned = copy.deepcopy(root)
        unsigned.remove(unsigned.find(ds("Signature")))
        digest = hashes.Hash(hashes.SHA1())
        digest.update(etree.tostring(unsigned, method="c14n", with_comments=True))
        set_algorithm(signature, "ds:SignedInfo/ds:Reference/ds:DigestMethod", SHA1)
        signature.find(".//ds:DigestValue", {"ds": DS}).text = base64.b64encode(digest.finalize()).decode()
        resign(signature, ctx.keys())

    return edit(ctx.signed, change)


def hmac_signature(ctx):
    """An HMAC "signature" with a key the attacker chose."""

    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:SignatureMethod", HMAC_SHA256)
        signed_info = signature.find(ds("SignedInfo"))
        data = etree.tostring(signed_info, method="c14n", exclusive=False, with_comments=False)
        mac = hmac.new(b"attacker's secret", data, "sha256").digest()
        signature.find(ds("SignatureValue")).text = base64.b64encode(mac).decode()

    return edit(ctx.signed, change)


def exclusive_c14n(ctx):
    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:CanonicalizationMethod", EXC_C14N)
        resign(signature, ctx.keys())

    return edit(ctx.signed, change)


def xpath_transform(ctx):
    def change(root, signature):
        transforms = signature.find(".//ds:Transforms", {"ds": DS})
        extra = etree.SubElement(transforms, ds("Transform"), Algorithm=XPATH)
        etree.SubElement(extra, ds("XPath")).text = "not(ancestor-or-self::*[local-name()='answers'])"
        resign(signature, ctx.keys())

    return edit(ctx.signed, change)


def gost_signature_method_with_sha256(ctx):
    """A GOST 2015 SignatureMethod over a SHA-256 digest: not a pair the national CA uses."""

    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:SignatureMethod", GOST_2015)

    return edit(ctx.signed, change)


def gost_algorithms_with_an_rsa_certificate(ctx):
    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:SignatureMethod", GOST_2015)
        set_algorithm(signature, "ds:SignedInfo/ds:Reference/ds:DigestMethod", STREEBOG_512)

    return edit(ctx.signed, change)


def russian_gost_digest(ctx):
    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:Reference/ds:DigestMethod", RUSSIAN_GOST_DIGEST)

    return edit(ctx.signed, change)


def gost_legacy(ctx):
    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:SignatureMethod", GOST_LEGACY)
        set_algorithm(signature, "ds:SignedInfo/ds:Reference/ds:DigestMethod", GOST_LEGACY_DIGEST)

    return edit(ctx.signed, change)


def gost_legacy_digest(ctx):
    def change(root, signature):
        set_algorithm(signature, "ds:SignedInfo/ds:Reference/ds:DigestMethod", GOST_LEGACY_DIGEST)

    return edit(ctx.signed, change)


def key_value_mismatch(ctx):
    """A KeyValue of another key next to the certificate."""

    def change(root, signature):
        numbers = ctx.outsiders.stranger_key.public_key().public_numbers()
        key_value = etree.Element(ds("KeyValue"))
        rsa_value = etree.SubElement(key_value, ds("RSAKeyValue"))
        etree.SubElement(rsa_value, ds("Modulus")).text = base64.b64encode(
            numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
        ).decode()
        etree.SubElement(rsa_value, ds("Exponent")).text = "AQAB"
        signature.find(ds("KeyInfo")).insert(0, key_value)

    return edit(ctx.signed, change)


def two_certificates(ctx):
    def change(root, signature):
        certificate = signature.find(".//ds:X509Certificate", {"ds": DS})
        certificate.addnext(copy.deepcopy(certificate))

    return edit(ctx.signed, change)


def issuer_serial_only(ctx):
    def change(root, signature):
        data = signature.find(".//ds:X509Data", {"ds": DS})
        data.remove(data[0])
        issuer_serial = etree.SubElement(data, ds("X509IssuerSerial"))
        etree.SubElement(issuer_serial, ds("X509IssuerName")).text = "CN=QYZMET SANDBOX CA (RSA),C=KZ"
        etree.SubElement(issuer_serial, ds("X509SerialNumber")).text = str(ctx.keys().certificate.serial_number)

    return edit(ctx.signed, change)


def no_key_info(ctx):
    return edit(ctx.signed, lambda root, signature: signature.remove(signature.find(ds("KeyInfo"))))


def self_signed(ctx):
    return ctx.sign(key=ctx.outsiders.self_signed)


def foreign_ca(ctx):
    """A CA with the sandbox CA's very name, but another key."""
    return ctx.sign(key=ctx.outsiders.foreign)


def ca_certificate_as_signer(ctx):
    return ctx.sign(key=ctx.ca_key)


def _issued_by_sandbox_ca(
    ctx, key_usage: x509.KeyUsage, *extra: x509.ExtensionType, critical: bool = False
) -> SigningKey:
    """A citizen-shaped certificate that the sandbox CA itself signs, with a twist."""
    key = ctx.outsiders.stranger_key
    template = ctx.keys().certificate
    builder = (
        x509.CertificateBuilder()
        .subject_name(template.subject)
        .issuer_name(ctx.ca_key.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(template.not_valid_before_utc)
        .not_valid_after(template.not_valid_after_utc)
        .add_extension(key_usage, critical=True)
        .add_extension(template.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value, critical=False)
    )
    for extension in extra:
        builder = builder.add_extension(extension, critical=critical)
    return SigningKey(key, builder.sign(ctx.ca_key.private_key, hashes.SHA256()))


def no_digital_signature(ctx):
    """keyUsage nonRepudiation alone: digitalSignature is always needed."""
    usage = x509.KeyUsage(False, True, False, False, False, False, False, False, False)
    return ctx.sign(key=_issued_by_sandbox_ca(ctx, usage))


def unknown_critical_extension(ctx):
    usage = x509.KeyUsage(True, True, False, False, False, False, False, False, False)
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.398.3.3.99"), b"\x05\x00")
    return ctx.sign(key=_issued_by_sandbox_ca(ctx, usage, unknown, critical=True))


def expired(ctx):
    return ctx.sign(key=ctx.keys(variant=pki.EXPIRED))


def not_yet_valid(ctx):
    return ctx.sign(key=ctx.keys(variant=pki.NOT_YET_VALID))


def revoked(ctx):
    ctx.kwargs["revocation"] = ctx.revocation_service.checker()
    return ctx.sign(key=ctx.keys(variant=pki.REVOKED))


def revocation_source_down(ctx):
    ctx.revocation_service.down = True
    ctx.kwargs["revocation"] = ctx.revocation_service.checker()
    return ctx.signed


def authentication_key_to_sign(ctx):
    return ctx.sign(key=ctx.keys(kind=pki.AUTH))


def signing_key_to_log_in(ctx):
    ctx.kwargs["purpose"] = Purpose.LOG_IN
    return ctx.signed


def organisation_key_as_individual(ctx):
    return ctx.sign(key=ctx.keys(ORGANISATION, pki.SIGN))


def individual_key_as_organisation(ctx):
    ctx.kwargs["holder"] = HolderType.ORGANISATION
    return ctx.signed


def another_citizens_iin(ctx):
    """The portal expects the logged-in citizen; another citizen's genuine key signed."""
    return ctx.sign(key=ctx.keys(OTHER_CITIZEN))


def another_organisation(ctx):
    ctx.kwargs.update(holder=HolderType.ORGANISATION, expected_bin="990440012345", expected_iin=None)
    return ctx.sign(key=ctx.keys(ORGANISATION, pki.SIGN))


def altered_answer(ctx):
    """The citizen's genuine key signed an application with one answer changed."""
    return ctx.sign(ISSUED.replace(b"KZ86125KZT5004100100", b"KZ86125KZT5004100199"))


def whitespace_change(ctx):
    return ctx.sign(ISSUED.replace(b"  <answers>", b"   <answers>"))


def reordered_elements(ctx):
    def change(root, signature):
        answers = root.find(app("answers"))
        answers.insert(0, answers[-1])

    unsigned = parse(ISSUED).getroot()
    change(unsigned, None)
    return ctx.sign(etree.tostring(unsigned))


def extra_attribute(ctx):
    return ctx.sign(ISSUED.replace(b'<answer field="amount">', b'<answer field="amount" currency="USD">'))


def altered_after_signing(ctx):
    return ctx.signed.replace(b"KZ86125KZT5004100100", b"KZ86125KZT5004100199")


def tampered_signature_value(ctx):
    def change(root, signature):
        element = signature.find(ds("SignatureValue"))
        value = bytearray(base64.b64decode(element.text))
        value[10] ^= 0x01
        element.text = base64.b64encode(bytes(value)).decode()

    return edit(ctx.signed, change)


def tampered_digest_value(ctx):
    def change(root, signature):
        element = signature.find(".//ds:DigestValue", {"ds": DS})
        element.text = base64.b64encode(b"\0" * 32).decode()

    return edit(ctx.signed, change)


def tampered_digest_value_resigned(ctx):
    """SignedInfo signed again by the key holder, but its digest is not the document's."""

    def change(root, signature):
        tampered_digest = signature.find(".//ds:DigestValue", {"ds": DS})
        tampered_digest.text = base64.b64encode(b"\1" * 32).decode()
        resign(signature, ctx.keys())

    return edit(ctx.signed, change)


def empty(ctx):
    return b""


def not_utf8(ctx):
    return '<?xml version="1.0" encoding="windows-1251"?><application><name>АХМЕТОВ</name></application>'.encode(
        "cp1251"
    )


def declared_other_encoding(ctx):
    return ctx.signed.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"', 1)


def huge(ctx):
    return ctx.signed.replace(b"<nonce>", b" " * (MAX_BYTES + 1) + b"<nonce>", 1)


def ten_megabyte_text_node(ctx):
    return ctx.signed.replace(b"<nonce>", b"<nonce>" + b"A" * (10 * 1024 * 1024), 1)


def many_siblings(ctx):
    return ctx.signed.replace(b"<nonce>", b"<x/>" * 200_000 + b"<nonce>", 1)


def nested_too_deep(ctx):
    return ctx.signed.replace(b"<nonce>", b"<x>" * 300 + b"</x>" * 300 + b"<nonce>", 1)


def not_well_formed(ctx):
    return ctx.signed[:-20]


def not_signed(ctx):
    return ISSUED


CASES: list[tuple[Callable[[Context], bytes], str]] = [
    # the XML itself
    (empty, "malformed"),
    (not_utf8, "malformed"),
    (declared_other_encoding, "malformed"),
    (huge, "too_large"),
    (ten_megabyte_text_node, "too_large"),
    (many_siblings, "too_large"),
    (nested_too_deep, "too_large"),
    (not_well_formed, "malformed"),
    (xxe, "doctype"),
    (billion_laughs, "doctype"),
    (doctype_alone, "doctype"),
    (comment_in_text_node, "comments"),
    (comment_inside_signature, "comments"),
    (processing_instruction, "comments"),
    # where the signature is, and what it references
    (not_signed, "not_signed"),
    (wrapped_in_forged_root, "signature_location"),
    (signature_not_last, "signature_location"),
    (signature_nested_deeper, "signature_location"),
    (duplicated_signature, "signature_location"),
    (duplicate_ids, "signature_location"),
    (external_reference, "signature_location"),
    (two_references, "signature_location"),
    (enveloping_signature, "signature_location"),
    (object_inside_signature, "signature_structure"),
    # algorithms
    (rsa_sha1, "algorithm"),
    (sha1_digest, "algorithm"),
    (hmac_signature, "algorithm"),
    (exclusive_c14n, "algorithm"),
    (xpath_transform, "algorithm"),
    (gost_signature_method_with_sha256, "algorithm"),
    (gost_algorithms_with_an_rsa_certificate, "algorithm"),
    (russian_gost_digest, "algorithm"),
    (gost_legacy, "legacy_gost"),
    (gost_legacy_digest, "legacy_gost"),
    # the key in the signature
    (key_value_mismatch, "key_value_mismatch"),
    (two_certificates, "key_info"),
    (issuer_serial_only, "key_info"),
    (no_key_info, "key_info"),
    # cryptography
    (tampered_signature_value, "signature_invalid"),
    (tampered_digest_value, "signature_invalid"),
    (tampered_digest_value_resigned, "signature_invalid"),
    (altered_after_signing, "signature_invalid"),
    # the genuine signed content carried inside forged content: URI="" covers the whole document
    (signed_content_carried_inside_forged_content, "signature_invalid"),
    (signed_element_under_forged_root_with_signature_last, "signature_invalid"),
    # the document is not the one issued
    (altered_answer, "document_mismatch"),
    (whitespace_change, "document_mismatch"),
    (reordered_elements, "document_mismatch"),
    (extra_attribute, "document_mismatch"),
    # the certificate
    (self_signed, "untrusted"),
    (foreign_ca, "untrusted"),
    (ca_certificate_as_signer, "ca_certificate"),
    (unknown_critical_extension, "untrusted"),
    (expired, "expired"),
    (not_yet_valid, "not_yet_valid"),
    (revoked, "revoked"),
    (revocation_source_down, "revocation_unavailable"),
    # the key's purpose and holder
    (authentication_key_to_sign, "wrong_key_type"),
    (signing_key_to_log_in, "wrong_key_type"),
    (no_digital_signature, "wrong_key_type"),
    (organisation_key_as_individual, "not_individual"),
    (individual_key_as_organisation, "not_organisation"),
    (another_citizens_iin, "another_person"),
    (another_organisation, "another_person"),
]


@pytest.fixture(scope="module")
def signed(keys) -> bytes:
    return sign_enveloped(ISSUED, keys(), line_ending="\r\n")


@pytest.mark.parametrize("build, reason", CASES, ids=[build.__name__ for build, _ in CASES])
def test_refused(build, reason, signed, keys, outsiders, ca_key, trust, revocation_service):
    ctx = Context(keys, outsiders, ca_key, revocation_service, signed)
    ctx.kwargs = {"issued": ISSUED, "expected_iin": CITIZEN}
    data = build(ctx)
    with pytest.raises(Refused) as refused:
        verify(data, trust=trust, **ctx.kwargs)
    assert refused.value.reason == reason, refused.value.detail


def test_the_genuine_document_passes(signed, trust):
    """The control for every case above: unaltered, it verifies."""
    assert verify(signed, trust=trust, issued=ISSUED, expected_iin=CITIZEN).signer.iin == CITIZEN


@pytest.mark.parametrize("build", [xxe, billion_laughs], ids=["xxe", "billion_laughs"])
def test_entities_are_refused_before_parsing(build, monkeypatch, trust):
    """Refused before lxml ever sees the bytes: nothing expands, nothing is read."""

    def no_parsing(*args, **kwargs):
        raise AssertionError("lxml was asked to parse a document with a DTD")

    monkeypatch.setattr("signing.verify.etree.fromstring", no_parsing)
    with pytest.raises(Refused) as refused:
        verify(build(None), trust=trust)
    assert refused.value.reason == "doctype"


def test_too_many_elements_are_refused_before_parsing(signed, monkeypatch, trust):
    """200,000 siblings are counted on the bytes; lxml never builds them."""

    def no_parsing(*args, **kwargs):
        raise AssertionError("lxml was asked to parse 200,000 elements")

    monkeypatch.setattr("signing.verify.etree.fromstring", no_parsing)
    with pytest.raises(Refused) as refused:
        verify(many_siblings(Context(None, None, None, None, signed)), trust=trust)
    assert refused.value.reason == "too_large" and "200" in refused.value.detail


def test_a_replayed_document_verifies_again(signed, trust):
    """The portal's job: verify() hands back the nonce for the caller to consume once."""
    first = verify(signed, trust=trust, issued=ISSUED)
    second = verify(signed, trust=trust, issued=ISSUED)
    assert first.nonce == second.nonce == "b6c1f0e2a9d84c3f"
