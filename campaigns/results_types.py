"""The GraphQL shape of ``campaignResults``, read from the results the worker stored on the campaign."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from .models import Campaign


@strawberry.type(name="CampaignGroupResult")
class GroupResultType:
    group: str
    members: int
    converters: int
    conversion_rate: float
    orders: int
    revenue: float
    revenue_per_member: float


@strawberry.type(name="CampaignLift", description="Treatment minus control; low/high: the 95 % interval of the "
                                                  "absolute lift; relative: absolute over the control's level.")
class LiftType:
    absolute: float
    relative: float | None
    low: float
    high: float
    p_value: float


@strawberry.type(name="CampaignCupedLift")
class CupedLiftType(LiftType):
    variance_reduction: float = strawberry.field(description="1 - var(adjusted) / var(revenue per member).")


@strawberry.type(name="CampaignHitRate", description="Share of members who bought one of their frozen picks.")
class HitRateType:
    treatment: float | None
    control: float | None


@strawberry.type(name="CampaignDay")
class DayType:
    date: date
    treatment_revenue: float
    control_revenue: float
    treatment_converters: int
    control_converters: int


@strawberry.type(name="CampaignResults")
class CampaignResultsType:
    updated_at: datetime | None
    groups: list[GroupResultType]
    conversion_lift: LiftType | None
    revenue_lift: LiftType | None
    cuped_revenue_lift: CupedLiftType | None
    srm_p_value: float | None = strawberry.field(description="Chi-square against the planned split.")
    srm_flagged: bool = strawberry.field(description="srmPValue under 0.001: the split is not what was planned.")
    picks_hit_rate: HitRateType
    incremental_revenue: float | None
    daily: list[DayType]


def _lift(data: dict | None) -> LiftType | None:
    if not data:
        return None
    return LiftType(absolute=data["absolute"], relative=data["relative"], low=data["low"], high=data["high"],
                    p_value=data["p_value"])


def results_type(campaign: Campaign) -> CampaignResultsType | None:
    stored = campaign.results
    if not stored:
        return None
    cuped = stored.get("cuped_revenue_lift")
    return CampaignResultsType(
        updated_at=campaign.results_updated_at,
        groups=[GroupResultType(**row) for row in stored["groups"]],
        conversion_lift=_lift(stored.get("conversion_lift")),
        revenue_lift=_lift(stored.get("revenue_lift")),
        cuped_revenue_lift=CupedLiftType(absolute=cuped["absolute"], relative=cuped["relative"], low=cuped["low"],
                                         high=cuped["high"], p_value=cuped["p_value"],
                                         variance_reduction=cuped["variance_reduction"] or 0.0) if cuped else None,
        srm_p_value=stored.get("srm_p_value"),
        srm_flagged=bool(stored.get("srm_flagged")),
        picks_hit_rate=HitRateType(**stored["picks_hit_rate"]),
        incremental_revenue=stored.get("incremental_revenue"),
        daily=[DayType(date=date.fromisoformat(day["date"]), treatment_revenue=day["treatment_revenue"],
                       control_revenue=day["control_revenue"], treatment_converters=day["treatment_converters"],
                       control_converters=day["control_converters"]) for day in stored.get("daily", [])],
    )
