"""auditreg settings: every deploy-varying value comes from the environment.

With nothing set and DEBUG=1, auditreg runs embedded: a SQLite file and a file-system
Celery broker under AUDITREG_DATA_DIR, development keys under it too. With DEBUG off,
the production settings below must be given or start-up fails with a message naming them.
"""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def env_secret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={path!r} cannot be read: {exc}") from None
    return os.environ.get(name, default)


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
DATA_DIR = Path(env_str("AUDITREG_DATA_DIR", str(BASE_DIR / "var")))

_missing = []


def required_in_production(name: str, value: str) -> str:
    if not value and not DEBUG:
        _missing.append(name)
    return value


SECRET_KEY = required_in_production("SECRET_KEY", env_secret("SECRET_KEY"))
if DEBUG and not SECRET_KEY:
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or (
    ["127.0.0.1", "localhost", "testserver"] if DEBUG else []
)
if not ALLOWED_HOSTS:
    _missing.append("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- Database: PostgreSQL in production, a SQLite file when DATABASE_URL is unset ---------

_database_url = required_in_production("DATABASE_URL", env_str("DATABASE_URL"))
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    # The folder is created at start-up (AuditregConfig.ready), not here: reading the
    # settings writes nothing.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "auditreg.sqlite3"),
        }
    }

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Every transaction takes the write lock when it begins, so ledger appends from
        # several processes serialize instead of failing with "database is locked" mid-way.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        # recursive_triggers makes INSERT OR REPLACE fire the ledger's DELETE trigger, so a
        # "replace" cannot silently remove a ledger row.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA foreign_keys=ON; PRAGMA recursive_triggers=ON;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications ------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditreg.apps.AuditregConfig",
    "auditreg.facts",
    "auditreg.ledger",
    "auditreg.accounts",
    "auditreg.registry",
    "auditreg.api",
    "lineage",
    "reports",
    "portal",
]

REST_FRAMEWORK = {
    # Service principals use Bearer tokens; people use their Django session (with CSRF).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "auditreg.api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "auditreg.api.errors.problem_handler",
    "UNAUTHENTICATED_USER": None,
    # JSON only, read no further than DATA_UPLOAD_MAX_MEMORY_SIZE (413 beyond it).
    "DEFAULT_PARSER_CLASSES": ["auditreg.api.limits.BoundedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["auditreg.api.limits.PerPrincipalRate"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# Requests per token (or per signed-in person), such as "600/minute"; empty: no limit.
AUDITREG_API_RATE = env_str("AUDITREG_API_RATE", "600/minute")
if AUDITREG_API_RATE and not re.fullmatch(
    r"[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)", AUDITREG_API_RATE
):
    raise ImproperlyConfigured(
        f"AUDITREG_API_RATE must read like 600/minute, not {AUDITREG_API_RATE!r}"
    )
# A request body larger than this is refused with 413 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("AUDITREG_MAX_BODY_BYTES", 1024 * 1024)

SPECTACULAR_SETTINGS = {
    "TITLE": "auditreg API",
    "VERSION": "1",
    "DESCRIPTION": (
        "A tamper-evident registry of ML models: every write appends hash-chained ledger "
        "entries. Authenticate with `Authorization: Bearer ar_…` (scopes `ingest`, `read`) or "
        "a signed-in session. Every error is `application/problem+json` (RFC 9457)."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from our own static files: auditreg runs in closed networks.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "auditreg.api.schema.add_problem_responses",
    ],
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.middleware.Sessions",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditreg.api.middleware.RefuseMalformedRequests",
    "portal.middleware.content_security_policy",
]

ROOT_URLCONF = "auditreg.urls"
WSGI_APPLICATION = "auditreg.wsgi.application"

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
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
# Django itself serves /static/ (the API docs' Swagger UI) in development and tests; in
# production a web server serves STATIC_ROOT, filled by `manage.py collectstatic`.
AUDITREG_SERVE_STATIC = env_bool("AUDITREG_SERVE_STATIC", DEBUG)

# --- Security (production) -----------------------------------------------------------------

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("SECURE_PROXY_SSL_HEADER"):
        # Only behind a proxy that sets X-Forwarded-Proto and strips it from clients.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- The portal: sign-in, lock-out, idle time-out ---------------------------------------------

# Every sign-in (portal, administration) goes through the lock-out: accounts.lockout.
AUTHENTICATION_BACKENDS = ["auditreg.accounts.lockout.LockoutBackend"]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "portal:login"
# Signed out after this many minutes without a request (each request renews the session).
SESSION_COOKIE_AGE = env_int("AUDITREG_SESSION_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
# This many failed sign-ins within the window lock the username for the window.
AUDITREG_SIGNIN_MAX_FAILURES = env_int("AUDITREG_SIGNIN_MAX_FAILURES", 5)
AUDITREG_SIGNIN_LOCK_MINUTES = env_int("AUDITREG_SIGNIN_LOCK_MINUTES", 15)

# --- The ledger ------------------------------------------------------------------------------

# The projections of the ledger, in the order each fact is applied to them: lineage first, so
# a version's correction still sees the package it replaces in the registry's tables.
AUDITREG_PROJECTIONS = [
    "auditreg.accounts.projection.PROJECTION",
    "lineage.projection.PROJECTION",
    "auditreg.registry.projection.PROJECTION",
]
# Which model versions have been signed (their lineage can no longer change): the registry
# answers for the lineage app, which does not depend on it.
AUDITREG_SIGNED_VERSIONS = "auditreg.registry.impact.signed_versions"

# Where the checkpoint signing key (ledger.key) and the keyring of public keys (*.vkey,
# retired keys included) are read from. Keys never live in the database.
AUDITREG_KEYS_DIR = Path(
    required_in_production("AUDITREG_KEYS_DIR", env_str("AUDITREG_KEYS_DIR"))
    or str(DATA_DIR / "keys")
)
# The log's identity, the first line of every checkpoint (C2SP tlog-checkpoint "origin").
AUDITREG_LEDGER_ORIGIN = env_str("AUDITREG_LEDGER_ORIGIN", "auditreg.example/ledger")

# --- Reports -----------------------------------------------------------------------------------

# The organisation's document-signing key and certificate (PEM). `manage.py init_signing_cert`
# creates a development CA and certificate in AUDITREG_SIGNING_DIR; production points
# AUDITREG_SIGNING_KEY / _CERT / _CHAIN at its own files.
AUDITREG_SIGNING_DIR = Path(env_str("AUDITREG_SIGNING_DIR") or str(AUDITREG_KEYS_DIR / "signing"))
AUDITREG_TSA_URL = env_str("AUDITREG_TSA_URL")  # an RFC 3161 time-stamp authority, if any
# A report that has not finished in AUDITREG_REPORT_TIME_LIMIT seconds is stopped and marked
# failed; one whose worker is lost or stopped AUDITREG_REPORT_MAX_ATTEMPTS times is given up,
# so no request can come back forever and block the queue behind it.
AUDITREG_REPORT_TIME_LIMIT = env_int("AUDITREG_REPORT_TIME_LIMIT", 600)
AUDITREG_REPORT_MAX_ATTEMPTS = env_int("AUDITREG_REPORT_MAX_ATTEMPTS", 8)

# Issued reports: local files by default; S3-compatible object storage (django-storages,
# the `s3` extra) when AUDITREG_REPORTS_BUCKET is set.
_reports_bucket = env_str("AUDITREG_REPORTS_BUCKET")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "reports": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": _reports_bucket,
                "endpoint_url": env_str("AUDITREG_S3_ENDPOINT_URL") or None,
                "location": "reports",
                "file_overwrite": False,
            },
        }
        if _reports_bucket
        else {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(DATA_DIR / "reports")},
        }
    ),
}
# Files saved by FileSystemStorage (issued reports): the service's own user and group only.
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750

# --- Celery ------------------------------------------------------------------------------------

_broker_url = required_in_production("CELERY_BROKER_URL", env_str("CELERY_BROKER_URL"))
if _broker_url:
    CELERY_BROKER_URL = _broker_url
    # With late acknowledgement, a task whose worker died is delivered again once this many
    # seconds have passed since it was taken (Redis and SQS brokers). Redis workers look for
    # such tasks every 10 s (kombu's default looks only every tenth time, about 100 s).
    _visibility = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": _visibility,
        "unacked_restore_interval": min(10, _visibility),
        "unacked_restore_throttle": 1,
    }
else:
    # Embedded mode: a real worker process fed through kombu's file-system transport,
    # so the embedded default needs no broker server. AuditregConfig.ready creates its folders.
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "checkpoint-ledger": {
        "task": "auditreg.ledger.tasks.checkpoint_ledger",
        "schedule": env_int("AUDITREG_CHECKPOINT_SECONDS", 300),
    },
    "verify-ledger": {
        "task": "portal.tasks.verify_ledger_on_schedule",
        "schedule": env_int("AUDITREG_VERIFY_SECONDS", 86_400),
    },
}

# --- Cache: the API's request counts ---------------------------------------------------------

# Shared by every process through Redis when there is one; otherwise each process counts alone.
_redis_url = env_str("REDIS_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if _redis_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": "auditreg",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint reports every layout step at INFO; its warnings still show.
    "loggers": {"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}

if _missing:
    raise ImproperlyConfigured(
        "auditreg is running with DEBUG off (production) and these settings are missing: "
        + ", ".join(_missing)
        + ". Set them in the environment, or set DEBUG=1 for a local development instance."
    )
