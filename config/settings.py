"""Settings, read from the environment with django-environ.

With nothing set the service runs embedded: a SQLite file under var/ and Celery tasks run in the
calling process. DATABASE_URL switches to PostgreSQL (psycopg 3), REDIS_URL (or CELERY_BROKER_URL)
switches Celery to a real broker and workers.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless set: scripts/run sets DEBUG=true for the demo. With DEBUG off the service refuses to start
# on the development key (config/production.py); see README "Running in production".
DEBUG = env.bool("DEBUG", default=False)
DEVELOPMENT_SECRET_KEY = "dev-insecure-key-change-me-in-production-0123456789"
SECRET_KEY = env.str("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "dashboard.apps.ShopAdminConfig",  # django.contrib.admin with the service's site (dashboard/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "strawberry_django",
    "django_celery_beat",
    "axes",  # login throttling (config/settings.py, Production defaults)
    "catalog",
    "behavior",
    "jobs",
    "demo",  # manage.py demo_setup; it calls the other apps, none calls it
    "recommender",
    "segments",
    "forecasting",
    "analytics",
    "campaigns",  # issue 18: audiences from segments, picks, a holdout and measured lift
    "dashboard",  # /dashboard/: staff pages drawn from the GraphQL API (docs/dashboard.md)
    "access",  # API keys and customer tokens (docs/security.md)
    "privacy",  # a customer's export and erasure (docs/security.md)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, GraphiQL's, the dashboard's) straight from the app server: no CDN, no nginx.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while an in-process job writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"})
    # The covering indexes' INCLUDE columns are a PostgreSQL speed-up; SQLite ignores them, and says so.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A persistent connection is checked before a request reuses it: after a database restart the first request
# of each app-server worker gets a fresh connection instead of an error.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
# Times are stored in UTC; the shop's own zone decides what "a day" means in analytics and imports.
USE_TZ = True
SHOP_TIME_ZONE = env.str("SHOP_TIME_ZONE", default="Europe/London")
TIME_ZONE = SHOP_TIME_ZONE
USE_I18N = False

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))  # scripts/serve runs collectstatic
STATIC_ROOT = VAR_DIR / "static"
# static/vendor/: the front-end bundles npm installs (scripts/setup -> scripts/vendor_static), not in git.
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# The demo dataset travels with the repository (data/README.md: source, CC0 licence, checksum).
DEMO_DATA_PATH = env.path(
    "DEMO_DATA_PATH", default=str(BASE_DIR / "data" / "online_retail.csv.gz")
)

# --- Celery -------------------------------------------------------------------------------------
# See docs/jobs.md for why each value is what it is.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
# Embedded default: no broker configured means tasks run in the calling process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=CELERY_BROKER_URL.startswith("memory://"))
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The job row is the record of a run; nothing is kept in Redis.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# A task is acknowledged only when it has finished, and given back to the queue if its worker process
# dies; each worker process reserves one task at a time (jobs are long: no prefetching behind one).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# ML jobs have their own queue so that short housekeeping (reaper, scheduled submits) never waits
# behind a training run: start ML workers with `-Q ml` and at least one worker with `-Q reaper,default`.
CELERY_TASK_DEFAULT_QUEUE = "default"
# The reaper has a queue of its own (workers listen with `-Q reaper,ml,default`), so that no flood of
# other tasks can starve it.
CELERY_TASK_ROUTES = {"jobs.tasks.run_job": {"queue": "ml"}, "jobs.tasks.reap_jobs": {"queue": "reaper"}}
CELERY_TASK_CREATE_MISSING_QUEUES = True
# Long-running workers: restart a pool process after some jobs so memory from numpy/LightFM is returned.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=20)
CELERY_WORKER_SEND_TASK_EVENTS = False
JOB_SOFT_TIME_LIMIT = env.int("JOB_SOFT_TIME_LIMIT", default=60 * 60)
JOB_HARD_TIME_LIMIT = env.int("JOB_HARD_TIME_LIMIT", default=JOB_SOFT_TIME_LIMIT + 300)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the longest job, so an unacked long job is not handed to a second worker.
    "visibility_timeout": JOB_HARD_TIME_LIMIT + 600,
    "socket_connect_timeout": 3,
    "socket_timeout": 10,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every publish from a request uses a fresh connection with this connect/read/write timeout (jobs/broker.py):
# a broker that is down or hung holds a request up for about this long per try, not socket_timeout.
CELERY_PUBLISH_TIMEOUT = env.float("CELERY_PUBLISH_TIMEOUT", default=0.5)
# Publishing a job: a few quick tries, then the submit fails with BROKER_UNAVAILABLE (about 2 s).
JOB_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# A job runs at most this many times (first run, transient-error retries, re-runs after a lost worker).
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=3)
# A running job's worker writes a heartbeat every JOB_HEARTBEAT_INTERVAL s (and at each progress report);
# one silent for JOB_HEARTBEAT_TIMEOUT s is taken for dead by the reaper, run every JOB_REAP_INTERVAL s.
JOB_HEARTBEAT_INTERVAL = env.float("JOB_HEARTBEAT_INTERVAL", default=30.0)
JOB_HEARTBEAT_TIMEOUT = env.float("JOB_HEARTBEAT_TIMEOUT", default=300.0)
JOB_REAP_INTERVAL = env.float("JOB_REAP_INTERVAL", default=60.0)
# A job still QUEUED after JOB_REPUBLISH_AFTER s whose message the broker lost (Redis restarted without its
# data) is published again by the reaper (jobs/services.py _republish_lost).
JOB_REPUBLISH_AFTER = env.float("JOB_REPUBLISH_AFTER", default=120.0)
# A worker whose database connection broke retries the job's state write on fresh connections this long.
JOB_STATE_WRITE_SECONDS = env.float("JOB_STATE_WRITE_SECONDS", default=60.0)
# A job nobody started within this time (no worker listening on its queue) fails with NOT_STARTED.
JOB_QUEUED_TIMEOUT = env.int("JOB_QUEUED_TIMEOUT", default=24 * 3600)
# Schedules live in the database (admin: Periodic tasks); the reaper entry below is installed there.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "jobs: reap jobs whose worker died": {
        "task": "jobs.tasks.reap_jobs",
        "schedule": JOB_REAP_INTERVAL,
        # django-celery-beat stores `expire_seconds` (an `expires` number would be stored as NULL).
        "options": {"queue": "reaper", "expire_seconds": JOB_REAP_INTERVAL},
    },
    # ingestEvents hands its rollup refresh to a worker after commit; this drains anything left pending
    # (an enqueue that failed, a worker that died mid-refresh).
    "analytics: refresh rollups left pending": {
        "task": "analytics.tasks.refresh_rollups",
        "schedule": env.float("ANALYTICS_REFRESH_INTERVAL", default=60.0),
        "options": {"queue": "default", "expire_seconds": 60.0},
    },
}
# At most one rollup-refresh task waits in the queue (jobs.broker.claim_flag); the flag expires after this
# many seconds in case its task was lost, so a lost task delays refreshes by at most this long.
ANALYTICS_REFRESH_QUEUED_TTL = env.float("ANALYTICS_REFRESH_QUEUED_TTL", default=300.0)
CELERY_TIMEZONE = "UTC"

# --- GraphQL ------------------------------------------------------------------------------------
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=10)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=15)
# The most rows a connection page may have (`first`/`last`), read per request (api/connections.py).
GRAPHQL_MAX_PAGE_SIZE = env.int("GRAPHQL_MAX_PAGE_SIZE", default=100)
# Hostile-query limits (api/guard.py, api/limits.py, docs/hardening.md): checked before anything runs.
GRAPHQL_MAX_QUERY_LENGTH = env.int("GRAPHQL_MAX_QUERY_LENGTH", default=20_000)  # characters of query text
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=2_000)
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", default=20_000)  # fields, times the page sizes above them
GRAPHQL_MAX_FIELDS = env.int("GRAPHQL_MAX_FIELDS", default=100)  # in one selection set, fragments expanded
# Values in a request's variables (list items, object fields, scalars): ingestEvents' 5,000 events fit.
GRAPHQL_MAX_VARIABLE_VALUES = env.int("GRAPHQL_MAX_VARIABLE_VALUES", default=100_000)
GRAPHQL_DOCUMENT_CACHE_BYTES = env.int("GRAPHQL_DOCUMENT_CACHE_BYTES", default=64 * 1024 * 1024)
GRAPHQL_STATEMENT_TIMEOUT_MS = env.int("GRAPHQL_STATEMENT_TIMEOUT_MS", default=10_000)  # PostgreSQL only
# Schema discovery: introspection, the GraphiQL page and "Did you mean ...?" suggestions; on only in
# development unless set (docs/hardening.md).
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=DEBUG)
GRAPHQL_IDE = env.bool("GRAPHQL_IDE", default=DEBUG)
GRAPHQL_SUGGESTIONS = env.bool("GRAPHQL_SUGGESTIONS", default=DEBUG)
# The speed layer (api/fast, docs/performance.md); false runs strawberry's stock path, e.g. to upgrade it.
GRAPHQL_FAST_PATH = env.bool("GRAPHQL_FAST_PATH", default=True)
STRAWBERRY_DJANGO = {
    "PAGINATION_DEFAULT_LIMIT": GRAPHQL_MAX_PAGE_SIZE,
    "MUTATIONS_DEFAULT_HANDLE_ERRORS": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Dashboard (docs/dashboard.md) ----------------------------------------------------------------
# The shop's currency (ISO 4217) for the dashboard's and admin's money figures; days are SHOP_TIME_ZONE's.
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="GBP")
# --- Access: API keys and customer tokens (docs/security.md) -----------------------------------------
# Requests a minute per API key, unless the key sets its own limit (admin, `api_key create --rate-limit`).
API_KEY_RATE_LIMIT = env.int("API_KEY_RATE_LIMIT", default=600)
# How long a customer token (issued through an API key, handed to the shopper's browser) stays valid.
CUSTOMER_TOKEN_MAX_AGE = env.int("CUSTOMER_TOKEN_MAX_AGE", default=15 * 60)

# --- Production defaults (docs/hardening.md, README "Running in production") --------------------
# HTTPS is driven by the environment: off by default so that the embedded mode and tests run over
# plain HTTP; the production environment in the README turns each on (`check --deploy` is clean then).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Behind a proxy that ends TLS: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https
SECURE_PROXY_SSL_HEADER = tuple(env.list("SECURE_PROXY_SSL_HEADER", default=[])) or None
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Probes may come over plain HTTP from inside the network: no redirect for them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one username, or from one
# address, further attempts are refused for AXES_COOLOFF_MINUTES. Attempts are counted in a cache
# (Redis when REDIS_URL is set, so every process shares them), never in the database: no IP address
# is stored, and the cache keys expire with the cool-off.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "axes": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "axes"}
    ),
}
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_CACHE = "axes"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # its log lines name the address
if not REDIS_URL:
    # The embedded mode is one process: its in-memory count is the whole count.
    SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "axes.W001"]
