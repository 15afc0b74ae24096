"""On the shared synthetic shop (behavior.synthetic) the job finds and names the planted segments."""

from collections import Counter
from decimal import Decimal

import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from behavior.models import Customer, Event
from behavior.synthetic import SyntheticSpec, generate
from catalog.models import Category, Product
from jobs.models import JobStatus
from jobs.services import job_execute, job_submit
from segments.models import SegmentMembership

pytestmark = pytest.mark.django_db


def load(data) -> None:
    """The generated frames into the tables, in bulk (what an import does, without its cleaning)."""
    roots = {r.slug: r for r in Category.objects.bulk_create(
        [Category(slug=r.slug, name=r.name) for r in data.categories.itertuples() if r.parent_slug is None])}
    leaves = {c.slug: c for c in Category.objects.bulk_create(
        [Category(slug=r.slug, name=r.name, parent=roots[r.parent_slug])
         for r in data.categories.itertuples() if r.parent_slug is not None])}
    categories = roots | leaves
    products = {p.sku: p.pk for p in Product.objects.bulk_create(
        [Product(sku=r.sku, name=r.name, category=categories[r.category_slug], brand=r.brand,
                 price=Decimal(str(round(r.price, 2)))) for r in data.products.itertuples()])}
    customers = {c.external_id: c.pk for c in Customer.objects.bulk_create(
        [Customer(external_id=r.external_id, country=r.country) for r in data.customers.itertuples()])}
    ev = data.events
    Event.objects.bulk_create(
        (Event(event_id=r.event_id, customer_id=customers.get(r.customer_external_id),
               product_id=products[r.product_sku], kind=r.kind, occurred_at=r.occurred_at.to_pydatetime(),
               quantity=int(r.quantity), unit_price=None if pd.isna(r.unit_price) else Decimal(f"{r.unit_price:.2f}"),
               rating=None if pd.isna(r.rating) else int(r.rating), order_ref=r.order_ref, session_id=r.session_id)
         for r in ev.itertuples()),
        batch_size=5000,
    )


def test_planted_segments_of_the_synthetic_shop_are_recovered_and_named():
    # Given the synthetic shop with its five planted kinds (with views, returns and anonymous sessions)
    data = generate(SyntheticSpec(seed=3, customers=1200, products=120, anonymous_share=0.05))
    load(data)

    # When the job runs with every default (k chosen by silhouette)
    job = job_execute(job_id=job_submit(kind="segments.run").pk)

    # Then it finds five segments matching the planted ones (ARI >= 0.8) and names each after its kind.
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    rows = SegmentMembership.objects.filter(run_id=job.result_id).values_list("customer__external_id",
                                                                              "segment__label")
    truth = data.truth["segment"]
    planted = [truth[external_id] for external_id, _ in rows]
    found = [label for _, label in rows]
    assert adjusted_rand_score(planted, found) >= 0.8
    majority = {kind: Counter(f for p, f in zip(planted, found) if p == kind).most_common(1)[0][0]
                for kind in set(planted)}
    assert majority == {kind: kind for kind in ["Champions", "Loyal", "At risk", "Hibernating", "New"]}
