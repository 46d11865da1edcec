"""Settings shared by every environment; everything that varies comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

PROJECT_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PROJECT_DIR.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


DEBUG = env_bool("DEBUG", False)
# Earlier SECRET_KEYs, newest first: sessions and signatures made with them, and credentials encrypted
# with them (``encrypted_fields``), stay readable while they are listed.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
# Salt of the keys ``encrypted_fields`` derives from SECRET_KEY (not secret; changing it makes stored
# credentials unreadable).
SALT_KEY = os.environ.get("FIELD_ENCRYPTION_SALT", "intralog-credentials")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "intralog",  # the wiring: demo seeding and the development server
    "core",
    "crm",
    "home",
    "forms_builder",
    "dashboards",
    "wordpress",
    "alerts",
    "conversations",
    "customers",
    "legacy",
    "retention",  # above the feature apps: it reaches their raw records
    "ops",  # health endpoints, backups, upgrades
    "imports",
    "privacy",
    "webhooks",
    "api",  # above the feature apps: it reads crm and the dashboards
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "crm.apps.UsersAppConfig",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "wagtail_modeladmin",
    "modelcluster",
    "taggit",
    "django_filters",
    "ninja",  # the API's docs page served from its own static files, no CDN
    "django_rq",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "phonenumber_field",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "home.middleware.SiteLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "crm.middleware.AuditContextMiddleware",
    "crm.middleware.SessionIdleTimeoutMiddleware",
    "crm.middleware.VerifiedUserMiddleware",  # django-otp's OTPMiddleware
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "axes.middleware.AxesMiddleware",
    "crm.middleware.SecondFactorMiddleware",
    "core.middleware.AdminIntegerParametersMiddleware",
]

ROOT_URLCONF = "intralog.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "intralog.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "crm.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
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

LOGIN_URL = "wagtailadmin_login"
LOGIN_REDIRECT_URL = "wagtailadmin_home"

# Login throttling (django-axes): 5 failures for one username from one IP lock it for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Failures are cleared when a sign-in is complete (crm.two_factor.complete_sign_in): after the password for a
# person without a second factor, after the code otherwise, so a password alone never clears failed codes.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "crm/lockout.html"
# Reverse proxies in front of the app (0: none). The client address for the lockout and the lead-form
# rate limit comes from core.client_ip, which reads X-Forwarded-For through django-ipware; axes calls
# it instead of its own ipware settings (AXES_IPWARE_*), which AXES_CLIENT_IP_CALLABLE overrides.
PROXY_COUNT = env_int("PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_VERBOSE = False

# Two-factor sign-in (crm.two_factor): the roles that must use it (comma-separated; empty: nobody), how long a
# browser may skip the code once the person ticks "remember", and how long an idle session lives (0: forever).
TWO_FACTOR_REQUIRED_ROLES = env_list("TWO_FACTOR_REQUIRED_ROLES", "admin,manager")
TWO_FACTOR_REMEMBER_DAYS = env_int("TWO_FACTOR_REMEMBER_DAYS", 30)
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 60)
OTP_TOTP_ISSUER = "INTRALOG Leads"
# Wrong codes go to the axes lockout above instead of django-otp's own growing delays.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("es-ar", _("Spanish (Argentina)"))]
# The public site's language (pages, lead forms), whatever the visitor's browser prefers.
SITE_LANGUAGE_CODE = os.environ.get("SITE_LANGUAGE_CODE", "es-ar")
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Argentina/Buenos_Aires")
USE_I18N = True
USE_TZ = True

STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_URL = "/static/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# The read/write API (api/): how long a new personal token lives, requests per token per minute, the
# largest page of an extraction and the largest body a write may send (refused before it is read).
API_TOKEN_DAYS = env_int("API_TOKEN_DAYS", 90)
API_RATE_PER_MINUTE = env_int("API_RATE_PER_MINUTE", 600)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 5000)
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
# How long a client may retry a lead creation with the same Idempotency-Key and get the same lead.
API_IDEMPOTENCY_KEEP_DAYS = env_int("API_IDEMPOTENCY_KEEP_DAYS", 30)

# Email
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "INTRALOG Leads <leads@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
WAGTAILADMIN_NOTIFICATION_FROM_EMAIL = DEFAULT_FROM_EMAIL

# Jobs: with REDIS_URL, real RQ queues; without it, jobs run in-process on the same code path.
REDIS_URL = os.environ.get("REDIS_URL", "")
JOB_QUEUES = ("high", "default", "low")
JOB_SCHEDULE = "intralog.schedule"  # the periodic jobs (rq.cron), loaded by core.jobs.cron_scheduler
RQ_QUEUES = {
    name: {"URL": REDIS_URL or "redis://embedded/0", "DEFAULT_TIMEOUT": 600, "ASYNC": bool(REDIS_URL)}
    for name in JOB_QUEUES
}
RQ = {"COMMIT_MODE": "on_db_commit", "WORKER_CLASS": "core.worker.Worker"}
RQ_SHOW_ADMIN_LINK = False

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Wagtail
WAGTAIL_SITE_NAME = "INTRALOG Leads Manager"
WAGTAILADMIN_BASE_URL = os.environ.get("WAGTAILADMIN_BASE_URL", "http://127.0.0.1:8000")
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "core.search"}}  # the database backend, quoted safely
WAGTAIL_PASSWORD_RESET_ENABLED = True
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = True
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "txt", "xlsx", "zip"]
WAGTAIL_ENABLE_UPDATE_CHECK = False
WAGTAIL_ENABLE_WHATS_NEW_BANNER = False
# On-premise: no external avatar service (the admin shows Wagtail's built-in default avatar).
WAGTAIL_GRAVATAR_PROVIDER_URL = None

PHONENUMBER_DEFAULT_REGION = "AR"
PHONENUMBER_DB_FORMAT = "E164"

INVITATION_VALID_HOURS = 72

# A lead that reaches the CRM more than this many hours after its submission (a first import, a backfill)
# is past demand: its arrival alerts nobody and it stays out of the first-contact SLA.
LEAD_BACKFILL_HOURS = env_int("LEAD_BACKFILL_HOURS", 24)

# LOG_FORMAT=json: one JSON object a line (python-json-logger), for journald or a log shipper.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(process)d %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",  # ISO 8601 in UTC
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "rq.worker": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "wagtail.tasks": {"level": "WARNING"},
    },
}

# Alerts. Secrets come only from the environment and are never shown in the admin.
# The alert channels, in order (``alerts.channels.AlertChannel`` subclasses); each has its settings below.
ALERT_CHANNELS = ["alerts.channels.email.EmailChannel", "alerts.channels.whatsapp.WhatsAppChannel"]
WHATSAPP_API_BASE_URL = os.environ.get("WHATSAPP_API_BASE_URL", "https://graph.facebook.com/v21.0")
WHATSAPP_TOKEN = os.environ.get("WHATSAPP_TOKEN", "")
WHATSAPP_PHONE_NUMBER_ID = os.environ.get("WHATSAPP_PHONE_NUMBER_ID", "")
WHATSAPP_APP_SECRET = os.environ.get("WHATSAPP_APP_SECRET", "")
WHATSAPP_VERIFY_TOKEN = os.environ.get("WHATSAPP_VERIFY_TOKEN", "")
WHATSAPP_TEMPLATE_NAME = os.environ.get("WHATSAPP_TEMPLATE_NAME", "lead_alert")
WHATSAPP_DIGEST_TEMPLATE_NAME = os.environ.get("WHATSAPP_DIGEST_TEMPLATE_NAME", "lead_digest")
WHATSAPP_TIMEOUT = env_int("WHATSAPP_TIMEOUT", 10)
# The brands' numbers (Conversations > WhatsApp numbers in the admin) send with WHATSAPP_TOKEN_<BRAND CODE>
# when set (e.g. WHATSAPP_TOKEN_INTRAPAL), else with WHATSAPP_TOKEN; secrets never live in the database.
WHATSAPP_BRAND_TOKENS = {
    name.removeprefix("WHATSAPP_TOKEN_").lower(): value
    for name, value in os.environ.items()
    if name.startswith("WHATSAPP_TOKEN_") and value
}
# Webhooks signed with another app's secret (a brand's number in a second Meta app), comma-separated.
WHATSAPP_EXTRA_APP_SECRETS = env_list("WHATSAPP_EXTRA_APP_SECRETS")
# Spreadsheet imports: uploaded files are kept here (outside MEDIA_ROOT) while they are imported; the largest
# accepted and how many rows each transaction imports.
IMPORTS_ROOT = Path(os.environ.get("IMPORTS_ROOT", BASE_DIR / "private" / "imports"))
IMPORTS_MAX_BYTES = env_int("IMPORTS_MAX_BYTES", 40 * 1024 * 1024)
IMPORTS_BATCH_SIZE = env_int("IMPORTS_BATCH_SIZE", 1000)

# Conversations with leads: files they send are kept (outside MEDIA_ROOT, served only through the admin to
# those who may see the lead) up to this size, of these types.
CONVERSATIONS_MEDIA_ROOT = Path(
    os.environ.get("CONVERSATIONS_MEDIA_ROOT", BASE_DIR / "private" / "conversations")
)
CONVERSATIONS_MEDIA_MAX_BYTES = env_int("CONVERSATIONS_MEDIA_MAX_BYTES", 16 * 1024 * 1024)
CONVERSATIONS_MEDIA_TYPES = env_list(
    "CONVERSATIONS_MEDIA_TYPES",
    "image/jpeg,image/png,image/webp,application/pdf,text/plain,"
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,"
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
    "application/msword,application/vnd.ms-excel",
)
# Email with leads (Conversations > Mail accounts in the admin): each brand's SMTP and IMAP passwords come
# only from EMAIL_SMTP_PASSWORD_<BRAND CODE> and EMAIL_IMAP_PASSWORD_<BRAND CODE> (e.g. EMAIL_IMAP_PASSWORD_INTRAPAL).
CONVERSATIONS_SMTP_PASSWORDS = {
    name.removeprefix("EMAIL_SMTP_PASSWORD_").lower(): value
    for name, value in os.environ.items()
    if name.startswith("EMAIL_SMTP_PASSWORD_") and value
}
CONVERSATIONS_IMAP_PASSWORDS = {
    name.removeprefix("EMAIL_IMAP_PASSWORD_").lower(): value
    for name, value in os.environ.items()
    if name.startswith("EMAIL_IMAP_PASSWORD_") and value
}
# Files sent with an email (each, and all of one email together) and kept from received ones.
CONVERSATIONS_EMAIL_ATTACHMENT_MAX_BYTES = env_int(
    "CONVERSATIONS_EMAIL_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024
)
CONVERSATIONS_EMAIL_TOTAL_MAX_BYTES = env_int("CONVERSATIONS_EMAIL_TOTAL_MAX_BYTES", 20 * 1024 * 1024)
CONVERSATIONS_MAILBOX_SECONDS = env_int("CONVERSATIONS_MAILBOX_SECONDS", 60)  # how often mailboxes are read
CONVERSATIONS_MAIL_TIMEOUT = env_int("CONVERSATIONS_MAIL_TIMEOUT", 30)
ALERTS_ENABLED = env_bool("ALERTS_ENABLED", True)
ALERTS_MAX_ATTEMPTS = env_int("ALERTS_MAX_ATTEMPTS", 6)
ALERTS_RETRY_BASE_SECONDS = env_int("ALERTS_RETRY_BASE_SECONDS", 30)
ALERTS_STUCK_AFTER_SECONDS = env_int("ALERTS_STUCK_AFTER_SECONDS", 600)
ALERTS_BREACH_LOOKBACK_HOURS = env_int("ALERTS_BREACH_LOOKBACK_HOURS", 48)
ALERTS_REMINDER_SECONDS = env_int("ALERTS_REMINDER_SECONDS", 30)  # how often due follow-ups are looked for
ALERTS_DIGEST_CRON = os.environ.get("ALERTS_DIGEST_CRON", "0 11 * * *")  # UTC: 08:00 in Buenos Aires
ALERTS_QUEUE = os.environ.get("ALERTS_QUEUE", "high")
ALERTS_SEND_THREADS = env_int("ALERTS_SEND_THREADS", 8)
ALERTS_DRAIN_BATCHES = env_int("ALERTS_DRAIN_BATCHES", 10)
ALERTS_WAKE_SECONDS = env_int("ALERTS_WAKE_SECONDS", 30)
ALERTS_BACKGROUND_WAKE = env_bool("ALERTS_BACKGROUND_WAKE", True)

# WordPress sync: forms of a source sync at once in up to this many processes (0: one per core).
WORDPRESS_SYNC_PROCESSES = env_int("WORDPRESS_SYNC_PROCESSES", 0)

# Import from the old Leads Manager (admin → Settings → Old Leads Manager import): its database URL, offered
# to admins beside uploading its SQLite file; uploaded files wait here (never served) until their run ends.
LEGACY_DATABASE_URL = os.environ.get("LEGACY_DATABASE_URL", "")
LEGACY_IMPORT_ROOT = Path(os.environ.get("LEGACY_IMPORT_ROOT", BASE_DIR / "private" / "legacy"))
LEGACY_UPLOAD_MAX_BYTES = env_int("LEGACY_UPLOAD_MAX_BYTES", 1024 * 1024 * 1024)
# Health (ops.health): /readyz fails when alerts or webhook bodies wait longer than this, or when no cron
# scheduler beat within the staleness window; READYZ_IGNORE lists checks reported but not counted
# (e.g. "wordpress,outbox" where a proxy routes by /readyz).
HEALTH_BACKLOG_MINUTES = env_int("HEALTH_BACKLOG_MINUTES", 15)
HEALTH_SCHEDULER_STALE_SECONDS = env_int("HEALTH_SCHEDULER_STALE_SECONDS", 180)
READYZ_IGNORE = env_list("READYZ_IGNORE")

# Backups (manage.py backup): where archives go and how many are kept.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", BASE_DIR / "backups"))
BACKUP_KEEP = env_int("BACKUP_KEEP", 7)

# Error reporting to Sentry, only when SENTRY_DSN is set (no personal data is sent by default).
SENTRY_DSN = os.environ.get("SENTRY_DSN", "")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=os.environ.get("SENTRY_ENVIRONMENT", "production"),
        release=os.environ.get("SENTRY_RELEASE") or None,
        traces_sample_rate=float(os.environ.get("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
        send_default_pii=False,
    )

# Outbound webhooks (Settings → Webhooks): lead events POSTed, signed, to the admins' subscriptions.
WEBHOOKS_WAKE_UP = env_bool("WEBHOOKS_WAKE_UP", True)  # a delivery run queued when an event commits
WEBHOOKS_CONNECT_TIMEOUT_SECONDS = env_int("WEBHOOKS_CONNECT_TIMEOUT_SECONDS", 3)
WEBHOOKS_TIMEOUT_SECONDS = env_int("WEBHOOKS_TIMEOUT_SECONDS", 10)
WEBHOOKS_RETRY_BASE_SECONDS = env_int("WEBHOOKS_RETRY_BASE_SECONDS", 15)
WEBHOOKS_RETRY_CAP_SECONDS = env_int("WEBHOOKS_RETRY_CAP_SECONDS", 3600)
# Paused (and the admins emailed) after this many failures in a row, or failing for this long.
WEBHOOKS_PAUSE_AFTER_FAILURES = env_int("WEBHOOKS_PAUSE_AFTER_FAILURES", 10)
WEBHOOKS_PAUSE_AFTER_SECONDS = env_int("WEBHOOKS_PAUSE_AFTER_SECONDS", 24 * 3600)
WEBHOOKS_LEASE_SECONDS = env_int("WEBHOOKS_LEASE_SECONDS", 300)  # a stopped worker's claim runs out
WEBHOOKS_RUN_SECONDS = env_int("WEBHOOKS_RUN_SECONDS", 60)  # one job's time before it queues the next
WEBHOOKS_THREADS = env_int("WEBHOOKS_THREADS", 8)  # subscriptions sent to side by side
WEBHOOKS_KEEP_DAYS = env_int("WEBHOOKS_KEEP_DAYS", 30)  # delivered events and their log, then purged nightly
