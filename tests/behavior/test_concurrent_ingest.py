"""Concurrent clients sending overlapping batches (issue 16): no deadlock reaches a client, and every event
is stored exactly once. Real PostgreSQL, real threads, each with its own connection; a real deadlock is
provoked to show the service retrying it and, when retries are exhausted, answering RETRY_LATER."""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest
from django.db import connection, connections

from batching import retry
from behavior.models import Customer, Event
from behavior.services import customers_upsert, events_ingest
from catalog.models import Product
from catalog.services import products_upsert
from tests import factories
from tests.behavior.conftest import INGEST
from tests.conftest import GraphQLClient, make_staff

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 8


def _event(i: int) -> dict:
    return {"event_id": f"ev-{i:05d}", "customer_external_id": f"cust-{i % 400:04d}",
            "product_sku": f"SKU-{i % 40:02d}", "kind": "purchase" if i % 3 == 0 else "view",
            "occurred_at": f"2024-05-{1 + i % 28:02d}T10:00:00Z", "unit_price": "2.50"}


def _run_clients(work) -> list[BaseException]:
    """Runs ``work(client_number)`` in CLIENTS threads released together; returns what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        try:
            start.wait()
            work(n)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def test_overlapping_and_reversed_batches_store_every_event_once():
    for i in range(40):
        factories.product(f"SKU-{i:02d}")
    events = [_event(i) for i in range(4000)]

    def work(n: int) -> None:
        rng = random.Random(n)
        for call in range(5):
            batch = rng.sample(events, 800)
            if (n + call) % 2:
                batch.reverse()
            events_ingest(events=batch)
        events_ingest(events=list(reversed(events[:1000])) if n % 2 else events[:1000])

    assert _run_clients(work) == []
    sent = {e["event_id"] for e in events}
    stored = list(Event.objects.values_list("event_id", flat=True))
    assert len(stored) == len(set(stored))
    assert set(stored) <= sent and {e["event_id"] for e in events[:1000]} <= set(stored)
    assert Customer.objects.count() == len({e["customer_external_id"] for e in events
                                            if e["event_id"] in set(stored)})


def test_concurrent_upserts_of_the_same_customers_and_products_all_succeed():
    keys = [f"k-{i:04d}" for i in range(600)]

    def work(n: int) -> None:
        rng = random.Random(n)
        for _ in range(4):
            chosen = rng.sample(keys, 300)
            if n % 2:
                chosen.reverse()
            out = customers_upsert(customers=[{"external_id": k, "country": f"C{n}"} for k in chosen])
            assert not out.errors and out.created + out.updated == 300
            out = products_upsert(products=[{"sku": k, "name": k, "price": "1.00"} for k in chosen])
            assert not out.errors and out.created + out.updated == 300

    assert _run_clients(work) == []
    assert Customer.objects.count() == Product.objects.filter(sku__startswith="k-").count()


# --- a real deadlock -------------------------------------------------------------------------------


def _waiting_backends(conn) -> int:
    conn.execute("SELECT pg_stat_clear_snapshot()")  # a transaction otherwise sees one snapshot of the stats
    return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()").fetchone()[0]


def _deadlock_against(send) -> dict:
    """Runs ``send()`` (which stores events e-A then e-B, in key order) while another transaction holds
    e-B and then asks for e-A: a real deadlock, which PostgreSQL breaks by failing ``send`` (the other
    side waits 20 s before it would look for deadlocks)."""
    product = factories.product("SKU-D")
    info = connection.settings_dict
    other = psycopg.connect(dbname=info["NAME"], user=info["USER"] or None, host=info["HOST"] or None,
                            port=info["PORT"] or None)
    result: dict = {}
    try:
        other.execute("SET deadlock_timeout = '20s'")
        insert = ("INSERT INTO behavior_event (event_id, product_id, kind, occurred_at, quantity, order_ref, "
                  "session_id) VALUES (%s, %s, 'view', now() - interval '1 day', 1, '', '')")
        other.execute(insert, ("e-B", product.id))
        thread = threading.Thread(target=lambda: result.update(answer=send()) or connections.close_all())
        thread.start()
        deadline = time.monotonic() + 10
        while _waiting_backends(other) == 0:  # send() has stored e-A and waits for e-B
            assert time.monotonic() < deadline, "the request never waited for e-B"
            time.sleep(0.02)
        other.execute(insert, ("e-A", product.id))  # waits for send(): a cycle, which send() gives up
        other.commit()
        thread.join(30)
    finally:
        other.close()
    return result


EVENTS = [{"eventId": f"e-{k}", "productSku": "SKU-D", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z"}
          for k in ("B", "A")]


def test_a_deadlock_is_retried_inside_the_service(client):
    gql = GraphQLClient(client, make_staff("ingester", perms=("behavior.add_event",)))
    answer = _deadlock_against(lambda: gql(INGEST, {"events": EVENTS}, expect_errors=True))["answer"]
    assert "errors" not in answer, answer
    assert answer["data"]["ingestEvents"]["duplicates"] == 2  # the other side stored both meanwhile
    assert Event.objects.filter(event_id__in=["e-A", "e-B"]).count() == 2


def test_a_deadlock_that_outlasts_the_retries_answers_retry_later(client, monkeypatch):
    monkeypatch.setattr(retry, "DB_CONFLICT_RETRIES", 1)
    gql = GraphQLClient(client, make_staff("ingester", perms=("behavior.add_event",)))
    answer = _deadlock_against(lambda: gql(INGEST, {"events": EVENTS}, expect_errors=True))["answer"]
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["RETRY_LATER"]
    assert "nothing was changed" in answer["errors"][0]["message"]
