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
    from cryptography.hazmat.primitives.serialization import pkcs12

    page = client.get("/en/sandbox/citizens").get_data(as_text=True)
    assert "Qwerty12" in page
    data = client.get("/sandbox/citizens.json").get_json()
    for kind, prefix in (("auth", "AUTH_RSA256_"), ("sign", "RSA256_")):
        url = data[0]["eds_keys"][kind]
        response = client.get(url.replace("http://localhost", ""))
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].split("filename=")[1].startswith(prefix)
        _key, certificate, _chain = pkcs12.load_key_and_certificates(response.data, b"Qwerty12")
        assert f"IIN{data[0]['iin']}" in certificate.subject.rfc4514_string()
    for variant in ("revoked", "expired", "not-yet-valid"):
        assert client.get(f"/sandbox/pki/keys/900517401370/sign/{variant}.p12").status_code == 200
    assert client.get("/sandbox/pki/keys/000000000000/sign/normal.p12").status_code == 404


def test_sandbox_ca_publishes_its_crl_and_answers_ocsp(app, client):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp

    from signing.sandbox.pki import SandboxPKI

    authority = SandboxPKI.load(app.config["SANDBOX_PKI_DIR"])
    crl = x509.load_der_x509_crl(client.get("/sandbox/pki/crl").data)
    assert crl.is_signature_valid(authority.intermediate.public_key())
    revoked = authority.key_file("900517401370", "sign", "revoked")
    assert crl.get_revoked_certificate_by_serial_number(revoked.serial) is not None
    ca = x509.load_pem_x509_certificate(client.get("/sandbox/pki/ca.crt").data)
    assert ca == authority.intermediate
    certificate = x509.load_der_x509_certificate(
        revoked.load(authority.password)[1].public_bytes(serialization.Encoding.DER)
    )
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, ca, hashes.SHA1()).build()
    response = client.post(
        "/sandbox/pki/ocsp",
        data=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
    )
    answer = ocsp.load_der_ocsp_response(response.data)
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
