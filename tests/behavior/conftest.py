"""Builders for ingestion tests."""

import pytest

from tests import factories
from tests.conftest import GraphQLClient, make_staff

INGEST = """
mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { accepted duplicates rejected errors { index field code message } }
}
"""


@pytest.fixture
def shop(db):
    """Two products; no customers yet."""
    return {"mug": factories.product("MUG-1", price="8.50"), "tea": factories.product("TEA-1", price="3.20")}


@pytest.fixture
def ingester(client, db):
    return GraphQLClient(client, make_staff("ingester", perms=("behavior.add_event",)))
