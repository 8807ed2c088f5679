"""Settings for londonmh, read from the environment (django-environ).

Every variable is listed in `.env.example`. With DEBUG off the portal refuses to
start without SECRET_KEY and ALLOWED_HOSTS, so a production deployment cannot
silently run on development defaults.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file in the checkout is read only when asked: docker compose feeds the same file
# to the containers, and a production .env must not silently change `make run` or `make test`.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)

# Development and tests get a throwaway key; production must provide one.
_DEV_SECRET = "insecure-development-key-do-not-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "pgtrigger",
    "pghistory",
    "csp",
    "londonmh",
    "stakeholders",
    "outcomes",
    "actionplan",
    "commissioning",
    "opendata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # NUL bytes in the address or a form, and chunked bodies Django would read as empty: 404/400/411.
    "kernel.hostile.HostileInputMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    # Last, so that lockouts see the authenticated request.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "londonmh.urls"
WSGI_APPLICATION = "londonmh.wsgi.application"

TEMPLATES = [
    {
        # Portal pages: Jinja2 with the NHS.UK frontend macros (nhsuk-frontend-jinja).
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "londonmh.jinja2.environment"},
    },
    {
        # The Django admin, DRF's browsable API and Swagger UI keep Django templates.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.DjangoTemplates"

# Database: DATABASE_URL, e.g. postgres://user:pass@host:5432/londonmh. The run and test
# commands (londonmh/devenv.py) set it to the machine's or an embedded PostgreSQL.
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/londonmh")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A process killed mid-query (a worker's SIGKILL, an OOM kill) leaves its PostgreSQL backend
# running, holding its locks, until the backend next talks to the client. Ask the server to
# check for a vanished client every few seconds (PostgreSQL 14+) so those locks are freed
# and the redelivered task can take over.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
    f"-c client_connection_check_interval={env.int('DATABASE_CLIENT_CHECK_MS', default=5000)}"
)
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str("TEST_DATABASE_NAME", default="test_londonmh")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        # Redis, failing open: an outage slows pages down instead of breaking them (kernel/cache.py).
        "BACKEND": "kernel.cache.FailOpenRedisCache",
        "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="londonmh"),
    }
}

AUTH_USER_MODEL = "stakeholders.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "profile"
# Where sign-in lands a person (their work, by role): a function of `user` returning a URL. A setting,
# because the sign-in view (stakeholders) sits below the app that decides (actionplan).
SIGN_IN_LANDING = "actionplan.selectors.landing_url"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
# Days a sign-up's email confirmation link works (stakeholders.services.email_verify).
EMAIL_VERIFY_DAYS = env.int("EMAIL_VERIFY_DAYS", default=3)

# Sessions: idle timeout (the expiry is pushed forward on every request).
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_SECONDS", default=60 * 60 * 2)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: lock out a username from one address, with a cool-off. Locking out by
# address alone would shut out a whole NHS trust or council behind one NAT address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "stakeholders.auth.axes_username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = env.int("NUM_PROXIES", default=0) or None
AXES_VERBOSE = False

# Guardian: anonymous user object for public reads.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Vendor assets come from npm (node_modules, git-ignored), installed by the set-up command.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/nhsuk-frontend", NODE_MODULES / "nhsuk-frontend" / "dist" / "nhsuk"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
]
# The NHS.UK CSS is served without its @font-face rules for the remote Frutiger font, which the
# Content Security Policy refuses (londonmh/staticfinders.py says why).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "londonmh.staticfinders.NhsukSelfHostedCssFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Email: console in development; SMTP from EMAIL_URL in production.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=EMAIL_CONFIG["EMAIL_BACKEND"])
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / ".local" / "mail"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="London mental health portal <noreply@londonmh.invalid>")
# Where people report problems (accessibility statement, error pages).
SUPPORT_EMAIL = env.str("SUPPORT_EMAIL", default="support@londonmh.invalid")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# Uploads.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

# Security headers. Production (DEBUG off) gets HTTPS-only cookies and HSTS by default.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy (django-csp 4): no inline script or style; the NHS.UK
# template's one inline script carries a per-request nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# REST API conventions (docs/api.md).
REST_FRAMEWORK = {
    # The token class comes first so an anonymous request gets 401 with `WWW-Authenticate: Token`
    # (DRF asks the first class for that header; the session class has none, which would mean 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "stakeholders.auth.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "kernel.api.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    # DRF's JSON parser, plus a 400 for NUL characters and for nesting too deep to parse.
    "DEFAULT_PARSER_CLASSES": [
        "kernel.hostile.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_ANON_RATE", default="120/minute"),
        "user": env.str("API_USER_RATE", default="2000/minute"),
    },
    # Trust X-Forwarded-For only as far as the configured proxies.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "kernel.api.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "londonmh API",
    "DESCRIPTION": (
        "The London mental-health commissioning portal's REST API. Read public resources anonymously; "
        "authenticate with a browser session or a personal API token (`Authorization: Token <token>`) "
        "created on your profile page. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Several models have a `status`; name their enums so the schema needs no guessed names.
    "ENUM_NAME_OVERRIDES": {"SubmissionStatusEnum": "outcomes.models.Submission.Status"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kernel.api.problem_responses_hook",
    ],
}
# Plans and actions have a `status` too (actionplan).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {"PlanStatusEnum": "actionplan.models.PlanStatus", "ActionStatusEnum": "actionplan.models.ActionStatus"}
)
# Partnership decisions have a `status` too (commissioning.decisions).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["DecisionStatusEnum"] = "commissioning.decisions.models.DecisionStatus"
# Two kinds of stance: a member's view of a decision, and a party's on a payment statement's line.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["DecisionStanceEnum"] = "commissioning.decisions.models.StanceChoice"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["LineStanceEnum"] = "commissioning.statements.models.Stance"
# Payment statements have a `status` too (commissioning.statements).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {"PaymentStatementStatusEnum": "commissioning.statements.models.StatementStatus"}
)
# Population groups: the breakdown of values, submissions and indicators (issue 21).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["BreakdownEnum"] = "outcomes.breakdowns.Breakdown"
# Personal API tokens: django-rest-knox stores only a hash; our model adds a name.
KNOX_TOKEN_MODEL = "stakeholders.ApiToken"
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_DEFAULT_DAYS", default=90)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_PREFIX": "lmh_",
}
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=366)

# Celery on Redis (londonmh/celery.py). acks_late + reject_on_worker_lost re-deliver a
# task whose worker died; tasks are idempotent so that is safe. Every task's hard time
# limit stays below the broker's visibility timeout, or Redis would re-deliver a task
# that is still running.
# An embedded Redis listens on a unix socket: redis-py says unix://, kombu says redis+socket://.
_CELERY_REDIS_URL = REDIS_URL.replace("unix://", "redis+socket://", 1) if REDIS_URL.startswith("unix://") else REDIS_URL
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_CELERY_REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_CELERY_REDIS_URL)
CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
# Tests set their own queue so a developer's running worker never takes their tasks.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=CELERY_VISIBILITY_TIMEOUT - 600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 60 * 60 * 24
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if CELERY_TASK_TIME_LIMIT >= CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured("CELERY_TASK_TIME_LIMIT must be below CELERY_VISIBILITY_TIMEOUT.")
# The one beat schedule for every periodic job.
CELERY_BEAT_SCHEDULE = {
    # A safety net for the debounced rebuild of the open-data package (opendata.tasks): catalogue
    # edits and lost tasks are caught here.
    "opendata-rebuild-if-stale": {
        "task": "opendata.tasks.package_rebuild_if_stale",
        "schedule": crontab(minute="*/15"),
    },
    "rebuild-metrics-nightly": {
        "task": "outcomes.tasks.metrics_rebuild_all",
        "schedule": crontab(hour=1, minute=30),
    },
    "expire-invitations-nightly": {
        "task": "stakeholders.tasks.invitations_expire",
        "schedule": crontab(hour=2, minute=15),
    },
    "voice-actions-overdue-daily": {
        "task": "actionplan.voice.tasks.actions_overdue_notify",
        "schedule": crontab(hour=7, minute=0),
    },
    "voice-comments-unanswered-daily": {
        "task": "actionplan.voice.tasks.comments_unanswered_notify",
        "schedule": crontab(hour=7, minute=5),
    },
    "voice-plan-status-changes": {
        "task": "actionplan.voice.tasks.plan_status_changes_process",
        "schedule": 60.0,
    },
    "requeue-lost-submissions": {
        "task": "outcomes.tasks.submissions_requeue_lost",
        "schedule": 300.0,
    },
    "voice-digests-daily": {
        "task": "actionplan.voice.tasks.digests_send",
        "schedule": crontab(hour=7, minute=30),
    },
    # Before the digests, so a reminder is in the same morning's digest (docs/commissioning.md).
    "schedule-reminders-daily": {
        "task": "commissioning.schedules.tasks.schedule_reminders_send",
        "schedule": crontab(hour=7, minute=15),
    },
    # Quarterly stories (docs/narrative.md): drafted on the 10th day of the month after each
    # financial quarter ends, once most of its figures are approved. Idempotent.
    "stories-draft-quarterly": {
        "task": "commissioning.narrative.tasks.stories_draft_quarter",
        "schedule": crontab(hour=6, minute=0, day_of_month=10, month_of_year="1,4,7,10"),
    },
}
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / ".local" / "celerybeat-schedule")
)

# Open data (docs/api.md#open-data): quiet seconds after the last metrics change before the data
# package is rebuilt, and the OCDS ocid prefix of the contract register (register your own with
# the Open Contracting Partnership; the default is a placeholder for demonstrations).
OPEN_DATA_DEBOUNCE_SECONDS = env.int("OPEN_DATA_DEBOUNCE_SECONDS", default=60)
OCDS_OCID_PREFIX = env.str("OCDS_OCID_PREFIX", default="ocds-lmh000")

INVITATION_DAYS = env.int("INVITATION_DAYS", default=14)

# Reporting schedules (docs/commissioning.md): an overdue notice goes out for a period whose
# deadline passed at most this many days ago (older gaps show on the completeness page only).
SCHEDULE_OVERDUE_NOTICE_DAYS = env.int("SCHEDULE_OVERDUE_NOTICE_DAYS", default=45)
# Value queries (docs/outcomes.md): the service level, in working days (England's bank holidays
# and weekends not counted) from a query's opening to its resolution.
VALUE_QUERY_WORKING_DAYS = env.int("VALUE_QUERY_WORKING_DAYS", default=10)

# Demo data: only seeded where explicitly allowed (never in production settings).
DEMO_DATA_ALLOWED = env.bool("DEMO_DATA_ALLOWED", default=DEBUG)
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="london-demo-2026")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

CSRF_FAILURE_VIEW = "londonmh.views.csrf_failure"
WHITENOISE_MANIFEST_STRICT = False
# knox's own token table is replaced by stakeholders.ApiToken (KNOX_TOKEN_MODEL); its
# migrations would still create the unused table, so knox runs without migrations.
MIGRATION_MODULES = {"knox": None}

# Outcomes submissions (docs/outcomes.md).
OUTCOMES_MAX_UPLOAD_BYTES = env.int("OUTCOMES_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
OUTCOMES_MAX_ROWS = env.int("OUTCOMES_MAX_ROWS", default=2_000_000)
# Submissions with more rows than this are validated and written by a Celery worker.
OUTCOMES_ASYNC_ROWS = env.int("OUTCOMES_ASYNC_ROWS", default=5000)
# A submission still "queued" this long after it was queued (or last re-enqueued) has lost its
# task (Redis emptied or restarted without persistence): the beat sweep enqueues it again.
OUTCOMES_REQUEUE_AFTER_MINUTES = env.int("OUTCOMES_REQUEUE_AFTER_MINUTES", default=15)
# A clean CSV trial run keeps its file this long, so that one button submits the same file.
OUTCOMES_TRIAL_KEEP_HOURS = env.int("OUTCOMES_TRIAL_KEEP_HOURS", default=24)
# The nightly metrics rebuild splits the indicators into this many groups rebuilt at once, each on
# its own database connection (docs/performance.md): at most the database server's cores.
METRICS_REBUILD_WORKERS = env.int("METRICS_REBUILD_WORKERS", default=2)
# Provisional figures (values submitted but not yet approved) are for signed-in partners; true
# publishes them to everyone (docs/configuration.md says why that is off by default).
PUBLISH_PROVISIONAL_FIGURES = env.bool("PUBLISH_PROVISIONAL_FIGURES", default=False)

# Service-user and carer voice (docs/voice.md).
VOICE_COMMENT_RATE_LIMIT = env.int("VOICE_COMMENT_RATE_LIMIT", default=10)  # comments per person per hour
VOICE_EDIT_MINUTES = env.int("VOICE_EDIT_MINUTES", default=15)
VOICE_FLAGS_TO_HOLD = env.int("VOICE_FLAGS_TO_HOLD", default=3)
VOICE_UNANSWERED_DAYS = env.int("VOICE_UNANSWERED_DAYS", default=14)
# Phrases a deployment adds to the built-in first-person risk phrases (actionplan.voice.risk), each
# held wherever it appears; the defaults hold no word on its own (docs/voice.md says why).
VOICE_SAFETY_WORDS = env.list("VOICE_SAFETY_WORDS", default=[])
