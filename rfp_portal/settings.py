"""Settings for RFP Portal, read from the environment only (see the README's table).

With nothing set, the portal runs embedded: SQLite, files on local disk, mail to files under
var/mail, Celery tasks executed in-process. DATABASE_URL, REDIS_URL/CELERY_BROKER_URL and
AWS_STORAGE_BUCKET_NAME switch to PostgreSQL, a real broker and S3. DJANGO_ENV=production turns
on every deployment safeguard and refuses to start without a real secret and host names.
"""

import sys
from pathlib import Path

from django.contrib.messages import constants as message_constants
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from rfp_portal import config, observability

ENV = config.current()
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(ENV.get("VAR_DIR", BASE_DIR / "var"))
# The embedded default keeps its SQLite file, uploads and mail files here.
VAR_DIR.mkdir(parents=True, exist_ok=True)

DJANGO_ENV = config.django_env(ENV)
PRODUCTION = DJANGO_ENV == "production"
DEBUG = config.env_bool(ENV, "DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise config.ConfigError("DEBUG must be off when DJANGO_ENV=production.")
SECRET_KEY = config.secret_key(ENV, production=PRODUCTION)
ALLOWED_HOSTS = config.allowed_hosts(ENV, production=PRODUCTION)
CSRF_TRUSTED_ORIGINS = config.env_list(ENV, "CSRF_TRUSTED_ORIGINS", [])
SITE_URL = ENV.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "rfp_portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.syndication",
    "django.forms",  # Django's widget templates, for FORM_RENDERER below
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "rfp_portal.apps.RfpPortalConfig",
    "proposals.apps.ProposalsConfig",
    "evaluation.apps.EvaluationConfig",
]

# Widgets are drawn with the project's templates (templates/staff/editor/widgets/), not only
# Django's own: the editor's list of texts is a widget with a template of ours.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

MIDDLEWARE = [
    # Health probes and the scraper, answered before host checks and https redirects.
    "rfp_portal.health.ProbeMiddleware",
    "rfp_portal.observability.RequestIdMiddleware",
    "rfp_portal.metrics.RequestMetricsMiddleware",
    "rfp_portal.middleware.RequestTimeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "rfp_portal.middleware.PermissionsPolicyMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "rfp_portal.middleware.ViewerTimezoneMiddleware",
]

ROOT_URLCONF = "rfp_portal.urls"
WSGI_APPLICATION = "rfp_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rfp_portal.context_processors.portal",
            ],
        },
    }
]

DATABASES = {"default": config.database_config(ENV, default_sqlite=VAR_DIR / "db.sqlite3")}
if PRODUCTION and DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    raise config.ConfigError("DATABASE_URL (PostgreSQL) is required when DJANGO_ENV=production.")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "rfp_portal.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
if not PRODUCTION and config.env_bool(ENV, "FAST_PASSWORD_HASHER", False):
    # Only the test suite sets this: hashing demo passwords at full strength wastes minutes.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Accounts (django-allauth) ---------------------------------------------------------------
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "rfp_portal.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "rfp_portal.forms.SignupExtraFields"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[RFP Portal] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# allauth's rate limits are on by default; these are stated so the README can point at them.
# "ip" is the client's address: the connecting one, or with TRUSTED_PROXY_COUNT set, the one
# the trusted proxies put in X-Forwarded-For. login_failed slows down password guesses per
# address and per account; the owner of an account under attack still signs in with an
# e-mailed code ("Send me a sign-in code"), whose requests are limited per address and e-mail
# address (rfp_portal.account_forms), so nobody else can use them up.
# The portal's own public forms are limited here too (rfp_portal.ratelimits).
ALLAUTH_TRUSTED_PROXY_COUNT = config.env_int(ENV, "TRUSTED_PROXY_COUNT", 0)
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_FORMS = {"request_login_code": "rfp_portal.account_forms.RequestLoginCodeForm"}
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "request_login_code": "20/m/ip,3/m/key",
    "signup": "20/m/ip",
    "verify_receipt": "10/m/ip,100/h/ip",
    "ask_question": "5/m/user,30/h/user",
    "subscribe": "5/m/ip,30/h/ip",
    "pdf_refused": "3/m/user,12/h/user",
    # A refusal for running into the check's limits (proposals.pdfguard) cost up to the whole
    # limit in CPU: after one, the account waits a minute.
    "pdf_too_complex": "1/m/user,4/h/user",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = ENV.get("MFA_TOTP_ISSUER", "RFP Portal")
# Accept the code of the adjacent 30-second step too (RFC 6238 suggests one step of slack for
# clock drift and typing time); a code is still refused if it was used once already.
MFA_TOTP_TOLERANCE = 1
MFA_PASSKEY_LOGIN_ENABLED = False
# WebAuthn needs a secure origin; http://127.0.0.1 counts as one for browsers, but allauth
# checks the scheme itself, so the embedded demo allows it explicitly.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not PRODUCTION

# --- Internationalisation and time ---------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates in templates use the locale's formats; English ones are day-month-year.
FORMAT_MODULE_PATH = ["rfp_portal.formats"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files and uploads ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(ENV.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Outside production whitenoise serves straight from the app folders (no collectstatic needed).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(ENV.get("MEDIA_ROOT", VAR_DIR / "media"))
# Uploads are never served from a public URL: MEDIA_URL exists only for storage APIs.
MEDIA_URL = "/private-media/"
# A file read from S3 is downloaded into a temporary file: past 2 MB on disk, not in memory
# (django-storages' default, 0, keeps every file read whole in memory).
AWS_S3_MAX_MEMORY_SIZE = 2 * 1024 * 1024
STORAGES = {
    "default": config.storage_config(ENV),
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage":
    from boto3.s3.transfer import TransferConfig

    # S3 transfers in the calling thread, one 8 MB part at a time: boto3's default (10 threads)
    # holds up to 10 parts at once and leaves each thread's freed memory in the worker (the
    # ZIP export's peak: 378 MB with threads, 305 without; bench/zip_export.py --storage s3).
    AWS_S3_TRANSFER_CONFIG = TransferConfig(use_threads=False)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # larger uploads stream to a temporary file
MAX_PDF_BYTES = config.env_int(ENV, "MAX_PDF_BYTES", 20 * 1024 * 1024, minimum=1024)
# Every parse of a user's PDF runs in a child process under these bounds (proposals.pdfguard).
PDF_CHECK_SECONDS = config.env_int(ENV, "PDF_CHECK_SECONDS", 5, minimum=1)
PDF_MERGE_SECONDS = config.env_int(ENV, "PDF_MERGE_SECONDS", 5, minimum=1)
PDF_CHECK_MEMORY_MB = config.env_int(ENV, "PDF_CHECK_MEMORY_MB", 512, minimum=128)
PDF_CHECK_DECODED_MB = config.env_int(ENV, "PDF_CHECK_DECODED_MB", 64, minimum=1)

# --- Mail: every message goes through the outbox (rfp_portal.outbox) ------------------------
DEFAULT_FROM_EMAIL = ENV.get("DEFAULT_FROM_EMAIL", "RFP Portal <rfp@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if PRODUCTION and not ENV.get("EMAIL_URL"):
    raise config.ConfigError("EMAIL_URL (an SMTP server) is required when DJANGO_ENV=production.")
MAILERS = config.mailers_config(ENV, default_dir=VAR_DIR / "mail")

# --- Signed receipts (proposals.receipt_signing) ---------------------------------------------
# A directory of Ed25519 keys (never in the repository): `manage.py receipt_key create` makes
# one and makes it current. Outside production a key is made under var/ on first use; in
# production the directory must be named and hold a current key, since receipts signed with a
# key that is lost can no longer be checked against a published one. `receipt_key` itself may
# start without one: it is how the first key is made.
RECEIPT_KEYS_DIR = Path(ENV.get("RECEIPT_KEYS_DIR", VAR_DIR / "receipt-keys"))
if PRODUCTION and not ENV.get("RECEIPT_KEYS_DIR"):
    raise config.ConfigError(
        "RECEIPT_KEYS_DIR (a persistent directory for the receipt signing keys) is required "
        "when DJANGO_ENV=production."
    )
if PRODUCTION and not (RECEIPT_KEYS_DIR / "current").is_file() and sys.argv[1:2] != ["receipt_key"]:
    raise config.ConfigError(
        f"RECEIPT_KEYS_DIR ({RECEIPT_KEYS_DIR}) holds no current receipt signing key: make one "
        "with `python manage.py receipt_key create`."
    )

# --- Trusted time from outside, optionally (rfp_portal.timestamping) -------------------------
# An RFC 3161 timestamp authority stamps each published tree head; empty TSA_URL: off. Its
# tokens are accepted only when they verify against the root certificate in TSA_CERTIFICATES.
TSA_URL = ENV.get("TSA_URL", "").strip()
TSA_CERTIFICATES = ENV.get("TSA_CERTIFICATES", "").strip()
TSA_TIMEOUT = config.env_int(ENV, "TSA_TIMEOUT", 10, minimum=1)
TSA_HASH = ENV.get("TSA_HASH", "sha256").strip().lower()
if TSA_URL and not TSA_URL.startswith(("http://", "https://")):
    raise config.ConfigError(f"TSA_URL must be an http:// or https:// address; got {TSA_URL!r}.")
if TSA_URL and not (TSA_CERTIFICATES and Path(TSA_CERTIFICATES).is_file()):
    raise config.ConfigError(
        "TSA_CERTIFICATES (a PEM file with the timestamp authority's root certificate) is "
        "required when TSA_URL is set: tokens are accepted only once verified against it."
    )
if TSA_HASH not in {"sha256", "sha512"}:
    raise config.ConfigError(f"TSA_HASH must be sha256 or sha512; got {TSA_HASH!r}.")

# --- Open contracting data (evaluation.ocds) --------------------------------------------------
# Each RFP's OCID is this prefix + its slug. The default is not registered: a real publisher
# registers its own prefix ("ocds-" + six characters) with the Open Contracting Partnership
# and sets it here, so its OCIDs are unique in the world.
OCDS_OCID_PREFIX = ENV.get("OCDS_OCID_PREFIX", "ocds-rfpportal-")
# Who publishes the data (the packages' `publisher`; the buyer of an RFP without an issuer).
OCDS_PUBLISHER_NAME = ENV.get("OCDS_PUBLISHER_NAME", "RFP Portal")

# --- Background work ------------------------------------------------------------------------
CELERY_BROKER_URL = config.broker_url(ENV)
# No broker: tasks run in-process so the embedded demo needs nothing else.
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
# Longer than the longest task, so a slow task is not handed to a second worker mid-run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that enqueues while the broker is down gives up quickly: the outbox keeps the mail
# and the sweeper sends it later, so nobody waits on a dead broker.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# Rate limits and used sign-in codes live here: production requires the shared Redis.
CACHES = {"default": config.cache_config(ENV, production=PRODUCTION)}

# --- Security -------------------------------------------------------------------------------
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "rfp_portal.views.csrf_failure"
# Every upload: nothing past MAX_PDF_BYTES is kept, in memory or on disk (rfp_portal.uploads).
FILE_UPLOAD_HANDLERS = [
    "rfp_portal.uploads.SizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
if PRODUCTION:
    SECURE_SSL_REDIRECT = config.env_bool(ENV, "SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = config.env_int(ENV, "SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if config.env_bool(ENV, "BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

MESSAGE_TAGS = {message_constants.ERROR: "error"}

# --- Health, metrics, logs and error reports (rfp_portal.health, metrics, observability) ---
# /health/ready/ is unavailable when a mail has waited longer than this in the outbox.
HEALTH_OUTBOX_MAX_AGE_MINUTES = config.env_int(ENV, "HEALTH_OUTBOX_MAX_AGE_MINUTES", 15, minimum=1)
# /metrics answers only `Authorization: Bearer <METRICS_TOKEN>`; empty: off (404 for everyone).
METRICS_TOKEN = ENV.get("METRICS_TOKEN", "").strip()
if METRICS_TOKEN and len(METRICS_TOKEN) < 32:
    raise config.ConfigError(
        "METRICS_TOKEN must be at least 32 characters (e.g. `openssl rand -hex 32`), or empty "
        "to turn /metrics off."
    )
LOG_FORMAT = ENV.get("LOG_FORMAT", "json" if PRODUCTION else "text").strip().lower()
if LOG_FORMAT not in observability.LOG_FORMATS:
    raise config.ConfigError(f"LOG_FORMAT must be text or json; got {LOG_FORMAT!r}.")
# A worker logs through LOGGING below (JSON in production), not through Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
SENTRY_DSN = ENV.get("SENTRY_DSN", "").strip()
if SENTRY_DSN:
    try:
        _traces = float(ENV.get("SENTRY_TRACES_SAMPLE_RATE", "0") or 0)
    except ValueError:
        _traces = -1.0
    if not 0.0 <= _traces <= 1.0:
        raise config.ConfigError("SENTRY_TRACES_SAMPLE_RATE must be a number from 0 to 1.")
    observability.init_error_reporting(
        dsn=SENTRY_DSN,
        environment=ENV.get("SENTRY_ENVIRONMENT", DJANGO_ENV),
        traces_sample_rate=_traces,
    )

LOGGING = observability.logging_config(log_format=LOG_FORMAT, level=ENV.get("LOG_LEVEL", "INFO"))
