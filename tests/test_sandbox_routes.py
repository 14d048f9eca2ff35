"""The sandbox's list of test citizens."""


def test_citizens_page_lists_every_test_citizen(client):
    response = client.get("/sandbox/citizens", headers={"Accept-Language": "ru"})
    assert response.headers["Location"] == "/ru/sandbox/citizens"
    page = client.get("/en/sandbox/citizens").get_data(as_text=True)
    data = client.get("/sandbox/citizens.json").get_json()
    assert len(data) >= 12
    for citizen in data:
        assert citizen["iin"] in page
        assert citizen["password"]
    assert sum(1 for c in data if not c["phone"]) >= 2
    assert all(c["good_for"] for c in data)


def test_every_listed_citizen_can_log_in(app):
    from tests.conftest import log_in

    for citizen in app.test_client().get("/sandbox/citizens.json").get_json():
        client = app.test_client()
        assert log_in(client, citizen["iin"], citizen["password"]).status_code == 302, citizen["iin"]


def test_citizens_page_hands_out_eds_keys(app, client):
    from signing.gost import GostPrivateKey
    from signing.xmldsig import SigningKey
    from webapp.sandbox.pki import LEGACY_RSA_CITIZENS

    page = client.get("/en/sandbox/citizens").get_data(as_text=True)
    assert "Qwerty12" in page
    # Who keeps the legacy RSA keys is said on the page.
    assert "GOST 34.10-2015" in page and "RSA (legacy keys)" in page
    assert all(f"({iin})" in page for iin in LEGACY_RSA_CITIZENS)
    data = {citizen["iin"]: citizen for citizen in client.get("/sandbox/citizens.json").get_json()}
    for iin, algorithm in (("900517401370", "GOST512_"), (LEGACY_RSA_CITIZENS[0], "RSA256_")):
        assert data[iin]["eds_algorithm"] == ("rsa" if algorithm == "RSA256_" else "gost2015-512")
        for kind, prefix in (("auth", f"AUTH_{algorithm}"), ("sign", algorithm)):
            response = client.get(data[iin]["eds_keys"][kind].replace("http://localhost", ""))
            assert response.status_code == 200
            assert response.headers["Content-Disposition"].split("filename=")[1].startswith(prefix)
            key = SigningKey.from_pkcs12(response.data, "Qwerty12")
            assert isinstance(key.private_key, GostPrivateKey) is (algorithm == "GOST512_")
            assert f"IIN{iin}" in key.certificate.subject.rfc4514_string()
    for variant in ("revoked", "expired", "not-yet-valid"):
        assert client.get(f"/sandbox/pki/keys/900517401370/sign/{variant}.p12").status_code == 200
    assert client.get("/sandbox/pki/keys/000000000000/sign/normal.p12").status_code == 404


def _ask_ocsp(client, certificate, issuer):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1()).build()
    response = client.post(
        "/sandbox/pki/ocsp",
        data=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    return ocsp.load_der_ocsp_response(response.data)


def test_sandbox_gost_ca_publishes_its_gost_crl_and_answers_ocsp_with_gost(app, client):
    from cryptography import x509
    from cryptography.x509 import ocsp

    from signing import gost_x509
    from signing.sandbox.pki import SandboxPKI

    authority = SandboxPKI.load(app.config["SANDBOX_PKI_DIR"])
    ca = x509.load_pem_x509_certificate(client.get("/sandbox/pki/gost-ca.crt").data)
    assert ca == authority.gost_ca and gost_x509.has_gost_key(ca)
    crl = x509.load_der_x509_crl(client.get("/sandbox/pki/gost/crl").data)
    assert gost_x509.is_gost_signed(crl) and gost_x509.crl_signed_by(crl, ca)
    revoked = authority.key_file("900517401370", "sign", "revoked")
    assert revoked.algorithm == "gost"
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial) is not None
    answer = _ask_ocsp(client, revoked.load(authority.password)[1], ca)
    assert gost_x509.is_gost_signed(answer) and gost_x509.ocsp_signed_by(answer, ca)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    good = _ask_ocsp(client, authority.key_file("900517401370").load(authority.password)[1], ca)
    assert gost_x509.ocsp_signed_by(good, ca) and good.certificate_status == ocsp.OCSPCertStatus.GOOD


def test_sandbox_rsa_ca_still_serves_the_legacy_keys(app, client):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import padding
    from cryptography.x509 import ocsp

    from signing.sandbox.pki import SandboxPKI
    from webapp.sandbox.pki import LEGACY_RSA_CITIZENS

    authority = SandboxPKI.load(app.config["SANDBOX_PKI_DIR"])
    crl = x509.load_der_x509_crl(client.get("/sandbox/pki/crl").data)
    assert crl.is_signature_valid(authority.intermediate.public_key())
    ca = x509.load_pem_x509_certificate(client.get("/sandbox/pki/ca.crt").data)
    assert ca == authority.intermediate
    legacy = authority.key_file(LEGACY_RSA_CITIZENS[0]).load(authority.password)[1]
    answer = _ask_ocsp(client, legacy, ca)
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    ca.public_key().verify(answer.signature, answer.tbs_response_bytes, padding.PKCS1v15(), answer.signature_hash_algorithm)
