"""Dashboard paint times in headless Chromium: first contentful paint and every chart drawn, per page.

    .venv/bin/python -m bench dashboard [--repeat N] [--synthetic]

Data: the demo dataset (data/online_retail.csv.gz, as scripts/run loads it, with one run of every model
job) in the benchmark's own database, loaded once and reused; --synthetic uses a generated shop instead.
A local server (manage.py runserver, no reload) serves the pages; Debian's Chromium opens each page N
times in a fresh browser context (no cache), logged in as staff. Read from the browser's Performance API:
`first-contentful-paint`, and `window.dashboardReadyAt` (set when every panel has answered and every
chart has drawn; see dashboard/static/dashboard/core.js). Medians are printed.
Baseline, measured in the same run: the admin's login page (plain server-rendered HTML) for the paint,
and GraphiQL's page (React + a 3.5 MB bundle, no data) for a script-heavy page. Goal: FCP <= 1 s and
all charts <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

GOAL_FCP_MS = 1000
GOAL_READY_MS = 2000
PAGES = {"overview": "/dashboard/", "segments": "/dashboard/segments/", "models": "/dashboard/models/"}
FCP_JS = "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null"


def prepare(synthetic: bool) -> None:
    from demo.services import demo_data_ensure, model_jobs_ensure

    path = Path("/nonexistent") if synthetic else Path(settings.DEMO_DATA_PATH)
    started = time.perf_counter()
    demo_data_ensure(path=path, say=print)
    model_jobs_ensure(say=print)
    user, _ = get_user_model().objects.get_or_create(username="bench-staff", defaults={"is_staff": True,
                                                                                      "is_superuser": True})
    user.set_password("bench")
    user.save()
    print(f"data ready in {time.perf_counter() - started:.1f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                              cwd=settings.BASE_DIR, env={**os.environ, "DEBUG": "true"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start within 30 s")


def measure(browser, base: str, path: str, *, login: bool, ready: bool) -> tuple[float | None, float | None]:
    from tests.dashboard.browser import READY, log_in

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    if login:
        log_in(page, base, "bench-staff", "bench")
    page.goto(base + path)
    if ready:
        page.wait_for_selector(READY, timeout=60_000)
    else:
        page.wait_for_load_state("load")
    page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length > 0", timeout=10_000)
    fcp = page.evaluate(FCP_JS)
    done = page.evaluate("() => window.dashboardReadyAt || null") if ready else None
    context.close()
    return fcp, done


def median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="page loads per page (median reported)")
    parser.add_argument("--synthetic", action="store_true", help="a generated shop instead of the demo dataset")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from tests.dashboard.browser import launch

    prepare(args.synthetic)
    port = free_port()
    server = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            login_fcp = median([measure(browser, base, "/admin/login/", login=False, ready=False)[0]
                                for _ in range(args.repeat)])
            graphiql_fcp = median([measure(browser, base, "/graphql/", login=False, ready=False)[0]
                                   for _ in range(args.repeat)])
            rows = []
            for name, path in PAGES.items():
                runs = [measure(browser, base, path, login=True, ready=True) for _ in range(args.repeat)]
                rows.append((name, median([r[0] for r in runs]), median([r[1] for r in runs])))
            browser.close()
    finally:
        server.terminate()
        server.wait(10)
    print(f"\nbaseline: admin login page FCP {login_fcp:.0f} ms; GraphiQL page FCP {graphiql_fcp:.0f} ms "
          f"(median of {args.repeat})")
    print(f"{'page':10} {'FCP ms':>8} {'÷ login':>8} {'all charts ms':>14} {'÷ login FCP':>12}  goal (FCP <= "
          f"{GOAL_FCP_MS}, charts <= {GOAL_READY_MS})")
    for name, fcp, ready in rows:
        met = "met" if fcp <= GOAL_FCP_MS and ready <= GOAL_READY_MS else "MISSED"
        print(f"{name:10} {fcp:8.0f} {fcp / login_fcp:8.2f} {ready:14.0f} {ready / login_fcp:12.2f}  {met}")
