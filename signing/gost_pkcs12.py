"""PKCS#12 key containers holding a GOST 34.10-2015 key, written and read.

cryptography and OpenSSL's PKCS12_create/PKCS12_parse need a key they can
load, and neither loads a key under the national CA's OIDs (OpenSSL's GOST
provider knows only the TC26 ones, 1.2.643.7.1...). So the container is put
together here with asn1crypto (RFC 7292 structures) and cryptography's
PBKDF2 and AES; the MAC key comes from OpenSSL's own PKCS#12 key derivation
(PKCS12_key_gen_utf8, through the ctypes glue of :mod:`signing.gost`).

The layout, as OpenSSL 3 writes a key file and `openssl pkcs12 -info` reads
it back (a test runs it):

- AuthenticatedSafe = [data: SafeContents{certBag}, data: SafeContents{pkcs8ShroudedKeyBag}];
  the certificate is public and travels unencrypted (RFC 7292 allows it;
  the NCA encrypts it with RC2-40);
- the key: PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC) over a PrivateKeyInfo
  {key OID 1.2.398.3.10.1.1.2.2, {curve OID, Streebog OID}, OCTET STRING
  {OCTET STRING d little-endian}} (the byte order of Kalkan's public keys;
  RFC 9215 writes TC26 keys the same way);
- both bags carry localKeyId (the certificate's key identifier) and
  friendlyName (the same, in hex: the NCA's alias);
- MAC: HMAC-SHA-256 with the PKCS#12 key derivation.

NOT PROVEN: that NCALayer (Kalkan's KeyStore) opens these files. No genuine
GOST key file of the national CA was available to copy its private-key
encoding and its encryption from; Java's own PKCS12 KeyStore reads this
layout for the algorithms it knows. Hand-written glue: no maintained Python
library writes or reads GOST keys in PKCS#12. No Flask here.
"""

from __future__ import annotations

import ctypes
import hashlib
import hmac
import os

from asn1crypto import algos, cms, core, keys as asn1_keys, pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding as symmetric_padding, serialization
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from signing import gost
from signing.gost import BY_KEY_OID, GostError, GostPrivateKey
from signing.gost_x509 import KeyAlgorithm

PBKDF2_ROUNDS = 2048  # OpenSSL 3's default; the password of a sandbox file is public anyway
MAC_ROUNDS = 2048


class _PrivateKeyInfo(core.Sequence):
    _fields = [("version", core.Integer), ("algorithm", KeyAlgorithm), ("private_key", core.OctetString)]


def private_key_info(key: GostPrivateKey) -> bytes:
    """The DER PrivateKeyInfo of a GOST key (PKCS#8, unencrypted)."""
    curve = key.curve
    return _PrivateKeyInfo(
        {
            "version": 0,
            "algorithm": {
                "algorithm": curve.key_oid,
                "parameters": {"public_key_param_set": curve.curve_oid, "digest_param_set": curve.digest_oid},
            },
            "private_key": core.OctetString(key.d.to_bytes(curve.size, "little")).dump(),
        }
    ).dump()


def key_from_private_key_info(der: bytes) -> GostPrivateKey:
    """A GOST key from its DER PrivateKeyInfo; GostError when it is not one."""
    try:
        info = _PrivateKeyInfo.load(der)
        algorithm = info["algorithm"]["algorithm"].dotted
        curve_oid = info["algorithm"]["parameters"]["public_key_param_set"].dotted
        raw = core.OctetString.load(info["private_key"].native).native
    except (ValueError, TypeError, KeyError) as error:
        raise GostError(f"not a GOST PrivateKeyInfo: {error}") from None
    curve = BY_KEY_OID.get(algorithm)
    if curve is None or curve.curve_oid != curve_oid or len(raw) != curve.size:
        raise GostError(f"key {algorithm} on {curve_oid} is not a GOST 34.10-2015 key the portal knows")
    return GostPrivateKey(curve, int.from_bytes(raw, "little"))


# --- PKCS#12 key derivation (OpenSSL's, through ctypes) ------------------------

_MAC_ID = 3  # RFC 7292 B.3: ID 3 derives MAC keys


def _pkcs12_mac_key(password: str, salt: bytes, rounds: int, size: int = 32) -> bytes:
    lib = gost._lib()
    derive = lib.PKCS12_key_gen_utf8
    derive.restype = ctypes.c_int
    derive.argtypes = [
        ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int,
        ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p,
    ]  # fmt: skip
    by_name = lib.EVP_get_digestbyname
    by_name.restype, by_name.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    sha256 = by_name(b"SHA256")
    raw = password.encode("utf-8")
    out = ctypes.create_string_buffer(size)
    if not sha256 or derive(raw, len(raw), salt, len(salt), _MAC_ID, rounds, size, out, sha256) != 1:
        lib.ERR_clear_error()
        raise RuntimeError("PKCS12_key_gen_utf8 failed")
    return out.raw


def _pbkdf2(password: str, salt: bytes, rounds: int) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, salt, rounds).derive(password.encode("utf-8"))


def _attributes(local_key_id: bytes) -> asn1_pkcs12.Attributes:
    return asn1_pkcs12.Attributes(
        [
            {"type": "friendly_name", "values": [core.BMPString(local_key_id.hex())]},
            {"type": "local_key_id", "values": [core.OctetString(local_key_id)]},
        ]
    )


def _data(content: bytes) -> cms.ContentInfo:
    return cms.ContentInfo({"content_type": "data", "content": core.OctetString(content)})


def write(key: GostPrivateKey, certificate: x509.Certificate, password: str, *, local_key_id: bytes) -> bytes:
    """A DER PKCS#12 file with the GOST key and its certificate (no chain, as the NCA's)."""
    salt, iv = os.urandom(16), os.urandom(16)
    padder = symmetric_padding.PKCS7(128).padder()
    plain = padder.update(private_key_info(key)) + padder.finalize()
    encryptor = Cipher(algorithms.AES(_pbkdf2(password, salt, PBKDF2_ROUNDS)), modes.CBC(iv)).encryptor()
    encrypted = encryptor.update(plain) + encryptor.finalize()
    shrouded = asn1_keys.EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": algos.EncryptionAlgorithm(
                {
                    "algorithm": "pbes2",
                    "parameters": {
                        "key_derivation_func": {
                            "algorithm": "pbkdf2",
                            "parameters": {
                                "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                                "iteration_count": PBKDF2_ROUNDS,
                                "prf": {"algorithm": "sha256", "parameters": core.Null()},
                            },
                        },
                        "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
                    },
                }
            ),
            "encrypted_data": encrypted,
        }
    )
    attributes = _attributes(local_key_id)
    cert_bag = asn1_pkcs12.SafeBag(
        {
            "bag_id": "cert_bag",
            "bag_value": asn1_pkcs12.CertBag(
                {"cert_id": "x509", "cert_value": core.ParsableOctetString(certificate.public_bytes(serialization.Encoding.DER))}
            ),
            "bag_attributes": attributes,
        }
    )
    key_bag = asn1_pkcs12.SafeBag(
        {"bag_id": "pkcs8_shrouded_key_bag", "bag_value": shrouded, "bag_attributes": _attributes(local_key_id)}
    )
    safes = asn1_pkcs12.AuthenticatedSafe(
        [_data(asn1_pkcs12.SafeContents([cert_bag]).dump()), _data(asn1_pkcs12.SafeContents([key_bag]).dump())]
    ).dump()
    mac_salt = os.urandom(16)
    mac = hmac.new(_pkcs12_mac_key(password, mac_salt, MAC_ROUNDS), safes, hashlib.sha256).digest()
    return asn1_pkcs12.Pfx(
        {
            "version": 3,
            "auth_safe": _data(safes),
            "mac_data": {
                "mac": {"digest_algorithm": {"algorithm": "sha256", "parameters": core.Null()}, "digest": mac},
                "mac_salt": mac_salt,
                "iterations": MAC_ROUNDS,
            },
        }
    ).dump()


class NotGost(ValueError):
    """The file is not a GOST key container this module reads (or the password is wrong)."""


def read(data: bytes, password: str) -> tuple[GostPrivateKey, x509.Certificate]:
    """The GOST key and its certificate from a file :func:`write` made (MAC checked); NotGost otherwise."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data)
        safes = pfx["auth_safe"]["content"].native
        mac_data = pfx["mac_data"]
        if mac_data.native is None or mac_data["mac"]["digest_algorithm"]["algorithm"].native != "sha256":
            raise NotGost("the file's MAC is not HMAC-SHA-256")
        key = _pkcs12_mac_key(password, mac_data["mac_salt"].native, mac_data["iterations"].native)
        if not hmac.compare_digest(hmac.new(key, safes, hashlib.sha256).digest(), mac_data["mac"]["digest"].native):
            raise NotGost("the MAC does not match: a wrong password or a damaged file")
        private_key, certificate = None, None
        for content in asn1_pkcs12.AuthenticatedSafe.load(safes):
            if content["content_type"].native != "data":
                continue  # encrypted SafeContents hold certificates only in files we read
            for bag in asn1_pkcs12.SafeContents.load(content["content"].native):
                kind = bag["bag_id"].native
                if kind == "cert_bag" and certificate is None:
                    certificate = x509.load_der_x509_certificate(bag["bag_value"]["cert_value"].contents)
                elif kind == "pkcs8_shrouded_key_bag":
                    private_key = _decrypt(bag["bag_value"], password)
    except NotGost:
        raise
    except (ValueError, TypeError, KeyError, GostError) as error:
        raise NotGost(f"not a GOST key container: {error}") from None
    if private_key is None or certificate is None:
        raise NotGost("the container holds no GOST key with its certificate")
    return private_key, certificate


def _decrypt(shrouded: asn1_keys.EncryptedPrivateKeyInfo, password: str) -> GostPrivateKey:
    algorithm = shrouded["encryption_algorithm"]
    if algorithm["algorithm"].native != "pbes2":
        raise NotGost(f"the key is encrypted with {algorithm['algorithm'].native}, not PBES2")
    parameters = algorithm["parameters"]
    kdf = parameters["key_derivation_func"]["parameters"]
    scheme = parameters["encryption_scheme"]
    if kdf["prf"]["algorithm"].native != "sha256" or scheme["algorithm"].native != "aes256_cbc":
        raise NotGost("the key is not encrypted with PBKDF2-HMAC-SHA-256 and AES-256-CBC")
    secret = _pbkdf2(password, kdf["salt"].native, kdf["iteration_count"].native)
    decryptor = Cipher(algorithms.AES(secret), modes.CBC(scheme["parameters"].native)).decryptor()
    padded = decryptor.update(shrouded["encrypted_data"].native) + decryptor.finalize()
    unpadder = symmetric_padding.PKCS7(128).unpadder()
    return key_from_private_key_info(unpadder.update(padded) + unpadder.finalize())
