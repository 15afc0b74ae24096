"""The PostgreSQL statement that stores events: the same answers whether the foreign keys are checked by
their per-row triggers or by the statement itself (behavior.bulk.SET_BASED_REFERENCE_CHECKS), and what
happens when another transaction deletes a product or creates a customer while a batch is being stored."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.db import IntegrityError, connection

import analytics.services
from behavior import bulk
from behavior.models import Customer, Event
from behavior.services import events_import_csv, events_ingest
from tests import factories

from .test_import import EVENTS_CSV
from .test_ingest import BAD, GOOD, _batch

pytestmark = pytest.mark.requires_postgres


@pytest.fixture(params=[True, False], ids=["set-based", "triggers"])
def reference_checks(request, monkeypatch):
    """Runs the test with the statement's own reference check (when the role may use it) and without."""
    monkeypatch.setattr(bulk, "SET_BASED_REFERENCE_CHECKS", request.param)
    used = []
    real = bulk._reference_triggers_off

    def spy(cur):
        used.append(real(cur))
        return used[-1]

    monkeypatch.setattr(bulk, "_reference_triggers_off", spy)
    return {"set_based": request.param, "used": used}


def _snake(item: dict) -> dict:
    names = {"eventId": "event_id", "customerExternalId": "customer_external_id", "productSku": "product_sku",
             "occurredAt": "occurred_at", "unitPrice": "unit_price", "orderRef": "order_ref", "sessionId": "session_id"}
    return {names.get(k, k): (v.lower() if k == "kind" else v) for k, v in item.items()}


def _stored() -> list[tuple]:
    return sorted(Event.objects.values_list("event_id", "customer__external_id", "product__sku", "kind",
                                            "occurred_at", "quantity", "unit_price", "rating", "order_ref",
                                            "session_id"), key=lambda row: (row[2], row[3]))


@pytest.mark.django_db
def test_a_mixed_batch_gives_the_same_answer_either_way(shop, reference_checks):
    batch, expected = _batch()
    outcome = events_ingest(events=[_snake(item) for item in batch])
    assert reference_checks["used"] == [reference_checks["set_based"]]  # root may set the role here
    assert (outcome.stored, outcome.duplicates, outcome.rejected_total) == (3, 0, len(BAD))
    assert outcome.customers_created == 1
    assert [(e.index, e.field, e.code) for e in outcome.errors] == expected
    assert [row[1:4] for row in _stored()] == [("alice", "MUG-1", "purchase"), (None, "TEA-1", "review"),
                                               ("alice", "TEA-1", "view")]
    again = events_ingest(events=[_snake(item) for item in batch])
    assert (again.stored, again.duplicates, again.rejected_total) == (0, len(GOOD), len(BAD))


@pytest.mark.django_db
def test_a_file_gives_the_same_report_either_way(shop, tmp_path, reference_checks):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS_CSV)
    report = events_import_csv(path=path)
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_duplicate) == (7, 3, 3, 1)
    assert report.notes == {"customers_created": 2}
    assert Event.objects.count() == 3


@pytest.mark.django_db
def test_the_statement_checks_references_itself_only_when_the_role_may_and_no_trigger_would_be_skipped(shop):
    def role_now(cur):
        cur.execute("SELECT current_setting('session_replication_role')")
        return cur.fetchone()[0]

    with connection.cursor() as cur:
        assert bulk._reference_triggers_off(cur) is True  # the test role is a superuser
        assert role_now(cur) == "replica"
        bulk._reference_triggers_on(cur)
        assert role_now(cur) == "origin"
        cur.execute("CREATE FUNCTION ingest_test_noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'")
        cur.execute("CREATE TRIGGER audit AFTER INSERT ON behavior_event FOR EACH ROW "
                    "EXECUTE FUNCTION ingest_test_noop()")
        assert bulk._reference_triggers_off(cur) is False  # replica mode would skip it
        cur.execute("DROP TRIGGER audit ON behavior_event")
        cur.execute("CREATE ROLE ingest_plain NOSUPERUSER")
        cur.execute("SET LOCAL ROLE ingest_plain")
        assert bulk._reference_triggers_off(cur) is False
        cur.execute("RESET ROLE")
        assert role_now(cur) == "origin"
    # and with the triggers, a batch still goes through
    event = {"product_sku": "MUG-1", "kind": "view", "occurred_at": "2024-05-01T10:00:00Z"}
    assert events_ingest(events=[event]).stored == 1


# --- another transaction at the same time ------------------------------------------------------------


def _other_connection() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(dbname=settings["NAME"], user=settings["USER"], password=settings["PASSWORD"] or None,
                           host=settings["HOST"] or None, port=settings["PORT"] or None)


def _commit_once_this_backend_waits(other: psycopg.Connection, waiter_pid: int) -> threading.Thread:
    """Commits ``other`` as soon as the backend ``waiter_pid`` waits for a lock (it has started storing)."""

    def run():
        with _other_connection() as watcher:
            watcher.autocommit = True
            for _ in range(200):
                waiting = watcher.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
                                          [waiter_pid]).fetchone()
                if waiting and waiting[0]:
                    break
                time.sleep(0.05)
        other.commit()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _backend_pid() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_product_deleted_while_its_events_are_stored_fails_the_batch(reference_checks, monkeypatch):
    # given: two products, and another transaction that has deleted one of them but not committed yet (the
    # rollup refresh is left out: its own foreign keys would catch the deleted product too)
    monkeypatch.setattr(analytics.services, "rollups_refresh_later", lambda **window: None)
    factories.product("MUG-1")
    factories.product("TEA-1")
    other = _other_connection()
    other.execute("DELETE FROM catalog_product WHERE sku = 'MUG-1'")
    thread = _commit_once_this_backend_waits(other, _backend_pid())
    # when: a batch naming both is stored, and the delete commits meanwhile
    events = [{"product_sku": sku, "kind": "view", "occurred_at": "2024-05-01T10:00:00Z", "customer_external_id": "c1"}
              for sku in ("MUG-1", "TEA-1")]
    try:
        with pytest.raises(IntegrityError):
            events_ingest(events=events)
    finally:
        thread.join()
        other.close()
    # then: like a foreign-key violation, nothing of the batch is kept
    assert Event.objects.count() == 0 and not Customer.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_customer_created_by_another_transaction_meanwhile_is_the_one_its_events_get(reference_checks):
    # given: another transaction has created customer zed but not committed yet
    factories.product("MUG-1")
    other = _other_connection()
    other.execute("INSERT INTO behavior_customer (external_id, country, attributes, created_at) "
                  "VALUES ('zed', 'France', '{}', now())")
    thread = _commit_once_this_backend_waits(other, _backend_pid())
    # when: an event of zed is stored (it waits for the other transaction, which then commits)
    try:
        outcome = events_ingest(events=[{"product_sku": "MUG-1", "kind": "view", "customer_external_id": "zed",
                                         "occurred_at": "2024-05-01T10:00:00Z"}])
    finally:
        thread.join()
        other.close()
    # then: the event is stored with that customer, who was not created by this batch
    assert (outcome.stored, outcome.customers_created) == (1, 0)
    zed = Customer.objects.get()
    assert (zed.external_id, zed.country) == ("zed", "France")
    assert Event.objects.get().customer_id == zed.pk
