"""The campaign engine on arrays (no database): the split, the statistics' known answers, the uplift model."""

from __future__ import annotations

import numpy as np
import pytest

from campaigns import engine
from campaigns.synthetic import PlantedCampaign, expected_variance_reduction, planted_members

SEEDS = range(50)


def test_the_split_is_a_keyed_hash_of_seed_and_customer():
    # given the same ids under two seeds
    ids = [f"C{i}" for i in range(20_000)]
    first = engine.control_mask(7, ids, 0.1)
    # then the same seed gives the same split, another seed an independent one, at the planned share
    assert (engine.control_mask(7, ids, 0.1) == first).all()
    other = engine.control_mask(8, ids, 0.1)
    assert 0.09 < first.mean() < 0.11
    assert abs((first & other).mean() - 0.01) < 0.004


def test_the_split_is_pinned_to_known_values():
    # blake2b("7:C0", 8 bytes) read big-endian, as a share of 2**64: a value any machine reproduces
    import hashlib

    digest = int.from_bytes(hashlib.blake2b(b"7:C0", digest_size=8).digest(), "big")
    assert engine.unit_hash(7, "C0") == digest / 2**64
    assert engine.control_mask(7, ["C0"], 0.5)[0] == (digest / 2**64 < 0.5)


def _results(spec: PlantedCampaign):
    members = planted_members(spec)
    return engine.results_from_arrays(members.arrays(), holdout_share=spec.holdout_share)


def test_the_intervals_cover_the_planted_lifts_in_90_to_99_percent_of_50_runs():
    conversion = revenue = cuped = 0
    for seed in SEEDS:
        spec = PlantedCampaign(seed=seed)
        results = _results(spec)
        conversion += results.conversion_lift.low <= spec.conversion_lift <= results.conversion_lift.high
        revenue += results.revenue_lift.low <= spec.planted_revenue_lift <= results.revenue_lift.high
        cuped += results.cuped_revenue_lift.low <= spec.planted_revenue_lift <= results.cuped_revenue_lift.high
    for covered in (conversion, revenue, cuped):
        assert 0.90 <= covered / 50 <= 0.99, (conversion, revenue, cuped)


def test_an_a_a_campaign_is_significant_in_at_most_10_percent_of_runs():
    significant = 0
    for seed in SEEDS:
        results = _results(PlantedCampaign(seed=seed, conversion_lift=0.0, amount_lift=0.0))
        significant += results.conversion_lift.p_value < 0.05
        significant += results.revenue_lift.p_value < 0.05
    assert significant / 100 <= 0.10


def test_cuped_cuts_the_variance_by_about_the_planted_factor():
    spec = PlantedCampaign()
    reductions = [_results(PlantedCampaign(seed=seed)).cuped_revenue_lift.variance_reduction for seed in SEEDS]
    expected = expected_variance_reduction(spec)
    assert expected > 0.02
    assert np.mean(reductions) == pytest.approx(expected, rel=0.25)
    # and the adjusted interval is narrower than the plain one by about sqrt(1 - reduction)
    results = _results(PlantedCampaign(seed=3))
    ratio = (results.cuped_revenue_lift.high - results.cuped_revenue_lift.low) / \
        (results.revenue_lift.high - results.revenue_lift.low)
    assert ratio == pytest.approx(np.sqrt(1 - results.cuped_revenue_lift.variance_reduction), abs=0.02)


def test_sample_ratio_mismatch_fires_on_a_planted_45_55_split():
    # planned 50/50, actually 55 % control
    biased = _results(PlantedCampaign(seed=1, customers=20_000, actual_control_share=0.55))
    fair = _results(PlantedCampaign(seed=1, customers=20_000))
    assert biased.srm_flagged and biased.srm_p_value < 0.001
    assert not fair.srm_flagged


def test_group_rows_and_incremental_revenue_add_up():
    arrays = engine.GroupArrays(control=np.array([True, True, False, False, False]), orders=np.array([0, 2, 1, 0, 3]),
                                revenue=np.array([0.0, 30.0, 10.0, 0.0, 50.0]), pre_revenue=np.array([1.0, 2, 3, 4, 5]),
                                hit=np.array([False, True, True, False, False]))
    results = engine.results_from_arrays(arrays, holdout_share=0.4)
    treatment, control = results.groups
    assert treatment == {"group": "TREATMENT", "members": 3, "converters": 2, "conversion_rate": 2 / 3, "orders": 4,
                         "revenue": 60.0, "revenue_per_member": 20.0}
    assert control == {"group": "CONTROL", "members": 2, "converters": 1, "conversion_rate": 0.5, "orders": 2,
                       "revenue": 30.0, "revenue_per_member": 15.0}
    assert results.revenue_lift.absolute == pytest.approx(5.0)
    assert results.incremental_revenue == pytest.approx(15.0)
    assert results.picks_hit_rate == {"treatment": pytest.approx(1 / 3), "control": 0.5}


def test_the_uplift_model_beats_random_on_a_planted_heterogeneous_effect():
    spec = PlantedCampaign(seed=5, customers=20_000, heterogeneous=True, conversion_lift=0.08)
    members = planted_members(spec)
    x = np.column_stack([members.frequency, members.pre_spend])
    _, evaluation = engine.two_model_uplift(x, ~members.control, members.converted.astype(int), seed=0)
    assert evaluation.qini > evaluation.qini_random
    assert evaluation.qini > 0.5 * engine.qini_coefficient(members.true_uplift, ~members.control,
                                                            members.converted)
    assert evaluation.test_members + evaluation.train_members == spec.customers


def test_qini_of_a_perfect_order_is_positive_and_of_its_reverse_negative():
    treated = np.array([True, False] * 50)
    outcome = np.array([1, 0] * 25 + [0, 0] * 25)  # only the first half's treated convert
    score = -np.arange(100.0)
    assert engine.qini_coefficient(score, treated, outcome) > 0
    assert engine.qini_coefficient(-score, treated, outcome) < 0


@pytest.mark.parametrize("k", [1, 3, 8, 12])
def test_best_columns_agree_with_a_full_sort(k):
    scores = np.random.default_rng(k).normal(size=(50, 300)).astype(np.float32)
    expected = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    best, values = engine.picks.best_columns(scores.copy(), k)
    assert (best == expected).all()
    assert np.allclose(values, np.take_along_axis(scores, expected, axis=1))


def test_batch_picks_match_the_served_ranking_for_each_member():
    # given a model, some members it knows, one it does not (cold, by country) and histories
    from recommender import engine as rec

    rng = np.random.default_rng(0)
    users, items = rng.normal(size=(6, 4)).astype(np.float32), rng.normal(size=(30, 4)).astype(np.float32)
    bias = rng.normal(size=30).astype(np.float32)
    model = engine.PickModel(user_vectors=users, item_vectors=items, item_bias=bias, popular=rng.random(30),
                             cold_vectors=rng.normal(size=(1, 4)).astype(np.float32), blend_alpha=0.7)
    rows, cold = np.array([0, 3, 5, -1]), np.array([-1, -1, -1, 0])
    bought = [np.array([1, 2]), np.array([]), np.array([7, 7, 9]), np.array([4])]
    member = np.concatenate([np.full(len(b), i) for i, b in enumerate(bought)]).astype(np.int64)
    columns = np.concatenate(bought).astype(np.int64)
    age = np.full(len(columns), 10.0)
    history = engine.purchase_matrix(member, columns, age, n_members=4, n_items=30, half_life_days=90.0)
    for next_basket in (False, True):
        result = engine.batch_picks(model, member_rows=rows, member_cold=cold, history=history, k=5,
                                    next_basket=next_basket, block=3)
        for i in range(4):
            vector = users[rows[i]] if rows[i] >= 0 else model.cold_vectors[0]
            scores = rec.model_scores(items, bias, vector)
            if next_basket and len(bought[i]):
                scores = rec.next_basket_scores(scores, bought[i].astype(np.int64), np.full(len(bought[i]), 10.0),
                                                blend_alpha=0.7, history_half_life_days=90.0,
                                                trend=np.zeros(30, np.float32), trend_weight=0.0)
            elif not next_basket:
                rec.exclude(scores, bought[i].astype(np.int64))
            expected, _ = rec.best_items(scores, 5)
            assert result.columns[i].tolist() == expected.tolist(), (next_basket, i)


def test_member_outcomes_sum_lines_per_member():
    # members 10, 11, 12; member 10 bought twice in one order and once before; 12 bought its own pick
    lines = {"member_id": np.array([10, 10, 10, 12]), "in_window": np.array([1, 1, 0, 1]),
             "amount": np.array([5.0, 7.0, 3.0, 4.0]), "order": np.array([-7, -7, 9, 2**31 - 1]),
             "product_id": np.array([1, 2, 3, 8])}
    picks = {"member_id": np.array([10, 12, 12]), "product_id": np.array([3, 9, 8])}
    arrays = engine.member_outcomes(n_members=3, first_id=10, control=np.array([False, True, False]), lines=lines,
                                    picks=picks)
    assert arrays.revenue.tolist() == [12.0, 0.0, 4.0]
    assert arrays.pre_revenue.tolist() == [3.0, 0.0, 0.0]
    assert arrays.orders.tolist() == [1, 0, 1]
    assert arrays.hit.tolist() == [False, False, True]  # member 10's pick was bought before the window
