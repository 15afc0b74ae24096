"""API keys: a visible prefix and a secret shown once, stored hashed; Bearer auth; scopes; last use;
per-key rate limit; created and revoked by the admin and by manage.py api_key."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from access.hashing import hasher
from access.models import ApiKey
from access.services import api_key_create, api_key_revoke, bearer_user
from access.error_codes import AccessError
from catalog.models import Category
from tests.conftest import GraphQLClient, make_api_key, make_staff

pytestmark = pytest.mark.django_db

UPSERT = 'mutation { upsertCategories(categories: [{slug: "mugs", name: "Mugs"}]) { created updated errors { code } } }'
KEY_TEXT = re.compile(r"^shop_([a-z0-9]{10})\.([A-Za-z0-9_-]{43})$")


def _post(client, query: str, key: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post("/graphql/", {"query": query}, content_type="application/json", **headers)


def test_a_key_has_a_visible_prefix_and_a_secret_that_is_stored_only_hashed():
    # when a key is created
    key, full = api_key_create(name="storefront", scopes=["events:write", "catalog:write"])
    # then its text is shop_<prefix>.<secret>, the prefix is stored as is and the secret only as a salted hash
    prefix, secret = KEY_TEXT.match(full).groups()
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.prefix == prefix and stored.scopes == ["catalog:write", "events:write"]
    assert secret not in stored.secret_hash and stored.secret_hash.startswith("apikey_sha256$")
    assert hasher.verify(secret, stored.secret_hash) and not hasher.verify(secret + "x", stored.secret_hash)
    # and two keys never share a salt, so equal secrets would not have equal hashes
    other, _ = api_key_create(name="other", scopes=[])
    assert other.secret_hash.split("$")[1] != stored.secret_hash.split("$")[1]


def test_unknown_scopes_are_refused():
    with pytest.raises(AccessError) as refused:
        api_key_create(name="x", scopes=["events:write", "everything"])
    assert refused.value.code.value == "INVALID_SCOPE"


def test_a_key_with_the_scope_may_call_the_mutation_and_its_use_is_recorded(client):
    key = make_api_key("catalog:write")
    assert ApiKey.objects.get().last_used_at is None
    body = _post(client, UPSERT, key).json()
    assert body == {"data": {"upsertCategories": {"created": 1, "updated": 0, "errors": []}}}
    assert Category.objects.filter(slug="mugs").exists()
    assert ApiKey.objects.get().last_used_at is not None


def test_a_key_without_the_scope_is_refused_like_staff_without_the_permission(client):
    key = make_api_key("events:write")
    body = _post(client, UPSERT, key).json()
    assert body["data"] is None and body["errors"][0]["message"] == "You don't have permission to access this app."
    assert not Category.objects.exists()


@pytest.mark.parametrize("header", ["Bearer shop_nosuchkey0.abc", "Bearer ", "Basic dXNlcjpwdw==", "Bearer ct_forged:x:y",
                                    "Bearer garbage"])
def test_a_header_that_names_no_credential_is_refused_with_401(client, header):
    response = client.post("/graphql/", {"query": "{ categories { id } }"}, content_type="application/json",
                           HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="graphql"'
    assert response.json()["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}


def test_a_wrong_secret_for_a_real_prefix_is_refused(client):
    key = make_api_key("catalog:write")
    assert _post(client, UPSERT, key[:-1] + ("A" if key[-1] != "A" else "B")).status_code == 401


def test_a_revoked_key_is_refused(client):
    key = make_api_key("catalog:write")
    api_key_revoke(prefix=key.split(".")[0])
    response = _post(client, UPSERT, key)
    assert response.status_code == 401 and response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_key_over_its_rate_limit_gets_rate_limited_with_retry_after(client):
    # given a key allowed 3 requests a minute
    key = make_api_key("catalog:write", rate_limit=3)
    # when it sends 4
    statuses = [_post(client, "{ categories { id } }", key) for _ in range(4)]
    # then the first 3 are answered and the 4th is refused with a typed error and Retry-After
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.json()["errors"][0]["extensions"] == {"code": "RATE_LIMITED"}
    assert 1 <= int(refused["Retry-After"]) <= 60
    # and another key is not held back by it
    assert _post(client, "{ categories { id } }", make_api_key(rate_limit=3)).status_code == 200


@override_settings(API_KEY_RATE_LIMIT=2)
def test_the_setting_is_the_limit_of_keys_without_their_own():
    key = make_api_key()
    bearer_user(f"Bearer {key}")
    bearer_user(f"Bearer {key}")
    with pytest.raises(AccessError) as refused:
        bearer_user(f"Bearer {key}")
    assert refused.value.code.value == "RATE_LIMITED"


def test_a_bearer_request_with_a_session_cookie_acts_as_the_key_and_needs_no_csrf_token(client):
    # given staff logged in (a session cookie) and a key without catalog:write
    client.force_login(make_staff("editor", perms=("catalog.add_category", "catalog.change_category")))
    client.handler.enforce_csrf_checks = True
    key = make_api_key("events:write")
    # when both are sent, the key decides (the session is not used, so no CSRF token is needed)
    body = _post(client, UPSERT, key).json()
    assert body["errors"][0]["message"] == "You don't have permission to access this app."


def test_manage_py_api_key_creates_lists_and_revokes():
    out, err = io.StringIO(), io.StringIO()
    call_command("api_key", "create", "warehouse", "--scope", "events:write", "--scope", "jobs:run",
                 "--rate-limit", "50", stdout=out, stderr=err)
    full = out.getvalue().strip()
    prefix = KEY_TEXT.match(full).group(1)
    key = ApiKey.objects.get(prefix=prefix)
    assert key.scopes == ["events:write", "jobs:run"] and key.rate_limit_per_minute == 50
    assert "shown this once" in err.getvalue()

    listed = io.StringIO()
    call_command("api_key", "list", stdout=listed)
    assert listed.getvalue().startswith(f"{prefix}\twarehouse\tevents:write,jobs:run\tlast used never\tactive")

    call_command("api_key", "revoke", full, stdout=io.StringIO())
    assert ApiKey.objects.get(prefix=prefix).revoked_at is not None
    with pytest.raises(CommandError, match="NOT_FOUND"):
        call_command("api_key", "revoke", "nosuchkey", stdout=io.StringIO())


def test_the_admin_creates_a_key_shows_its_secret_once_and_revokes_it(client):
    admin = make_staff("root")
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    response = client.post("/admin/access/apikey/add/", {"name": "crm", "scopes": ["analytics:read"],
                                                         "rate_limit_per_minute": ""}, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    full = re.search(r"shop_[a-z0-9]{10}\.[A-Za-z0-9_-]{43}", " ".join(shown)).group(0)
    key = ApiKey.objects.get()
    assert key.name == "crm" and key.scopes == ["analytics:read"] and key.created_by == admin
    assert bearer_user(f"Bearer {full}").scopes == frozenset({"analytics:read"})
    # the change page shows the prefix and a summary of the hash, never the secret
    page = client.get(f"/admin/access/apikey/{key.pk}/change/").content.decode()
    assert key.prefix in page and full.split(".")[1] not in page

    client.post("/admin/access/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert ApiKey.objects.get().revoked_at is not None


def test_a_key_is_let_through_when_redis_does_not_answer(client, settings, caplog):
    # given a Redis URL where nothing listens (the counter cannot be kept)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    key = make_api_key("catalog:write", rate_limit=1)
    # when the key sends more than its limit, then every request is answered and the failure logged
    assert [_post(client, "{ categories { id } }", key).status_code for _ in range(3)] == [200, 200, 200]
    assert "rate limit not counted (Redis unavailable)" in caplog.text
