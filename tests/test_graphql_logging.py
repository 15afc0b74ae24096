"""Failed requests are logged with the operation's name and the error's code only (api/logs.py)."""

from __future__ import annotations

import logging
from unittest import mock

import pytest

EMAIL = "bob@example.com"


def _everything_logged(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


@pytest.mark.django_db
def test_a_client_error_is_logged_without_variables_or_query_text(gql, caplog):
    caplog.set_level(logging.INFO)
    # given an email sent where a product id belongs
    body = gql("query FindJob($id: ID!) { product(id: $id) { sku } }", {"id": EMAIL}, expect_errors=True)
    # then the client reads a coded refusal, and the log has the operation and the code, not the email
    assert body["errors"][0]["extensions"]["code"] == "FIELD_ERROR"
    lines = [r.getMessage() for r in caplog.records if r.name == "api.graphql"]
    assert lines == ["graphql client error: operation=FindJob code=FIELD_ERROR path=product"]
    assert EMAIL not in _everything_logged(caplog)


@pytest.mark.django_db
def test_a_validation_error_is_logged_without_the_literal_it_quotes(gql, caplog):
    caplog.set_level(logging.INFO)
    gql('{ customer(externalId: "%s") { noSuchField } }' % EMAIL, expect_errors=True)
    assert "code=GRAPHQL_VALIDATION_FAILED" in _everything_logged(caplog)
    assert EMAIL not in _everything_logged(caplog)


@pytest.mark.django_db
def test_a_server_error_is_logged_with_its_type_and_frames_not_its_text(gql, caplog):
    with mock.patch("catalog.schema.Category.objects.all", side_effect=RuntimeError(f"row of {EMAIL}")):
        body = gql("query Tree { categories { name } }", expect_errors=True)
    assert body["errors"][0]["message"] == "Unexpected error."
    [record] = [r for r in caplog.records if r.name == "api.graphql"]
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert text.startswith("graphql server error: operation=Tree path=categories exception=RuntimeError")
    assert "RuntimeError (message withheld)" in text and 'File "' in text
    assert EMAIL not in _everything_logged(caplog)
