"""NCALayer's WebSocket protocol, answered by the sandbox signing agent.

The portal's browser code (npm `ncalayer-js-client`) talks to NCALayer, the
signing application Kazakh citizens run, over a WebSocket. This module holds
the protocol logic of the sandbox stand-in: one text frame in, one text frame
out, with NCALayer's own envelopes. The server around it is `signing.sandbox.agent`.

Where the envelopes come from:

- RECORDED: `ncalayer-js-client/test/test-data.json` holds 50 request and
  response pairs recorded from a real NCALayer (and KAZTOKEN); envelopes
  marked RECORDED are copied from there.
- SOURCE: the commonUtils module's dispatcher and methods are published by the
  national CA (github.com/pkigovkz/NLCommonBundle: NCALayerCommonActivator,
  CommonUtils, types/KeyInfo), and so is the "common invoker" behind
  kz.gov.pki.knca.basics (github.com/pkigovkz/nlcommons: CommonInvoker,
  CommonFailure). Envelopes marked SOURCE follow that code.
- DOCUMENTED: the README of github.com/pkigovkz/NCALayerAnotherSampleBundle
  documents the reply to a module NCALayer does not have.
- UNVERIFIED: no recording or source was found; these follow the nearest
  known envelope with an honest message, and say so where they are built.

Nothing here imports Flask; keys are loaded once and cached.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree

from signing import gost_pkcs12
from signing.gost import GostPrivateKey
from signing.xmldsig import BadDocument, SigningKey, safe_parser, sign_enveloped

log = logging.getLogger("signing.sandbox.agent")

# NCALayer's current greeting (1.4; the recordings in ncalayer-js-client are of 1.2).
VERSION = "1.4"
GREETING = json.dumps({"result": {"version": VERSION}}, separators=(",", ":"))
HEARTBEAT = "--heartbeat--"

COMMON_UTILS = "kz.gov.pki.knca.commonUtils"
BASICS = "kz.gov.pki.knca.basics"

PKCS12 = "PKCS12"
EKU_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2"
# The NCA's role OIDs, which it puts in the extended key usage (signing.sandbox.pki).
ROLES = "1.2.398.3.3.4."
ROLE_INDIVIDUAL = "1.2.398.3.3.4.1.1"
ROLE_ORGANISATION = "1.2.398.3.3.4.1.2"
DEFAULT_PASSWORD = "Qwerty12"

KINDS = ("sign", "auth")
VARIANTS = ("normal", "revoked", "expired", "not-yet-valid")

CANCELED = "action.canceled"  # RECORDED


class AgentError(Exception):
    """A request the agent answers with an error envelope (message is Java-styled)."""


class Canceled(Exception):
    """The simulated citizen pressed Cancel."""


# ---------------------------------------------------------------------------
# JSON, the way NCALayer's org.json writes it
# ---------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """Compact JSON with raw non-ASCII text and "</" written "<\\/", as org.json does (RECORDED)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def common_ok(response_object: Any = None, *, with_object: bool = True) -> dict:
    """commonUtils success: {"responseObject": ..., "code": "200"} (RECORDED key order)."""
    if not with_object:
        return {"code": "200"}  # RECORDED for changeLocale
    return {"responseObject": response_object, "code": "200"}


def common_error(message: str) -> dict:
    """commonUtils failure: {"code": "500", "message": ...} (RECORDED)."""
    return {"code": "500", "message": message}


def type_mismatch(method: str) -> dict:
    """Arguments of the wrong type (RECORDED, message built as in SOURCE)."""
    return common_error(f"java.lang.IllegalArgumentException: argument type mismatch. Method: {method}")


def basics_ok(result: list) -> dict:
    return {"body": {"result": result}, "status": True}  # RECORDED (key order too)


BASICS_CANCEL = {"body": {}, "status": True}  # RECORDED


def basics_error(code: str, message: str, details: str) -> dict:
    """basics failure, e.g. INVOCATION_ERROR (RECORDED), GENERAL_ERROR (SOURCE)."""
    return {"code": code, "details": details, "message": message, "status": False}


INVOCATION_ERROR = ("INVOCATION_ERROR", "An invoked method threw an exception.")  # RECORDED / SOURCE
GENERAL_ERROR = ("GENERAL_ERROR", "General error.")  # SOURCE (CommonFailure)

# DOCUMENTED (pkigovkz/NCALayerAnotherSampleBundle README): a call to a module
# NCALayer does not have. The KAZTOKEN probe `kz.digiflow.mobile.extensions`
# gets this from NCALayer; the JS client counts anything but code 200 as "not
# KAZTOKEN".
MODULE_NOT_FOUND = {"success": False, "errorCode": "MODULE_NOT_FOUND"}


# ---------------------------------------------------------------------------
# XML errors, worded the way NCALayer's Java parser (Xerces) words them
# ---------------------------------------------------------------------------


def sax_parse_message(document: bytes) -> str | None:
    """None when the XML is well-formed, else a SAXParseException text like NCALayer's.

    The recorded case (`<this>is not a valid XML`) comes out exactly as
    recorded; for other mistakes the common libxml2 errors are given Xerces'
    wording, the rest keep libxml2's (positions are libxml2's).
    """
    try:
        etree.fromstring(document, safe_parser())
        return None
    except etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (error.lineno or 1, 1)
        text = error.msg or ""
        # Drop libxml2's ", line L, column C" suffix: the position is given apart.
        text = text.rsplit(", line ", 1)[0] if ", line " in text else text
        code = error.code
        if code == 77:  # ERR_TAG_NOT_FINISHED: premature end of data
            text = "XML document structures must start and end within the same entity."
        elif code == 4:  # ERR_DOCUMENT_EMPTY
            text = "Premature end of file." if not document.strip() else "Content is not allowed in prolog."
        elif code == 76 and text.startswith("Opening and ending tag mismatch: "):
            name = text[len("Opening and ending tag mismatch: ") :].split(" ", 1)[0]
            text = f'The element type "{name}" must be terminated by the matching end-tag "</{name}>".'
        elif code == 5:  # ERR_DOCUMENT_END: something after the root element
            text = "The markup in the document following the root element must be well-formed."
        elif code == 26 and text.startswith("Entity '"):
            name = text.split("'")[1]
            text = f'The entity "{name}" was referenced, but not declared.'
        return f"org.xml.sax.SAXParseException; lineNumber: {line}; columnNumber: {column}; {text}"
    except ValueError as error:  # e.g. a str with an encoding declaration
        return f"org.xml.sax.SAXParseException; lineNumber: 1; columnNumber: 1; {error}"


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedKey:
    """A key file opened once: the key, its certificate and NCALayer's view of it."""

    path: Path
    signing_key: SigningKey
    alias: str

    @property
    def certificate(self) -> x509.Certificate:
        return self.signing_key.certificate

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "x")


_NAME_SYMBOLS = {
    # Kalkan (a Bouncy Castle fork) X509Name symbols.
    "2.5.4.6": "C",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.5": "SERIALNUMBER",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
    "2.5.4.9": "STREET",
    "2.5.4.4": "SURNAME",
    "2.5.4.42": "GIVENNAME",
    "2.5.4.43": "INITIALS",
    "2.5.4.44": "GENERATION",
    "2.5.4.65": "PSEUDONYM",
    "2.5.4.17": "POSTALCODE",
    "2.5.4.46": "DN",
}


def _escape_dn_value(value: str) -> str:
    out = []
    for char in value:
        if char in ',+"\\<>;=':
            out.append("\\")
        out.append(char)
    return "".join(out)


def dn_string(name: x509.Name) -> str:
    """A name as Kalkan's X509Name.toString writes it: encoded order, "," between (UNVERIFIED detail)."""
    parts = []
    for rdn in name.rdns:
        values = []
        for attribute in rdn:
            symbol = _NAME_SYMBOLS.get(attribute.oid.dotted_string, attribute.oid.dotted_string)
            value = attribute.value
            if isinstance(value, bytes):
                value = "#" + value.hex()
            values.append(f"{symbol}={_escape_dn_value(str(value))}")
        parts.append("+".join(values))
    return ",".join(parts)


def _cn(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else None


def key_id(certificate: x509.Certificate) -> str:
    """The subject key identifier in hex (NCA key files are named and aliased by it)."""
    try:
        return certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest.hex()
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest.hex()


def key_info(key: LoadedKey) -> dict:
    """getKeyInfo's responseObject: the fields of NCALayer's KeyInfo (SOURCE: types/KeyInfo.java).

    Field names and the epoch-millisecond strings are as in the source; the
    exact text of the DNs, the serial's letter case and the PEM line layout
    are UNVERIFIED (Kalkan's formatting is not public).
    """
    certificate = key.certificate
    try:
        aki = certificate.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    return {
        "alias": key.alias,
        "keyId": key_id(certificate),
        # UNVERIFIED for GOST: the name Kalkan gives a GOST 2015 key is not in NCALayer's source.
        "algorithm": "ECGOST3410-2015" if isinstance(key.signing_key.private_key, GostPrivateKey) else "RSA",
        "subjectCn": _cn(certificate.subject),
        "subjectDn": dn_string(certificate.subject),
        "issuerCn": _cn(certificate.issuer),
        "issuerDn": dn_string(certificate.issuer),
        "serialNumber": format(certificate.serial_number, "x"),
        "certNotAfter": str(int(certificate.not_valid_after_utc.timestamp() * 1000)),
        "certNotBefore": str(int(certificate.not_valid_before_utc.timestamp() * 1000)),
        "authorityKeyIdentifier": aki.hex() if aki else None,
        "pem": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }


def open_key_file(path: Path, password: str) -> LoadedKey:
    """Open a PKCS#12 key file, RSA or GOST 34.10-2015 (tens of milliseconds: cache the result)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AgentError(f"java.io.FileNotFoundException: {path} (No such file or directory)") from None
    try:
        container = pkcs12.load_pkcs12(data, password.encode())
    except ValueError:
        try:  # cryptography loads no GOST key: signing.gost_pkcs12 does
            gost_key, gost_certificate = gost_pkcs12.read(data, password)
        except gost_pkcs12.NotGost:
            # What NCALayer reports for a wrong password is not recorded: UNVERIFIED.
            raise AgentError("java.io.IOException: keystore password was incorrect") from None
        signing_key = SigningKey(gost_key, gost_certificate)
        return LoadedKey(path=path, signing_key=signing_key, alias=key_id(gost_certificate))
    if container.key is None or container.cert is None:
        raise AgentError(f"java.security.KeyStoreException: {path.name} holds no key with a certificate")
    if not isinstance(container.key, rsa.RSAPrivateKey):
        raise AgentError(
            f"java.security.InvalidKeyException: the sandbox signing agent signs with RSA and GOST 34.10-2015 keys only "
            f"({path.name})"
        )
    certificate = container.cert.certificate
    alias = container.cert.friendly_name.decode("utf-8", "replace") if container.cert.friendly_name else None
    signing_key = SigningKey(container.key, certificate, tuple(c.certificate for c in container.additional_certs))
    return LoadedKey(path=path, signing_key=signing_key, alias=alias or key_id(certificate))


class KeyCache:
    """Key files opened once per path (thread-safe)."""

    def __init__(self) -> None:
        self._keys: dict[tuple[Path, str], LoadedKey] = {}
        self._lock = threading.Lock()

    def get(self, path: Path | str, password: str) -> LoadedKey:
        path = Path(path).resolve()
        with self._lock:
            found = self._keys.get((path, password))
            if found is None:
                found = self._keys[(path, password)] = open_key_file(path, password)
            return found


# ---------------------------------------------------------------------------
# Options and the choice of key
# ---------------------------------------------------------------------------


@dataclass
class AgentOptions:
    """What the simulated citizen does; mirrors the CLI flags of `python -m signing.sandbox.agent`."""

    pki_dir: Path | str | None = None
    iin: str | None = None  # force this holder ("another person's key")
    key_file: Path | str | None = None  # any .p12: wins over everything else
    password: str | None = None  # of key_file (default Qwerty12)
    kind: str | None = None  # "sign" | "auth": force the key type
    variant: str = "normal"  # "normal" | "revoked" | "expired" | "not-yet-valid"
    cancel: bool = False  # press Cancel on every request
    respond_with: Path | str | None = None  # reply with this file's content as the "signed" XML

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, not {self.variant!r}")


class KeyChooser:
    """Picks the key the simulated citizen would pick in NCALayer's dialog.

    Precedence: `key_file` > `iin` option > the holder the request asks for
    (basics `signerParams.iin`, else `signerParams.bin` for an organisation's
    key) > the default test citizen (the first individual holder in the
    sandbox PKI's index.json). `kind` forces a signing or an authentication
    key; `variant` picks a revoked, expired or not-yet-valid key.
    """

    def __init__(self, options: AgentOptions, cache: KeyCache | None = None) -> None:
        self.options = options
        self.cache = cache or KeyCache()
        self.pki = None
        self.default_holder: str | None = None
        if options.key_file is not None:
            if not Path(options.key_file).is_file():
                raise FileNotFoundError(f"no key file {options.key_file}")
            try:  # open it now: a wrong password shows at start, not at the first request
                self.cache.get(options.key_file, options.password or DEFAULT_PASSWORD)
            except AgentError as error:
                raise ValueError(f"cannot open {options.key_file}: {error}") from None
            return
        if options.pki_dir is None:
            raise ValueError("give a sandbox PKI directory (pki_dir) or a key file (key_file)")
        from signing.sandbox.pki import SandboxPKI  # the sandbox CA; imported only when used

        self.pki = SandboxPKI.load(Path(options.pki_dir))  # PKINotFound says how to create it
        self.default_holder = default_holder_id(Path(options.pki_dir))
        self.holders = _index_holders(Path(options.pki_dir))
        if self.default_holder is None and options.iin is None:
            raise ValueError(f"the sandbox PKI in {options.pki_dir} has no individual holder")

    def choose(self, kind: str, *requested: str | None) -> LoadedKey:
        """The key for a request wanting `kind`; `requested` holder ids in order of preference."""
        options = self.options
        if options.key_file is not None:
            return self.cache.get(options.key_file, options.password or DEFAULT_PASSWORD)
        kind = options.kind or kind
        if options.iin:
            holder = options.iin
        else:
            asked = [holder for holder in requested if holder]
            holder = next((h for h in asked if self.pki.keys(h)), asked[0] if asked else self.default_holder)
        key_file = self.pki.key_file(holder, kind=kind, variant=options.variant)
        if key_file is None:
            what = "authentication" if kind == "auth" else "signing"
            variant = "" if options.variant == "normal" else f"{options.variant} "
            raise AgentError(
                f"java.lang.IllegalArgumentException: the sandbox PKI has no {variant}{what} key of {holder}"
            )
        return self.cache.get(key_file.path, options.password or self.pki.password)

    def choose_for_signer(self, kind: str, iin: str | None, bin_: str | None, oids: list[str]) -> LoadedKey:
        """The key basics.sign's signerParams ask for, as NCALayer offers only the keys that fit.

        `iin` (and `bin`) name the holder; the role OIDs in `extKeyUsageOids`
        say whose key: 1.2.398.3.3.4.1.1 an individual's, 1.2.398.3.3.4.1.2
        (or one of its sub-roles, e.g. .1 the head) an organisation
        employee's holding those roles. The `key_file` and `iin` options win
        (the simulated citizen picks another key); without any, the default
        citizen's key.
        """
        if self.options.key_file is not None or self.options.iin:
            return self.choose(kind)
        roles = {oid for oid in oids if oid.startswith(ROLES)}
        organisation = bin_ is not None or any(role.startswith(ROLE_ORGANISATION) for role in roles)
        if not roles and bin_ is None:
            return self.choose(kind, iin)
        wanted = roles - {ROLE_INDIVIDUAL, ROLE_ORGANISATION}
        variant = self.options.variant

        def fits(holder_id: str, holder: dict) -> bool:
            return (
                bool(holder.get("bin")) == organisation
                and (iin is None or holder.get("iin") == iin)
                and (bin_ is None or holder.get("bin") == bin_)
                and wanted <= set(holder.get("roles") or ())
                and self.pki.key_file(holder_id, kind=kind, variant=variant) is not None
            )

        found = [holder_id for holder_id, holder in self.holders.items() if fits(holder_id, holder)]
        if not found:
            what = "authentication" if kind == "auth" else "signing"
            what = what if variant == "normal" else f"{variant} {what}"
            whose = "an organisation's" if organisation else "an individual's"
            # UNVERIFIED wording: NCALayer shows an empty key list.
            raise AgentError(
                f"java.lang.IllegalArgumentException: the sandbox PKI has no {what} key of {iin or bin_ or whose} "
                f"that fits signerParams (roles {', '.join(sorted(roles)) or 'none'})"
            )
        holder = self.default_holder if self.default_holder in found else found[0]
        return self.choose(kind, holder)


def _index_holders(pki_dir: Path) -> dict[str, dict]:
    try:
        index = json.loads((pki_dir / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    holders = index.get("holders") or {}
    return {str(k): v for k, v in holders.items() if isinstance(v, dict)} if isinstance(holders, dict) else {}


def default_holder_id(pki_dir: Path) -> str | None:
    """The first individual holder (one without a BIN) listed in the PKI's index.json."""
    for holder_id, holder in _index_holders(pki_dir).items():
        if not holder.get("bin"):
            return holder_id
    return None


# ---------------------------------------------------------------------------
# The protocol
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one request did, for the log (never the XML, never a password)."""

    module: str | None = None
    method: str | None = None
    serial: str | None = None
    result: str = ""


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


class NCALayerProtocol:
    """Answers NCALayer requests, one text frame at a time (thread-safe)."""

    def __init__(self, options: AgentOptions, chooser: KeyChooser | None = None) -> None:
        self.options = options
        self.chooser = chooser or KeyChooser(options)
        self.canned: str | None = None
        if options.respond_with is not None:
            self.canned = Path(options.respond_with).read_text(encoding="utf-8")

    # -- entry point -------------------------------------------------------

    def handle(self, text: str) -> str:
        """The reply frame for one request frame."""
        if text == HEARTBEAT:
            return HEARTBEAT
        outcome = Outcome()
        reply = self._dispatch(text, outcome)
        log.info(
            "%s.%s key=%s -> %s",
            outcome.module or "-",
            outcome.method or "-",
            outcome.serial or "-",
            outcome.result,
        )
        return dumps(reply)

    def _dispatch(self, text: str, outcome: Outcome) -> dict:
        try:
            request = json.loads(text)
        except ValueError as error:
            outcome.result = "malformed JSON"
            # UNVERIFIED: NCALayer's websocket layer is not public; this is
            # org.json's wording in commonUtils' error envelope.
            if not text.lstrip().startswith("{"):
                return common_error("A JSONObject text must begin with '{' at 1 [character 2 line 1]")
            return common_error(f"{error.msg} at {error.pos + 1} [character {error.colno + 1} line {error.lineno}]")
        if not isinstance(request, dict):
            outcome.result = "malformed JSON"
            return common_error("A JSONObject text must begin with '{' at 1 [character 2 line 1]")
        module = request.get("module")
        outcome.module = module if isinstance(module, str) else None
        method = request.get("method")
        outcome.method = method if isinstance(method, str) else None
        if module == COMMON_UTILS:
            reply = self._common_utils(request, outcome)
            uuid = request.get("uuid")
            if isinstance(uuid, str) and uuid and reply is not None:
                reply = {**reply, "uuid": uuid}  # SOURCE: the dispatcher echoes "uuid"
            return reply
        if module == BASICS:
            return self._basics(request, outcome)
        outcome.result = "MODULE_NOT_FOUND"
        return dict(MODULE_NOT_FOUND)

    # -- kz.gov.pki.knca.commonUtils ---------------------------------------

    # name -> argument checks, one per positional argument (SOURCE: methods
    # are found by name AND argument count, then Java checks the types).
    COMMON_METHODS: dict[str, tuple[Callable[[Any], bool], ...]] = {
        "getActiveTokens": (),
        "getKeyInfo": (_is_str,),
        "changeLocale": (_is_str,),
        "signXml": (_is_str, _is_str, _is_str, _is_str, _is_str),
        "signXmls": (_is_str, _is_str, lambda v: isinstance(v, list), _is_str, _is_str),
    }

    def _common_utils(self, request: dict, outcome: Outcome) -> dict:
        method = request.get("method")
        if not isinstance(method, str):
            outcome.result = "no method"
            # SOURCE: jsonObject.getString("method") throws; its message is sent.
            return common_error('JSONObject["method"] not found.')
        args = request.get("args")
        args = args if isinstance(args, list) else []  # SOURCE: optJSONArray("args")
        checks = self.COMMON_METHODS.get(method)
        if checks is None or len(checks) != len(args):
            # SOURCE: no method of that name taking that many arguments.
            outcome.result = "no such method"
            return common_error(f"NoSuchMethodException {method}")
        if not all(check(arg) for check, arg in zip(checks, args)):
            outcome.result = "argument type mismatch"
            return type_mismatch(method)
        try:
            return getattr(self, f"_cu_{method}")(args, outcome)
        except Canceled:
            outcome.result = "canceled"
            return common_error(CANCELED)
        except AgentError as error:
            outcome.result = f"error: {error}"
            return common_error(str(error))

    def _cu_getActiveTokens(self, args: list, outcome: Outcome) -> dict:
        outcome.result = "ok"
        return common_ok([])  # RECORDED: no hardware token; key files are PKCS12

    def _cu_changeLocale(self, args: list, outcome: Outcome) -> dict:
        outcome.result = "ok"
        return common_ok(with_object=False)  # RECORDED

    def _check_storage(self, storage: str) -> None:
        if storage != PKCS12:
            # UNVERIFIED: what NCALayer says for a token that is not plugged in.
            raise AgentError(
                f"kz.gov.pki.kalkan.exception.KalkanException: storage {storage} is not available "
                "(the sandbox signing agent has PKCS12 key files only)"
            )

    def _cu_getKeyInfo(self, args: list, outcome: Outcome) -> dict:
        self._check_storage(args[0])
        if self.options.cancel:
            raise Canceled
        key = self.chooser.choose("sign")
        outcome.serial = key.serial
        outcome.result = "ok"
        return common_ok(key_info(key))

    @staticmethod
    def _key_kind(key_type: str) -> str:
        return "auth" if key_type == "AUTHENTICATION" else "sign"

    def _check_xpaths(self, tbs: str, parent: str) -> None:
        if tbs or parent:
            # UNVERIFIED wording: the sandbox signs whole documents only.
            raise AgentError(
                "java.lang.UnsupportedOperationException: the sandbox signing agent signs whole documents only "
                "(tbsElementXPath and signatureParentElementXPath must be empty)"
            )

    def _sign_one(self, xml: str, key: LoadedKey, line_ending: str, compact: bool = False) -> str:
        if self.canned is not None:
            return self.canned
        document = xml.encode("utf-8")
        problem = sax_parse_message(document)
        if problem is not None:
            raise AgentError(problem)  # RECORDED shape: org.xml.sax.SAXParseException; ...
        try:
            signed = sign_enveloped(document, key.signing_key, line_ending=line_ending, compact=compact)
            return signed.decode("utf-8")
        except BadDocument as error:
            # UNVERIFIED: NCALayer would sign it; the sandbox refuses (comments,
            # processing instructions, an already signed document).
            raise AgentError(f"java.lang.IllegalArgumentException: the sandbox signing agent refuses: {error}") from None

    def _cu_signXml(self, args: list, outcome: Outcome) -> dict:
        storage, key_type, xml, tbs, parent = args
        self._check_storage(storage)
        self._check_xpaths(tbs, parent)
        if self.options.cancel:
            raise Canceled
        key = self.chooser.choose(self._key_kind(key_type))
        outcome.serial = key.serial
        signed = self._sign_one(xml, key, "\r\n")
        outcome.result = "canned reply" if self.canned is not None else "signed"
        return common_ok(signed)

    def _cu_signXmls(self, args: list, outcome: Outcome) -> dict:
        storage, key_type, xmls, tbs, parent = args
        if not all(isinstance(xml, str) for xml in xmls):
            # Java would fail converting the array to String[]: as a type mismatch.
            outcome.result = "argument type mismatch"
            return type_mismatch("signXmls")
        self._check_storage(storage)
        self._check_xpaths(tbs, parent)
        if self.options.cancel:
            raise Canceled
        key = self.chooser.choose(self._key_kind(key_type))
        outcome.serial = key.serial
        signed = [self._sign_one(xml, key, "\r\n") for xml in xmls]
        outcome.result = f"signed {len(signed)}"
        return common_ok(signed)

    # -- kz.gov.pki.knca.basics --------------------------------------------

    def _basics(self, request: dict, outcome: Outcome) -> dict:
        method = request.get("method")
        args = request.get("args")
        if method != "sign":
            outcome.result = "no such method"
            # SOURCE (CommonInvoker): IllegalArgumentException -> GENERAL_ERROR;
            # the class name in the details is UNVERIFIED.
            return basics_error(
                *GENERAL_ERROR, f"java.lang.IllegalArgumentException: {method} is not defined in KNCABasics"
            )
        if not isinstance(args, dict):
            outcome.result = "no arguments"
            return basics_error(*GENERAL_ERROR, "java.lang.IllegalArgumentException: sign demands arguments")  # SOURCE
        try:
            return self._basics_sign(args, outcome)
        except Canceled:
            outcome.result = "canceled"
            return dict(BASICS_CANCEL)
        except AgentError as error:
            outcome.result = f"error: {error}"
            return basics_error(*INVOCATION_ERROR, str(error))

    @staticmethod
    def _json_error(key: str, what: str) -> AgentError:
        # RECORDED wording: org.json.JSONException: JSONObject["signingParams"] is not a JSONObject.
        return AgentError(f'org.json.JSONException: JSONObject["{key}"] is not a {what}.')

    def _basics_sign(self, args: dict, outcome: Outcome) -> dict:
        storages = args.get("allowedStorages")
        if storages is not None and not (isinstance(storages, list) and all(_is_str(s) for s in storages)):
            raise self._json_error("allowedStorages", "JSONArray")
        fmt = args.get("format")
        if not _is_str(fmt):
            if fmt is None:
                raise AgentError('org.json.JSONException: JSONObject["format"] not found.')
            raise self._json_error("format", "string")
        data = args.get("data")
        if data is None:
            raise AgentError('org.json.JSONException: JSONObject["data"] not found.')
        if not (_is_str(data) or (isinstance(data, list) and all(_is_str(d) for d in data))):
            raise self._json_error("data", "string or a JSONArray of strings")
        for name in ("signingParams", "signerParams"):
            value = args.get(name)
            if value is not None and not isinstance(value, dict):
                raise self._json_error(name, "JSONObject")  # RECORDED
        signer = args.get("signerParams") or {}
        oids = signer.get("extKeyUsageOids") or []
        iin = signer.get("iin")
        if not isinstance(oids, list) or (iin is not None and not _is_str(iin)):
            raise self._json_error("signerParams", "JSONObject")
        if storages is not None and PKCS12 not in storages:
            # UNVERIFIED wording: NCALayer would show an empty key dialog.
            raise AgentError(
                "java.lang.IllegalArgumentException: no suitable storage: the sandbox signing agent "
                f"has PKCS12 key files only, the request allows {', '.join(storages) or 'none'}"
            )
        if self.options.cancel:
            raise Canceled
        if fmt == "cms":
            raise AgentError("java.lang.UnsupportedOperationException: CMS is not supported by the sandbox signing agent")
        if fmt != "xml":
            raise AgentError(f"java.lang.IllegalArgumentException: unknown format: {fmt}")
        kind = "auth" if EKU_CLIENT_AUTH in oids else "sign"
        bin_ = signer.get("bin")
        key = self.chooser.choose_for_signer(
            kind, iin or None, bin_ if _is_str(bin_) else None, [oid for oid in oids if _is_str(oid)]
        )
        outcome.serial = key.serial
        documents = [data] if _is_str(data) else data
        # basics.sign's shape: no line break anywhere (commonUtils.signXml's has them).
        result = [self._sign_one(xml, key, "\n", compact=True) for xml in documents]
        outcome.result = f"signed {len(result)}"
        return basics_ok(result)
