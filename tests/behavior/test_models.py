import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from behavior.models import Event, EventKind
from tests import factories

# The unique key on event_id, as each database names it: PostgreSQL reports the index's name, SQLite
# the table and column.
EVENT_ID_UNIQUE = {"postgresql": "behavior_event_event_id_key", "sqlite": "behavior_event.event_id"}


@pytest.fixture
def shop(db):
    return factories.customer("C1"), factories.product("P1", price="2.50")


def violated_constraint(error: IntegrityError) -> str:
    """The name of the constraint the database refused the row for: PostgreSQL says it in the error's
    diagnostics; SQLite in the message ("CHECK constraint failed: <name>", "UNIQUE constraint failed:
    <table>.<column>")."""
    if connection.vendor == "postgresql":
        return error.__cause__.diag.constraint_name
    match = re.fullmatch(r"(?:CHECK|UNIQUE|NOT NULL) constraint failed: (.+)", str(error))
    assert match, f"not a constraint failure: {error}"
    return match.group(1)


def _refused(constraint: str, **kwargs) -> None:
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        factories.event(**kwargs)
    assert violated_constraint(refused.value) == constraint


class TestEventConstraints:
    def test_event_id_is_unique(self, shop):
        c, p = shop
        factories.event(customer=c, product=p, event_id="e1")
        _refused(EVENT_ID_UNIQUE[connection.vendor], customer=c, product=p, event_id="e1")

    @pytest.mark.parametrize("quantity", [0, -3])
    def test_quantity_must_be_positive(self, shop, quantity):
        c, p = shop
        _refused("event_quantity_positive", customer=c, product=p, quantity=quantity)

    @pytest.mark.parametrize("rating", [0, 6])
    def test_rating_out_of_range_is_refused(self, shop, rating):
        c, p = shop
        _refused("event_rating_1_to_5", customer=c, product=p, kind=EventKind.REVIEW, rating=rating)

    def test_review_needs_a_rating(self, shop):
        c, p = shop
        _refused("event_review_has_rating", customer=c, product=p, kind=EventKind.REVIEW)

    def test_purchase_needs_a_unit_price(self, shop):
        c, p = shop
        with pytest.raises(IntegrityError) as refused, transaction.atomic():
            Event.objects.create(event_id="np", customer=c, product=p, kind=EventKind.PURCHASE,
                                 occurred_at=timezone.now(), quantity=1, unit_price=None)
        assert violated_constraint(refused.value) == "event_sale_has_unit_price"

    def test_negative_unit_price_is_refused(self, shop):
        c, p = shop
        _refused("event_unit_price_not_negative", customer=c, product=p, unit_price="-1.00")

    def test_unknown_kind_is_refused(self, shop):
        c, p = shop
        _refused("event_kind_valid", customer=c, product=p, kind="click")

    def test_valid_events_of_every_kind_are_stored(self, shop):
        c, p = shop
        factories.event(customer=c, product=p, kind=EventKind.VIEW)
        factories.event(customer=c, product=p, kind=EventKind.ADD_TO_CART)
        factories.event(customer=c, product=p, kind=EventKind.PURCHASE, quantity=3)
        factories.event(customer=c, product=p, kind=EventKind.REVIEW, rating=5)
        factories.event(customer=c, product=p, kind=EventKind.RETURN)
        factories.event(customer=None, product=p, kind=EventKind.PURCHASE)  # anonymous line
        assert p.events.count() == 6
