"""What the browser tests and bench/dashboard.py share: Debian's Chromium through Playwright, logging in
through the admin's form, waiting for a page's charts, and a demo-like shop with its models built."""

from __future__ import annotations

import os
from urllib.parse import urlparse

CHROMIUM_FLAGS = [
    # Root in a container: no sandbox. The rest stop Chromium calling home (the machines are offline).
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
]
READY = "body[data-ready=true]"
PAGES = {"overview": "/dashboard/", "segments": "/dashboard/segments/", "models": "/dashboard/models/"}


def chromium_path() -> str:
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def launch(playwright):
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS, headless=True)


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/admin/login/?next=/dashboard/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/dashboard/**")


def open_and_wait(page, url: str, timeout_ms: float = 30_000) -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=timeout_ms)


def foreign_requests(urls: list[str], base_url: str) -> list[str]:
    """Requests that went anywhere but the test server (a CDN, a font host...)."""
    host = urlparse(base_url).hostname
    return [u for u in urls if urlparse(u).scheme in ("http", "https") and urlparse(u).hostname != host]


def build_shop(*, customers: int = 300, products: int = 60, days: int = 365, seed: int = 7) -> None:
    """A demo-like shop: a seeded synthetic year of events, then one run of every model job (in-process)."""
    from behavior.services import synthetic_load
    from behavior.synthetic import SyntheticSpec
    from demo.services import model_jobs_ensure

    synthetic_load(spec=SyntheticSpec(seed=seed, customers=customers, products=products, days=days,
                                      events_per_customer=20))
    model_jobs_ensure(say=lambda line: None)
