"""Writes: create and update a draft, end a campaign, and keep its results fresh (coalesced recomputes).

Launching is ``launching.campaign_launch`` (a job), measuring ``measuring.results_compute`` (a task),
the uplift model ``targeting.uplift_fit`` (a job). Every check here runs before anything is written,
in one transaction per business action, so a rejected input leaves nothing behind.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from behavior.hooks import EventsStored
from catalog.models import Category
from segments.models import RunStatus, Segment

from .error_codes import CampaignError, CampaignErrorCode
from .models import MAX_HOLDOUT, MAX_PICKS, Campaign, CampaignMember, CampaignStatus, Goal, PicksFrom
from .rules import AudienceRules, rules_parse
from .selectors import audience, pre_period_days

logger = logging.getLogger(__name__)

MAX_SEED = 2**31 - 1


@dataclass
class CampaignSpec:
    """What a draft holds; ``campaign_create`` takes it whole and ``campaign_update`` a part of it."""

    name: str
    segment_ids: list[int]
    starts_at: datetime
    ends_at: datetime
    rules: dict[str, Any] = field(default_factory=dict)
    picks: int = 3
    picks_from: str = PicksFrom.DISCOVERY.value
    category_id: int | None = None
    offer: str = ""
    holdout_share: float = 0.1
    seed: int | None = None
    goal: str = Goal.CONVERSION.value
    uplift_source_id: int | None = None
    uplift_top_share: float | None = None


def _fail(code: CampaignErrorCode, message: str, field_name: str | None = None) -> None:
    raise CampaignError(code, message, field=field_name)


def _check_scalars(spec: CampaignSpec) -> None:
    if not spec.name or not spec.name.strip() or len(spec.name) > 200:
        _fail(CampaignErrorCode.INVALID, "name must be 1 to 200 characters", "name")
    if not 0 <= spec.holdout_share <= MAX_HOLDOUT:
        _fail(CampaignErrorCode.HOLDOUT_OUT_OF_RANGE, f"holdoutShare must be from 0 to {MAX_HOLDOUT}",
              "holdout_share")
    if isinstance(spec.picks, bool) or not 0 <= spec.picks <= MAX_PICKS:
        _fail(CampaignErrorCode.INVALID, f"picks must be from 0 to {MAX_PICKS}", "picks")
    if spec.picks_from not in PicksFrom.values:
        _fail(CampaignErrorCode.INVALID, f"picksFrom must be one of {', '.join(PicksFrom.values)}", "picks_from")
    if spec.goal not in Goal.values:
        _fail(CampaignErrorCode.INVALID, f"goal must be one of {', '.join(Goal.values)}", "goal")
    if spec.ends_at <= spec.starts_at:
        _fail(CampaignErrorCode.ENDS_BEFORE_START, "endsAt must be after startsAt", "ends_at")
    if spec.seed is not None and not 0 <= spec.seed <= MAX_SEED:
        _fail(CampaignErrorCode.INVALID, f"seed must be from 0 to {MAX_SEED}", "seed")
    if len(spec.offer) > 200:
        _fail(CampaignErrorCode.INVALID, "offer must be at most 200 characters", "offer")
    if spec.uplift_top_share is not None and not 0 < spec.uplift_top_share <= 1:
        _fail(CampaignErrorCode.INVALID, "upliftTopShare must be in (0, 1]", "uplift_top_share")


def _segments_run(segment_ids: list[int]) -> int:
    """The one successful run the segments belong to."""
    if not segment_ids:
        _fail(CampaignErrorCode.EMPTY_AUDIENCE, "give at least one segment", "segment_ids")
    found = dict(Segment.objects.filter(pk__in=segment_ids).values_list("id", "run_id"))
    missing = [s for s in segment_ids if s not in found]
    if missing:
        _fail(CampaignErrorCode.UNKNOWN_SEGMENT, f"no segment {missing[0]}", "segment_ids")
    runs = sorted(set(found.values()))
    if len(runs) > 1:
        _fail(CampaignErrorCode.SEGMENT_FROM_OTHER_RUN, f"the segments come from runs {runs}; a campaign's "
                                                        "segments must all be of one segmentation run", "segment_ids")
    run = Segment.objects.filter(pk=segment_ids[0]).values("run_id", "run__status", "run__members_pruned").get()
    if run["run__status"] != RunStatus.SUCCEEDED:
        _fail(CampaignErrorCode.UNKNOWN_SEGMENT, "the segments' run did not succeed", "segment_ids")
    if run["run__members_pruned"]:
        _fail(CampaignErrorCode.MEMBERS_PRUNED, "the segments' run no longer keeps its members; use a newer run",
              "segment_ids")
    return run["run_id"]


def _check_categories(spec: CampaignSpec, rules: AudienceRules) -> None:
    wanted = {("category_id", spec.category_id), ("rules.bought_category_id", rules.bought_category_id),
              ("rules.never_bought_category_id", rules.never_bought_category_id)}
    known = set(Category.objects.filter(pk__in=[pk for _, pk in wanted if pk is not None])
                .values_list("id", flat=True))
    for name, pk in sorted(wanted, key=lambda item: item[0]):
        if pk is not None and pk not in known:
            _fail(CampaignErrorCode.UNKNOWN_CATEGORY, f"no category {pk}", name)


def _check_uplift_source(spec: CampaignSpec) -> None:
    if spec.uplift_source_id is None:
        if spec.uplift_top_share is not None:
            _fail(CampaignErrorCode.INVALID, "upliftTopShare needs upliftSourceId", "uplift_source_id")
        return
    source = Campaign.objects.filter(pk=spec.uplift_source_id).values("status", "uplift").first()
    if source is None:
        _fail(CampaignErrorCode.NOT_FOUND, f"no campaign {spec.uplift_source_id}", "uplift_source_id")
    elif not source["uplift"].get("artifact"):
        _fail(CampaignErrorCode.NO_UPLIFT_MODEL, "that campaign has no uplift model (it is fitted when a "
                                                 "campaign ends)", "uplift_source_id")
    if spec.uplift_top_share is None:
        spec.uplift_top_share = 0.3


def _validated(spec: CampaignSpec) -> tuple[int, AudienceRules]:
    """Every check of a draft; the run and the parsed rules. Raises CampaignError naming the field."""
    _check_scalars(spec)
    run_id = _segments_run(list(spec.segment_ids))
    rules = rules_parse(spec.rules)
    _check_categories(spec, rules)
    _check_uplift_source(spec)
    if not audience(run_id=run_id, segment_ids=list(spec.segment_ids), rules=rules,
                    starts_at=spec.starts_at).exists():
        _fail(CampaignErrorCode.EMPTY_AUDIENCE, "the segments and rules select no customer", "segment_ids")
    return run_id, rules


def _apply(campaign: Campaign, spec: CampaignSpec, run_id: int, rules: AudienceRules) -> None:
    campaign.name, campaign.goal, campaign.run_id = spec.name.strip(), spec.goal, run_id
    campaign.rules, campaign.picks, campaign.picks_from = rules.as_json(), spec.picks, spec.picks_from
    campaign.category_id, campaign.offer, campaign.holdout_share = spec.category_id, spec.offer, spec.holdout_share
    campaign.seed = spec.seed if spec.seed is not None else (campaign.seed if campaign.seed is not None
                                                             else secrets.randbelow(MAX_SEED + 1))
    campaign.starts_at, campaign.ends_at = spec.starts_at, spec.ends_at
    campaign.uplift_source_id, campaign.uplift_top_share = spec.uplift_source_id, spec.uplift_top_share


def campaign_create(*, spec: CampaignSpec, user=None) -> Campaign:
    """A DRAFT campaign; CampaignError (typed, naming the field) for bad input, and then nothing is written."""
    run_id, rules = _validated(spec)
    with transaction.atomic():
        campaign = Campaign(created_by=user if user is not None and user.is_authenticated else None)
        _apply(campaign, spec, run_id, rules)
        campaign.save()
        campaign.segments.set(spec.segment_ids)
    return campaign


def campaign_spec(campaign: Campaign) -> CampaignSpec:
    return CampaignSpec(
        name=campaign.name, segment_ids=list(campaign.segments.values_list("id", flat=True)),
        starts_at=campaign.starts_at, ends_at=campaign.ends_at, rules=dict(campaign.rules), picks=campaign.picks,
        picks_from=campaign.picks_from, category_id=campaign.category_id, offer=campaign.offer,
        holdout_share=campaign.holdout_share, seed=campaign.seed, goal=campaign.goal,
        uplift_source_id=campaign.uplift_source_id, uplift_top_share=campaign.uplift_top_share)


def campaign_update(*, campaign_id: int, changes: dict[str, Any]) -> Campaign:
    """Change a DRAFT (``changes``: CampaignSpec field names); NOT_DRAFT once launched."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            _fail(CampaignErrorCode.NOT_FOUND, "no such campaign", "id")
        if campaign.status != CampaignStatus.DRAFT:
            _fail(CampaignErrorCode.NOT_DRAFT, f"the campaign is {campaign.status}: only a draft can change", "id")
        spec = campaign_spec(campaign)
        for name, value in changes.items():
            setattr(spec, name, value)
        run_id, rules = _validated(spec)
        _apply(campaign, spec, run_id, rules)
        campaign.save()
        campaign.segments.set(spec.segment_ids)
    return campaign


def campaign_end(*, campaign_id: int) -> Campaign:
    """LAUNCHED -> ENDED: the window closes now if it was still open; results are recomputed, and the
    caller submits the uplift job."""
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            _fail(CampaignErrorCode.NOT_FOUND, "no such campaign", "id")
        if campaign.status != CampaignStatus.LAUNCHED:
            _fail(CampaignErrorCode.NOT_LAUNCHED, f"the campaign is {campaign.status}: only a launched one can end",
                  "id")
        now = timezone.now()
        campaign.status, campaign.ended_at = CampaignStatus.ENDED, now
        if campaign.starts_at < now < campaign.ends_at:
            campaign.ends_at = now
        campaign.save(update_fields=["status", "ended_at", "ends_at"])
        results_request(campaign_id=campaign.pk)
    return campaign


# --- results, recomputed by the worker ----------------------------------------------------------------


def results_request(*, campaign_id: int) -> bool:
    """Ask for a recompute of the campaign's results. Coalesced: while one is pending, asking again does
    nothing (the pending one will see the new events), so a burst of event batches costs one recompute.
    Returns whether this call queued it."""
    queued = Campaign.objects.filter(pk=campaign_id, results_pending=False,
                                     status__in=[CampaignStatus.LAUNCHED, CampaignStatus.ENDED]) \
        .update(results_pending=True)
    if queued:
        transaction.on_commit(partial(_enqueue_results, campaign_id))
    return bool(queued)


def _enqueue_results(campaign_id: int) -> None:
    from .tasks import compute_results

    try:
        compute_results.apply_async(args=[campaign_id], retry=False)
    except Exception as exc:  # noqa: BLE001 - not queued: clear the flag so the next request queues again
        logger.warning("campaign %s results could not be enqueued: %r", campaign_id, exc)
        Campaign.objects.filter(pk=campaign_id).update(results_pending=False)


def results_request_on_events_stored(notice: EventsStored) -> None:
    """behavior's events-stored hook: every live campaign whose window or pre-period the events touch.

    The campaigns are found now (a read: no lock); the requests wait for the storing transaction's commit,
    so an ingestion batch holds no lock on campaign rows (concurrent batches never wait on each other here)
    and a rolled-back batch requests nothing."""
    reach = timedelta(days=pre_period_days())
    touched = list(Campaign.objects.filter(status__in=[CampaignStatus.LAUNCHED, CampaignStatus.ENDED],
                                           starts_at__lte=notice.end + reach, ends_at__gt=notice.start,
                                           results_pending=False).order_by("id").values_list("id", flat=True))
    if touched:
        transaction.on_commit(partial(_request_all, touched))


def _request_all(campaign_ids: list[int]) -> None:
    for campaign_id in campaign_ids:
        results_request(campaign_id=campaign_id)


def demo_campaign() -> Campaign | None:
    """demo_setup's campaign: the served run's largest segment, the last 28 days of data recorded as a campaign
    run elsewhere (20 % holdout, 3 discovery picks), launched and measured in this process. None when a
    campaign exists already or there is no served segmentation."""
    from segments.selectors import latest_purchase_date, segments_for_run

    from .launching import campaign_launch
    from .measuring import results_compute

    largest = segments_for_run().order_by("-size", "id").first()
    last_day = latest_purchase_date()
    if Campaign.objects.exists() or largest is None or last_day is None:
        return None
    ends_at = datetime.combine(last_day + timedelta(days=1), datetime.min.time(), tzinfo=timezone.get_current_timezone())
    campaign = campaign_create(spec=CampaignSpec(
        name=f"Demo: {largest.label}", segment_ids=[largest.pk], starts_at=ends_at - timedelta(days=28),
        ends_at=ends_at, holdout_share=0.2, seed=2024, offer="10% off"))
    campaign_launch(campaign_id=campaign.pk)
    return results_compute(campaign_id=campaign.pk)


def customer_members_delete(*, customer_id: int) -> list[int]:
    """Remove a customer from every campaign (their membership and picks; returns the membership ids) and
    ask for each campaign's results to be recomputed without them."""
    members = CampaignMember.objects.filter(customer_id=customer_id)
    rows = list(members.values_list("id", "campaign_id"))
    members.delete()
    for campaign_id in sorted({campaign for _, campaign in rows}):
        results_request(campaign_id=campaign_id)
    return [member for member, _ in rows]
