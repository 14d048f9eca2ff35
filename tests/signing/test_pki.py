"""The sandbox CA: its certificates look like the national CA's, and it answers CRL and OCSP."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store

from signing.sandbox.pki import (
    RSA,
    CREATE_COMMAND,
    ROLE_HEAD,
    Holder,
    PKINotFound,
    SandboxPKI,
    create,
)

GENUINE = Path(__file__).resolve().parents[1] / "data" / "nca-test-pki"
NOW = datetime.now(UTC).replace(microsecond=0)
CITIZEN = Holder("831219453975", "Иванов", "Иван", "Иванович", algorithm=RSA)  # shaped exactly like fl_rsa_sign.p12
MOTHER = Holder("900517401370", "Әлиева", "Айгүл", email="aigul@example.kz", algorithm=RSA)
PORTAL = Holder(
    "800101300123", "Сейітов", "Нұрлан", "Асқарұлы", bin="123456789021", organisation='АО "QYZMET"', roles=(ROLE_HEAD,),
    algorithm=RSA,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> SandboxPKI:
    return create(tmp_path_factory.mktemp("pki"), [CITIZEN, MOTHER], now=NOW, organisations=[PORTAL])


@pytest.fixture(scope="module")
def certificate(pki):
    """Load each key's certificate once (parsing a key file costs tens of ms)."""
    loaded: dict[tuple[str, str, str], x509.Certificate] = {}

    def get(holder: str, kind: str = "sign", variant: str = "normal") -> x509.Certificate:
        if (holder, kind, variant) not in loaded:
            key_file = pki.key_file(holder, kind, variant)
            assert key_file is not None, (holder, kind, variant)
            loaded[holder, kind, variant] = key_file.load(pki.password)[1]
        return loaded[holder, kind, variant]

    return get


def genuine(name: str) -> x509.Certificate:
    _, cert, chain = pkcs12.load_key_and_certificates((GENUINE / name).read_bytes(), b"Qwerty12")
    assert cert is not None and not chain
    return cert


def extension(cert: x509.Certificate, kind):
    return cert.extensions.get_extension_for_class(kind)


def oids(name: x509.Name) -> list[x509.ObjectIdentifier]:
    return [attribute.oid for attribute in name]


# --- the CAs -------------------------------------------------------------------


def test_the_bundle_is_the_rsa_root_the_rsa_intermediate_then_the_gost_ca(pki):
    bundle = x509.load_pem_x509_certificates(pki.bundle_path.read_bytes())
    assert bundle == [pki.root, pki.intermediate, pki.gost_ca]
    assert x509.load_pem_x509_certificate((pki.directory / "root.crt").read_bytes()) == pki.root
    assert x509.load_pem_x509_certificate((pki.directory / "ca.crt").read_bytes()) == pki.intermediate
    assert pki.root.subject.rfc4514_string() == "C=KZ,CN=QYZMET SANDBOX ROOT CA (RSA)"
    assert pki.intermediate.subject.rfc4514_string() == "CN=QYZMET SANDBOX CA (RSA),C=KZ"


@pytest.mark.parametrize(("which", "path_length"), [("root", 1), ("intermediate", 0)])
def test_the_cas_are_cas(pki, which, path_length):
    ca = getattr(pki, which)
    constraints = extension(ca, x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == path_length
    usage = extension(ca, x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign
    assert not usage.value.digital_signature
    assert ca.not_valid_before_utc <= NOW - timedelta(days=400)  # the expired key lies inside its life
    years = 10 if which == "root" else 5
    assert ca.not_valid_after_utc - NOW > timedelta(days=365 * years - 5)


def test_the_intermediate_is_issued_by_the_root(pki):
    pki.intermediate.verify_directly_issued_by(pki.root)
    aki = extension(pki.intermediate, x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == extension(pki.root, x509.SubjectKeyIdentifier).value.digest


# --- holders' certificates -------------------------------------------------------


def verify(pki, cert: x509.Certificate, at: datetime = NOW) -> list[x509.Certificate]:
    # Signing keys carry no clientAuth EKU and no SAN: the end entity's
    # extensions are the portal's to judge, so the EE policy permits them all.
    verifier = (
        PolicyBuilder()
        .store(Store([pki.root]))
        .time(at)
        .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    return verifier.verify(cert, [pki.intermediate]).chain


@pytest.mark.parametrize("holder", [CITIZEN.iin, MOTHER.iin, PORTAL.bin])
@pytest.mark.parametrize("kind", ["auth", "sign"])
def test_the_chain_verifies(pki, certificate, holder, kind):
    cert = certificate(holder, kind)
    assert verify(pki, cert) == [cert, pki.intermediate, pki.root]


def test_the_chain_verifies_with_openssl(pki, certificate, tmp_path):
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(certificate(CITIZEN.iin).public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", pki.directory / "root.crt", "-untrusted", pki.directory / "ca.crt", leaf],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_an_expired_key_verifies_as_of_a_moment_inside_its_life(pki, certificate):
    cert = certificate(CITIZEN.iin, "sign", "expired")
    verify(pki, cert, at=NOW - timedelta(days=100))


def test_an_individuals_subject_is_shaped_like_the_national_one(certificate):
    ours, theirs = certificate(CITIZEN.iin).subject, genuine("fl_rsa_sign.p12").subject
    assert oids(ours) == oids(theirs)
    assert [a._type for a in ours] == [a._type for a in theirs]  # UTF8String, PrintableString for C and IIN
    assert [a.value for a in ours] == ["ИВАНОВ ИВАН", "ИВАНОВ", "IIN831219453975", "KZ", "ИВАНОВИЧ"]


def test_an_email_comes_last_and_no_patronymic_means_no_givenname(certificate):
    subject = certificate(MOTHER.iin).subject
    assert oids(subject) == [
        NameOID.COMMON_NAME,
        NameOID.SURNAME,
        NameOID.SERIAL_NUMBER,
        NameOID.COUNTRY_NAME,
        NameOID.EMAIL_ADDRESS,
    ]
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "ӘЛИЕВА АЙГҮЛ"
    assert subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)[0].value == "aigul@example.kz"


def test_an_organisations_subject_is_shaped_like_the_national_one(certificate):
    ours, theirs = certificate(PORTAL.bin, "auth").subject, genuine("ul_rsa_auth.p12").subject
    assert oids(ours) == oids(theirs)
    assert [a._type for a in ours] == [a._type for a in theirs]
    assert ours.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == 'АО "QYZMET"'
    assert ours.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "BIN123456789021"
    assert ours.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "IIN800101300123"


def extension_oids(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return {ext.oid for ext in cert.extensions}


@pytest.mark.parametrize(("kind", "name"), [("sign", "fl_rsa_sign.p12"), ("auth", "fl_rsa_auth.p12")])
def test_the_extensions_are_the_national_ones(certificate, kind, name):
    # All but the delta CRL pointer (the sandbox publishes no delta CRL).
    assert extension_oids(certificate(CITIZEN.iin, kind)) == extension_oids(genuine(name)) - {
        ExtensionOID.FRESHEST_CRL
    }


def test_a_signing_key_is_for_signatures(certificate):
    cert = certificate(CITIZEN.iin, "sign")
    usage = extension(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_encipherment
    assert list(extension(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        x509.ObjectIdentifier("1.2.398.3.3.4.1.1"),
    ]
    policies = extension(cert, x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["1.2.398.3.3.2.3"]


def test_an_authentication_key_is_for_logging_in(certificate):
    cert = certificate(CITIZEN.iin, "auth")
    usage = extension(cert, x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.key_encipherment
    assert not usage.value.content_commitment
    assert list(extension(cert, x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH,
        x509.ObjectIdentifier("1.2.398.3.3.4.1.1"),
    ]
    policies = extension(cert, x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == ["1.2.398.3.3.2.4"]


@pytest.mark.parametrize(
    ("kind", "purpose", "policy"),
    [("sign", "1.3.6.1.5.5.7.3.4", "1.2.398.3.3.2.1"), ("auth", "1.3.6.1.5.5.7.3.2", "1.2.398.3.3.2.2")],
)
def test_an_organisations_key_carries_its_roles(certificate, kind, purpose, policy):
    cert = certificate(PORTAL.bin, kind)
    eku = [oid.dotted_string for oid in extension(cert, x509.ExtendedKeyUsage).value]
    assert eku == [purpose, "1.2.398.3.3.4.1.2", ROLE_HEAD]
    policies = extension(cert, x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [policy]


def test_the_certificate_points_at_the_sandbox_services(pki, certificate):
    cert = certificate(MOTHER.iin)
    points = extension(cert, x509.CRLDistributionPoints).value
    assert [name.value for point in points for name in point.full_name] == [f"{pki.base_url}/crl"]
    descriptions = extension(cert, x509.AuthorityInformationAccess).value
    access = {d.access_method.dotted_string: d.access_location.value for d in descriptions}
    assert access == {"1.3.6.1.5.5.7.48.1": f"{pki.base_url}/ocsp", "1.3.6.1.5.5.7.48.2": f"{pki.base_url}/ca.crt"}
    assert extension(cert, x509.AuthorityKeyIdentifier).value.key_identifier == extension(
        pki.intermediate, x509.SubjectKeyIdentifier
    ).value.digest


def test_the_serial_is_derived_from_the_key_id_as_the_ncas_is(pki, certificate):
    for cert in (certificate(CITIZEN.iin), genuine("fl_rsa_sign.p12"), genuine("fl_rsa_auth.p12")):
        ski = extension(cert, x509.SubjectKeyIdentifier).value.digest
        assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
        assert cert.serial_number.to_bytes(20, "big")[1:] == ski[1:]
        assert len(format(cert.serial_number, "x")) == 40
    key_file = pki.key_file(CITIZEN.iin, "sign")
    assert key_file.download_name == f"RSA256_{certificate(CITIZEN.iin).serial_number:040x}.p12"
    assert pki.key_file(CITIZEN.iin, "auth").download_name.startswith("AUTH_RSA256_")


def test_a_normal_key_is_valid_for_a_year(certificate):
    cert = certificate(CITIZEN.iin)
    assert cert.not_valid_before_utc == NOW - timedelta(days=1)
    assert cert.not_valid_after_utc == NOW + timedelta(days=365)


def test_the_special_keys(pki, certificate):
    expired = certificate(CITIZEN.iin, "sign", "expired")
    assert expired.not_valid_before_utc == NOW - timedelta(days=400)
    assert expired.not_valid_after_utc == NOW - timedelta(days=35)
    early = certificate(CITIZEN.iin, "sign", "not-yet-valid")
    assert early.not_valid_before_utc == NOW + timedelta(days=30)
    revoked = certificate(CITIZEN.iin, "sign", "revoked")
    assert revoked.not_valid_before_utc <= NOW < revoked.not_valid_after_utc
    # The first holder is the special one unless another is named.
    assert {k.variant for k in pki.keys(CITIZEN.iin)} == {"normal", "revoked", "expired", "not-yet-valid"}
    assert {k.variant for k in pki.keys(MOTHER.iin)} == {"normal"}
    assert {(k.kind, k.path.name) for k in pki.keys(PORTAL.bin)} == {("auth", "auth.p12"), ("sign", "sign.p12")}


# --- key files -------------------------------------------------------------------


def test_the_key_file_opens_with_the_password_and_holds_no_chain(pki):
    key_file = pki.key_file(MOTHER.iin, "sign")
    assert key_file.path == pki.directory / "holders" / MOTHER.iin / "sign.p12"
    p12 = pkcs12.load_pkcs12(key_file.path.read_bytes(), b"Qwerty12")
    assert p12.key is not None and p12.cert is not None and p12.additional_certs == []
    ski = extension(p12.cert.certificate, x509.SubjectKeyIdentifier).value.digest
    assert p12.cert.friendly_name == ski.hex().encode()  # as the NCA names it
    with pytest.raises(ValueError):
        pkcs12.load_pkcs12(key_file.path.read_bytes(), b"wrong")


def test_openssl_3_opens_the_key_file_without_legacy(pki):
    key_file = pki.key_file(CITIZEN.iin, "auth")
    result = subprocess.run(
        ["openssl", "pkcs12", "-in", key_file.path, "-passin", "pass:Qwerty12", "-nokeys"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "serialNumber = IIN831219453975" in result.stdout


# --- files that tools read --------------------------------------------------------


def test_the_index_lists_every_key(pki):
    index = json.loads((pki.directory / "index.json").read_text())
    assert len(index["keys"]) == 2 + 3 + 2 + 2
    entry = next(e for e in index["keys"] if e["holder"] == CITIZEN.iin and e["variant"] == "expired")
    assert entry["kind"] == "sign" and entry["path"] == f"holders/{CITIZEN.iin}/sign-expired.p12"
    assert datetime.fromisoformat(entry["not_after"]) == NOW - timedelta(days=35)
    assert int(entry["serial"], 16) == pki.key_file(CITIZEN.iin, "sign", "expired").serial
    assert index["holders"][PORTAL.bin]["organisation"] == 'АО "QYZMET"'


def test_load_reads_back_what_create_wrote(pki):
    again = SandboxPKI.load(pki.directory)
    assert again.root == pki.root and again.intermediate == pki.intermediate
    assert again.all_keys() == pki.all_keys()
    assert again.password == "Qwerty12" and again.base_url == pki.base_url
    assert again.bundle_path == pki.bundle_path
    assert again.revocations() == pki.revocations()


def test_a_missing_pki_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError) as raised:
        SandboxPKI.load(tmp_path / "nowhere")
    assert isinstance(raised.value, PKINotFound)
    assert CREATE_COMMAND in str(raised.value) and "nowhere" in str(raised.value)


def test_create_refuses_nonsense_before_doing_any_work(tmp_path):
    with pytest.raises(ValueError, match="special holder"):
        create(tmp_path, [CITIZEN], now=NOW, special_holder=MOTHER.iin)
    with pytest.raises(ValueError, match="twice"):
        create(tmp_path, [CITIZEN, CITIZEN], now=NOW)
    with pytest.raises(ValueError, match="no BIN"):
        create(tmp_path, [], now=NOW, organisations=[MOTHER])
    with pytest.raises(ValueError, match="12 digits"):
        create(tmp_path, [Holder("12345", "A", "B")], now=NOW)
    assert list(tmp_path.iterdir()) == []


def test_create_replaces_an_older_pki(tmp_path):
    first = create(tmp_path, [CITIZEN], now=NOW, special_holder=CITIZEN.iin)
    second = create(tmp_path, [MOTHER], now=NOW)
    assert not (tmp_path / "holders" / CITIZEN.iin).exists()
    assert second.root != first.root
    assert SandboxPKI.load(tmp_path).keys(CITIZEN.iin) == []
    assert len(second.revocations()) == 1


# --- revocation ------------------------------------------------------------------


def test_the_crl_is_signed_by_the_intermediate_and_lists_the_revoked_key(pki):
    crl = x509.load_der_x509_crl(pki.crl(NOW))
    assert crl.issuer == pki.intermediate.subject
    assert crl.is_signature_valid(pki.intermediate.public_key())
    assert crl.last_update_utc == NOW and crl.next_update_utc == NOW + timedelta(days=1)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > 0
    [entry] = list(crl)
    assert entry.serial_number == pki.key_file(CITIZEN.iin, "sign", "revoked").serial
    assert entry.revocation_date_utc == NOW - timedelta(hours=1)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise


def test_a_crl_from_before_the_revocation_does_not_list_it(pki):
    assert list(x509.load_der_x509_crl(pki.crl(NOW - timedelta(hours=2)))) == []


def ask(pki, cert: x509.Certificate, *, nonce: bytes | None = None, algorithm=hashes.SHA1()) -> ocsp.OCSPResponse:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, pki.intermediate, algorithm)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    der = builder.build().public_bytes(serialization.Encoding.DER)
    response = ocsp.load_der_ocsp_response(pki.ocsp_response(der, NOW))
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    return response


def signed_by_the_intermediate(pki, response: ocsp.OCSPResponse) -> bool:
    from cryptography.hazmat.primitives.asymmetric import padding

    pki.intermediate.public_key().verify(
        response.signature, response.tbs_response_bytes, padding.PKCS1v15(), response.signature_hash_algorithm
    )
    return response.responder_key_hash == extension(pki.intermediate, x509.SubjectKeyIdentifier).value.digest


def test_ocsp_says_good(pki, certificate):
    cert = certificate(MOTHER.iin)
    response = ask(pki, cert, nonce=b"0123456789abcdef")
    assert signed_by_the_intermediate(pki, response)
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == cert.serial_number
    assert response.this_update_utc == NOW and response.next_update_utc == NOW + timedelta(minutes=5)
    assert response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == b"0123456789abcdef"


def test_ocsp_says_revoked_with_time_and_reason(pki, certificate):
    response = ask(pki, certificate(CITIZEN.iin, "sign", "revoked"), algorithm=hashes.SHA256())
    assert signed_by_the_intermediate(pki, response)
    assert response.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert response.revocation_time_utc == NOW - timedelta(hours=1)
    assert response.revocation_reason == x509.ReasonFlags.key_compromise
    assert isinstance(response.hash_algorithm, hashes.SHA256)  # the request's hash, echoed
    with pytest.raises(x509.ExtensionNotFound):  # no nonce asked, none given
        response.extensions.get_extension_for_class(x509.OCSPNonce)


def test_ocsp_does_not_know_a_serial_it_never_issued(pki):
    template = ocsp.OCSPRequestBuilder().add_certificate(pki.intermediate, pki.intermediate, hashes.SHA1()).build()
    der = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(template.issuer_name_hash, template.issuer_key_hash, 12345, hashes.SHA1())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    response = ocsp.load_der_ocsp_response(pki.ocsp_response(der, NOW))
    assert response.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_ocsp_does_not_answer_for_another_issuer(pki, certificate):
    cert = certificate(MOTHER.iin)
    der = ocsp.OCSPRequestBuilder().add_certificate(cert, pki.root, hashes.SHA1()).build()
    response = ocsp.load_der_ocsp_response(pki.ocsp_response(der.public_bytes(serialization.Encoding.DER), NOW))
    assert response.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_ocsp_refuses_a_malformed_request(pki):
    response = ocsp.load_der_ocsp_response(pki.ocsp_response(b"not an OCSP request", NOW))
    assert response.response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_revoking_persists_and_shows_in_the_crl_and_ocsp(pki, certificate, tmp_path):
    # A copy, so the module's PKI keeps exactly one revoked key.
    directory = tmp_path / "pki"
    shutil.copytree(pki.directory, directory)
    copy = SandboxPKI.load(directory)
    cert = certificate(MOTHER.iin)
    revocation = copy.revoke(format(cert.serial_number, "x"), NOW - timedelta(minutes=5), "affiliationChanged")
    assert revocation.reason == x509.ReasonFlags.affiliation_changed
    assert copy.revoke(cert.serial_number, NOW) == revocation  # final: the first date stands
    reloaded = SandboxPKI.load(directory)
    assert reloaded.revocations()[cert.serial_number] == revocation
    serials = {entry.serial_number for entry in x509.load_der_x509_crl(reloaded.crl(NOW))}
    assert cert.serial_number in serials and len(serials) == 2
    # A process that loaded before the revocation sees it too (the file is re-read).
    assert ask(copy, cert).certificate_status == ocsp.OCSPCertStatus.REVOKED
    with pytest.raises(ValueError, match="not issued"):
        copy.revoke(12345, NOW)
