"""Settings for Buurtgesprek, driven by environment variables.

Every value has a safe local default so that `make run` works on a fresh laptop
(SQLite under var/, Celery tasks in process, e-mail written to var/mail/).
Production differs only by environment variables; see README.md.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# The default is for a laptop only; `manage.py check --deploy` flags it in production.
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-only-never-use-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "buurtgesprek.apps.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "csp",
    "crispy_forms",
    "crispy_bootstrap5",
    "bootstrap",
    "gemeenten",
    "facilitators",
    "gesprekken",
    "dekking",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "buurtgesprek.middleware.RejectUnreadableBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "buurtgesprek.middleware.RejectNulInPathMiddleware",
]

ROOT_URLCONF = "buurtgesprek.urls"
WSGI_APPLICATION = "buurtgesprek.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    # An empty DATABASE_URL means the default too.
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'buurtgesprek.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side connection pooling through psycopg_pool; one pool per process.
    DATABASES["default"].setdefault("OPTIONS", {})
    # No JIT compilation: it pays off for queries of many seconds, and ours take well under
    # one; compiling the dashboards' counts took 0.3-0.9 s on top of 0.3 s (make bench).
    if not env.bool("DATABASE_JIT", default=False):
        DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": env.int("DATABASE_POOL_MAX", default=10),
            "timeout": 10,
        }
else:
    # SQLite serialises writers; wait for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------
# A database cache: rate limits (ours and allauth's) keep working when Redis is down,
# and Redis stays out of the request path.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "buurtgesprek_cache",
    },
    # {% cache %} fragments, per process: the sign-up form's fields as a visitor first sees
    # them (templates/gesprekken/gesprek_detail.html), a few variants per language.
    "template_fragments": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "template-fragments",
        "OPTIONS": {"MAX_ENTRIES": 1000},
    },
}

# --- Auth (staff only; residents never need an account) ---------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "facilitators.backends.NationalCoordinatorBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS = 1
# Password-reset links (allauth uses Django's token generator) live an hour, not 3 days.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
# Staff join by invitation only (see the facilitators app); open sign-up stays closed.
ACCOUNT_ADAPTER = "buurtgesprek.adapters.AccountAdapter"
# The invited facilitator's sign-up form: their name, the invited address read-only.
ACCOUNT_FORMS = {"signup": "facilitators.forms.InvitedSignupForm"}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Buurtgesprek] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Staff pages (workspace, coordination) require a TOTP authenticator. Only the local
# `make run` demo turns this off, so its demo log-ins work without an authenticator app.
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=True)
MFA_TOTP_ISSUER = "Buurtgesprek"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Internationalisation ----------------------------------------------------------
LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", _("Dutch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env.bool("STATIC_MANIFEST", default=not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Tests render pages without running collectstatic first.
WHITENOISE_USE_FINDERS = DEBUG

# --- E-mail ----------------------------------------------------------------------------
MAIL_DIR = VAR_DIR / "mail"
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend":
        # The same, with the envelope's addresses worked out for less (buurtgesprek/mail.py).
        _email["EMAIL_BACKEND"] = "buurtgesprek.mail.EmailBackend"
    vars().update(_email)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = MAIL_DIR
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Buurtgesprek <noreply@buurtgesprek.nl>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
# Without Redis every task runs in process, inside the request or command that queued it.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
# Celery's Django fix-up closes the database connection around every task unless told to
# reuse it; a new PostgreSQL connection per e-mail cost ~15 % of a worker (make bench).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Pool processes of a worker (`--concurrency` overrides it). Sending one mail, a process
# waits on the SMTP server and PostgreSQL about half the time: twice the cores keeps the
# machine busy (Celery's own default is once; docs/performance.md).
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=2 * (os.cpu_count() or 1))
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_RESULT_EXPIRES = timedelta(hours=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Integration tests give each run its own queue so parallel runs never share work.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# When Redis is down, enqueueing after a sign-up gives up within about a second: the row
# is already in the database and the outbox sweep sends it once Redis is back.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "buurtgesprek.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
    # Sends what was never enqueued (Redis down) and retries released mails.
    "gesprekken-sweep-outbox": {
        "task": "gesprekken.tasks.sweep_outbox",
        "schedule": timedelta(minutes=1),
    },
    "gesprekken-expire-holds-and-offers": {
        "task": "gesprekken.tasks.expire_holds_and_offers",
        "schedule": timedelta(minutes=1),
    },
    "gesprekken-send-due-reminders": {
        "task": "gesprekken.tasks.send_due_reminders",
        "schedule": timedelta(minutes=5),
    },
    "gesprekken-send-thanks": {
        "task": "gesprekken.tasks.send_thanks",
        "schedule": timedelta(minutes=15),
    },
    # Facilitators: report reminders 2 and 7 days after a gesprek, and the daily digest.
    "gesprekken-send-report-reminders": {
        "task": "gesprekken.tasks.send_report_reminders",
        "schedule": crontab(minute=20),
    },
    "gesprekken-send-digests": {
        "task": "gesprekken.tasks.send_digests",
        "schedule": crontab(hour=7, minute=30),
    },
    # Coverage: the national and public numbers are computed ahead, never by a visitor.
    "dekking-warm-dashboards": {
        "task": "dekking.tasks.warm_dashboards",
        "schedule": timedelta(minutes=env.int("DEKKING_WARM_MINUTES", default=4)),
    },
    # Gesprek.present (who came, read by the dashboards) checked against the registrations.
    "gesprekken-recount-present": {
        "task": "gesprekken.tasks.recount_present",
        "schedule": crontab(hour=4, minute=37),
    },
    # Privacy: anonymise registrations GESPREKKEN_RETENTION_DAYS after their gesprek.
    "gesprekken-purge-personal-data": {
        "task": "gesprekken.tasks.purge_personal_data",
        "schedule": crontab(hour=4, minute=7),
    },
}

# --- Geography ----------------------------------------------------------------------------
_shared_data = BASE_DIR.parent / "shared" / "data"
GEBIEDEN_DIR = env.str("GEBIEDEN_DIR", default=str(_shared_data) if _shared_data.is_dir() else "")

# --- Gesprekken: sign-up holds, offers ----------------------------------------------------
# A seat is held this long for a resident to click the confirmation link in the e-mail.
GESPREKKEN_HOLD_MINUTES = env.int("GESPREKKEN_HOLD_MINUTES", default=60)
# A freed seat offered to the next on the waiting list can be claimed this long.
GESPREKKEN_OFFER_HOURS = env.int("GESPREKKEN_OFFER_HOURS", default=24)
# At most one "here is your link again" mail per registration in this window.
GESPREKKEN_RESEND_LINK_MINUTES = env.int("GESPREKKEN_RESEND_LINK_MINUTES", default=15)

# Behind a proxy: how many proxies append to X-Forwarded-For (rate limits need the
# resident's own address; with 0 every resident would share the proxy's limit).
GESPREKKEN_TRUSTED_PROXIES = env.int("GESPREKKEN_TRUSTED_PROXIES", default=0)
# Personal data is anonymised this many days after the gesprek (privacy statement).
GESPREKKEN_RETENTION_DAYS = env.int("GESPREKKEN_RETENTION_DAYS", default=90)
GESPREKKEN_PRIVACY_EMAIL = env.str("GESPREKKEN_PRIVACY_EMAIL", default="privacy@buurtgesprek.nl")

# --- Gesprekken: e-mail --------------------------------------------------------------------
# The reminder goes out this many hours before the start.
GESPREKKEN_REMINDER_HOURS = env.int("GESPREKKEN_REMINDER_HOURS", default=24)
# The thank-you mail goes out this many hours after the end (and not for gesprekken that
# ended more than a week ago, e.g. after downtime).
GESPREKKEN_THANKS_AFTER_HOURS = env.int("GESPREKKEN_THANKS_AFTER_HOURS", default=2)
# Reserves (the balance rule) are offered any free seat, mix or not, this many hours
# before the start: a full table beats a perfectly mixed half-empty one.
GESPREKKEN_RESERVE_RELEASE_HOURS = env.int("GESPREKKEN_RESERVE_RELEASE_HOURS", default=48)
# How long a coordinator's block of an e-mail address lasts by default.
GESPREKKEN_BLOCK_DAYS = env.int("GESPREKKEN_BLOCK_DAYS", default=365)
# A mail that fails with a temporary error (SMTP 4xx, connection trouble) is retried after
# base, 2×base, 4×base … seconds (at most GESPREKKEN_MAIL_RETRY_MAX_SECONDS apart) and
# marked failed after GESPREKKEN_MAIL_MAX_ATTEMPTS attempts (visible in the admin).
GESPREKKEN_MAIL_RETRY_BASE_SECONDS = env.int("GESPREKKEN_MAIL_RETRY_BASE_SECONDS", default=120)
GESPREKKEN_MAIL_RETRY_MAX_SECONDS = env.int("GESPREKKEN_MAIL_RETRY_MAX_SECONDS", default=7200)
GESPREKKEN_MAIL_MAX_ATTEMPTS = env.int("GESPREKKEN_MAIL_MAX_ATTEMPTS", default=10)
# A claim older than this belongs to a crashed worker; the sweep hands the mail out again.
# Longer than the task time limit plus the SMTP timeout, so a slow send is never doubled.
GESPREKKEN_MAIL_STALE_SECONDS = env.int("GESPREKKEN_MAIL_STALE_SECONDS", default=600)

# --- Coverage dashboards and open data (dekking) ---------------------------------------
# How long computed coverage numbers are kept in the cache, per page and filter. At national
# scale one computation reads all registrations; 0 computes them on every request.
DEKKING_CACHE_SECONDS = env.int("DEKKING_CACHE_SECONDS", default=300)

# --- Security ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool(
    "SECURE_COOKIES", default=not DEBUG and SITE_URL.startswith("https")
)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Served over https (SITE_URL says so) means http is redirected; the health endpoint is
# exempt so a load balancer can poll it over plain http inside the network.
SECURE_SSL_REDIRECT = env.bool(
    "SECURE_SSL_REDIRECT", default=not DEBUG and SITE_URL.startswith("https")
)
SECURE_REDIRECT_EXEMPT = [r"^gezond/$"]
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Preloading binds the whole domain and its subdomains to https in browsers for months;
# that is the domain owner's decision, so it is opt-in and its deploy warning silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Every asset is served by the platform itself: no CDN, no third-party request.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
