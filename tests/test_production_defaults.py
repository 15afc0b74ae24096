"""Production defaults (issue 15 item 4): DEBUG off unless set, no start on the development key,
`check --deploy` clean with the README's production environment, schema discovery off, the demo admin
in development only, throttled logins."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from axes.utils import reset
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config.production import REFUSAL
from tests.conftest import make_staff

ROOT = Path(__file__).resolve().parent.parent
_SETTING_NAMES = ("DEBUG", "SECRET_KEY", "GRAPHQL_INTROSPECTION", "GRAPHQL_IDE", "GRAPHQL_SUGGESTIONS",
                  "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECURE_SSL_REDIRECT", "SECURE_COOKIES",
                  "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "DATABASE_URL",
                  "REDIS_URL", "CELERY_BROKER_URL")


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter with the settings' variables unset but for `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in _SETTING_NAMES}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True,
                          timeout=120)


def readme_production_env() -> dict[str, str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- production-env -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no production environment block"
    return dict(line.split("=", 1) for line in block.group(1).splitlines() if line.strip())


def test_debug_and_schema_discovery_are_off_unless_set():
    shown = "from django.conf import settings as s; print(s.DEBUG, s.GRAPHQL_INTROSPECTION, s.GRAPHQL_IDE, s.GRAPHQL_SUGGESTIONS)"
    assert _python(f"import django; django.setup(); {shown}").stdout.split() == ["False"] * 4
    assert _python(f"import django; django.setup(); {shown}", DEBUG="true").stdout.split() == ["True"] * 4


def test_the_server_refuses_to_start_with_debug_off_on_the_development_key():
    refused = _python("import config.wsgi", DEBUG="false")
    assert refused.returncode != 0 and REFUSAL in refused.stderr
    assert _python("import config.wsgi", DEBUG="false", SECRET_KEY="k" * 60).returncode == 0
    assert _python("import config.wsgi", DEBUG="true").returncode == 0


def test_check_deploy_is_clean_with_the_readme_production_environment():
    env = readme_production_env()
    assert env["DEBUG"] == "false"
    checked = _python("from django.core.management import execute_from_command_line as run;"
                      " run(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])", **env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues (0 silenced)." in checked.stdout


@pytest.mark.django_db
def test_introspection_is_refused_when_off_and_answered_when_on(gql, settings):
    settings.GRAPHQL_INTROSPECTION = False
    body = gql("{ __schema { queryType { name } } }", expect_errors=True)
    assert body["errors"][0]["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}
    assert gql("{ __typename }") == {"data": {"__typename": "Query"}}
    settings.GRAPHQL_INTROSPECTION = True
    assert gql("{ __schema { queryType { name } } }") == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.django_db
def test_suggestions_are_left_out_when_off(gql, settings):
    misspelt = "{ prodcts { totalCount } }"
    enum = ('query($by: TopProductsBy!) { topProducts(from: "2024-01-01", to: "2024-01-02", by: $by) { sku } }',
            {"by": "REVENU"})
    settings.GRAPHQL_SUGGESTIONS = False
    assert gql(misspelt, expect_errors=True)["errors"][0]["message"] == "Cannot query field 'prodcts' on type 'Query'."
    assert "Did you mean" not in gql(*enum, expect_errors=True)["errors"][0]["message"]
    settings.GRAPHQL_SUGGESTIONS = True
    assert "Did you mean 'products' or 'product'?" in gql("{ prodcts { totalCount } }", expect_errors=True)["errors"][0]["message"]
    assert "Did you mean" in gql(*enum, expect_errors=True)["errors"][0]["message"]


@pytest.mark.django_db
def test_graphiql_is_served_only_when_on(client, settings):
    settings.GRAPHQL_IDE = False
    assert client.get("/graphql/", HTTP_ACCEPT="text/html").status_code == 404
    settings.GRAPHQL_IDE = True
    page = client.get("/graphql/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"graphiql" in page.content.lower()


@pytest.mark.django_db
def test_no_demo_admin_with_debug_off(settings, tmp_path):
    settings.DEBUG = False
    settings.DEMO_DATA_PATH = tmp_path / "missing.csv.gz"
    out = StringIO()
    call_command("demo_setup", "--skip-jobs", stdout=out)
    assert not get_user_model().objects.filter(username="admin").exists()
    assert "no demo admin: DEBUG is off" in out.getvalue()


@pytest.mark.django_db
def test_the_demo_admin_gets_a_random_password_printed_once(settings, tmp_path, monkeypatch, client):
    from demo.services import admin_user_ensure

    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)
    lines: list[str] = []
    admin_user_ensure(development=True, say=lines.append)
    admin_user_ensure(development=True, say=lines.append)  # a second run says nothing: it exists
    [line] = lines
    password = re.search(r"admin / (\S+)", line).group(1)
    assert password != "admin" and len(password) >= 16
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password(password) and not admin.check_password("admin")


@pytest.mark.django_db
def test_the_demo_admin_password_can_be_given(monkeypatch):
    from demo.services import admin_user_ensure

    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "a-chosen-demo-password")
    admin_user_ensure(development=True, say=lambda line: None)
    assert get_user_model().objects.get(username="admin").check_password("a-chosen-demo-password")


@pytest.mark.django_db
def test_logins_are_throttled_after_the_failure_limit(client, settings):
    # given a staff account and an address that has not failed before
    username, address = f"staff-{uuid.uuid4().hex[:8]}", "203.0.113.7"
    make_staff(username)  # password "pw"

    def log_in(password: str) -> int:
        return client.post("/admin/login/?next=/admin/", {"username": username, "password": password},
                           REMOTE_ADDR=address).status_code

    try:
        # when the limit of wrong passwords is used up
        wrong = [log_in("wrong") for _ in range(settings.AXES_FAILURE_LIMIT)]
        # then even the right password is refused, and no session is made
        assert wrong[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form again, with its error
        assert log_in("pw") == 429
        assert "_auth_user_id" not in client.session
    finally:
        reset(ip=address)
        reset(username=username)
    # and once reset (the cool-off), the right password works
    assert log_in("pw") == 302
