"""behavior announces stored events through behavior.hooks, and analytics is subscribed to it."""

from datetime import datetime, timezone

import pytest

from analytics.services import rollups_refresh_on_events_stored
from behavior.hooks import events_stored_callbacks, off_events_stored, on_events_stored
from behavior.services import events_import_csv, events_ingest
from tests import factories


@pytest.fixture
def announced():
    notices = []
    on_events_stored(notices.append)
    yield notices
    off_events_stored(notices.append)


def test_analytics_is_subscribed_once_when_the_apps_are_ready():
    assert events_stored_callbacks().count(rollups_refresh_on_events_stored) == 1


def test_subscribing_twice_calls_the_callback_once(announced):
    # given: the same callback subscribed a second time (an app's ready() may run again)
    on_events_stored(announced.append)
    # then: it is listed once
    assert events_stored_callbacks().count(announced.append) == 1


@pytest.mark.django_db
def test_a_graphql_batch_announces_its_span_and_products_once_as_a_request(announced):
    # given: two products
    mug, tea = factories.product("MUG-1"), factories.product("TEA-1")
    # when: a batch with one event each (and one rejected) is stored
    events_ingest(events=[
        {"product_sku": "MUG-1", "kind": "view", "occurred_at": "2024-05-01T10:00:00Z"},
        {"product_sku": "TEA-1", "kind": "view", "occurred_at": "2024-05-03T08:30:00Z"},
        {"product_sku": "NOPE", "kind": "view", "occurred_at": "2024-05-09T10:00:00Z"},
    ])
    # then: one notice, spanning the stored events only, marked as a request
    assert len(announced) == 1
    notice = announced[0]
    assert (notice.start, notice.end) == (datetime(2024, 5, 1, 10, tzinfo=timezone.utc),
                                          datetime(2024, 5, 3, 8, 30, tzinfo=timezone.utc))
    assert notice.product_ids == {mug.pk, tea.pk}
    assert notice.from_request is True


@pytest.mark.django_db
def test_a_batch_that_stores_nothing_announces_nothing(announced):
    # when: every event of the batch is rejected
    events_ingest(events=[{"product_sku": "NOPE", "kind": "view", "occurred_at": "2024-05-01T10:00:00Z"}])
    # then: no notice
    assert announced == []


@pytest.mark.django_db
def test_a_file_import_announces_once_and_not_as_a_request(announced, tmp_path):
    # given: a file with two events of one product
    product = factories.product("MUG-1")
    path = tmp_path / "events.csv"
    path.write_text("product_sku,kind,occurred_at\nMUG-1,view,2024-05-01T10:00:00Z\nMUG-1,view,2024-05-02T10:00:00Z\n")
    # when: it is imported
    events_import_csv(path=path)
    # then: one notice, for the import (refreshed before the import returns)
    assert [(n.product_ids, n.from_request) for n in announced] == [({product.pk}, False)]
