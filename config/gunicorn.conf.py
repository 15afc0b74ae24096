"""gunicorn settings for `scripts/serve` (the production server; docs: README "Running in production").

Why gunicorn with sync workers: the service is a plain WSGI Django app whose requests are short database
reads and writes (heavy work runs on Celery workers), so pre-forked sync workers are the simplest model
that uses every core, isolates a crash to one worker, and reloads gracefully on SIGHUP. Each value can be
overridden from the environment.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}")
# Two workers per core: requests wait on PostgreSQL about half of their time.
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * multiprocessing.cpu_count())))
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # a request stuck longer than this is killed
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))  # on SIGHUP/SIGTERM: finish requests
keepalive = 5
# Recycle a worker after this many requests (with jitter, so they do not all restart together): whatever a
# library keeps growing is returned.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None  # "" turns the access log off
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
wsgi_app = "config.wsgi:application"


def post_worker_init(worker):
    """Warm each new worker (at start and after max_requests recycles one) before it accepts requests, so no
    client pays for loading the schema and the model (config/warmup.py)."""
    from config.warmup import warm

    seconds = warm(worker.wsgi)
    worker.log.info("worker %s warmed in %.2f s", worker.pid, seconds)
