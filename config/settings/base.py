"""Every setting of Masthead. Values come from the environment through config.env.

The embedded default (no DATABASE_URL / REDIS_URL) is SQLite plus a server-less
Celery broker on the filesystem, so that `make run` works on a bare machine.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from config.env import env_bool, env_int, env_list, env_optional, env_str, parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("MASTHEAD_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "insecure-local-only-key-change-me-0123456789abcdef")
DEBUG = env_bool("DJANGO_DEBUG", False)
# True only in config.settings.production: commands that must not run there check it.
IS_PRODUCTION = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    # accounts before allauth, so that our templates (account/*.html, the layout) win.
    "accounts",
    "allauth",
    "allauth.account",
    "knox",
    "articles",
    "subscriptions",
    "publishers",
    "ops",
    "config",  # its one model: version stamp bumps the cache lost (config/versions.py)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.security.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, the user from a cached, versioned account record.
    "accounts.authentication.CachedAuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "subscriptions.paywall.middleware.MeterCookieMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "articles.context_processors.site",
            ],
        },
    },
]

# --- Browser policies -----------------------------------------------------------------
# Enforced everywhere (make run, tests, production): scripts only as files from our own
# origin (the pages have none inline; a nonce where a template needs one), nothing framed,
# no plugins, no <base>, forms only to us and Stripe's hosted pages. Style attributes stay
# allowed (titles' brand colours); <style> blocks need the nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF, "https://checkout.stripe.com", "https://billing.stripe.com"],
    }
}
# Powerful browser features, none of which Masthead uses (Stripe takes payment on its own
# pages), switched off for us and anything we embed.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- Database -------------------------------------------------------------------------


def with_sqlite_options(database: dict[str, Any]) -> dict[str, Any]:
    """SQLite serves several processes (web, worker, beat) only in WAL mode with a busy
    timeout and immediate transactions; without them concurrent sign-ins and meter writes
    hit "database is locked". Applied however SQLite is configured (default or URL)."""
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return database
    options = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    return {**database, "OPTIONS": {**options, **database.get("OPTIONS", {})}}


DATABASE_URL = env_optional("DATABASE_URL")
_database: dict[str, Any]
if DATABASE_URL:
    # Persistent connections, checked at the start of each request: after a database
    # restart the next request reconnects instead of failing on a dead connection.
    _database = dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True))
else:
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "masthead.sqlite3")),
    }
DATABASES = {"default": with_sqlite_options(_database)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, sessions ------------------------------------------------------------------
REDIS_URL = env_optional("REDIS_URL")


def redis_cache(url: str) -> dict[str, object]:
    """django-redis keeps one client per process (Django's own RedisCache built a new
    client object on every call: ~0.6 ms per read on the hot path). With Redis down every
    read misses and every write is skipped (IGNORE_EXCEPTIONS): pages are served from the
    database, slower and still correct; /readyz names Redis."""
    return {
        "BACKEND": "config.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "masthead",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2, "IGNORE_EXCEPTIONS": True},
    }


# Without Redis: shared by every local process (web, worker), so invalidation reaches them
# all; add/incr are atomic across processes (the sign-in limiter counts with them).
LOCAL_CACHE: dict[str, Any] = {
    "BACKEND": "config.filecache.AtomicFileBasedCache",
    "LOCATION": str(VAR_DIR / "cache"),
}
CACHES = {"default": redis_cache(REDIS_URL) if REDIS_URL else LOCAL_CACHE}
# Ignored cache errors (Redis down) are logged; sign-in limits are not enforced meanwhile.
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
SESSION_ENGINE = (
    "accounts.sessions"  # cached_db, its data read with the account (accounts.sessions)
)

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.MaximumLengthValidator"},  # the API sign-in's bound
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/account/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# django-allauth: the web sign-up, sign-in, password reset and email pages. Email is the
# login; verification mail is sent but never blocks the trial.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm"}  # "Remember me", in sentence case
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_SIGNUP_REDIRECT_URL = "/account/"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Masthead] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = env_str("ACCOUNT_DEFAULT_HTTP_PROTOCOL", "http")

# Sign-in and sign-up limits (format "N/period", period like 15m, 1h, hour, 1d).
SIGNUP_RATE = env_str("SIGNUP_RATE", "20/hour")
LOGIN_FAILURES_PER_EMAIL = env_str("LOGIN_FAILURES_PER_EMAIL", "5/15m")
LOGIN_FAILURES_PER_ADDRESS = env_str("LOGIN_FAILURES_PER_ADDRESS", "20/15m")
# Lockout: this many failures from one client address lock it out of sign-in for the window.
LOGIN_LOCKOUT = env_str("LOGIN_LOCKOUT", "50/1d")
for _rate in (SIGNUP_RATE, LOGIN_FAILURES_PER_EMAIL, LOGIN_FAILURES_PER_ADDRESS, LOGIN_LOCKOUT):
    parse_rate(_rate)  # a malformed rate stops the start, not the first sign-in


# Trusted proxies in front of the app: the client address is then read from
# X-Forwarded-For. One setting for our limiter (accounts.limits), DRF and allauth.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
ALLAUTH_TRUSTED_PROXY_COUNT = NUM_PROXIES

# Sign-in failures and sign-ups are counted by accounts.limits for the web, the API and
# the admin together, so allauth's own counters for them are off.
ACCOUNT_RATE_LIMITS: dict[str, str | None] = {"signup": None, "login_failed": None}

# django-rest-knox: API tokens stored hashed, expiring, revocable (`Authorization: Token …`).
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_TTL": timedelta(days=env_int("API_TOKEN_TTL_DAYS", 30)),
    "AUTO_REFRESH": False,
}

# --- I18N -----------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- REST framework -------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: DRF takes the 401's `WWW-Authenticate` header from the first class.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CachedTokenAuthentication",  # knox's, cached and versioned
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Client address for throttles: REMOTE_ADDR unless we sit behind this many proxies.
    "NUM_PROXIES": NUM_PROXIES,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "config.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "config.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Masthead API",
    "DESCRIPTION": "Reader, publisher and billing API of Masthead.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Serve Swagger UI from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AccessLevelEnum": ["free", "metered", "registered", "premium"],
        "ArticleAccessLevelEnum": ["inherit", "free", "metered", "registered", "premium"],
        "RuleSourceEnum": ["title", "publisher", "site", "none"],
    },
}

# --- Celery ---------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    # The server-less broker: messages are files under var/broker, shared by the web
    # process (producer) and the worker; so are the exchange tables (kombu's default is
    # ./control, in the working directory).
    for _folder in ("queue", "processed", "control"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The schedule lives in django-celery-beat's tables, seeded by a migration
# (subscriptions/migrations/0005_seed_job_schedule.py); ops edit it in the admin.

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Masthead <hello@masthead.local>")
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))

# --- Product settings -----------------------------------------------------------------
SITE_NAME = "Masthead"
# Absolute links where no request is at hand: emails sent from tasks, Stripe's return
# URLs (Checkout success/cancel, portal) and webhook endpoint. No trailing slash.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The site's currency (ISO 4217, lower case as Stripe writes it): a month without payments
# closes its publisher statements in it.
CURRENCY = env_str("CURRENCY", "gbp").lower()
TRIAL_DAYS = env_int("TRIAL_DAYS", 14)
# Ops: trials need a card — a reader who never trialled gets the trial through Checkout.
TRIAL_REQUIRES_CARD = env_bool("TRIAL_REQUIRES_CARD", False)
METER_FREE_ARTICLES = env_int("METER_FREE_ARTICLES", 5)
# The rule simulator rebuilds a stale title's read rollup in the request only below this
# many read events (~2 s at the measured 80-134 s per million); larger titles are rebuilt
# by the worker while the simulator answers "preparing" (docs/publishers.md).
SIMULATOR_INLINE_REBUILD_EVENTS = env_int("SIMULATOR_INLINE_REBUILD_EVENTS", 20_000)
GRACE_PERIOD_DAYS = env_int("GRACE_PERIOD_DAYS", 7)

STRIPE_SECRET_KEY = env_optional("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_optional("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_optional("STRIPE_API_BASE")
# The SDK's own retries of one call (with its own idempotency key); Celery retries on top.
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
# Webhook intake: a web process that has seen a drain armed does not ask again for this
# long, and a drain that finds the log empty waits this long before its last look
# (subscriptions/services/stripe_events.py). 0: every intake asks (one Redis SET NX).
STRIPE_EVENTS_WAKE_HOLD_MS = env_int("STRIPE_EVENTS_WAKE_HOLD_MS", 500)

BENCH_VIEWS = env_bool("MASTHEAD_BENCH", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Paywall --------------------------------------------------------------------------
# The site default rule, used where no site rule row exists (ops can add one in the admin).
PAYWALL_DEFAULT_LEVEL = env_str("PAYWALL_DEFAULT_LEVEL", "metered")
PAYWALL_PREVIEW_PARAGRAPHS = env_int("PAYWALL_PREVIEW_PARAGRAPHS", 2)
# "month" (calendar month) or "rolling" (the last METER_ROLLING_DAYS days).
METER_WINDOW = env_str("METER_WINDOW", "month")
METER_ROLLING_DAYS = env_int("METER_ROLLING_DAYS", 30)
METER_COOKIE_NAME = "mh_meter"
METER_COOKIE_MAX_AGE = 400 * 24 * 3600
# Where read events go before the database: "redis" (drained by a beat task), "direct"
# (one insert per view, with the meter row) or "memory" (per process, flushed every
# READ_EVENTS_BATCH events: a killed process loses up to a batch; see paywall/events.py).
READ_EVENTS_SINK = env_str("READ_EVENTS_SINK", "redis" if REDIS_URL else "direct")
READ_EVENTS_BATCH = env_int("READ_EVENTS_BATCH", 50)

# --- Jobs -----------------------------------------------------------------------------
JOB_CHUNK_SIZE = env_int("JOB_CHUNK_SIZE", 1000)
NOTIFICATION_CLAIM_TIMEOUT = env_int("NOTIFICATION_CLAIM_TIMEOUT", 900)  # seconds
TRIAL_REMINDER_DAYS = 3
RENEWAL_REMINDER_DAYS = 7
DUNNING_REMINDER_DAYS = [1, 4]  # days after the first failure
PUBLISHER_SHARE_PERCENT = env_int("PUBLISHER_SHARE_PERCENT", 50)
METER_KEEP_WINDOWS = 2  # prune meter rows older than this many windows
