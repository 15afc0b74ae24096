from datetime import datetime
from decimal import Decimal

import strawberry
import strawberry_django
from strawberry import auto, relay
from strawberry.scalars import JSON

from api.connections import CappedListConnection
from api.fast.marks import takes_coerced_inputs
from api.payloads import item_errors
from api.permissions import staff_with_perm
from catalog.error_codes import CatalogErrorCode
from catalog.schema import CatalogItemError, ProductType, UpsertPayload
from catalog.services import BATCH_LIMIT

from .error_codes import IngestErrorCode
from .models import Customer, Event, EventKind, ImportReport
from .selectors import import_reports
from .services import EVENTS_BATCH_LIMIT, customers_upsert, events_ingest

EventKindEnum = strawberry.enum(EventKind, name="EventKind")
IngestErrorCodeEnum = strawberry.enum(IngestErrorCode, name="IngestErrorCode")


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


@strawberry_django.type(Customer, name="Customer", filters=CustomerFilter, ordering=CustomerOrder)
class CustomerType(relay.Node):
    external_id: auto
    country: auto
    signed_up_at: auto
    attributes: JSON
    created_at: auto

    @strawberry_django.connection(
        CappedListConnection[EventType], description="Newest first.", extensions=staff_with_perm("behavior.view_event")
    )
    def events(self) -> list[Event]:
        return Event.objects.filter(customer_id=self.pk).order_by("-occurred_at", "-id")  # type: ignore[attr-defined]


# --- ingestion -------------------------------------------------------------------------------------


@strawberry.input
class CustomerInput:
    external_id: str = strawberry.field(description="The key: an existing id updates that customer.")
    country: str | None = None
    signed_up_at: datetime | None = None
    attributes: JSON | None = None


@strawberry.input
class EventInput:
    event_id: str | None = strawberry.field(
        default=None, description="Makes the event idempotent; when omitted one is derived from the content.")
    customer_external_id: str | None = strawberry.field(
        default=None, description="Omit for an anonymous event; an unknown id creates the customer.")
    product_sku: str
    kind: EventKindEnum
    occurred_at: str = strawberry.field(
        description="ISO 8601, e.g. 2024-05-01T10:15:00Z; without an offset it is read in the shop's time zone.")
    quantity: int | None = strawberry.field(default=None, description="1 when omitted.")
    unit_price: Decimal | None = strawberry.field(default=None, description="Required for purchases and returns.")
    rating: int | None = strawberry.field(default=None, description="1-5, required for reviews.")
    order_ref: str | None = None
    session_id: str | None = None


@strawberry.type
class IngestError:
    index: int = strawberry.field(description="Position of the event in the list (-1: the whole call).")
    field: str
    code: IngestErrorCodeEnum
    message: str


@strawberry.type
class IngestEventsPayload:
    accepted: int = strawberry.field(description="Events stored by this call.")
    duplicates: int = strawberry.field(description="Valid events already stored (same eventId): not stored again.")
    rejected: int
    errors: list[IngestError]


def _events_ingested(events: list[dict]) -> IngestEventsPayload:
    """`events`: each EventInput's fields by Python name, as `vars()` of the input object, or graphql-core's
    coerced dict mapped to the same names (api/fast/arguments.py): the same dicts either way."""
    items = [{**e, "kind": e["kind"].value if e["kind"] is not None else None} for e in events]
    outcome = events_ingest(events=items)
    return IngestEventsPayload(
        accepted=outcome.stored, duplicates=outcome.duplicates, rejected=outcome.rejected_total,
        errors=item_errors(IngestError, IngestErrorCode, outcome.errors))


@strawberry_django.type(ImportReport, name="ImportReport")
class ImportReportType:
    id: strawberry.ID
    kind: auto
    source: auto
    status: auto
    started_at: auto
    finished_at: auto
    rows_read: int
    rows_stored: int
    rows_rejected: int
    rows_duplicate: int
    rejected_by_reason: JSON
    notes: JSON
    sample_errors: JSON
    error_message: auto


# --- root fields -----------------------------------------------------------------------------------


@strawberry.type
class Query:
    customers: CappedListConnection[CustomerType] = strawberry_django.connection(
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

    @strawberry_django.field(description="Import reports, newest first (staff with behavior.view_importreport).",
                             extensions=staff_with_perm("behavior.view_importreport"))
    def import_reports(self, kind: str | None = None, limit: int = 20) -> list[ImportReportType]:
        return import_reports(kind=kind, limit=limit)


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description=f"Create or update customers by externalId, at most {BATCH_LIMIT} per call. Needs "
                    "behavior.add_customer and behavior.change_customer.",
        extensions=staff_with_perm("behavior.add_customer", "behavior.change_customer"),
    )
    def upsert_customers(self, customers: list[CustomerInput]) -> UpsertPayload:
        outcome = customers_upsert(customers=[{k: v for k, v in vars(c).items() if v is not None} for c in customers])
        return UpsertPayload(created=outcome.created, updated=outcome.updated,
                             errors=item_errors(CatalogItemError, CatalogErrorCode, outcome.errors))

    @strawberry.mutation(
        description=f"Store a batch of events, at most {EVENTS_BATCH_LIMIT} per call. Valid events are stored even "
                    "when others are rejected; re-sending stores nothing new. Needs behavior.add_event.",
        extensions=staff_with_perm("behavior.add_event"),
    )
    @takes_coerced_inputs(_events_ingested)  # the GraphQL layer may skip building 1,000 EventInput objects
    def ingest_events(self, events: list[EventInput]) -> IngestEventsPayload:
        return _events_ingested([vars(e) for e in events])
