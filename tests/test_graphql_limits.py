"""One request cannot ask for unbounded work: depth, alias and page-size limits, and no internals leak."""

import pytest


@pytest.mark.django_db
def test_query_deeper_than_the_limit_is_refused(gql, settings):
    nested = "name " + "".join("children { " for _ in range(12)) + "name" + " }" * 12
    body = gql("{ categories { %s } }" % nested, expect_errors=True)
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


@pytest.mark.django_db
def test_query_within_the_depth_limit_runs(gql):
    body = gql("{ categories { children { children { name } } } }")
    assert body["data"] == {"categories": []}


@pytest.mark.django_db
def test_too_many_aliases_are_refused(gql):
    aliases = " ".join(f"a{i}: categories {{ name }}" for i in range(16))
    body = gql("{ %s }" % aliases, expect_errors=True)
    assert body["data"] is None
    assert "aliases found" in body["errors"][0]["message"].lower()


@pytest.mark.django_db
def test_fifteen_aliases_are_allowed(gql):
    aliases = " ".join(f"a{i}: categories {{ name }}" for i in range(15))
    assert len(gql("{ %s }" % aliases)["data"]) == 15
