"""A shop with a segmentation run to build campaigns on (the segments tests' planted customers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from analytics.services import rollups_rebuild
from behavior.models import Event, EventKind
from campaigns.models import Campaign, CampaignMember
from campaigns.services import CampaignSpec, campaign_create
from catalog.models import Product
from segments.models import Segment, SegmentationRun
from segments.params import SegmentationParams
from segments.services import segmentation_run
from tests.conftest import GraphQLClient, make_staff
from tests.segments.conftest import plant_customers

START = datetime(2025, 1, 6, tzinfo=ZoneInfo("UTC"))
END = START + timedelta(days=28)
CAMPAIGN_PERMS = ("campaigns.view_campaign", "campaigns.change_campaign", "jobs.view_job")


@dataclass
class Shop:
    run: SegmentationRun
    segments: dict[str, Segment]  # by label

    def segment_ids(self, *labels: str) -> list[int]:
        return [self.segments[label].pk for label in labels]


def _new_customers_buy_other_products() -> None:
    """Four products only the planted New customers bought lately: what DISCOVERY can offer the others."""
    from behavior.models import Customer

    from catalog.models import Category

    home = Category.objects.order_by("id").first()
    products = Product.objects.bulk_create([Product(sku=f"OTHER{i}", name=f"Other {i}", price=Decimal("5.00"),
                                                    category=home) for i in range(4)])
    buyers = list(Customer.objects.filter(external_id__startswith="NEW").order_by("external_id")[:12])
    at = datetime(2024, 12, 30, 12, tzinfo=ZoneInfo("UTC"))
    Event.objects.bulk_create([
        Event(event_id=f"OTHER-{n}", customer=buyer, product=products[n % (1 + n % 4)], kind=EventKind.PURCHASE,
              occurred_at=at, quantity=1, unit_price=Decimal("5.00"), order_ref=f"OTHER-{n}")
        for n, buyer in enumerate(buyers)])


@pytest.fixture
def shop(db) -> Shop:
    plant_customers(per_kind=40, seed=3)
    _new_customers_buy_other_products()
    rollups_rebuild()  # as the import path leaves them: later ingestion refreshes the rollups incrementally
    run = segmentation_run(params=SegmentationParams(k=5, features=["recency", "frequency", "monetary"], seed=1))
    return Shop(run=run, segments={s.label: s for s in run.segments.all()})


def draft(shop: Shop, **fields) -> Campaign:
    values = {"name": "Winter", "segment_ids": shop.segment_ids("Champions", "Loyal"), "starts_at": START,
              "ends_at": END, "seed": 42, "holdout_share": 0.3, "picks": 2}
    values.update(fields)
    return campaign_create(spec=CampaignSpec(**values))


def window_purchases(campaign: Campaign, *, treatment_rate: float, control_rate: float, seed: int = 0) -> dict:
    """Purchases in the window: each member buys once (price 10 x (1..3)) with their group's probability.
    Returns the exact per-group totals written."""
    rng = np.random.default_rng(seed)
    product = Product.objects.order_by("id").first()
    totals = {"TREATMENT": [0, 0.0], "CONTROL": [0, 0.0]}
    events = []
    for member in CampaignMember.objects.filter(campaign=campaign).order_by("id"):
        rate = treatment_rate if member.group == "TREATMENT" else control_rate
        if rng.random() < rate:
            quantity = int(rng.integers(1, 4))
            events.append(Event(event_id=f"W{campaign.pk}-{member.pk}", customer_id=member.customer_id,
                                product=product, kind=EventKind.PURCHASE, occurred_at=START + timedelta(days=3),
                                quantity=quantity, unit_price=Decimal("10.00"), order_ref=f"W{member.pk}"))
            totals[member.group][0] += 1
            totals[member.group][1] += 10.0 * quantity
    Event.objects.bulk_create(events)
    return totals


@pytest.fixture
def campaign_gql(client, db) -> GraphQLClient:
    return GraphQLClient(client, make_staff("marketer", perms=CAMPAIGN_PERMS))


@pytest.fixture(autouse=True)
def _fresh_recommender_caches(settings):
    # Ids repeat between tests (each test's database starts empty): never reuse held arrays or popular lists.
    from recommender import selectors, serving

    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 0
    serving.forget()
    selectors._popular_cache.clear()
    yield
    serving.forget()
    selectors._popular_cache.clear()
