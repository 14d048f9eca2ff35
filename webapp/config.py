"""Configuration classes: the sandbox default, tests and production."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from signing.xmldsig import SigningKey

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A setting production cannot run without, or one that is unsafe."""


def _flag(value: str | None) -> bool | None:
    """An on/off environment variable; None when it is not set."""
    if value is None or value.strip() == "":
        return None
    return value.strip().lower() in ("1", "true", "yes", "on")


class Config:
    """Settings shared by every environment."""

    SANDBOX = False
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL")
    TRUSTED_CA_BUNDLE: str | None = None
    # "module:factory" returning the adapter to the state registries.
    STATE_REGISTRIES: str | None = None

    LANGUAGES = ("kk", "ru", "en")
    BABEL_DEFAULT_LOCALE = "kk"
    BABEL_DEFAULT_TIMEZONE = "Asia/Almaty"
    BABEL_TRANSLATION_DIRECTORIES = str(REPO_ROOT / "translations")

    # A whole application with its attachments fits well under this.
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 500 * 1024

    SESSION_COOKIE_NAME = "qyzmet_session"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = dt.timedelta(minutes=30)
    SESSION_PERMANENT = True
    SESSION_REFRESH_EACH_REQUEST = True

    WTF_CSRF_TIME_LIMIT = 3600

    # Anonymous public pages served from their rendered bytes (webapp/page_cache.py); 0 turns it off.
    PAGE_CACHE = os.environ.get("QYZMET_PAGE_CACHE", "1") != "0"
    # History of Services' unchanged background poll answered before Flask (webapp/history/poll.py).
    HISTORY_POLL_SHORTCUT = os.environ.get("QYZMET_HISTORY_POLL_SHORTCUT", "1") != "0"
    WTF_CSRF_SSL_STRICT = True

    RATELIMIT_STORAGE_URI = "memory://"
    # A moving window: "5 per minute" means any 60 seconds, so a guesser cannot
    # fit 10 tries around the turn of a fixed minute.
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = True
    # Failed logins: one account is not guessed, and one address cannot
    # try many accounts (loose enough for citizens behind a shared NAT).
    # Each limit can be set from the environment (the load run, where every citizen
    # comes from 127.0.0.1, raises the per-address ones).
    LOGIN_LIMIT_PER_IIN = os.environ.get("LOGIN_LIMIT_PER_IIN") or "5 per minute;20 per hour"
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS") or "30 per minute;300 per hour"

    TEMPLATES_AUTO_RELOAD = False

    # Behind this many reverse proxies (nginx: 1) the client's address and
    # scheme are read from X-Forwarded-For/-Proto (werkzeug's ProxyFix); 0: none.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT") or 0)
    # Observability (webapp/observability.py, webapp/health.py): logs as
    # "json" or "text"; /metrics for these networks (or METRICS_TOKEN as a
    # bearer token); probe and Redis timeouts in seconds.
    LOG_FORMAT = os.environ.get("LOG_FORMAT") or "text"
    LOG_LEVEL = os.environ.get("LOG_LEVEL") or "INFO"
    METRICS_ENABLED = True
    METRICS_ALLOWED_NETWORKS = os.environ.get("METRICS_ALLOWED_NETWORKS") or "127.0.0.0/8 ::1/128"
    METRICS_TOKEN: str | None = os.environ.get("METRICS_TOKEN") or None
    READY_TIMEOUT = 2
    REDIS_TIMEOUT = 2
    # Seconds to connect to PostgreSQL: a stopped or unreachable database
    # fails requests (and /readyz) quickly instead of hanging workers.
    DATABASE_CONNECT_TIMEOUT = 5

    # SMS passwords, on top of the per-citizen rules in webapp/sms/codes.py:
    # requests for a password per address, citizen and phone, and entries.
    SMS_LIMIT_PER_ADDRESS = os.environ.get("SMS_LIMIT_PER_ADDRESS") or "30 per hour"
    SMS_LIMIT_PER_CITIZEN = os.environ.get("SMS_LIMIT_PER_CITIZEN") or "10 per hour"
    SMS_LIMIT_PER_PHONE = os.environ.get("SMS_LIMIT_PER_PHONE") or "10 per hour"
    SMS_CODE_ENTRY_LIMIT = os.environ.get("SMS_CODE_ENTRY_LIMIT") or "30 per hour"

    # The service providers whose signed messages the portal accepts (BINs).
    PROVIDER_BINS: tuple[str, ...] = ()
    # The body each of those BINs is, as the service passports name it (`provider:`), where known:
    # a decision is then shown as signed by that body in the page's language, and the portal takes
    # messages about an application only from its service's body.
    PROVIDER_BODIES: dict[str, str] = {}

    # A proactive offer made by SMS can be answered for this long.
    PROACTIVE_OFFER_DAYS = 30

    # Drafts of applications: kept this long after the last change, with a
    # warning shown when fewer than DRAFT_WARNING_DAYS remain.
    DRAFT_LIFETIME_DAYS = 30
    DRAFT_WARNING_DAYS = 7
    # Attached files live here under random names, never under static/.
    ATTACHMENTS_DIR = str(REPO_ROOT / "instance" / "attachments")
    # Folders of service definitions: a new service is one more YAML file.
    SERVICE_DEFINITIONS = (str(REPO_ROOT / "webapp" / "services" / "definitions"),)
    # A day to use as "today" for registry facts (ISO date), instead of the clock.
    FIXED_TODAY: str | None = None

    # Working days: decree transfers the `holidays` package does not know yet.
    EXTRA_DAYS_OFF: tuple[str, ...] = ()
    EXTRA_WORKING_DAYS: tuple[str, ...] = ()

    # EDS: where the browser finds NCALayer, and what the portal trusts.
    NCALAYER_URL = "wss://127.0.0.1:13579"
    # Revocation: tried in this order; the first trustworthy answer counts.
    REVOCATION_METHODS: tuple[str, ...] = ("ocsp", "crl")
    OCSP_URL: str | None = None  # None: the address in each certificate
    CRL_URLS: tuple[str, ...] = ()  # empty: the addresses in each certificate
    REVOCATION_CACHE_SECONDS = 300
    # The portal's own key (PKCS#12), for what the portal signs itself; in
    # the sandbox, the sandbox CA's portal key when not set.
    PORTAL_SIGNING_KEY: str | None = None
    PORTAL_SIGNING_KEY_PASSWORD: str | None = None
    # A signed login challenge is good for this long.
    EDS_LOGIN_CHALLENGE_SECONDS = 300

    # eGov Mobile (webapp/egov_mobile/): a QR code or link is good for this long,
    # and takes this many refused signatures before it is cancelled.
    EGOV_MOBILE_SECONDS = int(os.environ.get("EGOV_MOBILE_SECONDS") or 180)
    EGOV_MOBILE_MAX_REFUSALS = 5
    # The app's PUT: one signed document of up to 2 MB (signing/verify.py's limit), in JSON.
    EGOV_MOBILE_MAX_BODY = 3 * 1024 * 1024
    # Who asks for the signature, as the app shows it (API 1's organisation).
    EGOV_MOBILE_ORGANISATION = {"kk": "Qyzmet порталы", "ru": "Портал Qyzmet", "en": "Qyzmet portal"}
    EGOV_MOBILE_BIN = os.environ.get("EGOV_MOBILE_BIN")
    # New codes per citizen (or per address, logging in), and the app's requests per address.
    EGOV_MOBILE_LIMIT_PER_CITIZEN = os.environ.get("EGOV_MOBILE_LIMIT_PER_CITIZEN") or "10 per 10 minutes;30 per hour"
    EGOV_MOBILE_LIMIT_PER_ADDRESS = os.environ.get("EGOV_MOBILE_LIMIT_PER_ADDRESS") or "60 per hour"
    EGOV_MOBILE_API_LIMIT = os.environ.get("EGOV_MOBILE_API_LIMIT") or "120 per minute"

    # SMS one-time codes (webapp/sms/), sent to the phone in the mobile
    # citizens database. The gateway: "sandbox" keeps messages in the outbox
    # for testers (/sandbox/sms), "http" posts them to the operator's gateway
    # at SMS_GATEWAY_URL (HTTP basic auth), "none" turns SMS codes off.
    SMS_GATEWAY = "none"
    SMS_GATEWAY_URL: str | None = None
    SMS_GATEWAY_USER: str | None = None
    SMS_GATEWAY_PASSWORD: str | None = None
    SMS_GATEWAY_TIMEOUT = 10  # seconds for one attempt
    # A send that fails for a while is tried this many more times, this many seconds apart.
    SMS_SEND_RETRIES = 3
    SMS_SEND_RETRY_DELAY = 5
    OTP_LIFETIME_SECONDS = 300
    OTP_MAX_ATTEMPTS = 5  # wrong entries that kill one code
    OTP_MAX_PER_HOUR = 5  # codes per citizen in any hour
    OTP_RESEND_SECONDS = 60  # the pause before another code
    # This many wrong entries within OTP_LOCK_SECONDS lock SMS codes (not EDS)
    # for OTP_LOCK_SECONDS; a new code does not reset the count.
    OTP_DAILY_FAILURE_LOCK = 10
    OTP_LOCK_SECONDS = 24 * 3600

    # Background jobs (webapp/jobs/) on Huey: in Redis with REDIS_URL, else
    # in SQLite at HUEY_SQLITE_PATH. HUEY_IMMEDIATE runs each job at once,
    # inside the call (tests). The consumer runs in the web process
    # (HUEY_EMBEDDED_CONSUMER; None: when there is no REDIS_URL) or as
    # `flask --app webapp jobs worker`.
    HUEY_NAME = "qyzmet"
    HUEY_SQLITE_PATH = str(REPO_ROOT / "instance" / "huey.sqlite3")
    HUEY_IMMEDIATE = False
    HUEY_EMBEDDED_CONSUMER: bool | None = None
    HUEY_WORKERS = 2
    # A job's claim older than this belongs to a worker that was killed mid-job: the
    # sweep (webapp/recovery.py, every minute) queues the work again. Longer than the
    # SMS gateway's and the provider's timeouts, so a slow live job is never doubled.
    JOBS_STALE_SECONDS = float(os.environ.get("JOBS_STALE_SECONDS") or 300)
    # How far back the sweep looks.
    JOBS_SWEEP_WINDOW_SECONDS = 2 * 24 * 3600

    # Handing sent applications over to the service provider (webapp/provider/delivery.py),
    # from a background job. PROVIDER_GATEWAY: "sandbox" (the operator console at
    # /sandbox/operator; sandbox only), "http" (a POST of the signed application XML to
    # PROVIDER_URL with HTTP basic auth) or "none" (nothing is handed over).
    PROVIDER_GATEWAY = os.environ.get("PROVIDER_GATEWAY") or "sandbox"
    PROVIDER_URL: str | None = os.environ.get("PROVIDER_URL") or None
    PROVIDER_USER: str | None = os.environ.get("PROVIDER_USER") or None
    PROVIDER_PASSWORD: str | None = os.environ.get("PROVIDER_PASSWORD") or None
    PROVIDER_TIMEOUT = 30  # seconds for one attempt
    # A delivery that fails for a while is tried this many more times, the first
    # retry this many seconds later, each next one twice as long after the last.
    PROVIDER_RETRIES = 8
    PROVIDER_RETRY_DELAY = 60
    # The sandbox provider decides by itself (webapp/sandbox/auto_decide.py) this
    # many seconds after it takes an application.
    SANDBOX_AUTO_DECIDE = bool(_flag(os.environ.get("SANDBOX_AUTO_DECIDE")))
    SANDBOX_AUTO_DECIDE_SECONDS = float(os.environ.get("SANDBOX_AUTO_DECIDE_SECONDS") or 30)


class SandboxConfig(Config):
    """The embedded default: SQLite under instance/, sandbox features on."""

    SANDBOX = True
    STATE_REGISTRIES = "webapp.registries.sandbox:SandboxRegistries"
    SECRET_KEY = os.environ.get("SECRET_KEY", "sandbox-only-not-a-secret")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{REPO_ROOT / 'instance' / 'qyzmet.sqlite3'}"
    )
    # The sandbox is served over plain http on 127.0.0.1.
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_SSL_STRICT = False
    # None follows `flask run --debug`: checking templates on every render costs ~6%.
    TEMPLATES_AUTO_RELOAD = None
    # The sandbox data describe late 2026 (a baby born in February 2026 is under one).
    FIXED_TODAY = os.environ.get("QYZMET_TODAY")
    # The sandbox CA made by `flask sandbox pki`; the sandbox agent speaks plain ws.
    SANDBOX_PKI_DIR = os.environ.get("SANDBOX_PKI_DIR", str(REPO_ROOT / "instance" / "pki"))
    # Written into the sandbox certificates as their CRL and OCSP addresses.
    SANDBOX_PKI_URL = os.environ.get("SANDBOX_PKI_URL", "http://127.0.0.1:5000/sandbox/pki")
    TRUSTED_CA_BUNDLE = None  # None in the sandbox: the sandbox CA's bundle
    # Also trust the national CA's public TEST CAs (webapp/sandbox/national_test_ca/), so its
    # test keys verify (their certificates have expired: they are refused as expired, not as untrusted).
    SANDBOX_TRUST_NATIONAL_TEST_CA = bool(_flag(os.environ.get("SANDBOX_TRUST_NATIONAL_TEST_CA")))
    # The sandbox's service providers, one BIN a body the passports name; each has its
    # official's key in the sandbox CA (webapp/sandbox/pki.py).
    PROVIDER_BODIES = {
        "040340000304": "State Social Insurance Fund JSC",
        "170440001104": "Territorial department of the Committee of Labour, Social Protection and Migration",
        "980640005123": "Unified Accumulative Pension Fund JSC (ENPF)",
        "031140010771": "The social protection department of your district or city akimat (local executive body)",
        "990740002342": "Government for Citizens State Corporation",
    }
    PROVIDER_BINS = tuple(PROVIDER_BODIES)
    # The sandbox portal's BIN (its key in the sandbox CA, webapp/sandbox/pki.py).
    EGOV_MOBILE_BIN = os.environ.get("EGOV_MOBILE_BIN") or "261140000008"
    NCALAYER_URL = os.environ.get("NCALAYER_URL", "ws://127.0.0.1:13579")
    # SMS codes land in the sandbox outbox (/sandbox/sms) unless SMS_GATEWAY=http.
    SMS_GATEWAY = os.environ.get("SMS_GATEWAY", "sandbox")
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL")
    SMS_GATEWAY_USER = os.environ.get("SMS_GATEWAY_USER")
    SMS_GATEWAY_PASSWORD = os.environ.get("SMS_GATEWAY_PASSWORD")
    HUEY_SQLITE_PATH = os.environ.get("HUEY_SQLITE_PATH", Config.HUEY_SQLITE_PATH)
    HUEY_EMBEDDED_CONSUMER = _flag(os.environ.get("HUEY_EMBEDDED_CONSUMER"))
    # This many generated test citizens join the sandbox registries (the load run's;
    # webapp/sandbox/synthetic.py), loaded by `flask sandbox load-synthetic`.
    SANDBOX_SYNTHETIC_CITIZENS = int(os.environ.get("SANDBOX_SYNTHETIC_CITIZENS") or 0)


class TestConfig(SandboxConfig):
    """Tests: a temporary database per test session, sandbox on."""

    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite://")
    RATELIMIT_STORAGE_URI = "memory://"
    FIXED_TODAY = "2026-11-23"
    PROVIDER_RETRY_DELAY = 0
    # Jobs run inside the call that queues them; retries follow at once.
    SMS_GATEWAY = "sandbox"
    SMS_GATEWAY_URL = SMS_GATEWAY_USER = SMS_GATEWAY_PASSWORD = None
    HUEY_IMMEDIATE = True
    HUEY_EMBEDDED_CONSUMER = False
    SMS_SEND_RETRY_DELAY = 0
    # Set by the test fixtures: a sandbox CA made for the run, plus the
    # national TEST CA (tests/data/nca-test-pki/nca_rsa_test.crt).
    SANDBOX_PKI_DIR = None


class ProductionConfig(Config):
    """Production: everything from the environment; no sandbox routes at all."""

    REQUIRED = (
        "SECRET_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "TRUSTED_CA_BUNDLE",
        "STATE_REGISTRIES",
        "PROVIDER_BINS",
        "PORTAL_SIGNING_KEY",
        "ATTACHMENTS_DIR",
    )
    # Served over https only (nginx terminates TLS): cookies never travel in
    # clear, and security.py sends HSTS on every response outside the sandbox.
    SESSION_COOKIE_SECURE = True
    WTF_CSRF_SSL_STRICT = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def from_environment(cls, environ=os.environ) -> dict:
        """Read and check the settings production cannot run without; ConfigError names what is wrong."""
        from urllib.parse import urlsplit

        missing = [name for name in cls.REQUIRED if not (environ.get(name) or "").strip()]
        if missing:
            raise ConfigError(
                "Production needs these environment variables: " + ", ".join(missing)
            )
        secret = environ["SECRET_KEY"]
        if len(secret) < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters long (and random)")
        if environ["DATABASE_URL"].startswith("sqlite"):
            raise ConfigError("DATABASE_URL must name PostgreSQL in production, not SQLite")
        if not environ["DATABASE_URL"].startswith(("postgresql", "postgres:")):
            raise ConfigError("DATABASE_URL must name PostgreSQL (postgresql+psycopg://...)")
        # Sessions, rate limits and the job queue must be shared by every
        # worker process and every instance: in-process memory is not.
        if urlsplit(environ["REDIS_URL"]).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError("REDIS_URL must be a redis://, rediss:// or unix:// URL")
        bundle = _trusted_ca_bundle(environ["TRUSTED_CA_BUNDLE"])
        if environ["STATE_REGISTRIES"].startswith("webapp.registries.sandbox"):
            raise ConfigError("STATE_REGISTRIES names the sandbox registries; production needs the real adapter")
        bins = tuple(environ["PROVIDER_BINS"].replace(",", " ").split())
        bad_bins = [value for value in bins if not (len(value) == 12 and value.isdigit())]
        if bad_bins:
            raise ConfigError(f"PROVIDER_BINS must be 12-digit BINs separated by spaces, not {', '.join(bad_bins)}")
        ncalayer = environ.get("NCALAYER_URL") or Config.NCALAYER_URL
        if not ncalayer.startswith("wss://"):
            raise ConfigError("NCALAYER_URL must be wss:// in production (NCALayer's TLS port)")
        proxies = environ.get("PROXY_COUNT", "1")
        if not proxies.isdigit():
            raise ConfigError("PROXY_COUNT must be a whole number (reverse proxies in front; nginx: 1)")
        egov_bin = (environ.get("EGOV_MOBILE_BIN") or "").strip() or None
        if egov_bin and not (len(egov_bin) == 12 and egov_bin.isdigit()):
            raise ConfigError("EGOV_MOBILE_BIN must be the portal operator's 12-digit BIN (the eGov Mobile app shows it)")
        metrics_token = environ.get("METRICS_TOKEN") or None
        if metrics_token and len(metrics_token) < 32:
            raise ConfigError("METRICS_TOKEN must be at least 32 characters long")
        # Citizens' files are on disk: every instance must see every file, so
        # the operator names the shared volume rather than a per-host default.
        attachments = Path(environ["ATTACHMENTS_DIR"])
        if not attachments.is_dir() or not os.access(attachments, os.W_OK | os.X_OK):
            raise ConfigError(
                f"ATTACHMENTS_DIR must be an existing, writable directory shared by every instance: {attachments}"
            )
        connect_timeout = int(environ.get("DATABASE_CONNECT_TIMEOUT") or 5)
        return {
            "SECRET_KEY": secret,
            "SQLALCHEMY_DATABASE_URI": environ["DATABASE_URL"],
            "DATABASE_CONNECT_TIMEOUT": connect_timeout,
            "ATTACHMENTS_DIR": str(attachments),
            "TRUSTED_CA_BUNDLE": bundle,
            "STATE_REGISTRIES": environ["STATE_REGISTRIES"],
            "REDIS_URL": environ["REDIS_URL"],
            "NCALAYER_URL": ncalayer,
            **_revocation_from_environment(environ),
            "EXTRA_DAYS_OFF": tuple(environ.get("EXTRA_DAYS_OFF", "").split()),
            "PROVIDER_BINS": bins,
            "EGOV_MOBILE_BIN": egov_bin,
            "EXTRA_WORKING_DAYS": tuple(environ.get("EXTRA_WORKING_DAYS", "").split()),
            **_portal_key_from_environment(environ),
            "SESSION_COOKIE_SECURE": True,
            "PROXY_COUNT": int(proxies),
            "LOG_FORMAT": environ.get("LOG_FORMAT") or "json",
            "LOG_LEVEL": environ.get("LOG_LEVEL") or "INFO",
            "METRICS_ALLOWED_NETWORKS": environ.get("METRICS_ALLOWED_NETWORKS") or Config.METRICS_ALLOWED_NETWORKS,
            "METRICS_TOKEN": metrics_token,
            **_sms_from_environment(environ),
            **_provider_from_environment(environ),
        }


def _trusted_ca_bundle(value: str) -> str:
    """Each file named (separated by os.pathsep) must exist and hold at least one certificate: PEM (one
    or more), or one DER certificate as the NCA publishes its CA certificates (.cer)."""
    from cryptography import x509

    for name in [part for part in value.split(os.pathsep) if part]:
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"TRUSTED_CA_BUNDLE is not a file: {name}")
        try:
            data = path.read_bytes()
            if b"-----BEGIN" in data:
                certificates = x509.load_pem_x509_certificates(data)
            else:
                certificates = [x509.load_der_x509_certificate(data)]
        except (OSError, ValueError) as error:
            raise ConfigError(
                f"TRUSTED_CA_BUNDLE {name} holds no readable PEM or DER certificate: {error}"
            ) from None
        if not certificates:
            raise ConfigError(f"TRUSTED_CA_BUNDLE {name} holds no certificate")
    return value


def _revocation_from_environment(environ) -> dict:
    """Revocation is always checked in production, at addresses the operator names.

    No method at all is refused: signing/revocation.py fails closed, so every
    EDS signature would be refused as unverifiable; and not checking would
    accept a stolen, revoked key. Each method named needs its source
    configured here (OCSP_URL, CRL_URLS) rather than taken from the
    certificate, so the portal only ever fetches from the NCA's own servers.
    OCSP over plain http is normal: its answers are signed.
    """
    from urllib.parse import urlsplit

    methods = tuple(environ.get("REVOCATION_METHODS", "ocsp crl").replace(",", " ").split())
    if not methods or set(methods) & {"none", "off"}:
        raise ConfigError("REVOCATION_METHODS must name ocsp, crl or both: production always checks revocation")
    unknown = sorted(set(methods) - {"ocsp", "crl"})
    if unknown:
        raise ConfigError(f"REVOCATION_METHODS may only name ocsp and crl, not {', '.join(unknown)}")
    ocsp = (environ.get("OCSP_URL") or "").strip() or None
    crls = tuple(environ.get("CRL_URLS", "").split())
    if "ocsp" in methods and not ocsp:
        raise ConfigError("REVOCATION_METHODS names ocsp: OCSP_URL is needed (the NCA's OCSP responder)")
    if "crl" in methods and not crls:
        raise ConfigError("REVOCATION_METHODS names crl: CRL_URLS is needed (the NCA's CRLs, separated by spaces)")
    for url in ((ocsp,) if ocsp else ()) + crls:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigError(f"Revocation addresses must be http(s) URLs, not {url!r}")
    return {"REVOCATION_METHODS": methods, "OCSP_URL": ocsp, "CRL_URLS": crls}


def _portal_key_from_environment(environ) -> dict:
    """The portal's own PKCS#12 key (webapp/signatures.py portal_key), opened once now so a
    missing file or a wrong password stops the start, not the first SMS-signed application."""
    path = Path(environ["PORTAL_SIGNING_KEY"])
    password = environ.get("PORTAL_SIGNING_KEY_PASSWORD") or ""
    if not path.is_file():
        raise ConfigError(f"PORTAL_SIGNING_KEY is not a file: {path}")
    try:
        SigningKey.from_pkcs12(path, password)
    except OSError as error:
        raise ConfigError(f"PORTAL_SIGNING_KEY cannot be read: {error}") from None
    except Exception as error:  # noqa: BLE001  (wrong password, not PKCS#12, no RSA key: all stop the start)
        raise ConfigError(
            f"PORTAL_SIGNING_KEY cannot be opened with PORTAL_SIGNING_KEY_PASSWORD: {type(error).__name__}"
        ) from None
    return {"PORTAL_SIGNING_KEY": str(path), "PORTAL_SIGNING_KEY_PASSWORD": password}


def _sms_from_environment(environ) -> dict:
    """Production's SMS gateway and background jobs; SMS codes are off without a gateway."""
    from urllib.parse import urlsplit

    url = environ.get("SMS_GATEWAY_URL") or None
    gateway = environ.get("SMS_GATEWAY") or ("http" if url else "none")
    if gateway not in ("http", "none"):
        raise ConfigError(f"SMS_GATEWAY must be http or none in production, not {gateway!r}")
    if gateway == "http":
        if not url:
            raise ConfigError("SMS_GATEWAY=http needs SMS_GATEWAY_URL")
        parts = urlsplit(url)
        # The gateway's password travels in every request.
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ConfigError("SMS_GATEWAY_URL must be https (plain http only to this machine)")
    return {
        "SMS_GATEWAY": gateway,
        "SMS_GATEWAY_URL": url,
        "SMS_GATEWAY_USER": environ.get("SMS_GATEWAY_USER") or None,
        "SMS_GATEWAY_PASSWORD": environ.get("SMS_GATEWAY_PASSWORD") or None,
        "HUEY_SQLITE_PATH": environ.get("HUEY_SQLITE_PATH", Config.HUEY_SQLITE_PATH),
        "HUEY_EMBEDDED_CONSUMER": _flag(environ.get("HUEY_EMBEDDED_CONSUMER")),
        "HUEY_WORKERS": int(environ.get("HUEY_WORKERS", Config.HUEY_WORKERS)),
    }


def _provider_from_environment(environ) -> dict:
    """Production's hand-over to the service provider: over HTTP, never the sandbox."""
    from urllib.parse import urlsplit

    url = environ.get("PROVIDER_URL") or None
    gateway = environ.get("PROVIDER_GATEWAY") or ("http" if url else "none")
    if gateway not in ("http", "none"):
        raise ConfigError(f"PROVIDER_GATEWAY must be http or none in production, not {gateway!r}")
    if gateway == "http":
        if not url:
            raise ConfigError("PROVIDER_GATEWAY=http needs PROVIDER_URL")
        parts = urlsplit(url)
        # The provider's password travels in every request.
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ConfigError("PROVIDER_URL must be https (plain http only to this machine)")
    return {
        "PROVIDER_GATEWAY": gateway,
        "PROVIDER_URL": url,
        "PROVIDER_USER": environ.get("PROVIDER_USER") or None,
        "PROVIDER_PASSWORD": environ.get("PROVIDER_PASSWORD") or None,
        "PROVIDER_TIMEOUT": float(environ.get("PROVIDER_TIMEOUT") or Config.PROVIDER_TIMEOUT),
        "PROVIDER_RETRIES": int(environ.get("PROVIDER_RETRIES") or Config.PROVIDER_RETRIES),
        "PROVIDER_RETRY_DELAY": float(environ.get("PROVIDER_RETRY_DELAY") or Config.PROVIDER_RETRY_DELAY),
        # The automatic decisions belong to the sandbox provider.
        "SANDBOX_AUTO_DECIDE": False,
    }


CONFIGS = {
    "sandbox": SandboxConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """The class QYZMET_ENV names; the sandbox when it names none."""
    name = os.environ.get("QYZMET_ENV", "sandbox")
    if name not in CONFIGS:
        raise ConfigError(f"QYZMET_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
