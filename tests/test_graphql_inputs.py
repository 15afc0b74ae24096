"""ingestEvents' fast GraphQL layer (api/fast/variables.py and arguments.py) gives what strawberry's and
graphql-core's general path gives: the same dicts to the service, the same answers, the same errors for
bad input.

Each case runs through the service schema and through the same types built with GRAPHQL_FAST_PATH off
(strawberry's executor and argument conversion, graphql-core's variable coercion), each in a
transaction rolled back afterwards, so both see the same database. With the switch off (.ci/run's second
run) the service schema is the stock one too; the test of the fast path's own machinery skips.
"""

from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import RequestFactory
from graphql import GraphQLInputField, GraphQLInputObjectType, GraphQLList, GraphQLNonNull, GraphQLString, Undefined
from graphql.utilities import coerce_input_value
from strawberry.django.context import StrawberryDjangoContext

from behavior import schema as behavior_schema
from config import schema as service
from api.build import build_schema
from api.fast.variables import list_variable_coercer
from tests import factories
from tests.conftest import make_staff

INGEST = """
mutation($events: [EventInput!]!) {
  ingestEvents(events: $events) { accepted duplicates rejected errors { index field code message } }
}
"""

FULL = {"eventId": "e1", "customerExternalId": "alice", "productSku": "MUG-1", "kind": "PURCHASE",
        "occurredAt": "2024-05-01T10:15:00Z", "quantity": 2, "unitPrice": "8.50", "rating": None,
        "orderRef": "O1", "sessionId": "s1"}


@pytest.fixture
def stock_schema():
    return build_schema(query=service.Query, mutation=service.Mutation, fast_path=False)


@pytest.fixture
def staff(db):
    factories.product("MUG-1", price="8.50")
    factories.product("TEA-1", price="3.20")
    return make_staff("ingester", perms=("behavior.add_event",))


def _run(schema, variables, user, query=INGEST):
    """The answer and the events handed to the service, with the database rolled back afterwards."""
    request = RequestFactory().post("/graphql/")
    request.user = user or AnonymousUser()
    with mock.patch.object(behavior_schema, "events_ingest", wraps=behavior_schema.events_ingest) as service_call:
        with transaction.atomic():
            result = schema.execute_sync(query, variable_values=variables,
                                         context_value=StrawberryDjangoContext(request=request, response=None))
            transaction.set_rollback(True)
    return result, [call.kwargs["events"] for call in service_call.call_args_list]


def _same(stock_schema, variables, user):
    fast, fast_calls = _run(service.schema, variables, user)
    stock, stock_calls = _run(stock_schema, variables, user)
    assert fast.data == stock.data
    assert [(e.message, e.path) for e in fast.errors or ()] == [(e.message, e.path) for e in stock.errors or ()]
    assert fast_calls == stock_calls
    for fast_items, stock_items in zip(fast_calls, stock_calls, strict=True):  # same types, same key order
        assert [[(k, type(v)) for k, v in item.items()] for item in fast_items] == [
            [(k, type(v)) for k, v in item.items()] for item in stock_items]
    return fast, fast_calls


VALID = [
    pytest.param([FULL], id="every field"),
    pytest.param([{"productSku": "TEA-1", "kind": "VIEW", "occurredAt": "2024-05-01 11:00"}], id="only required"),
    pytest.param([{**FULL, "eventId": None, "customerExternalId": None, "quantity": None, "orderRef": None,
                   "sessionId": None, "unitPrice": None}], id="explicit nulls"),
    pytest.param([{"productSku": "MUG-1", "kind": kind, "occurredAt": "2024-05-02T09:00:00+02:00", "rating": 4,
                   "unitPrice": "1.25"} for kind in ("VIEW", "ADD_TO_CART", "PURCHASE", "REVIEW", "RETURN")],
                 id="every enum value"),
    pytest.param([{**FULL, "unitPrice": 8.5}, {**FULL, "eventId": "e2", "unitPrice": 3},
                  {**FULL, "eventId": "e3", "unitPrice": "0.10"}], id="prices as numbers and strings"),
    pytest.param([{"productSku": "NOPE", "kind": "VIEW", "occurredAt": "2024-05-01T10:00:00Z"},
                  {"productSku": "MUG-1", "kind": "REVIEW", "occurredAt": "2024-05-01T10:00:00Z", "rating": 6},
                  {"productSku": "MUG-1", "kind": "VIEW", "occurredAt": "yesterday", "quantity": 0},
                  {"productSku": " ", "kind": "PURCHASE", "occurredAt": "2024-05-01T10:00:00Z"}],
                 id="rows the service rejects"),
    pytest.param([], id="empty batch"),
    pytest.param([{**FULL, "eventId": f"e{i}", "quantity": i % 5 + 1} for i in range(300)], id="300 events"),
]


@pytest.mark.parametrize("events", VALID)
def test_valid_variables_give_the_same_service_input_and_answer(staff, stock_schema, events):
    result, calls = _same(stock_schema, {"events": events}, staff)
    assert result.errors is None
    assert len(calls) == 1 and len(calls[0]) == len(events)


def test_the_service_gets_plain_values(staff, stock_schema):
    _, calls = _same(stock_schema, {"events": [FULL]}, staff)
    assert calls[0][0] == {"event_id": "e1", "customer_external_id": "alice", "product_sku": "MUG-1",
                           "kind": "purchase", "occurred_at": "2024-05-01T10:15:00Z", "quantity": 2,
                           "unit_price": Decimal("8.50"), "rating": None, "order_ref": "O1", "session_id": "s1"}


INVALID = [
    pytest.param([{**FULL, "quantity": "2"}], id="string for Int"),
    pytest.param([{**FULL, "quantity": 2.5}], id="fraction for Int"),
    pytest.param([{**FULL, "quantity": 2 ** 31}], id="Int out of range"),
    pytest.param([{**FULL, "rating": True}], id="boolean for Int"),
    pytest.param([{**FULL, "kind": "purchase"}], id="enum by value"),
    pytest.param([{**FULL, "kind": "NOPE"}], id="unknown enum value"),
    pytest.param([{**FULL, "kind": None}], id="null for a required enum"),
    pytest.param([{k: v for k, v in FULL.items() if k != "productSku"}], id="required field missing"),
    pytest.param([{**FULL, "productSku": 12}], id="number for String"),
    pytest.param([{**FULL, "unitPrice": "cheap"}], id="not a decimal"),
    pytest.param([{**FULL, "unitPrice": [1]}], id="list for Decimal"),
    pytest.param([{**FULL, "colour": "red"}], id="unknown field"),
    pytest.param([FULL, None], id="null item"),
    pytest.param([FULL, "e2"], id="string item"),
    pytest.param(None, id="null list"),
]


@pytest.mark.parametrize("events", INVALID)
def test_wrong_types_give_graphql_cores_normal_errors(staff, stock_schema, events):
    result, calls = _same(stock_schema, {"events": events}, staff)
    assert result.data is None and result.errors
    assert result.errors[0].message.startswith("Variable '$events'")
    assert calls == []


def test_a_single_object_is_a_list_of_one_as_in_graphql(staff, stock_schema):
    result, calls = _same(stock_schema, {"events": FULL}, staff)
    assert result.errors is None and len(calls[0]) == 1


def test_inline_arguments_and_other_variables(staff, stock_schema):
    query = """mutation($sku: String!) { ingestEvents(events: [{productSku: $sku, kind: VIEW,
               occurredAt: "2024-05-01T10:00:00Z", quantity: 3}]) { accepted rejected } }"""
    fast, fast_calls = _run(service.schema, {"sku": "MUG-1"}, staff, query)
    stock, stock_calls = _run(stock_schema, {"sku": "MUG-1"}, staff, query)
    assert fast.errors is None and fast.data == stock.data == {"ingestEvents": {"accepted": 1, "rejected": 0}}
    assert fast_calls == stock_calls


@pytest.mark.parametrize("perms,is_staff", [((), True), (("behavior.add_event",), False), (None, None)])
def test_permission_checks_are_unchanged(staff, stock_schema, perms, is_staff):
    user = None
    if perms is not None:
        user = make_staff("other", perms=perms)
        user.is_staff = is_staff
        user.save()
    result, calls = _same(stock_schema, {"events": [FULL]}, user)
    message = result.errors[0].message.lower()
    assert result.data is None and ("permission" in message or "staff" in message)
    assert calls == []


@pytest.mark.skipif(not settings.GRAPHQL_FAST_PATH, reason="about the fast path; GRAPHQL_FAST_PATH is off")
def test_the_fast_path_is_taken(staff):
    from graphql.execution import values

    assert service.schema._schema.type_map["Mutation"].fields["ingestEvents"].resolve.fast_path == "coerced inputs"
    with mock.patch.object(values, "coerce_input_value", wraps=values.coerce_input_value) as coerce, \
            mock.patch.object(behavior_schema.EventInput, "__init__") as event_input:
        result, _ = _run(service.schema, {"events": [FULL] * 50}, staff)
    assert result.errors is None
    assert coerce.call_count == 1  # the empty list standing in for the variable, not 50 events
    assert event_input.call_count == 0


def test_the_list_coercer_equals_graphql_core_or_gives_up():
    item = GraphQLInputObjectType("Item", {
        "a": GraphQLInputField(GraphQLNonNull(GraphQLString)),
        "b": GraphQLInputField(GraphQLString),
        "c": GraphQLInputField(GraphQLString, default_value="x"),
    })
    for var_type in (GraphQLNonNull(GraphQLList(GraphQLNonNull(item))), GraphQLList(item)):
        coerce = list_variable_coercer(var_type)
        for value in ([], [{"a": "1"}], [{"a": "1", "b": None, "c": "z"}], [{"a": "1"}, None], [{"b": "2"}],
                      [{"a": 1}], [{"a": "1", "d": 0}], [("a", "1")], {"a": "1"}, None):
            fast, reference = coerce(value), coerce_input_value(value, var_type)
            assert fast is Undefined or fast == reference, value
            if isinstance(value, list) and reference is not Undefined and None not in value:
                assert fast == reference, value  # the common case is never given up
