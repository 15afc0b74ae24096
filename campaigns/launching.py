"""Launch: freeze the audience, split it by the seeded hash, freeze every member's picks, in one transaction.

The campaign row is locked for the whole launch, and a campaign that is no longer a DRAFT is left as
it is, so launching twice (two jobs, a retried job) writes the members once. Members and picks are
binary-COPYed on PostgreSQL (the row ids reserved from the tables' sequences first, so the picks can
point at the members without reading a million ids back), bulk-inserted elsewhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.utils import timezone

from behavior.selectors import shop_now
from catalog.models import Product
from catalog.selectors import category_descendant_ids
from recommender import engine as recommender_engine
from recommender.selectors import popular_products
from recommender.serving import LoadedModel, loaded_model

from . import engine, pgbinary
from .error_codes import CampaignError, CampaignErrorCode
from .models import Campaign, CampaignMember, CampaignPick, CampaignStatus, Group, PicksFrom
from .rules import rules_parse
from .selectors import audience, audience_frame, purchase_history_arrays
from .services import results_request
from .targeting import top_by_uplift

Progress = Callable[[float, str], None]


@dataclass
class Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    def stage(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = round(now - started, 3)
        return now


@dataclass
class FrozenPicks:
    product_ids: np.ndarray  # (members, k), -1 where a member has fewer
    scores: np.ndarray
    model_version_id: int | None
    numeric_seconds: float


def campaign_launch(*, campaign_id: int, job_id: int | None = None,
                    progress: Progress = lambda fraction, message: None) -> Campaign:
    """Freeze the campaign's members, groups and picks and mark it LAUNCHED (a no-op unless it is a DRAFT).

    Everything is computed first, outside any transaction (progress reports and a cancel reach the job
    row); the writes and the status change are one transaction that re-checks the status under a lock.
    """
    timer, started = Timer(), time.perf_counter()
    began = started
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "no such campaign", "id")
    if campaign.status != CampaignStatus.DRAFT:
        return campaign
    progress(0.02, "reading the audience")
    members = _audience(campaign)
    started = timer.stage("audience", started)
    if members.empty:
        raise CampaignError(CampaignErrorCode.EMPTY_AUDIENCE, "the segments and rules select no customer now")
    control = engine.control_mask(campaign.seed, members["external_id"].tolist(), campaign.holdout_share)
    timer.stage("assign", started)
    progress(0.15, f"{len(members):,} members; computing picks")
    picks = _picks(campaign, members, timer, _in_steps(lambda f: progress(0.15 + 0.5 * f, "computing picks")))
    progress(0.7, "writing members and picks")
    started = time.perf_counter()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        if campaign.status != CampaignStatus.DRAFT:  # launched meanwhile by another run
            return campaign
        _write(campaign, members["customer_id"].to_numpy(dtype=np.int64), control, picks)
        started = timer.stage("write", started)
        if connection.vendor == "postgresql":
            # A million fresh rows: without new statistics the planner takes the tables for nearly empty and
            # measures the campaign with a nested loop per member (seconds instead of one hash join).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {CampaignMember._meta.db_table}, {CampaignPick._meta.db_table}")
            timer.stage("analyze", started)
        timer.seconds["numpy"] = round(picks.numeric_seconds, 3)
        timer.seconds["total"] = round(time.perf_counter() - began, 3)
        campaign.status, campaign.launched_at, campaign.launch_job_id = CampaignStatus.LAUNCHED, timezone.now(), job_id
        campaign.members_count, campaign.model_version_id = len(members), picks.model_version_id
        campaign.launch_timings = timer.seconds
        campaign.save(update_fields=["status", "launched_at", "launch_job", "members_count", "model_version_id",
                                     "launch_timings"])
        results_request(campaign_id=campaign.pk)
    return campaign


def _in_steps(report: Callable[[float], None], step: float = 0.05) -> Callable[[float], None]:
    """``report`` called once per ``step`` of progress, not per block: each report is a committed write of the
    job row (a million members are 245 blocks)."""
    reached = -1

    def throttled(fraction: float) -> None:
        nonlocal reached
        if int(fraction / step) > reached:
            reached = int(fraction / step)
            report(fraction)

    return throttled


def _audience(campaign: Campaign) -> pd.DataFrame:
    query = audience(run_id=campaign.run_id, segment_ids=list(campaign.segments.values_list("id", flat=True)),
                     rules=rules_parse(campaign.rules), starts_at=campaign.starts_at)
    members = audience_frame(query)
    if campaign.uplift_source_id is not None and not members.empty:
        members = top_by_uplift(source_id=campaign.uplift_source_id, members=members,
                                share=campaign.uplift_top_share or 1.0)
    return members.reset_index(drop=True)


# --- picks -----------------------------------------------------------------------------------------------


def _pick_model(model: LoadedModel | None, countries: list[str]) -> tuple[engine.PickModel, np.ndarray, np.ndarray]:
    """The served version's arrays (or, with none, the recent popular items for everybody), the item ids, and
    for each of ``countries`` its row of cold-start vectors (-1: the model knows nothing of it: popularity)."""
    if model is None:
        popular = popular_products(first=200)
        item_ids = np.array([r.product.pk for r in popular], dtype=np.int64)
        scores = np.array([r.score for r in popular], dtype=np.float32)
        return engine.PickModel(user_vectors=np.zeros((0, 1), np.float32), item_vectors=np.zeros((len(item_ids), 1),
                                np.float32), item_bias=np.zeros(len(item_ids), np.float32), popular=scores,
                                cold_vectors=np.zeros((0, 1), np.float32)), item_ids, np.full(len(countries), -1)
    vectors = [recommender_engine.feature_vector(model.user_feature_index, model.user_feature_vectors,
                                                 recommender_engine.user_feature_names(country, {}))
               for country in countries]
    known = [v for v in vectors if v is not None]
    rows = np.cumsum([v is not None for v in vectors]) - 1
    cold_rows = np.where([v is not None for v in vectors], rows, -1).astype(np.int64)
    cold_vectors = np.array(known, dtype=np.float32).reshape(len(known), model.item_vectors.shape[1])
    return engine.PickModel(
        user_vectors=model.user_vectors, item_vectors=model.item_vectors, item_bias=model.item_bias,
        popular=model.popular_recent, cold_vectors=cold_vectors, item_item=model.item_item,
        discovery_beta=model.discovery_beta, blend_alpha=model.blend_alpha,
        history_half_life_days=model.history_half_life_days, trend=model.trend, trend_weight=model.trend_weight,
    ), model.item_ids, cold_rows


def _allowed(item_ids: np.ndarray, category_id: int | None) -> np.ndarray:
    """Items that are active products now (and in the campaign's category or below it, if it has one)."""
    products = Product.objects.filter(pk__in=item_ids.tolist(), is_active=True)
    if category_id is not None:
        products = products.filter(category_id__in=category_descendant_ids(category_ids=[category_id]))
    return np.isin(item_ids, np.fromiter(products.values_list("id", flat=True), dtype=np.int64))


def _history(customer_ids: np.ndarray, item_ids: np.ndarray, half_life_days: float):
    """Members x items: their purchases so far, each weighted by its age (``engine.purchase_matrix``)."""
    purchases = purchase_history_arrays()
    # Ages on the shop clock, as serving measures them (behavior.selectors.shop_now).
    age_days = (shop_now().timestamp() * 1e6 - purchases["occurred_us"]) / 86_400e6
    return engine.purchase_matrix(_positions(customer_ids, purchases["customer_id"]),
                                  _positions(item_ids, purchases["product_id"]), age_days,
                                  n_members=len(customer_ids), n_items=len(item_ids), half_life_days=half_life_days)


def _positions(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The position of each of ``wanted`` in ``ids`` (any order), -1 where absent."""
    if len(ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    position = recommender_engine.index_of(ids[order], wanted)
    return np.where(position >= 0, order[np.maximum(position, 0)], -1)


def _picks(campaign: Campaign, members: pd.DataFrame, timer: Timer, progress: Callable[[float], None]) -> FrozenPicks:
    customer_ids = members["customer_id"].to_numpy(dtype=np.int64)
    if campaign.picks == 0:
        empty = np.zeros((len(customer_ids), 0))
        return FrozenPicks(empty.astype(np.int64), empty.astype(np.float32), None, 0.0)
    started = time.perf_counter()
    model = loaded_model()
    countries = members["country"].astype(str)
    distinct = sorted(set(countries))
    pick_model, item_ids, cold_rows = _pick_model(model, distinct)
    rows = recommender_engine.index_of(model.user_ids, customer_ids) if model is not None \
        else np.full(len(customer_ids), -1, dtype=np.int64)
    cold = countries.map(dict(zip(distinct, cold_rows.tolist()))).to_numpy(dtype=np.int64)
    history = _history(customer_ids, item_ids, pick_model.history_half_life_days)
    allowed = _allowed(item_ids, campaign.category_id)
    started = timer.stage("history", started)
    result = engine.batch_picks(pick_model, member_rows=rows, member_cold=cold, history=history, k=campaign.picks,
                                next_basket=campaign.picks_from == PicksFrom.NEXT_BASKET,
                                allowed=allowed, progress=progress)
    timer.stage("picks", started)
    product_ids = np.where(result.columns >= 0, item_ids[np.maximum(result.columns, 0)], -1)
    return FrozenPicks(product_ids, result.scores, model.version_id if model is not None else None, result.seconds)


# --- writing ---------------------------------------------------------------------------------------------


def _pick_rows(member_ids: np.ndarray, picks: FrozenPicks) -> pd.DataFrame:
    k = picks.product_ids.shape[1]
    valid = picks.product_ids >= 0
    return pd.DataFrame({
        "member_id": np.repeat(member_ids, k).reshape(-1, k)[valid] if k else np.zeros(0, np.int64),
        "product_id": picks.product_ids[valid],
        "rank": np.broadcast_to(np.arange(1, k + 1), picks.product_ids.shape)[valid],
        "score": np.round(picks.scores[valid].astype(np.float64), 6),
    })


def _write(campaign: Campaign, customer_ids: np.ndarray, control: np.ndarray, picks: FrozenPicks) -> None:
    groups = np.where(control, Group.CONTROL.value, Group.TREATMENT.value)
    if connection.vendor == "postgresql":
        # Binary COPY with the ids given: no text to parse, no sequence call per row, and the picks point at
        # members whose ids are known without reading a million back.
        member_ids = _reserve_ids(CampaignMember._meta.db_table, len(customer_ids))
        pgbinary.copy_in(CampaignMember._meta.db_table, ["id", "campaign_id", "customer_id", "group"], pgbinary.encode(
            [(member_ids, ">i8"), (np.full(len(member_ids), campaign.pk, dtype=np.int64), ">i8"),
             (customer_ids, ">i8")], text=groups))
        rows = _pick_rows(member_ids, picks)
        if len(rows):
            pick_ids = _reserve_ids(CampaignPick._meta.db_table, len(rows))
            pgbinary.copy_in(CampaignPick._meta.db_table, ["id", "member_id", "product_id", "rank", "score"],
                             pgbinary.encode([(pick_ids, ">i8"), (rows["member_id"].to_numpy(), ">i8"),
                                              (rows["product_id"].to_numpy(), ">i8"), (rows["rank"].to_numpy(), ">i2"),
                                              (rows["score"].to_numpy(), ">f8")]))
        return
    CampaignMember.objects.bulk_create(
        (CampaignMember(campaign_id=campaign.pk, customer_id=int(c), group=str(g))
         for c, g in zip(customer_ids, groups)), batch_size=2000)
    member_ids = np.fromiter(CampaignMember.objects.filter(campaign_id=campaign.pk).order_by("id")
                             .values_list("id", flat=True), dtype=np.int64)
    # bulk_create keeps the order: the members' ids ascend in the order of customer_ids
    CampaignPick.objects.bulk_create((CampaignPick(**row) for row in _pick_rows(member_ids, picks)
                                      .to_dict("records")), batch_size=2000)


def _reserve_ids(table: str, count: int) -> np.ndarray:
    """``count`` consecutive ids from the table's id sequence (under a lock against concurrent launches and
    other writers, held to the end of the launch's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {connection.ops.quote_name(table)} IN SHARE ROW EXCLUSIVE MODE")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s)", [sequence])
        first = cursor.fetchone()[0]
        if count > 1:
            cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return np.arange(first, first + count, dtype=np.int64)
