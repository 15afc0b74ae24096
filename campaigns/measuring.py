"""Results: each member's outcome in the window, then the statistics on per-group arrays
(``engine.results_from_arrays``), stored on the campaign for ``campaignResults``.

On PostgreSQL (a launch's members have consecutive ids) the members' purchase lines and picks are read as
columns and summed per member by numpy (``engine.member_outcomes``); elsewhere one GROUP BY in the database
gives the same per-member figures. ``stage_seconds`` in the stored results says where the time went.
"""

from __future__ import annotations

import time

import numpy as np
from django.db import connection
from django.utils import timezone

from . import engine
from .models import Campaign, CampaignStatus
from .selectors import daily_rows, member_groups, member_outcomes, member_pick_arrays, member_purchase_arrays


def outcome_arrays(*, campaign: Campaign, seconds: dict[str, float] | None = None
                   ) -> tuple[engine.GroupArrays, list[dict] | None]:
    """One entry per member, by member id: the group and the outcomes (zero for members who bought nothing);
    and, when it came from the same read, the daily series. ``seconds`` gets each stage's time."""
    seconds = {} if seconds is None else seconds
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[name] = round(now - started, 3)
        started = now

    members = member_groups(campaign_id=campaign.pk)
    ids = members["member_id"].to_numpy()
    control = members["control"].to_numpy(dtype=bool)
    lap("members")
    if connection.vendor == "postgresql" and len(ids) and ids[-1] - ids[0] + 1 == len(ids):
        # A launch's members have consecutive ids: the purchase lines and the picks are read as arrays
        # and summed per member by numpy.
        lines = member_purchase_arrays(campaign=campaign, first_member_id=int(ids[0]))
        lap("purchases")
        picks = member_pick_arrays(low=int(ids[0]), high=int(ids[-1]))
        lap("picks")
        arrays = engine.member_outcomes(n_members=len(ids), first_id=int(ids[0]), control=control, lines=lines,
                                        picks=picks)
        daily = engine.daily_from_lines(first_id=int(ids[0]), control=control, lines=lines)
        lap("numpy")
        return arrays, daily
    outcomes = member_outcomes(campaign=campaign)
    lap("outcomes")
    at = np.searchsorted(ids, outcomes["member_id"].to_numpy())

    def spread(column: str, dtype) -> np.ndarray:
        values = np.zeros(len(ids), dtype=dtype)
        values[at] = outcomes[column].to_numpy(dtype=dtype)
        return values

    return engine.GroupArrays(control=control, orders=spread("orders", np.int64),
                              revenue=spread("revenue", np.float64), pre_revenue=spread("pre_revenue", np.float64),
                              hit=spread("hit", np.int64) > 0), None


def _daily(campaign: Campaign) -> list[dict]:
    days: dict[str, dict] = {}
    for row in daily_rows(campaign=campaign):
        day = days.setdefault(row["day"].isoformat(), {"date": row["day"].isoformat(), "treatment_revenue": 0.0,
                                                       "control_revenue": 0.0, "treatment_converters": 0,
                                                       "control_converters": 0})
        prefix = "control" if row["group"] == "CONTROL" else "treatment"
        day[f"{prefix}_revenue"] = round(float(row["revenue"] or 0.0), 2)
        day[f"{prefix}_converters"] = int(row["converters"])
    return [days[key] for key in sorted(days)]


def results_compute(*, campaign_id: int) -> Campaign | None:
    """Recompute and store the campaign's results. The pending flag is cleared first, so events stored
    while this runs queue one more recompute rather than being missed."""
    Campaign.objects.filter(pk=campaign_id).update(results_pending=False)
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status not in (CampaignStatus.LAUNCHED, CampaignStatus.ENDED):
        return campaign
    started, seconds = time.perf_counter(), {}
    arrays, daily = outcome_arrays(campaign=campaign, seconds=seconds)
    statistics = time.perf_counter()
    results = engine.results_from_arrays(arrays, holdout_share=campaign.holdout_share).as_dict()
    seconds["statistics"] = round(time.perf_counter() - statistics, 3)
    results["daily"] = daily if daily is not None else _daily(campaign)
    results["seconds"] = round(time.perf_counter() - started, 3)
    results["stage_seconds"] = seconds
    now = timezone.now()
    Campaign.objects.filter(pk=campaign_id).update(results=results, results_updated_at=now)
    campaign.results, campaign.results_updated_at = results, now
    return campaign
