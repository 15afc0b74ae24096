"""Session recommendations: an anonymous visitor's (or a customer's) current session ranks the answer, from
the moment ingestEvents returns; unknown sessions get the cold answer, bad parameters a typed error."""

import time
from datetime import timedelta

import numpy as np
import pytest
import scipy.sparse as sp
from django.utils import timezone

from jobs.models import JobStatus
from recommender import engine
from tests.behavior.conftest import INGEST
from tests.conftest import GraphQLClient, make_staff

from .conftest import train

SESSION = """
query($session: String, $who: String, $minutes: Int! = 30, $exclude: Boolean! = true) {
  recommendations(sessionId: $session, customerExternalId: $who, first: 10, sessionMinutes: $minutes,
                  excludePurchased: $exclude) {
    strategy items { product { sku } }
  }
}"""


@pytest.fixture
def trained(shop):
    assert train().status == JobStatus.SUCCEEDED
    return shop


@pytest.fixture
def ingester(client, db):
    return GraphQLClient(client, make_staff("ingester", perms=("behavior.add_event",)))


def _views(products, session: str, at, kind: str = "VIEW") -> list[dict]:
    return [{"productSku": p.sku, "kind": kind, "occurredAt": (at + timedelta(seconds=i)).isoformat(),
             "sessionId": session, **({"unitPrice": str(p.price)} if kind == "PURCHASE" else {})}
            for i, p in enumerate(products)]


def _pks(shop, items) -> list[int]:
    by_sku = {p.sku: p.pk for p in shop.products}
    return [by_sku[i["product"]["sku"]] for i in items]


def _share_in_top(shop, items, top: int) -> float:
    return float(np.mean([shop.product_top[pk] == top for pk in _pks(shop, items)])) if items else 0.0


def test_an_anonymous_session_is_answered_from_its_events_as_soon_as_they_are_stored(trained, ingester, gql):
    shop = trained
    # given the popular answer, which is spread over the categories
    cold = gql(SESSION, {"session": "visit-1"})["data"]["recommendations"]
    assert cold["strategy"] == "POPULAR"
    for top in (1, 3):
        # when an anonymous visitor views three products of one top category (events stored by ingestEvents)
        viewed = [p for p in shop.products if shop.product_top[p.pk] == top][5:8]
        now = timezone.now()
        stored = ingester(INGEST, {"events": _views(viewed, f"visit-{top}", now)})["data"]["ingestEvents"]
        started = time.monotonic()
        assert stored["accepted"] == 3
        # then the very next request (well within a second) answers from the session, in that category
        answer = gql(SESSION, {"session": f"visit-{top}"})["data"]["recommendations"]
        assert time.monotonic() - started < 1.0
        assert answer["strategy"] == "SESSION"
        assert _share_in_top(shop, answer["items"], top) >= 0.8, (top, answer)


def test_a_known_customer_in_a_session_is_answered_from_it_and_never_offered_what_they_bought(trained, ingester,
                                                                                                gql):
    shop = trained
    customer = shop.customers[0]  # their favourite category is top 0
    other = [p for p in shop.products if shop.product_top[p.pk] == 2][:3]
    now = timezone.now()
    ingester(INGEST, {"events": [dict(e, customerExternalId=customer.external_id)
                                 for e in _views(other, "cust-visit", now)]})
    answer = gql(SESSION, {"session": "cust-visit", "who": customer.external_id})["data"]["recommendations"]
    assert answer["strategy"] == "SESSION"
    assert _share_in_top(shop, answer["items"], 2) >= 0.5  # the session leads; their own taste still counts
    bought = set(customer.events.filter(kind="purchase").values_list("product_id", flat=True))
    assert not set(_pks(shop, answer["items"])) & bought


def test_old_session_events_fall_out_of_the_window(trained, ingester, gql):
    shop = trained
    viewed = [p for p in shop.products if shop.product_top[p.pk] == 1][:3]
    # given a session whose views are two hours older than the shop's latest event
    ingester(INGEST, {"events": _views(viewed, "old-visit", timezone.now() - timedelta(hours=2))
                      + _views(shop.products[:1], "other", timezone.now())})
    assert gql(SESSION, {"session": "old-visit", "minutes": 30})["data"]["recommendations"]["strategy"] == "POPULAR"
    assert gql(SESSION, {"session": "old-visit", "minutes": 180})["data"]["recommendations"]["strategy"] == "SESSION"


def test_unknown_sessions_and_customers_get_the_cold_answer_and_bad_minutes_a_typed_error(trained, gql):
    for variables in ({"session": "never-seen"}, {"session": ""}, {"session": "x" * 500},
                      {"session": "never-seen", "who": "no-such-customer"}):
        assert gql(SESSION, variables)["data"]["recommendations"]["strategy"] == "POPULAR", variables
    for minutes in (0, -5, 24 * 60 + 1):
        body = gql(SESSION, {"session": "s", "minutes": minutes}, expect_errors=True)
        assert body["errors"][0]["extensions"]["code"] == "SESSION_MINUTES_OUT_OF_RANGE", body


def test_session_scores_follow_the_item_to_item_weights_and_the_embeddings():
    # given four items: 0 and 1 point the same way, 2 and 3 another; weights say 0 goes with 3
    unit = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    weights = sp.csr_matrix(np.array([[0, 0, 0, 2.0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    empty = sp.csr_matrix((4, 4), dtype=np.float32)
    # when the session viewed item 0
    by_embedding = engine.session_scores(empty, unit, np.array([0]), np.array([1.0]))
    both = engine.session_scores(weights, unit, np.array([0]), np.array([1.0]))
    # then embeddings alone rank 0 and 1 first; with the weights, 3 comes up next to them
    assert list(np.argsort(-by_embedding, kind="stable")[:2]) == [0, 1]
    assert both[3] > both[2] and both[3] > by_embedding[3]
    # and a later event outweighs an older one of the same kind
    assert list(engine.session_event_weights(["view", "view", "return"], np.array([0.0, 15.0, 0.0]), 30)) == [
        0.4, 0.2, 0.0]
