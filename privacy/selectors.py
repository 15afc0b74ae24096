"""A customer's data export: everything the service holds about one customer, as plain JSON values."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from behavior.selectors import customer_by_external_id, customer_events_export
from recommender.selectors import customer_versions
from segments.selectors import customer_memberships_export


def customer_export(*, external_id: str) -> dict[str, Any] | None:
    """Profile, events, segment memberships with their RFM scores, and the recommender versions whose model
    holds the customer's embedding; None for an unknown id. (Campaign memberships join when campaigns exist.)"""
    customer = customer_by_external_id(external_id)
    if customer is None:
        return None
    export = {
        "customer": {"external_id": customer.external_id, "country": customer.country,
                     "signed_up_at": customer.signed_up_at, "attributes": customer.attributes,
                     "created_at": customer.created_at},
        "events": customer_events_export(customer_id=customer.pk),
        "segments": customer_memberships_export(customer_id=customer.pk),
        "recommender": {"model_versions_with_embedding": customer_versions(customer_id=customer.pk)},
    }
    # Dates, times and decimals as JSON text, the same on every path (GraphQL, the command).
    return json.loads(json.dumps(export, cls=DjangoJSONEncoder))
