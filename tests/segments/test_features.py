"""Features computed in the database, exact for a hand-made customer."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from behavior.models import EventKind
from segments.selectors import customer_features
from tests import factories as f

LONDON = ZoneInfo("Europe/London")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.django_db
def test_rfm_and_behaviour_features_of_a_hand_made_customer_are_exact():
    # Given a customer with two orders (one of two lines), an order-less purchase, a return, views,
    # an add-to-cart, an anonymous purchase and events after the as-of day (summer time: UTC+1).
    mugs, plates = f.category("Mugs"), f.category("Plates")
    mug, plate = f.product(price="4.00", category=mugs), f.product(price="10.00", category=plates)
    ann = f.customer("ANN")
    f.event(customer=ann, product=mug, occurred_at=at(2024, 3, 1, 9), quantity=3, unit_price="4.00", order_ref="A1")
    f.event(customer=ann, product=plate, occurred_at=at(2024, 3, 1, 9), quantity=1, unit_price="10.00", order_ref="A1")
    f.event(customer=ann, product=plate, occurred_at=at(2024, 6, 20, 14), quantity=2, unit_price="9.50",
            order_ref="A2")
    # Bought at 23:30 London on the as-of day (22:30 UTC): inside the day, so recency 0.
    f.event(customer=ann, product=mug, occurred_at=at(2024, 7, 10, 23, 30), quantity=1, unit_price="4.00")
    f.event(customer=ann, product=plate, kind=EventKind.RETURN, occurred_at=at(2024, 6, 25, 10), quantity=1,
            unit_price="9.50")
    for day in (1, 2, 3, 4):
        f.event(customer=ann, product=mug, kind=EventKind.VIEW, occurred_at=at(2024, 7, day, 8))
    f.event(customer=ann, product=mug, kind=EventKind.ADD_TO_CART, occurred_at=at(2024, 7, 4, 8, 1))
    # After the as-of day in shop time (00:30 London on the 11th is still the 10th in UTC): left out.
    f.event(customer=ann, product=plate, occurred_at=at(2024, 7, 11, 0, 30), quantity=5, unit_price="10.00",
            order_ref="A3")
    f.event(customer=None, product=plate, occurred_at=at(2024, 7, 1, 10), quantity=9, unit_price="10.00")
    bob = f.customer("BOB")  # views only: not a purchaser, not segmented
    f.event(customer=bob, product=mug, kind=EventKind.VIEW, occurred_at=at(2024, 7, 1, 10))

    # When features are computed as of 10 July 2024
    frame = customer_features(as_of=date(2024, 7, 10))

    # Then only Ann is there, with exact values.
    assert frame["customer_id"].tolist() == [ann.pk]
    row = frame.iloc[0]
    assert row["recency"] == 0
    assert row["frequency"] == 3  # A1, A2 and the order-less line
    assert row["monetary"] == pytest.approx(12 + 10 + 19 + 4 - 9.5)  # 35.5
    assert row["views"] == 4
    assert row["add_to_cart_rate"] == pytest.approx(0.25)
    assert row["category_breadth"] == 2
    assert row["average_basket"] == pytest.approx(45 / 3)
    assert row["tenure"] == 131  # 1 March to the end of 10 July: 131 whole days

    # And as of 30 June the last purchase (20 June) is 10 days old, the return already counted.
    earlier = customer_features(as_of=date(2024, 6, 30)).iloc[0]
    assert (earlier["recency"], earlier["frequency"], earlier["monetary"]) == (10, 2, pytest.approx(31.5))
