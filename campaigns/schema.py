"""GraphQL for campaigns: create/update/launch/end, the list and one campaign with its members, the
treatment list for delivery, and campaignResults (as the worker last computed them)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import strawberry
import strawberry_django
from django.urls import NoReverseMatch, reverse
from strawberry import auto, relay
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.utils.str_converters import to_camel_case

from api.connections import CappedListConnection
from api.ids import database_id
from api.permissions import staff_with_perm
from behavior.schema import CustomerType
from catalog.schema import ProductType
from jobs.schema import JobType, submit_job

from . import selectors, services
from .error_codes import CampaignError, CampaignErrorCode
from .models import Campaign, CampaignMember, CampaignPick, CampaignStatus, Goal, Group, PicksFrom
from .results_types import CampaignResultsType, results_type

VIEW, CHANGE, EXPORT = "campaigns.view_campaign", "campaigns.change_campaign", "campaigns.export_campaign"
GoalEnum = strawberry.enum(Goal, name="CampaignGoal")
PicksFromEnum = strawberry.enum(PicksFrom, name="CampaignPicksFrom")
StatusEnum = strawberry.enum(CampaignStatus, name="CampaignStatus")
GroupEnum = strawberry.enum(Group, name="CampaignGroup")
ErrorCodeEnum = strawberry.enum(CampaignErrorCode, name="CampaignErrorCode")


@strawberry_django.type(CampaignPick, name="CampaignPick")
class CampaignPickType:
    product: ProductType
    rank: auto
    score: float = strawberry_django.field(description="The recommender's ranking value at launch.")


@strawberry_django.type(CampaignMember, name="CampaignMember")
class CampaignMemberType(relay.Node):
    customer: CustomerType
    group: GroupEnum
    picks: list[CampaignPickType] = strawberry_django.field(description="Frozen at launch, best first.")


@strawberry_django.type(Campaign, name="Campaign")
class CampaignType(relay.Node):
    name: auto
    goal: GoalEnum
    status: StatusEnum
    rules: JSON
    picks: int = strawberry_django.field(field_name="picks", description="Picks per member (0-20).")
    picks_from: PicksFromEnum
    offer: auto
    holdout_share: auto
    seed: auto
    starts_at: auto
    ends_at: auto
    created_at: auto
    launched_at: auto
    ended_at: auto
    members_count: auto
    model_version_id: auto
    launch_timings: JSON
    uplift: JSON = strawberry_django.field(description="The uplift model's held-out Qini (model, random, response).")

    @strawberry_django.field(only=["id"], description="The database id (every campaign argument takes it or the id).")
    def pk(self) -> int:
        return self.pk  # type: ignore[attr-defined]

    @strawberry_django.field(only=["category_id"])
    def category_id(self) -> strawberry.ID | None:
        value = self.category_id  # type: ignore[attr-defined]
        return None if value is None else strawberry.ID(str(value))

    @strawberry_django.field(only=["run_id"])
    def segmentation_run_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.run_id))  # type: ignore[attr-defined]

    @strawberry_django.connection(CappedListConnection[CampaignMemberType],
                                  description="Members (all, or one group), in launch order.")
    def members(self, group: GroupEnum | None = None) -> list[CampaignMember]:
        value = group.value if group is not None else None
        return selectors.campaign_members(campaign_id=self.pk, group=value)  # type: ignore[attr-defined,return-value]

    @strawberry_django.field(only=["id"], description="The treatment list as a streamed CSV (needs "
                                                      "campaigns.export_campaign); null if the URL is not mounted.")
    def treatment_export_url(self, info: Info) -> str | None:
        try:
            path = reverse("campaigns:treatment-export", args=[self.pk])  # type: ignore[attr-defined]
        except NoReverseMatch:
            return None
        return info.context.request.build_absolute_uri(path)


@strawberry.type(name="CampaignPayloadError")
class CampaignPayloadError:
    field: str | None
    code: ErrorCodeEnum
    message: str


@strawberry.type(name="CampaignPayload")
class CampaignPayload:
    campaign: CampaignType | None = None
    job: JobType | None = strawberry.field(default=None, description="The launch (or uplift) job, when one was "
                                                                     "submitted.")
    errors: list[CampaignPayloadError] = dataclasses.field(default_factory=list)


@strawberry.input(name="CampaignRulesInput", description="Narrow the segments' members; days count back from startsAt.")
class CampaignRulesInput:
    countries: list[str] | None = None
    last_purchase_more_than_days: int | None = None
    last_purchase_fewer_than_days: int | None = None
    bought_category_id: strawberry.ID | None = None
    never_bought_category_id: strawberry.ID | None = None
    rfm_score_min: int | None = strawberry.field(default=None, description="R+F+M quintile scores, 3-15.")
    rfm_score_max: int | None = None


@strawberry.input(name="CreateCampaignInput")
class CreateCampaignInput:
    name: str
    segment_ids: list[strawberry.ID]
    starts_at: datetime
    ends_at: datetime
    rules: CampaignRulesInput | None = None
    picks: int = 3
    picks_from: PicksFromEnum = PicksFromEnum.DISCOVERY  # type: ignore[attr-defined]
    category_id: strawberry.ID | None = None
    offer: str = ""
    holdout_share: float = 0.1
    seed: int | None = strawberry.field(default=None, description="Default: drawn at random (kept).")
    goal: GoalEnum = GoalEnum.CONVERSION  # type: ignore[attr-defined]
    uplift_source_id: strawberry.ID | None = strawberry.field(
        default=None, description="An ended campaign whose uplift model picks the audience's top share.")
    uplift_top_share: float | None = strawberry.field(default=None, description="Default 0.3 with a source.")


@strawberry.input(name="UpdateCampaignInput", description="Only the fields given change (a DRAFT only).")
class UpdateCampaignInput:
    name: str | None = strawberry.UNSET
    segment_ids: list[strawberry.ID] | None = strawberry.UNSET
    starts_at: datetime | None = strawberry.UNSET
    ends_at: datetime | None = strawberry.UNSET
    rules: CampaignRulesInput | None = strawberry.UNSET
    picks: int | None = strawberry.UNSET
    picks_from: PicksFromEnum | None = strawberry.UNSET
    category_id: strawberry.ID | None = strawberry.UNSET
    offer: str | None = strawberry.UNSET
    holdout_share: float | None = strawberry.UNSET
    seed: int | None = strawberry.UNSET
    goal: GoalEnum | None = strawberry.UNSET


def _id(value: Any) -> int:
    """A database id from a database or global id; -1 (no such row) when it is neither."""
    found = database_id(value, type_name="Campaign")
    return -1 if found is None else found


def _plain_id(value: Any, field: str) -> int:
    found = database_id(value)
    if found is None:
        raise CampaignError(CampaignErrorCode.INVALID, f"{to_camel_case(field)} must be a database id", field)
    return found


def _rules(rules: CampaignRulesInput | None) -> dict[str, Any]:
    if rules is None:
        return {}
    out = {key: value for key, value in strawberry.asdict(rules).items() if value is not None}
    for key in ("bought_category_id", "never_bought_category_id"):
        if key in out:
            out[key] = _plain_id(out[key], f"rules.{key}")
    return out


def _changes(data: dict[str, Any]) -> dict[str, Any]:
    """Input fields as CampaignSpec fields: enums by value, ids as database ids, rules as JSON."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is strawberry.UNSET:
            continue
        if key == "rules":
            value = _rules(value)
        elif key == "segment_ids":
            value = [_plain_id(v, key) for v in value or []]
        elif key in ("category_id", "uplift_source_id") and value is not None:
            value = _plain_id(value, key)
        elif hasattr(value, "value"):
            value = value.value
        out[key] = value
    return out


def _payload(call, job_kind: str | None = None, info: Info | None = None) -> CampaignPayload:
    try:
        campaign = call()
    except CampaignError as exc:
        field = to_camel_case(exc.field) if exc.field else None
        return CampaignPayload(errors=[CampaignPayloadError(field=field, code=exc.code, message=exc.message)])  # type: ignore[arg-type]
    payload = CampaignPayload(campaign=Campaign.objects.get(pk=campaign.pk))  # type: ignore[arg-type]
    if job_kind is not None and info is not None:
        submitted = submit_job(info, kind=job_kind, params={"campaign_id": campaign.pk})
        payload.job = submitted.job
        payload.errors = [CampaignPayloadError(field=e.field, code=CampaignErrorCode(  # type: ignore[arg-type]
            e.code.value if e.code.value in CampaignErrorCode.__members__ else "INVALID"), message=e.message)
            for e in submitted.errors]
        payload.campaign = Campaign.objects.get(pk=campaign.pk)  # type: ignore[assignment]
    return payload


@strawberry.type
class Query:
    @strawberry_django.connection(CappedListConnection[CampaignType], description="Campaigns, newest first.",
                                  extensions=staff_with_perm(VIEW))
    def campaigns(self, status: StatusEnum | None = None) -> list[Campaign]:
        return selectors.campaigns_list(status=status.value if status is not None else None)  # type: ignore[return-value]

    @strawberry_django.field(description="A campaign by its id (database or global).", extensions=staff_with_perm(VIEW))
    def campaign(self, id: strawberry.ID) -> CampaignType | None:
        return selectors.campaign_get(campaign_id=_id(id))  # type: ignore[return-value]

    @strawberry_django.field(description="The measured effect, as the worker last computed it (null before launch).",
                             extensions=staff_with_perm(VIEW))
    def campaign_results(self, id: strawberry.ID) -> CampaignResultsType | None:
        campaign = selectors.campaign_get(campaign_id=_id(id))
        return results_type(campaign) if campaign is not None else None

    @strawberry_django.connection(CappedListConnection[CampaignMemberType],
                                  description="The treatment list for an email or ads tool: members with their picks "
                                              "(the offer is on the campaign). Needs campaigns.export_campaign.",
                                  extensions=staff_with_perm(EXPORT))
    def campaign_treatment(self, id: strawberry.ID) -> list[CampaignMember]:
        return selectors.campaign_members(campaign_id=_id(id), group=Group.TREATMENT.value)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="A DRAFT campaign (needs campaigns.change_campaign).",
                         extensions=staff_with_perm(CHANGE))
    def create_campaign(self, info: Info, input: CreateCampaignInput) -> CampaignPayload:
        def create() -> Campaign:
            changes = _changes({f.name: getattr(input, f.name) for f in dataclasses.fields(input)})
            changes.setdefault("rules", {})
            return services.campaign_create(spec=services.CampaignSpec(**changes), user=info.context.request.user)

        return _payload(create)

    @strawberry.mutation(description="Change a DRAFT campaign (NOT_DRAFT once launched).",
                         extensions=staff_with_perm(CHANGE))
    def update_campaign(self, id: strawberry.ID, input: UpdateCampaignInput) -> CampaignPayload:
        return _payload(lambda: services.campaign_update(campaign_id=_id(id), changes=_changes(
            {f.name: getattr(input, f.name) for f in dataclasses.fields(input)})))

    @strawberry.mutation(description="Launch a DRAFT campaign: a campaigns.launch job freezes the members, groups "
                                     "and picks. Launching again returns the campaign and its launch job.",
                         extensions=staff_with_perm(CHANGE))
    def launch_campaign(self, info: Info, id: strawberry.ID) -> CampaignPayload:
        campaign = selectors.campaign_get(campaign_id=_id(id))
        if campaign is None:
            return CampaignPayload(errors=[CampaignPayloadError(field="id", code=CampaignErrorCode.NOT_FOUND,  # type: ignore[arg-type]
                                                                message="No such campaign.")])
        if campaign.status != CampaignStatus.DRAFT or selectors.launch_job_active(campaign_id=campaign.pk):
            job = selectors.launch_job(campaign_id=campaign.pk)
            return CampaignPayload(campaign=campaign, job=job)  # type: ignore[arg-type]
        return _payload(lambda: campaign, job_kind="campaigns.launch", info=info)

    @strawberry.mutation(description="End a LAUNCHED campaign; its uplift model is fitted by a campaigns.uplift job.",
                         extensions=staff_with_perm(CHANGE))
    def end_campaign(self, info: Info, id: strawberry.ID) -> CampaignPayload:
        return _payload(lambda: services.campaign_end(campaign_id=_id(id)), job_kind="campaigns.uplift", info=info)
