"""GOST R 34.10-2015 signatures and GOST R 34.11-2012 (Streebog) digests, as the
Kazakh national CA and its Kalkan library use them. No Flask here.

Since 28 April 2024 the national CA issues GOST 34.10-2015 512-bit keys only,
on the curve id-tc26-gost-3410-12-512-paramSetA of RFC 7836 (Kazakh OID
1.2.398.3.10.1.1.2.2.1). The 256-bit keys of the same standard (curve
id-tc26-gost-3410-2012-256-paramSetA, 1.2.398.3.10.1.1.2.1.1) are supported
too; no genuine 256-bit material was found to prove them against, only the
same code path.

Byte order, as Kalkan writes it (checked against the genuine material in
tests/data/nca-test-pki/gost/, not RFC 4491's reading):

- a public key is x‖y, each coordinate little-endian;
- a signature (XML SignatureValue, certificate, CRL, OCSP) is r‖s, each
  little-endian;
- the Streebog digest, as the standard prints it (and as OpenSSL and
  gostcrypto return it), is read as a little-endian number for e.

Where each part comes from:

- Streebog: OpenSSL's GOST provider (Debian's libengine-gost-openssl,
  gostprov.so; `make install` installs it), loaded into a library context
  of its own so nothing else in the process sees it. Pure-Python Streebog
  (PyPI's gostcrypto) takes 25 ms for a 5 KB application, and gostcrypto
  installs a top-level package named `tests` that hides ours;
- point arithmetic: OpenSSL's libcrypto EC_POINT_mul (the same libcrypto
  Python's ssl and hashlib use): about 1 ms a verification, where
  pure-Python arithmetic takes hundreds and python-ecdsa with gmpy2 about 4;
- curve parameters: the published ones (R 1323565.1.024-2019; RFC 7836
  A.2 for the 256-bit curve in Weierstrass form), below. The genuine
  signatures in the tests verify only with them.

Written by hand, because no maintained library has them: the ctypes glue
to libcrypto below, and the few lines of the GOST signature equations
(sign: s = r·d + k·e; verify: R = (s/e)·P − (r/e)·Q) over that arithmetic.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import secrets
import threading
from dataclasses import dataclass
from functools import cached_property


# --- object identifiers of the national CA (KNCAObjectIdentifiers) -----------

KEY_512 = "1.2.398.3.10.1.1.2.2"
KEY_256 = "1.2.398.3.10.1.1.2.1"
CURVE_512_A = "1.2.398.3.10.1.1.2.2.1"
CURVE_256_A = "1.2.398.3.10.1.1.2.1.1"
SIGNATURE_512 = "1.2.398.3.10.1.1.2.3.2"  # GOST 34.10-2015 512 with GOST 34.11-2015 512
SIGNATURE_256 = "1.2.398.3.10.1.1.2.3.1"
STREEBOG_512 = "1.2.398.3.10.1.3.3"
STREEBOG_256 = "1.2.398.3.10.1.3.2"
# The legacy GOST 34.310-2004 (and its 34.311-95 hash): recognised, never verified.
LEGACY_KEY = "1.2.398.3.10.1.1.1.1"
LEGACY_SIGNATURE = "1.2.398.3.10.1.1.1.2"
LEGACY_OIDS = frozenset({LEGACY_KEY, LEGACY_SIGNATURE, "1.2.398.3.10.1.3.1", "1.3.6.1.4.1.6801.1.2.2"})


class GostError(ValueError):
    """Not a usable GOST key, point or signature."""


# --- libcrypto, through ctypes (hand-written glue: no Python binding exposes
# custom-curve EC arithmetic or the GOST provider) ----------------------------

_vp = ctypes.c_void_p
_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "OSSL_LIB_CTX_new": (_vp, []),
    "OSSL_PROVIDER_load": (_vp, [_vp, ctypes.c_char_p]),
    "EVP_MD_fetch": (_vp, [_vp, ctypes.c_char_p, ctypes.c_char_p]),
    "EVP_Digest": (ctypes.c_int, [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, _vp, _vp, _vp]),
    "ERR_clear_error": (None, []),
    "BN_CTX_new": (_vp, []),
    "BN_CTX_free": (None, [_vp]),
    "BN_bin2bn": (_vp, [ctypes.c_char_p, ctypes.c_int, _vp]),
    "BN_bn2binpad": (ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.c_int]),
    "BN_new": (_vp, []),
    "BN_free": (None, [_vp]),
    "EC_GROUP_new_curve_GFp": (_vp, [_vp, _vp, _vp, _vp]),
    "EC_GROUP_set_generator": (ctypes.c_int, [_vp, _vp, _vp, _vp]),
    "EC_POINT_new": (_vp, [_vp]),
    "EC_POINT_free": (None, [_vp]),
    "EC_POINT_set_affine_coordinates": (ctypes.c_int, [_vp, _vp, _vp, _vp, _vp]),
    "EC_POINT_get_affine_coordinates": (ctypes.c_int, [_vp, _vp, _vp, _vp, _vp]),
    "EC_POINT_is_at_infinity": (ctypes.c_int, [_vp, _vp]),
    "EC_POINT_mul": (ctypes.c_int, [_vp, _vp, _vp, _vp, _vp, _vp]),
}

_lock = threading.RLock()  # _streebog_backend() holds it while _lib() takes it
_group_lock = threading.Lock()
_libcrypto: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    """libcrypto 3, with the prototypes declared (once)."""
    global _libcrypto
    if _libcrypto is None:
        with _lock:
            if _libcrypto is None:
                names = ["libcrypto.so.3", ctypes.util.find_library("crypto")]
                library = None
                for name in filter(None, names):
                    try:
                        library = ctypes.CDLL(name)
                        break
                    except OSError:
                        continue
                if library is None or not hasattr(library, "OSSL_LIB_CTX_new"):
                    raise RuntimeError("GOST needs OpenSSL 3's libcrypto (libcrypto.so.3), which was not found")
                for function, (restype, argtypes) in _PROTOTYPES.items():
                    getattr(library, function).restype = restype
                    getattr(library, function).argtypes = argtypes
                _libcrypto = library
    return _libcrypto


class _BigNumbers:
    """BIGNUMs made for one operation, freed together (with the BN_CTX)."""

    def __init__(self, lib: ctypes.CDLL):
        self.lib = lib
        self.ctx = lib.BN_CTX_new()
        self._owned: list[int] = []
        if not self.ctx:
            raise MemoryError("BN_CTX_new")

    def number(self, value: int, size: int) -> int:
        raw = value.to_bytes(size, "big")
        bn = self.lib.BN_bin2bn(raw, len(raw), None)
        if not bn:
            raise MemoryError("BN_bin2bn")
        self._owned.append(bn)
        return bn

    def empty(self) -> int:
        bn = self.lib.BN_new()
        if not bn:
            raise MemoryError("BN_new")
        self._owned.append(bn)
        return bn

    def close(self) -> None:
        for bn in self._owned:
            self.lib.BN_free(bn)
        self.lib.BN_CTX_free(self.ctx)

    def __enter__(self) -> "_BigNumbers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- Streebog ----------------------------------------------------------------


class _OpenSSLStreebog:
    """Streebog from OpenSSL's GOST provider, in a library context of its own."""

    def __init__(self) -> None:
        lib = _lib()
        context = lib.OSSL_LIB_CTX_new()
        if not context or not lib.OSSL_PROVIDER_load(context, b"gostprov"):
            lib.ERR_clear_error()
            raise RuntimeError("OpenSSL's GOST provider (gostprov, Debian: libengine-gost-openssl) is not installed")
        self._lib = lib
        self._context = context  # kept for the process's life, like the digests fetched from it
        self._digests = {
            64: lib.EVP_MD_fetch(context, b"md_gost12_512", None),
            32: lib.EVP_MD_fetch(context, b"md_gost12_256", None),
        }
        if not all(self._digests.values()):
            lib.ERR_clear_error()
            raise RuntimeError("OpenSSL's GOST provider has no Streebog")

    def digest(self, data: bytes, size: int) -> bytes:
        out = ctypes.create_string_buffer(size)
        if self._lib.EVP_Digest(data, len(data), out, None, self._digests[size], None) != 1:
            self._lib.ERR_clear_error()
            raise RuntimeError("EVP_Digest failed")
        return out.raw


_streebog: _OpenSSLStreebog | None = None


def _streebog_backend() -> _OpenSSLStreebog:
    global _streebog
    if _streebog is None:
        with _lock:
            if _streebog is None:
                _streebog = _OpenSSLStreebog()
    return _streebog


def streebog(data: bytes, size: int = 64) -> bytes:
    """The Streebog-512 (size 64) or Streebog-256 (size 32) digest of data."""
    if size not in (32, 64):
        raise ValueError("Streebog digests are 32 or 64 bytes")
    return _streebog_backend().digest(bytes(data), size)


# --- curves --------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Curve:
    """A GOST curve in short Weierstrass form, and its OpenSSL EC_GROUP (made once)."""

    name: str
    curve_oid: str
    key_oid: str
    signature_oid: str
    digest_oid: str
    size: int  # bytes of a coordinate, a scalar, a digest
    p: int
    a: int
    b: int
    q: int  # the order of the generator's subgroup
    cofactor: int
    x: int
    y: int

    @property
    def _group(self) -> int:
        group = self.__dict__.get("_ec_group")
        if group is None:
            with _group_lock:
                group = self.__dict__.get("_ec_group") or self._make_group()
                self.__dict__["_ec_group"] = group  # frozen: set past the dataclass's guard
        return group

    def _make_group(self) -> int:
        lib = _lib()
        with _BigNumbers(lib) as numbers:
            p, a, b = (numbers.number(value, self.size) for value in (self.p, self.a, self.b))
            group = lib.EC_GROUP_new_curve_GFp(p, a, b, numbers.ctx)
            if not group:
                lib.ERR_clear_error()
                raise RuntimeError(f"OpenSSL refused the curve {self.name}")
            generator = lib.EC_POINT_new(group)
            try:
                ok = lib.EC_POINT_set_affine_coordinates(
                    group, generator, numbers.number(self.x, self.size), numbers.number(self.y, self.size), numbers.ctx
                ) and lib.EC_GROUP_set_generator(
                    group, generator, numbers.number(self.q, self.size), numbers.number(self.cofactor, self.size)
                )
            finally:
                lib.EC_POINT_free(generator)
            if not ok:
                lib.ERR_clear_error()
                raise RuntimeError(f"OpenSSL refused the generator of {self.name}")
            # A table of multiples of the generator: verification a third faster. Deprecated in
            # OpenSSL 3.0 (still exported); without it EC_POINT_mul is as correct, only slower.
            precompute = getattr(lib, "EC_GROUP_precompute_mult", None)
            if precompute is not None:
                precompute.restype, precompute.argtypes = ctypes.c_int, [_vp, _vp]
                if not precompute(group, numbers.ctx):
                    lib.ERR_clear_error()
        return group  # shared read-only by every thread for the process's life

    def combine(self, k1: int, point: tuple[int, int] | None = None, k2: int = 0) -> tuple[int, int] | None:
        """k1·G (+ k2·point): affine (x, y), or None for the point at infinity."""
        lib, group = _lib(), self._group
        with _BigNumbers(lib) as numbers:
            result = lib.EC_POINT_new(group)
            other = lib.EC_POINT_new(group) if point is not None else None
            try:
                if other is not None:
                    x, y = point  # type: ignore[misc]
                    if not lib.EC_POINT_set_affine_coordinates(
                        group, other, numbers.number(x, self.size), numbers.number(y, self.size), numbers.ctx
                    ):
                        lib.ERR_clear_error()
                        raise GostError("the public key is not a point of the curve")
                    scalar2 = numbers.number(k2 % self.q, self.size)
                else:
                    scalar2 = None
                scalar1 = numbers.number(k1 % self.q, self.size)
                if not lib.EC_POINT_mul(group, result, scalar1, other, scalar2, numbers.ctx):
                    lib.ERR_clear_error()
                    raise RuntimeError("EC_POINT_mul failed")
                if lib.EC_POINT_is_at_infinity(group, result):
                    return None
                bx, by = numbers.empty(), numbers.empty()
                if not lib.EC_POINT_get_affine_coordinates(group, result, bx, by, numbers.ctx):
                    lib.ERR_clear_error()
                    raise RuntimeError("EC_POINT_get_affine_coordinates failed")
                out = ctypes.create_string_buffer(self.size)
                lib.BN_bn2binpad(bx, out, self.size)
                rx = int.from_bytes(out.raw, "big")
                lib.BN_bn2binpad(by, out, self.size)
                return rx, int.from_bytes(out.raw, "big")
            finally:
                lib.EC_POINT_free(result)
                if other is not None:
                    lib.EC_POINT_free(other)

    def is_on_curve(self, x: int, y: int) -> bool:
        return 0 <= x < self.p and 0 <= y < self.p and (y * y - x * x * x - self.a * x - self.b) % self.p == 0


CURVE_512 = Curve(
    "id-tc26-gost-3410-12-512-paramSetA", CURVE_512_A, KEY_512, SIGNATURE_512, STREEBOG_512, 64,
    p=2**512 - 569,
    a=2**512 - 572,
    b=0xE8C2505DEDFC86DDC1BD0B2B6667F1DA34B82574761CB0E879BD081CFD0B6265EE3CB090F30D27614CB4574010DA90DD862EF9D4EBEE4761503190785A71C760,
    q=0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF27E69532F48D89116FF22B8D4E0560609B4B38ABFAD2B85DCACDB1411F10B275,
    cofactor=1,
    x=3,
    y=0x7503CFE87A836AE3A61B8816E25450E6CE5E1C93ACF1ABC1778064FDCBEFA921DF1626BE4FD036E93D75E6A50E3A41E98028FE5FC235F5B889A589CB5215F2A4,
)  # fmt: skip
# A twisted Edwards curve, in the Weierstrass form RFC 7836 A.2 prints (as every X.509 implementation uses it).
CURVE_256 = Curve(
    "id-tc26-gost-3410-2012-256-paramSetA", CURVE_256_A, KEY_256, SIGNATURE_256, STREEBOG_256, 32,
    p=2**256 - 617,
    a=0xC2173F1513981673AF4892C23035A27CE25E2013BF95AA33B22C656F277E7335,
    b=0x295F9BAE7428ED9CCC20E7C359A9D41A22FCCD9108E17BF7BA9337A6F8AE9513,
    q=0x400000000000000000000000000000000FD8CDDFC87B6635C115AF556C360C67,
    cofactor=4,
    x=0x91E38443A5E82C0D880923425712B2BB658B9196932E02C78B2582FE742DAA28,
    y=0x32879423AB1A0375895786C4BB46E9565FDE0B5344766740AF268ADB32322E5C,
)  # fmt: skip
CURVES = {curve.curve_oid: curve for curve in (CURVE_512, CURVE_256)}
BY_KEY_OID = {curve.key_oid: curve for curve in (CURVE_512, CURVE_256)}
BY_SIGNATURE_OID = {curve.signature_oid: curve for curve in (CURVE_512, CURVE_256)}


def _e(curve: Curve, digest: bytes) -> int:
    if len(digest) != curve.size:
        raise GostError(f"a {len(digest)}-byte digest for a {curve.size * 8}-bit key")
    return int.from_bytes(digest, "little") % curve.q or 1


# --- keys ----------------------------------------------------------------------


@dataclass(frozen=True)
class GostPublicKey:
    curve: Curve
    x: int
    y: int

    def __post_init__(self) -> None:
        if not self.curve.is_on_curve(self.x, self.y):
            raise GostError("the public key is not a point of the curve")

    @classmethod
    def from_bytes(cls, curve: Curve, raw: bytes) -> "GostPublicKey":
        """From Kalkan's x‖y (each little-endian)."""
        if len(raw) != 2 * curve.size:
            raise GostError(f"a {len(raw)}-byte public key for a {curve.size * 8}-bit curve")
        return cls(curve, int.from_bytes(raw[: curve.size], "little"), int.from_bytes(raw[curve.size :], "little"))

    def to_bytes(self) -> bytes:
        size = self.curve.size
        return self.x.to_bytes(size, "little") + self.y.to_bytes(size, "little")

    def verify_digest(self, signature: bytes, digest: bytes) -> bool:
        """Does r‖s (each little-endian) sign this Streebog digest?"""
        curve, size = self.curve, self.curve.size
        if len(signature) != 2 * size:
            return False
        r, s = int.from_bytes(signature[:size], "little"), int.from_bytes(signature[size:], "little")
        if not (0 < r < curve.q and 0 < s < curve.q):
            return False
        v = pow(_e(curve, digest), -1, curve.q)
        point = curve.combine(s * v, (self.x, self.y), -r * v)
        return point is not None and point[0] % curve.q == r

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Does r‖s sign data (hashed here with the key's Streebog)?"""
        return self.verify_digest(signature, streebog(data, self.curve.size))


@dataclass(frozen=True, repr=False)
class GostPrivateKey:
    curve: Curve
    d: int

    def __post_init__(self) -> None:
        if not 0 < self.d < self.curve.q:
            raise GostError("the private key is out of range")

    def __repr__(self) -> str:  # never print the scalar
        return f"GostPrivateKey({self.curve.name})"

    @classmethod
    def generate(cls, curve: Curve = CURVE_512) -> "GostPrivateKey":
        return cls(curve, secrets.randbelow(curve.q - 1) + 1)

    @cached_property
    def public_key(self) -> GostPublicKey:
        point = self.curve.combine(self.d)
        assert point is not None  # 0 < d < q
        return GostPublicKey(self.curve, *point)

    def sign_digest(self, digest: bytes) -> bytes:
        """r‖s (each little-endian) over a Streebog digest, with a fresh random k.

        OpenSSL multiplies the generator by k with its constant-time ladder;
        the scalar arithmetic around it is Python's and is not constant-time,
        which is acceptable for the sandbox and test keys this signs with.
        """
        curve = self.curve
        e = _e(curve, digest)
        while True:
            k = secrets.randbelow(curve.q - 1) + 1
            point = curve.combine(k)
            r = point[0] % curve.q if point is not None else 0
            s = (r * self.d + k * e) % curve.q
            if r and s:
                return r.to_bytes(curve.size, "little") + s.to_bytes(curve.size, "little")

    def sign(self, data: bytes) -> bytes:
        return self.sign_digest(streebog(data, self.curve.size))


# GOST R 34.11-2012's own example M1 and its Streebog-512 digest.
_M1 = b"012345678901234567890123456789012345678901234567890123456789012"
_M1_DIGEST = bytes.fromhex(
    "1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa"
    "00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48"
)
_self_tested = False


def self_test() -> None:
    """RuntimeError unless Streebog and the curve arithmetic work on this machine (run once at start).

    Without OpenSSL's GOST provider every GOST signature would fail when it
    is checked; the portal refuses to start instead.
    """
    global _self_tested
    if _self_tested:
        return
    try:
        if streebog(_M1) != _M1_DIGEST:
            raise RuntimeError("Streebog-512 gives a wrong digest")
        key = GostPrivateKey.generate(CURVE_512)
        if not key.public_key.verify(key.sign(_M1), _M1) or key.public_key.verify(key.sign(_M1), _M1 + b"."):
            raise RuntimeError("GOST 34.10-2015 signatures do not verify")
    except (OSError, RuntimeError, GostError) as error:
        raise RuntimeError(f"GOST signatures cannot be checked here: {error}") from None
    _self_tested = True
