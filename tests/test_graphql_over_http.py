"""GraphQL over HTTP: application/graphql-response+json as the spec says, and the graphql-http server
audit against a live server (api/http.py)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from api.http import GRAPHQL_RESPONSE_JSON, response_media_type
from tests.conftest import REQUIRE_SERVICES

AUDIT_DIR = Path(__file__).resolve().parent / "http_audit"


def _post(client, query: str, accept: str | None, variables: dict | None = None):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return client.post("/graphql/", {"query": query, "variables": variables}, content_type="application/json",
                       **headers)


@pytest.mark.parametrize(("accept", "media"), [
    (None, "application/json"),
    ("", "application/json"),
    ("*/*", "application/json"),
    ("application/json", "application/json"),
    (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
    (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
    (f"application/json, {GRAPHQL_RESPONSE_JSON};q=0.5", "application/json"),
    (f"{GRAPHQL_RESPONSE_JSON};q=0, application/json", "application/json"),
    ("text/plain", None),
])
def test_the_answer_type_follows_the_accept_header(accept, media):
    assert response_media_type(accept or "") == media


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "variables", "code"), [
    ("{ products(", None, "GRAPHQL_PARSE_FAILED"),
    ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query($n: Int!) { products(first: $n) { totalCount } }", {"n": "ten"}, "BAD_REQUEST"),
])
def test_a_request_error_is_400_without_data_for_graphql_response_json(client, query, variables, code):
    response = _post(client, query, GRAPHQL_RESPONSE_JSON, variables)
    assert response.status_code == 400
    assert response["Content-Type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
    body = response.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == code


@pytest.mark.django_db
@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_a_request_error_stays_200_with_null_data_for_json(client, accept):
    response = _post(client, "{ noSuchField }", accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json()["data"] is None


@pytest.mark.django_db
def test_an_answer_is_200_with_data_for_graphql_response_json(client):
    response = _post(client, "{ __typename }", GRAPHQL_RESPONSE_JSON)
    assert (response.status_code, response.json()) == (200, {"data": {"__typename": "Query"}})
    assert response["Content-Type"] == f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"


@pytest.mark.django_db
def test_an_accept_that_allows_no_json_is_406(client):
    assert _post(client, "{ __typename }", "text/plain").status_code == 406


@pytest.mark.django_db
@pytest.mark.parametrize(("accept", "status"), [("application/json", 200), (GRAPHQL_RESPONSE_JSON, 400)])
def test_oversized_variables_are_refused_before_decoding(client, settings, accept, status):
    settings.GRAPHQL_MAX_VARIABLE_VALUES = 100
    response = _post(client, "query($o: [ProductOrder!]!) { products(ordering: $o) { totalCount } }", accept,
                     {"o": [{"sku": "ASC"}] * 101})
    assert response.status_code == status
    assert response.json()["errors"] == [{"message": "The variables hold more than 100 values.",
                                          "extensions": {"code": "TOO_MANY_VARIABLE_VALUES"}}]


def _audit_unavailable() -> str | None:
    if shutil.which("node") is None:
        return "Node is not installed"
    if not (AUDIT_DIR / "node_modules" / "graphql-http").is_dir():
        return "the audit is not installed (npm ci --prefix tests/http_audit; scripts/setup does it)"
    return None


@pytest.mark.django_db(transaction=True)
def test_the_graphql_http_server_audit_passes_against_a_live_server(live_server, settings):
    # The audit's variables checks query `__type(name: $name)`: introspection on, the rest as in production.
    settings.GRAPHQL_INTROSPECTION = True
    reason = _audit_unavailable()
    if reason:
        if REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES is set but {reason}")
        pytest.skip(reason)
    run = subprocess.run(["node", str(AUDIT_DIR / "audit.mjs"), f"{live_server.url}/graphql/"],
                         capture_output=True, text=True, timeout=120)
    print(run.stdout)
    assert run.stdout.strip().splitlines()[-1].endswith("ok, 0 warnings, 0 errors"), run.stdout + run.stderr
    assert run.returncode == 0
