"""Create, update, launch, end and measure campaigns through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection

from campaigns import engine
from campaigns.error_codes import CampaignError, CampaignErrorCode
from campaigns.launching import campaign_launch
from campaigns.measuring import results_compute
from campaigns.models import Campaign, CampaignMember, CampaignPick, CampaignStatus
from campaigns.services import CampaignSpec, campaign_create, campaign_end, campaign_update
from segments.params import SegmentationParams
from segments.services import segmentation_run
from tests.campaigns.conftest import END, START, draft, window_purchases
from tests.factories import category


def _error(call) -> CampaignError:
    with pytest.raises(CampaignError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"holdout_share": 0.6}, CampaignErrorCode.HOLDOUT_OUT_OF_RANGE, "holdout_share"),
    ({"holdout_share": -0.1}, CampaignErrorCode.HOLDOUT_OUT_OF_RANGE, "holdout_share"),
    ({"ends_at": START - timedelta(days=1)}, CampaignErrorCode.ENDS_BEFORE_START, "ends_at"),
    ({"ends_at": START}, CampaignErrorCode.ENDS_BEFORE_START, "ends_at"),
    ({"category_id": 999_999}, CampaignErrorCode.UNKNOWN_CATEGORY, "category_id"),
    ({"rules": {"bought_category_id": 999_999}}, CampaignErrorCode.UNKNOWN_CATEGORY, "rules.bought_category_id"),
    ({"segment_ids": []}, CampaignErrorCode.EMPTY_AUDIENCE, "segment_ids"),
    ({"rules": {"countries": ["Atlantis"]}}, CampaignErrorCode.EMPTY_AUDIENCE, "segment_ids"),
    ({"picks": 21}, CampaignErrorCode.INVALID, "picks"),
    ({"rules": {"rfm_score_min": 2}}, CampaignErrorCode.INVALID, "rules.rfm_score_min"),
    ({"segment_ids": [999_999]}, CampaignErrorCode.UNKNOWN_SEGMENT, "segment_ids"),
])
def test_bad_input_gets_a_typed_error_and_writes_nothing(shop, fields, code, field):
    error = _error(lambda: draft(shop, **fields))
    assert (error.code, error.field) == (code, field)
    assert Campaign.objects.count() == 0


def test_segments_of_two_runs_are_refused(shop):
    # given a second run
    other = segmentation_run(params=SegmentationParams(k=5, features=["recency", "frequency", "monetary"], seed=2))
    mixed = [shop.segments["Champions"].pk, other.segments.first().pk]
    error = _error(lambda: draft(shop, segment_ids=mixed))
    assert error.code == CampaignErrorCode.SEGMENT_FROM_OTHER_RUN
    assert Campaign.objects.count() == 0


def test_a_draft_keeps_its_fields_and_rules(shop):
    campaign = draft(shop, rules={"rfm_score_min": 10, "countries": []}, offer="10% off", goal="REVENUE")
    assert campaign.status == CampaignStatus.DRAFT
    assert (campaign.run_id, campaign.seed, campaign.offer, campaign.goal) == (shop.run.pk, 42, "10% off", "REVENUE")
    assert campaign.rules == {"rfm_score_min": 10}
    assert sorted(campaign.segments.values_list("id", flat=True)) == sorted(shop.segment_ids("Champions", "Loyal"))


def test_a_draft_without_a_seed_gets_one_and_keeps_it_on_update(shop):
    campaign = draft(shop, seed=None)
    seed = campaign.seed
    updated = campaign_update(campaign_id=campaign.pk, changes={"name": "Spring"})
    assert (updated.name, updated.seed) == ("Spring", seed)


def test_a_launched_campaign_cannot_change_and_launching_twice_writes_once(shop):
    campaign = draft(shop)
    campaign_launch(campaign_id=campaign.pk)
    members = CampaignMember.objects.filter(campaign=campaign).count()
    picks = CampaignPick.objects.filter(member__campaign=campaign).count()
    # when launched again and changed
    campaign_launch(campaign_id=campaign.pk)
    error = _error(lambda: campaign_update(campaign_id=campaign.pk, changes={"holdout_share": 0.2}))
    # then nothing moved
    assert error.code == CampaignErrorCode.NOT_DRAFT
    assert CampaignMember.objects.filter(campaign=campaign).count() == members == 80
    assert CampaignPick.objects.filter(member__campaign=campaign).count() == picks == 160
    assert Campaign.objects.get(pk=campaign.pk).holdout_share == 0.3


def test_a_launch_that_fails_while_writing_leaves_no_member_and_can_be_retried(shop, monkeypatch):
    from django.db import IntegrityError

    from campaigns import launching

    campaign = draft(shop)
    real_pick_rows = launching._pick_rows

    def ranked_zero(member_ids, picks):  # the database's rank check refuses these, after the members are written
        rows = real_pick_rows(member_ids, picks)
        rows["rank"] = 0
        return rows

    # given a write that fails on the picks, after the members went in
    monkeypatch.setattr(launching, "_pick_rows", ranked_zero)
    with pytest.raises(IntegrityError):
        campaign_launch(campaign_id=campaign.pk)
    # then nothing of it stays, and the campaign is still a draft
    assert CampaignMember.objects.filter(campaign=campaign).count() == 0
    assert CampaignPick.objects.filter(member__campaign=campaign).count() == 0
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT
    # when retried with the write working
    monkeypatch.setattr(launching, "_pick_rows", real_pick_rows)
    launched = campaign_launch(campaign_id=campaign.pk)
    # then it launches whole
    assert launched.status == CampaignStatus.LAUNCHED
    assert CampaignMember.objects.filter(campaign=campaign).count() == 80
    assert CampaignPick.objects.filter(member__campaign=campaign).count() == 160


def test_launch_splits_by_the_seeded_hash_and_freezes_picks(shop):
    campaign = draft(shop)
    launched = campaign_launch(campaign_id=campaign.pk)
    rows = list(CampaignMember.objects.filter(campaign=campaign).order_by("customer__external_id")
                .values_list("customer__external_id", "group"))
    expected = engine.control_mask(42, [external_id for external_id, _ in rows], 0.3)
    assert [group == "CONTROL" for _, group in rows] == expected.tolist()
    assert launched.status == CampaignStatus.LAUNCHED and launched.members_count == 80
    # every member, control included, has 2 picks ranked 1 and 2, never an item they bought (DISCOVERY)
    member = CampaignMember.objects.filter(campaign=campaign, group="CONTROL").first()
    assert list(member.picks.order_by("rank").values_list("rank", flat=True)) == [1, 2]
    assert not member.picks.filter(product__events__customer_id=member.customer_id).exists()


def test_the_same_seed_gives_the_same_split_on_any_database(shop):
    # a pinned answer: the hash of "42:<external id>" for the planted Champions and Loyal customers
    campaign = draft(shop)
    campaign_launch(campaign_id=campaign.pk)
    control = sorted(CampaignMember.objects.filter(campaign=campaign, group="CONTROL")
                     .values_list("customer__external_id", flat=True))
    assert control[:5] == PINNED_CONTROL_HEAD, (connection.vendor, control[:5])
    assert len(control) == PINNED_CONTROL_COUNT


def test_deleted_customers_leave_the_campaign_and_are_never_launched(shop):
    from behavior.models import Customer

    campaign = draft(shop)
    gone = Customer.objects.get(external_id="CHA0000")
    gone.delete()
    campaign_launch(campaign_id=campaign.pk)
    assert not CampaignMember.objects.filter(customer__external_id="CHA0000").exists()
    assert CampaignMember.objects.filter(campaign=campaign).count() == 79


def test_rules_narrow_the_audience(shop):
    root = category("Elsewhere")
    campaign = draft(shop, rules={"never_bought_category_id": root.pk, "last_purchase_fewer_than_days": 30,
                                  "rfm_score_min": 3})
    campaign_launch(campaign_id=campaign.pk)
    members = CampaignMember.objects.filter(campaign=campaign).count()
    assert 0 < members < 80  # only those who bought within 30 days of the start


def test_results_count_exactly_what_was_bought_in_the_window(shop):
    campaign = draft(shop, holdout_share=0.5)
    campaign_launch(campaign_id=campaign.pk)
    totals = window_purchases(campaign, treatment_rate=0.6, control_rate=0.2)
    results = results_compute(campaign_id=campaign.pk).results
    treatment, control = results["groups"]
    assert (treatment["converters"], treatment["revenue"]) == (totals["TREATMENT"][0], totals["TREATMENT"][1])
    assert (control["converters"], control["revenue"]) == (totals["CONTROL"][0], totals["CONTROL"][1])
    assert treatment["members"] + control["members"] == 80
    assert results["conversion_lift"]["absolute"] == pytest.approx(
        treatment["conversion_rate"] - control["conversion_rate"])
    assert results["daily"] == [{"date": "2025-01-09", "treatment_revenue": totals["TREATMENT"][1],
                                 "control_revenue": totals["CONTROL"][1], "treatment_converters": totals["TREATMENT"][0],
                                 "control_converters": totals["CONTROL"][0]}]
    assert 0 <= results["srm_p_value"] <= 1


def test_events_stored_after_launch_recompute_the_results(shop, django_capture_on_commit_callbacks):
    from behavior.services import events_ingest

    campaign = draft(shop)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign_id=campaign.pk)
    assert Campaign.objects.get(pk=campaign.pk).results["groups"][0]["revenue"] == 0.0
    member = CampaignMember.objects.filter(campaign=campaign, group="TREATMENT").select_related("customer").first()
    product = member.picks.order_by("rank").first().product
    # when a purchase of their first pick arrives through ingestion
    with django_capture_on_commit_callbacks(execute=True) as queued:
        outcome = events_ingest(events=[{
            "customer_external_id": member.customer.external_id, "product_sku": product.sku, "kind": "purchase",
            "occurred_at": (START + timedelta(days=1)).isoformat(), "quantity": 1, "unit_price": "25.00",
            "event_id": "late-1"}])
    assert len([c for c in queued if "_enqueue_results" in repr(c)]) == 1
    assert outcome.stored == 1
    # then the results were recomputed (tasks run in-process here) and count it
    results = Campaign.objects.get(pk=campaign.pk).results
    assert results["groups"][0]["revenue"] == 25.0
    assert results["picks_hit_rate"]["treatment"] > 0


def test_a_pending_recompute_absorbs_further_requests(shop, django_capture_on_commit_callbacks):
    from campaigns.services import results_request

    campaign = draft(shop)
    campaign_launch(campaign_id=campaign.pk)  # its own request stays pending: no commit in this test
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert results_request(campaign_id=campaign.pk) is False
        assert results_request(campaign_id=campaign.pk) is False
    assert queued == []
    results_compute(campaign_id=campaign.pk)  # the worker clears the flag first
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert results_request(campaign_id=campaign.pk) is True
        assert results_request(campaign_id=campaign.pk) is False
    assert len(queued) == 1


def test_ending_closes_the_campaign_once(shop):
    campaign = draft(shop)
    campaign_launch(campaign_id=campaign.pk)
    ended = campaign_end(campaign_id=campaign.pk)
    assert ended.status == CampaignStatus.ENDED and ended.ends_at == END  # a past window stays as it was
    assert _error(lambda: campaign_end(campaign_id=campaign.pk)).code == CampaignErrorCode.NOT_LAUNCHED


PINNED_CONTROL_HEAD = ["CHA0004", "CHA0005", "CHA0013", "CHA0017", "CHA0018"]
PINNED_CONTROL_COUNT = 24


def test_the_demo_campaign_is_made_once_launched_and_measured(shop):
    from campaigns.services import demo_campaign

    campaign = demo_campaign()
    assert campaign.status == CampaignStatus.LAUNCHED and campaign.members_count == 40
    assert campaign.results["groups"][0]["members"] + campaign.results["groups"][1]["members"] == 40
    assert demo_campaign() is None and Campaign.objects.count() == 1


def test_an_ended_campaigns_uplift_model_targets_the_next_audience(shop):
    from campaigns.targeting import uplift_fit

    # given an ended campaign over every segment where treated Champions buy far more often
    everyone = list(shop.segments)
    source = draft(shop, segment_ids=shop.segment_ids(*everyone), holdout_share=0.5)
    campaign_launch(campaign_id=source.pk)
    window_purchases(source, treatment_rate=0.5, control_rate=0.2)
    campaign_end(campaign_id=source.pk)
    # when its uplift model is fitted
    fitted = uplift_fit(campaign_id=source.pk)
    assert set(fitted.uplift) >= {"artifact", "qini", "qini_random", "qini_response"}
    assert fitted.uplift["train_members"] + fitted.uplift["test_members"] == 200
    # then a new campaign can keep the top 30 % of its audience by predicted uplift
    target = draft(shop, segment_ids=shop.segment_ids(*everyone), uplift_source_id=source.pk, uplift_top_share=0.3)
    launched = campaign_launch(campaign_id=target.pk)
    assert launched.members_count == 60


def test_the_uplift_model_needs_an_ended_campaign(shop):
    from campaigns.targeting import uplift_fit

    campaign = draft(shop)
    assert _error(lambda: uplift_fit(campaign_id=campaign.pk)).code == CampaignErrorCode.NOT_ENDED
    assert _error(lambda: draft(shop, uplift_source_id=campaign.pk)).code == CampaignErrorCode.NO_UPLIFT_MODEL


def _activate_random_model(dim: int = 8) -> None:
    """An active recommender version with random vectors for every customer and product (no training)."""
    import io

    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from behavior.models import Customer
    from catalog.models import Product
    from recommender.models import ModelStatus, ModelVersion

    rng = np.random.default_rng(1)
    users = np.sort(np.fromiter(Customer.objects.values_list("id", flat=True), dtype=np.int64))
    items = np.sort(np.fromiter(Product.objects.values_list("id", flat=True), dtype=np.int64))
    arrays = {"user_ids": users, "item_ids": items, "user_vectors": rng.normal(size=(len(users), dim)),
              "item_vectors": rng.normal(size=(len(items), dim)), "item_bias": rng.normal(size=len(items)),
              "item_category": np.zeros(len(items), dtype=np.int64), "user_feature_names": np.array(["none"]),
              "user_feature_vectors": np.zeros((1, dim)), "item_feature_names": np.array(["none"]),
              "item_feature_vectors": np.zeros((1, dim)), "item_feature_bias": np.zeros(1),
              "price_edges": np.zeros(0), "popular_recent": rng.random(len(items)), "blend_alpha": np.float64(0.5)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = default_storage.save("test-model.npz", ContentFile(buffer.getvalue()))
    ModelVersion.objects.create(status=ModelStatus.READY, is_active=True, artifact=path)


@pytest.mark.parametrize("picks_from", ["DISCOVERY", "NEXT_BASKET"])
def test_frozen_picks_are_what_the_recommender_served_at_launch(shop, picks_from):
    from recommender.selectors import recommendations_for

    _activate_random_model()
    campaign = draft(shop, picks=4, picks_from=picks_from)
    launched = campaign_launch(campaign_id=campaign.pk)
    assert launched.model_version_id is not None
    for member in CampaignMember.objects.filter(campaign=campaign).select_related("customer")[:10]:
        served = recommendations_for(customer_external_id=member.customer.external_id, first=4,
                                     exclude_purchased=picks_from == "DISCOVERY")
        frozen = list(member.picks.order_by("rank").values_list("product_id", "score"))
        assert [pk for pk, _ in frozen] == [item.product.pk for item in served.items]
        assert [score for _, score in frozen] == pytest.approx([item.score for item in served.items], abs=1e-4)
