"""GraphQL for segmentation: runs, served segments with profiles, members, audience link, runSegmentation."""

from __future__ import annotations

from datetime import date

import strawberry
import strawberry_django
from django.urls import NoReverseMatch, reverse
from strawberry import auto, relay
from strawberry.scalars import JSON
from strawberry.types import Info

from api.connections import CappedListConnection
from api.ids import database_id
from api.permissions import staff_with_perm
from api.types import add_fields
from behavior.models import Customer
from behavior.schema import CustomerType
from jobs.schema import JobPayload, job_params_input, submit_job

from . import selectors
from .models import Algorithm, Segment, SegmentationRun, SegmentMembership, RunStatus
from .params import SegmentationParams

VIEW = "segments.view_segment"
EXPORT = "segments.export_segment"  # the audience: members, as CSV or here
AlgorithmEnum = strawberry.enum(Algorithm, name="SegmentationAlgorithm")
RunStatusEnum = strawberry.enum(RunStatus, name="SegmentationRunStatus")


@strawberry_django.type(SegmentationRun, name="SegmentationRun")
class SegmentationRunType:
    id: auto
    status: RunStatusEnum
    algorithm: AlgorithmEnum
    params: JSON
    features: JSON
    as_of: auto
    customers: auto
    k: auto
    silhouette: auto
    silhouette_by_k: JSON
    sizes: JSON
    timings: JSON
    created_at: auto
    finished_at: auto


@strawberry_django.type(SegmentMembership, name="SegmentMember")
class SegmentMemberType(relay.Node):
    customer: CustomerType | None = strawberry_django.field(
        description="The customer's record (needs behavior.view_customer, as the customers field).",
        extensions=staff_with_perm("behavior.view_customer"))
    recency: auto
    frequency: auto
    monetary: auto
    r_score: auto
    f_score: auto
    m_score: auto
    rfm_score: auto


@strawberry_django.type(Segment, name="Segment")
class SegmentType:
    id: auto
    label: auto
    size: auto
    recency: float = strawberry_django.field(description="Mean days since the last purchase.")
    frequency: float = strawberry_django.field(description="Mean distinct orders.")
    monetary: float = strawberry_django.field(description="Mean spend net of returns.")
    revenue_share: float = strawberry_django.field(description="Share of the run's net revenue, 0-1.")
    views: auto
    add_to_cart_rate: auto
    category_breadth: auto
    average_basket: auto
    tenure: float = strawberry_django.field(description="Mean days since the first purchase.")
    r_score: float = strawberry_django.field(description="Mean R quintile score (1-5).")
    f_score: auto
    m_score: auto
    run: SegmentationRunType

    @strawberry_django.field(only=["cluster"], description="DBSCAN's noise: customers in no dense group.")
    def is_noise(self) -> bool:
        return self.cluster == -1  # type: ignore[attr-defined]

    @strawberry_django.connection(CappedListConnection[SegmentMemberType], extensions=staff_with_perm(EXPORT),
                                  description="Members, by customer id: the audience (needs segments.export_segment).")
    def members(self) -> list[SegmentMembership]:
        return selectors.segment_members(segment_id=self.pk)  # type: ignore[attr-defined,return-value]

    @strawberry_django.field(only=["id"], description="A CSV of the members for a campaign tool (needs "
                                                      "segments.export_segment); null if the URL is not mounted.",
                             extensions=staff_with_perm(EXPORT))
    def audience_export_url(self, info: Info) -> str | None:
        try:
            path = reverse("segments:audience-export", args=[self.pk])  # type: ignore[attr-defined]
        except NoReverseMatch:
            return None
        return info.context.request.build_absolute_uri(path)


@strawberry.type(name="SegmentPoint", description="One member's RFM values, for a scatter plot.")
class SegmentPointType:
    segment_id: strawberry.ID
    recency: int
    frequency: int
    monetary: float


@strawberry.type(name="SegmentScatter")
class SegmentScatterType:
    total: int = strawberry.field(description="Members in the run.")
    sampled: bool = strawberry.field(description="True when points holds an even sample, not every member.")
    points: list[SegmentPointType]


def _segment_annotation(name: str) -> dict:
    return {name: selectors.customer_segment_annotations()[name]}


def _segment_value(customer: Customer, attribute: str) -> str | None:
    if hasattr(customer, attribute):
        return getattr(customer, attribute)
    membership = selectors.customer_current_membership(customer_id=customer.pk)
    if membership is None:
        return None
    return membership.segment.label if attribute == "current_segment_label" else membership.rfm_score


@strawberry_django.type(Customer, name="CustomerSegmentFields")
class CustomerSegmentFields:
    """The segment fields of behavior's Customer type (added below: behavior does not know segments).

    Correlated subqueries the optimizer adds to the page's query (no N+1); a customer fetched without
    the optimizer falls back to one lookup.
    """

    @strawberry_django.field(
        annotate=_segment_annotation("current_segment_label"),
        description="Label of the customer's segment in the served segmentation.",
        extensions=staff_with_perm(VIEW),
    )
    def segment(self) -> str | None:
        return _segment_value(self, "current_segment_label")  # type: ignore[arg-type]

    @strawberry_django.field(
        annotate=_segment_annotation("current_rfm_score"),
        description="RFM quintile scores in the served segmentation, e.g. '545'.",
        extensions=staff_with_perm(VIEW),
    )
    def rfm_score(self) -> str | None:
        return _segment_value(self, "current_rfm_score")  # type: ignore[arg-type]


add_fields(CustomerType, CustomerSegmentFields)


RunSegmentationInput = job_params_input(
    SegmentationParams, name="RunSegmentationInput", graphql_types={"algorithm": AlgorithmEnum, "as_of": date},
    description="Every field has a default: `{}` runs K-means with k chosen by silhouette, as of the last purchase day.")


@strawberry.type
class Query:
    @strawberry_django.field(description="Segmentation runs, newest first.", extensions=staff_with_perm(VIEW))
    def segmentations(self, limit: int = 20) -> list[SegmentationRunType]:
        return selectors.segmentation_runs()[: max(0, min(limit, 100))]  # type: ignore[return-value]

    @strawberry_django.field(description="The segments of a run, biggest revenue first; the served (latest "
                                         "successful) run when runId is omitted.", extensions=staff_with_perm(VIEW))
    def segments(self, run_id: strawberry.ID | None = None) -> list[SegmentType]:
        run_pk = database_id(run_id) if run_id is not None else None
        if run_id is not None and run_pk is None:
            return []
        return selectors.segments_for_run(run_id=run_pk)  # type: ignore[return-value]

    @strawberry_django.field(description="A segment of a successful run by id.", extensions=staff_with_perm(VIEW))
    def segment(self, id: strawberry.ID) -> SegmentType | None:
        pk = database_id(id)
        return None if pk is None else selectors.segment_get(segment_id=pk)  # type: ignore[return-value]


    @strawberry.field(description="Members' recency, frequency and monetary values for a scatter plot; an even "
                                  "sample of at most `limit` (up to 5000) when the run is bigger.",
                      extensions=staff_with_perm(VIEW))
    def segment_scatter(self, run_id: strawberry.ID | None = None, limit: int = 2000) -> SegmentScatterType:
        run_pk = database_id(run_id) if run_id is not None else None
        total, rows = selectors.segment_scatter(run_id=run_pk if run_id is None or run_pk is not None else -1,
                                                limit=max(1, min(limit, 5000)))
        points = [SegmentPointType(segment_id=strawberry.ID(str(segment)), recency=recency, frequency=frequency,
                                   monetary=monetary) for segment, recency, frequency, monetary in rows]
        return SegmentScatterType(total=total, sampled=len(points) < total, points=points)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Submit a segments.run job (needs segments.add_segmentationrun). The new run "
                                     "is served when it succeeds; a failure leaves the previous one served.")
    def run_segmentation(self, info: Info, input: RunSegmentationInput | None = None) -> JobPayload:
        return submit_job(info, kind="segments.run", params=input or {})
