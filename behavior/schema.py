import strawberry
import strawberry_django
from strawberry import auto, relay
from strawberry.scalars import JSON
from strawberry_django.relay import DjangoListConnection

from catalog.schema import ProductType
from config.graphql_permissions import staff_with_perm

from .models import Customer, Event, EventKind

EventKindEnum = strawberry.enum(EventKind, name="EventKind")


@strawberry_django.type(Event, name="Event")
class EventType(relay.Node):
    event_id: auto
    kind: EventKindEnum
    occurred_at: auto
    quantity: auto
    unit_price: auto
    rating: auto
    order_ref: auto
    session_id: auto
    product: ProductType


@strawberry_django.filter_type(Customer, lookups=True)
class CustomerFilter:
    external_id: auto
    country: auto
    signed_up_at: auto


@strawberry_django.order_type(Customer)
class CustomerOrder:
    external_id: auto
    signed_up_at: auto
    created_at: auto


def _segment_annotation(name: str) -> dict:
    from segments.selectors import customer_segment_annotations

    return {name: customer_segment_annotations()[name]}


def _segment_value(customer, attribute: str) -> str | None:
    if hasattr(customer, attribute):
        return getattr(customer, attribute)
    from segments.selectors import customer_current_membership

    membership = customer_current_membership(customer_id=customer.pk)
    if membership is None:
        return None
    return membership.segment.label if attribute == "current_segment_label" else membership.rfm_score


@strawberry_django.type(Customer, name="Customer", filters=CustomerFilter, ordering=CustomerOrder)
class CustomerType(relay.Node):
    external_id: auto
    country: auto
    signed_up_at: auto
    attributes: JSON
    created_at: auto

    @strawberry_django.connection(
        DjangoListConnection[EventType], description="Newest first.", extensions=staff_with_perm("behavior.view_event")
    )
    def events(self) -> list[Event]:
        return Event.objects.filter(customer_id=self.pk).order_by("-occurred_at", "-id")  # type: ignore[attr-defined]

    # Segment fields: correlated subqueries the optimizer adds to the page's query (no N+1); a customer
    # fetched without the optimizer falls back to one lookup.
    @strawberry_django.field(
        annotate=_segment_annotation("current_segment_label"),
        description="Label of the customer's segment in the served segmentation.",
        extensions=staff_with_perm("segments.view_segment"),
    )
    def segment(self) -> str | None:
        return _segment_value(self, "current_segment_label")

    @strawberry_django.field(
        annotate=_segment_annotation("current_rfm_score"),
        description="RFM quintile scores in the served segmentation, e.g. '545'.",
        extensions=staff_with_perm("segments.view_segment"),
    )
    def rfm_score(self) -> str | None:
        return _segment_value(self, "current_rfm_score")


@strawberry.type
class Query:
    customers: DjangoListConnection[CustomerType] = strawberry_django.connection(
        extensions=staff_with_perm("behavior.view_customer")
    )

    @strawberry_django.field(
        description="A customer by global id or by the shop's own id.",
        extensions=staff_with_perm("behavior.view_customer"),
    )
    def customer(self, id: relay.GlobalID | None = None, external_id: str | None = None) -> CustomerType | None:
        if id is not None:
            return Customer.objects.filter(pk=id.node_id).first()
        if external_id is not None:
            return Customer.objects.filter(external_id=external_id).first()
        return None
