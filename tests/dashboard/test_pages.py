"""The dashboard's pages and GraphiQL's page without a browser: access, the page's settings, local assets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from strawberry.http.ides import get_graphql_ide_html

from api.graphiql import cdn_assets, graphiql_html
from tests.conftest import make_staff

ROOT = Path(settings.BASE_DIR)


def test_graphiql_page_loads_nothing_from_outside(client, settings):
    settings.GRAPHQL_IDE = True  # development's default (off in production: docs/hardening.md)
    page = client.get("/graphql/", HTTP_ACCEPT="text/html").content.decode()
    assert "Loading..." in page  # strawberry's page: React replaces it
    assert "unpkg.com" not in page and "https://" not in page
    assert re.findall(r'(?:src|href)="(/static/[^"]+)"', page) == [
        "/static/vendor/react/umd/react.production.min.js", "/static/vendor/react-dom/umd/react-dom.production.min.js",
        "/static/vendor/js-cookie/dist/js.cookie.min.js", "/static/vendor/graphiql/graphiql.min.css",
        "/static/vendor/%40graphiql/plugin-explorer/dist/style.css", "/static/vendor/graphiql/graphiql.min.js",
        "/static/vendor/%40graphiql/plugin-explorer/dist/index.umd.js"]


def test_npm_pins_the_versions_strawberrys_page_names_and_vendors_each_file():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    vendored = (ROOT / "scripts" / "vendor_static").read_text()
    assets = cdn_assets(get_graphql_ide_html("graphiql"))
    assert len(assets) == 7
    for package, version, file in assets:
        assert pinned[package] == version
        assert locked[f"node_modules/{package}"]["version"] == version
        assert f"  {package}/{file}\n" in vendored
    assert graphiql_html().count("/static/vendor/") == 7


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_admin_login(client):
    response = client.get("/dashboard/segments/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/dashboard/segments/"


@pytest.mark.django_db
def test_non_staff_users_are_sent_to_the_admin_login(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("shopper", password="pw"))
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/dashboard/", "/dashboard/segments/", "/dashboard/models/"])
def test_staff_get_the_page_with_their_permissions_and_the_shop_settings(client, path):
    client.force_login(make_staff("viewer", perms=("behavior.view_event",)))
    response = client.get(path)
    assert response.status_code == 200
    assert "csrftoken" in response.cookies
    config = response.context["config"]
    assert config["permissions"]["sales"] is True
    assert config["permissions"]["models"] is False and config["permissions"]["segments"] is False
    assert config["currency"] == settings.SHOP_CURRENCY and config["timeZone"] == settings.SHOP_TIME_ZONE
    assert config["graphqlUrl"] == "/graphql/"
    assert 'id="dashboard-config"' in response.content.decode()
    assert "https://" not in response.content.decode()


@pytest.mark.django_db
def test_the_default_period_is_the_90_days_up_to_the_last_purchase(client):
    from datetime import date

    from tests import factories

    product = factories.product()
    factories.event(customer=factories.customer(), product=product, occurred_at="2024-03-31T12:00:00+00:00")
    client.force_login(make_staff())
    config = client.get("/dashboard/").context["config"]
    assert (config["defaultFrom"], config["defaultTo"]) == ("2024-01-02", "2024-03-31")
    assert (date.fromisoformat(config["defaultTo"]) - date.fromisoformat(config["defaultFrom"])).days == 89
