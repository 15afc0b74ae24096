"""GraphQL: public recommendations and similar products; staff training, versions, activation, rollback."""

from __future__ import annotations

import dataclasses
import enum

import strawberry
import strawberry_django
from django.conf import settings
from strawberry import auto
from strawberry.scalars import JSON
from strawberry import relay
from strawberry.types import Info

from api.connections import CappedListConnection
from api.errors import ClientError, InputErrorCode
from api.ids import database_id, required_database_id
from access.principals import may_name_customer
from api.permissions import is_staff_with_perm, staff_with_perm
from catalog.schema import ProductType
from jobs.schema import JobPayload, job_params_input, submit_job

from . import selectors, services
from .error_codes import RecommenderError, RecommenderErrorCode
from .jobs import TrainParams
from .models import GateStatus, ModelStatus, ModelVersion

StrategyEnum = strawberry.enum(selectors.Strategy, name="RecommendationStrategy")
ModelStatusEnum = strawberry.enum(ModelStatus, name="RecommenderModelStatus")
GateStatusEnum = strawberry.enum(GateStatus, name="RecommenderGateStatus")
ErrorCodeEnum = strawberry.enum(RecommenderErrorCode, name="RecommenderErrorCode")


@strawberry.enum(name="RecommenderLoss")
class LossEnum(enum.Enum):
    WARP = "warp"
    BPR = "bpr"
    WARP_KOS = "warp-kos"
    LOGISTIC = "logistic"


@strawberry.type(name="RecommendedProduct")
class RecommendedProductType:
    product: ProductType
    score: float = strawberry.field(description="The ranking score (comparable within one answer only).")


@strawberry.type(name="Recommendations", description="A ranked list and which strategy produced it.")
class RecommendationsType:
    strategy: StrategyEnum
    model_version_id: int | None = strawberry.field(description="The model version that answered (null: none).")
    items: list[RecommendedProductType]


@strawberry_django.type(ModelVersion, name="RecommenderModel")
class RecommenderModelType(relay.Node):
    status: ModelStatusEnum
    is_active: auto
    beats_baselines: auto

    @strawberry_django.field(only=["gate"], description="The gate's verdict (null: a version from before it).")
    def gate(self) -> GateStatusEnum | None:  # type: ignore[valid-type]
        return GateStatus(self.gate) if self.gate else None  # type: ignore[attr-defined]
    primary_metric: auto
    params: JSON
    metrics: JSON
    info: JSON
    timings: JSON
    data_start: auto
    data_end: auto
    test_start: auto
    n_users: auto
    n_items: auto
    n_events: auto
    artifact_bytes: auto
    created_at: auto
    activated_at: auto

    @strawberry_django.field(only=["id"], description="The database id (activateRecommenderModel takes it).")
    def pk(self) -> int:
        return self.pk  # type: ignore[attr-defined]


@strawberry.type(name="RecommenderError")
class RecommenderPayloadError:
    field: str | None
    code: ErrorCodeEnum
    message: str


@strawberry.type(name="RecommenderModelPayload")
class RecommenderModelPayload:
    model: RecommenderModelType | None = None
    errors: list[RecommenderPayloadError] = dataclasses.field(default_factory=list)


TrainRecommenderInput = job_params_input(
    TrainParams, name="TrainRecommenderInput", graphql_types={"loss": LossEnum},
    description="Training parameters; see docs/recommender.md. Every field is optional.")


def _parse_category(category_id: strawberry.ID | None) -> int | None:
    if category_id is None:
        return None
    return required_database_id(category_id, message="categoryId must be a category's database id")


def _check_first(first: int) -> int:
    most = min(selectors.MAX_FIRST, settings.GRAPHQL_MAX_PAGE_SIZE)
    if not 1 <= first <= most:
        raise ClientError(InputErrorCode.INVALID_PAGE_SIZE, f"first must be from 1 to {most}")
    return first


def _check_session_minutes(minutes: int) -> int:
    if not 1 <= minutes <= selectors.MAX_SESSION_MINUTES:
        raise ClientError(RecommenderErrorCode.SESSION_MINUTES_OUT_OF_RANGE,
                          f"sessionMinutes must be from 1 to {selectors.MAX_SESSION_MINUTES}")
    return minutes

def _readable_customer(info: Info, external_id: str | None) -> str | None:
    """The customer whose history this caller may use, else None: an unprivileged caller is answered as for
    an unknown customer (nothing looked up, so neither the answer nor its timing says whether the id exists)."""
    user = info.context.request.user
    if external_id is None:
        return getattr(user, "customer_external_id", None)  # a customer token names its customer
    if may_name_customer(user, external_id) or is_staff_with_perm(user, "behavior.view_customer"):
        return external_id
    return None


def _items(rows: list[selectors.Recommendation]) -> list[RecommendedProductType]:
    return [RecommendedProductType(product=r.product, score=r.score) for r in rows]  # type: ignore[arg-type]


@strawberry.type
class Query:
    @strawberry.field(description="Recommendations (public). Naming a customer needs an API key with "
                                  "recommendations:read, staff with behavior.view_customer, or that customer's token "
                                  "(issueCustomerToken; with a token the id may be left out); anyone else gets, for "
                                  "any id, the answer for an unknown customer. excludePurchased=true: discovery (never "
                                  "an item they bought); false: next basket (own history blended with the model). "
                                  "sessionId: the visitor's current session -- its events of the last sessionMinutes "
                                  "(by the shop clock) rank the answer (strategy SESSION), for anonymous visitors and "
                                  "known customers alike. No or unknown customer or session: popular items of the "
                                  "recent window.")
    def recommendations(self, info: Info, customer_external_id: str | None = None, first: int = 10,
                        exclude_purchased: bool = True, category_id: strawberry.ID | None = None,
                        session_id: str | None = None,
                        session_minutes: int = selectors.DEFAULT_SESSION_MINUTES) -> RecommendationsType:
        result = selectors.recommendations_for(
            customer_external_id=_readable_customer(info, customer_external_id), first=_check_first(first),
            exclude_purchased=exclude_purchased, category_id=_parse_category(category_id),
            session_id=session_id, session_minutes=_check_session_minutes(session_minutes),
        )
        return RecommendationsType(strategy=result.strategy, model_version_id=result.model_version_id,  # type: ignore[arg-type]
                                   items=_items(result.items))

    @strawberry.field(description="Products closest to this one in the active model's item embeddings (cosine).")
    def similar_products(self, sku: str, first: int = 10) -> list[RecommendedProductType]:
        return _items(selectors.similar_products(sku=sku, first=_check_first(first)))

    recommender_models: CappedListConnection[RecommenderModelType] = strawberry_django.connection(
        description="Trained recommender versions, newest first.",
        extensions=staff_with_perm("recommender.view_modelversion"),
    )

    @strawberry_django.field(description="The version in service, if any.",
                             extensions=staff_with_perm("recommender.view_modelversion"))
    def active_recommender_model(self) -> RecommenderModelType | None:
        return selectors.active_version()  # type: ignore[return-value]


def _model_payload(call) -> RecommenderModelPayload:
    try:
        version = call()
    except RecommenderError as exc:
        return RecommenderModelPayload(errors=[RecommenderPayloadError(field=exc.field, code=exc.code,  # type: ignore[arg-type]
                                                                       message=exc.message)])
    return RecommenderModelPayload(model=ModelVersion.objects.get(pk=version.pk))  # type: ignore[arg-type]


def _version_id(value: strawberry.ID) -> int:
    """The version's database id from either id; -1 (no such version: NOT_FOUND) when it is neither."""
    found = database_id(value, type_name="RecommenderModel")
    return -1 if found is None else found


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Train a recommender version (job kind recommender.train; needs "
                                     "recommender.add_modelversion). It becomes active only if it beats the baselines.")
    def train_recommender(self, info: Info, input: TrainRecommenderInput | None = None) -> JobPayload:  # type: ignore[valid-type]
        return submit_job(info, kind="recommender.train", params=input or {})

    @strawberry.mutation(description="Put a version in service (roll back or forward). A version that did not beat "
                                     "the baselines needs override: true; who did it is recorded.",
                         extensions=staff_with_perm("recommender.change_modelversion"))
    def activate_recommender_model(self, info: Info, version_id: strawberry.ID, override: bool = False,
                                   reason: str = "") -> RecommenderModelPayload:
        return _model_payload(lambda: services.model_version_activate(
            version_id=_version_id(version_id), user=info.context.request.user, override=override, reason=reason))

    @strawberry.mutation(description="Re-activate the version that was active before the current one.",
                         extensions=staff_with_perm("recommender.change_modelversion"))
    def rollback_recommender(self, info: Info, reason: str = "") -> RecommenderModelPayload:
        return _model_payload(lambda: services.model_version_rollback(user=info.context.request.user, reason=reason))
