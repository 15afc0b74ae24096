"""Browser fixtures: per module, one Chromium and a demo-like shop committed to the test database
and a live server over it (pytest-django's live_server would flush the data after every test).

Playwright's sync API runs an event loop in the test's thread, which Django takes for async code (and an
in-memory SQLite database would be another one there): so the shop and the live server are set up before
Chromium starts, and the ORM calls of the teardown are allowed (DJANGO_ALLOW_ASYNC_UNSAFE) and the setting
restored afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from tests.conftest import REQUIRE_SERVICES, browser_available, make_staff
from tests.dashboard.browser import build_shop, launch

SCREENSHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", settings.BASE_DIR / "var" / "screenshots"))
ANALYST_PASSWORD = "pw"


def _require_browser() -> None:
    reason = browser_available()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES is set but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(shop_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shop_server(django_db_setup, django_db_blocker):
    """The live server's URL, over a built shop with an analyst (every permission) and a sales-only viewer."""
    _require_browser()
    from pytest_django.live_server_helper import LiveServer

    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with django_db_blocker.unblock():
        build_shop()
        analyst = make_staff("analyst")
        analyst.is_superuser = True
        analyst.save()
        make_staff("viewer", perms=("behavior.view_event",))
        server = LiveServer("localhost")
        try:
            yield server.url
        finally:
            server.stop()
            call_command("flush", interactive=False, verbosity=0)
            ContentType.objects.clear_cache()
            if saved is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def page(shop_server, browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-GB")
    tab = context.new_page()
    tab.requested = []  # every URL the page asked for
    tab.errors = []  # uncaught script errors
    tab.on("request", lambda request: tab.requested.append(request.url))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
