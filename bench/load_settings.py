"""Settings for `scripts/bench load`'s server: the service's own, plus the hand-written baseline view."""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.load_urls"
