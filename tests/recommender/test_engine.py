"""The numerics against values computed by hand (no database)."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommender import engine


def csr(rows):
    return sp.csr_matrix(np.array(rows, dtype=np.float32))


def test_ranking_metrics_match_hand_computed_values():
    # given two users, three slots; user 0 wants items 1 and 4, user 1 wants item 9
    recommended = np.array([[0, 1, 2], [3, 4, 5]])
    truth = sp.csr_matrix(([1, 1, 1], ([0, 0, 1], [1, 4, 9])), shape=(2, 10))
    # when
    m = engine.ranking_metrics(recommended, truth, k=3)
    # then: user 0 has one hit in slot 2 of 3; the ideal list would hit in slots 1 and 2
    dcg = 1 / math.log2(3)
    assert m["precision"].tolist() == pytest.approx([1 / 3, 0.0])
    assert m["recall"].tolist() == pytest.approx([1 / 2, 0.0])
    assert m["ndcg"].tolist() == pytest.approx([dcg / (1 + dcg), 0.0])


def test_auc_ignores_excluded_items_and_counts_ties_as_half():
    scores = np.array([[0.9, 0.1, 0.5, -np.inf, 0.3], [0.5, 0.5, 0.1, 0.0, 0.0]], dtype=np.float32)
    truth = sp.csr_matrix(([1, 1], ([0, 1], [2, 0])), shape=(2, 5))
    # user 0: the positive (0.5) beats 0.1 and 0.3, loses to 0.9; item 3 is excluded -> 2/3
    # user 1: the positive beats three items and ties one -> (3 + 0.5) / 4
    assert engine.auc_scores(scores, truth).tolist() == pytest.approx([2 / 3, 3.5 / 4])


def test_evaluate_popularity_with_exclusion_and_coverage():
    pop = np.array([5, 4, 3, 2, 1], dtype=np.float32)
    truth = sp.csr_matrix(([1, 1], ([0, 1], [2, 1])), shape=(2, 5))
    excluded = sp.csr_matrix(([1], ([0], [0])), shape=(2, 5))  # user 0 already bought item 0
    result = engine.evaluate(engine.popularity_scorer(pop), users=np.array([0, 1]), truth=truth, excluded=excluded,
                             n_items=5, k=2)
    # user 0 gets [1, 2] (hit in slot 2), user 1 gets [0, 1] (hit in slot 2)
    assert result["precision@2"] == pytest.approx(0.5)
    assert result["recall@2"] == pytest.approx(1.0)
    assert result["ndcg@2"] == pytest.approx(1 / math.log2(3))
    assert result["coverage"] == pytest.approx(3 / 5)
    # user 0: positive item 2 beats items 3 and 4, loses to item 1 -> 2/3; user 1: item 1 beats 3 of 4 -> 3/4
    assert result["auc"] == pytest.approx((2 / 3 + 3 / 4) / 2)


def test_top_k_is_best_first_and_masking_uses_minus_infinity():
    scores = np.array([[0.1, 0.9, 0.5, 0.7]], dtype=np.float32)
    assert engine.top_k(scores, 2).tolist() == [[1, 3]]
    engine.mask_rows(scores, np.array([0]), sp.csr_matrix(([1], ([0], [1])), shape=(1, 4)))
    assert engine.top_k(scores, 2).tolist() == [[3, 2]]
    assert engine.top_k_1d(np.array([0.2, -np.inf, 0.3], dtype=np.float32), 5).tolist() == [2, 0]


def test_ease_closed_form_on_two_items():
    # X'X + I = [[3, 1], [1, 2]], P = inverse = [[2, -1], [-1, 3]] / 5, B_ij = -P_ij / P_jj
    x = csr([[1, 1], [1, 0]])
    b = engine.ease_fit(x, lam=1.0)
    assert b == pytest.approx(np.array([[0.0, 1 / 3], [1 / 2, 0.0]]))
    assert engine.ease_scorer(x, b)(np.array([1])) == pytest.approx(np.array([[0.0, 1 / 3]]))


def test_interaction_weights_by_kind_with_half_life():
    w = engine.interaction_weights(np.array(["purchase", "view", "return"]), kind_weights={"purchase": 1.0, "view": 0.1},
                                   age_days=np.array([0.0, 10.0, 5.0]), half_life_days=10.0)
    assert w.tolist() == pytest.approx([1.0, 0.05, 0.0])


def test_feature_matrix_rows_sum_to_one_with_identity_first():
    matrix, vocab = engine.feature_matrix([["cat:1"], []])
    assert vocab == ["cat:1"]
    assert matrix.toarray() == pytest.approx(np.array([[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]))
    cold, _ = engine.feature_matrix([["cat:1", "unknown"]], vocabulary=vocab, identity=False)
    assert cold.toarray().tolist() == [[1.0]]


def test_buy_again_ranks_own_items_by_count_then_popular():
    history = csr([[0, 2, 1, 0]])
    pop = np.array([10, 1, 5, 8], dtype=np.float32)
    scores = engine.buy_again_scorer(history, pop)(np.array([0]))
    assert engine.top_k(scores, 4).tolist() == [[1, 2, 0, 3]]


def test_blend_with_large_weight_puts_own_history_first_then_the_model():
    model = engine.popularity_scorer(np.array([0.0, 0.1, 0.9, 0.5], dtype=np.float32))
    history = csr([[2, 1, 0, 0]])
    assert engine.top_k(engine.blend_scorer(model, history, 1000.0)(np.array([0])), 4).tolist() == [[0, 1, 2, 3]]
    assert engine.top_k(engine.blend_scorer(model, history, 0.0)(np.array([0])), 4).tolist() == [[2, 3, 1, 0]]


def test_holdout_truth_for_discovery_drops_items_bought_before():
    known = csr([[1, 0, 0], [0, 0, 0]])
    users, truth = engine.holdout_truth(np.array([0, 0, 1]), np.array([0, 2, 1]), (2, 3), known=known,
                                        discovery=True, eligible_users=np.array([0]))
    assert users.tolist() == [0]  # user 1 is not eligible (unseen in training)
    assert truth.toarray().tolist() == [[0, 0, 1], [0, 1, 0]]


def test_index_of_marks_missing_ids():
    assert engine.index_of(np.array([3, 5, 9]), [9, 4, 3, 10]).tolist() == [2, -1, 0, -1]


def test_identity_share_gives_the_identity_that_share_of_the_row():
    matrix, vocab = engine.feature_matrix([["a", "b"], []], identity_share=0.5)
    assert vocab == ["a", "b"]
    assert matrix.toarray() == pytest.approx(np.array([[0.5, 0.0, 0.25, 0.25], [0.0, 1.0, 0.0, 0.0]]))


def test_trend_lifts_own_items_in_season_and_leaves_other_items_alone():
    # given one customer who bought items 0 and 1 once each; item 1 is what everybody buys lately
    model = engine.popularity_scorer(np.array([0.3, 0.2, 0.9, 0.0], dtype=np.float32))
    history = csr([[1, 1, 0, 0]])
    trend = engine.trend(csr([[0, 4, 1, 0], [1, 6, 1, 0]]))
    assert trend.tolist() == pytest.approx([0.1, 1.0, 0.2, 0.0])
    # then: without the trend the model breaks the tie (0 before 1); with it, the item in season leads
    assert engine.top_k(engine.blend_scorer(model, history, 1000.0)(np.array([0])), 2).tolist() == [[0, 1]]
    lifted = engine.blend_scorer(model, history, 1000.0, trend, 0.5)(np.array([0]))
    assert engine.top_k(lifted, 4).tolist() == [[1, 0, 2, 3]]
    # and an item the customer never bought gets nothing from the trend
    assert lifted[0, 2] == pytest.approx(engine.blend_scorer(model, history, 1000.0)(np.array([0]))[0, 2])


def _repeat_buyers(n_users: int, seed: int, trending_truth: bool):
    """Users who bought items 0 and 1 once each; the truth is item 1 (in season) or a coin flip."""
    rng = np.random.default_rng(seed)
    history = sp.csr_matrix(np.tile([1.0, 1.0, 0.0, 0.0, 0.0], (n_users, 1)))
    wanted = np.ones(n_users, dtype=int) if trending_truth else rng.integers(0, 2, n_users)
    truth = sp.csr_matrix((np.ones(n_users), (np.arange(n_users), wanted)), shape=(n_users, 5))
    # the model prefers item 0 for everyone; the trend says item 1
    model = engine.popularity_scorer(np.array([0.5, 0.4, 0.3, 0.2, 0.1], dtype=np.float32))
    return model, {0.0: history}, truth, np.array([0.2, 1.0, 0.0, 0.0, 0.0], dtype=np.float32)


def test_tune_blend_takes_the_trend_when_validation_shows_a_clear_gain():
    model, histories, truth, trend = _repeat_buyers(200, 0, trending_truth=True)
    tuned = engine.tune_blend(model, histories, users=np.arange(200), truth=truth, n_items=5, trend=trend)
    assert tuned["trend_weight"] > 0
    assert tuned["rule"]["gain"] > tuned["rule"]["standard_error"] > 0


def test_tune_blend_keeps_the_reference_when_the_gain_is_noise():
    # given a truth that is a coin flip between the two own items: whichever order wins on these users
    # wins by chance
    model, histories, truth, trend = _repeat_buyers(200, 3, trending_truth=False)
    tuned = engine.tune_blend(model, histories, users=np.arange(200), truth=truth, n_items=5, trend=trend)
    rule = tuned["rule"]
    assert rule["best"] != rule["reference"]  # the noise did favour another blend on these users
    assert (tuned["half_life"], tuned["trend_weight"], tuned["alpha"]) == (0.0, 0.0, max(engine.BLEND_GRID))
    assert rule["chosen"] == rule["reference"] and rule["gain"] <= rule["standard_error"]


def _purchases(rng, users=300, items=40, per_user=6):
    rows = np.repeat(np.arange(users), per_user)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, rng.integers(0, items, len(rows)))),
                         shape=(users, items))


def test_item_item_weights_are_the_positive_ease_weights_when_nothing_is_pruned():
    # given random purchases (repeats count once)
    x = _purchases(np.random.default_rng(5))
    # when every item keeps all its neighbours
    w = engine.item_item_fit(x, lam=20.0, neighbours=1000).toarray()
    # then they are the closed-form EASE weights (float64 there, float32 Cholesky here), negatives dropped
    dense = engine.ease_fit((x > 0).astype(np.float32), lam=20.0)
    assert w == pytest.approx(np.where(dense > 0, dense, 0.0), abs=1e-5)
    assert np.all(np.diag(w) == 0)


def test_item_item_pruning_keeps_each_items_largest_weights_and_only_the_most_bought_items():
    rng = np.random.default_rng(6)
    x = _purchases(rng)
    full = engine.item_item_fit(x, lam=20.0, neighbours=1000).toarray()
    pruned = engine.item_item_fit(x, lam=20.0, neighbours=3).toarray()
    for row_full, row in zip(full, pruned):
        kept = np.flatnonzero(row)
        assert len(kept) <= 3
        assert set(kept) == set(np.argsort(-row_full)[:len(kept)]) and np.allclose(row[kept], row_full[kept])
    # an item outside the max_items most-bought gets no weights, in its row or its column
    buyers = np.asarray((x > 0).sum(axis=0)).ravel()
    least = int(np.argmin(buyers))
    capped = engine.item_item_fit(x, lam=20.0, neighbours=1000, max_items=x.shape[1] - 1).toarray()
    assert not capped[least].any() and not capped[:, least].any() and capped.any()


def test_item_item_term_recovers_items_bought_together():
    # given pairs of items (2k, 2k+1) that are always bought together, and customers who bought one item
    rng = np.random.default_rng(7)
    pairs, users = 10, 400
    first = rng.integers(0, pairs, (users, 2)) * 2
    cols = np.concatenate([first, first + 1], axis=1).ravel()
    x = sp.csr_matrix((np.ones(len(cols), dtype=np.float32), (np.repeat(np.arange(users), 4), cols)),
                      shape=(users, 2 * pairs))
    w = engine.item_item_fit(x, lam=10.0)
    bought = sp.csr_matrix(([1.0, 1.0], ([0, 1], [4, 13])), shape=(2, 2 * pairs))
    terms = engine.item_item_terms(bought, w)
    # then each one's partner comes first
    assert terms.argmax(axis=1).tolist() == [5, 12]


def test_discovery_blend_adds_the_standardised_term_and_is_the_model_alone_at_weight_zero():
    rng = np.random.default_rng(8)
    model_scores = rng.normal(size=(3, 50)).astype(np.float32)
    terms = np.abs(rng.normal(size=(3, 50))).astype(np.float32)
    assert engine.discovery_scores(model_scores, terms, 0.0) is model_scores
    blended = engine.discovery_scores(model_scores, terms, 0.5)
    expected = engine.standardise_rows(model_scores) + 0.5 * engine.standardise_rows(terms)
    assert blended == pytest.approx(expected)


def test_tune_discovery_takes_the_term_when_it_finds_what_the_model_misses():
    # given a model that knows nothing (equal scores) and purchases where item 2k+1 follows item 2k
    rng = np.random.default_rng(9)
    users, items = 200, 20
    history = sp.csr_matrix((np.ones(users), (np.arange(users), 2 * rng.integers(0, items // 2, users))),
                            shape=(users, items))
    truth = sp.csr_matrix((np.ones(users), (np.arange(users), history.indices + 1)), shape=(users, items))
    together = sp.csr_matrix((np.ones(2 * users), (np.repeat(np.arange(users), 2),
                                                   np.stack([history.indices, history.indices + 1], 1).ravel())),
                             shape=(users, items))
    weights = engine.item_item_fit(together, lam=5.0)
    flat = lambda rows: np.zeros((len(rows), items), dtype=np.float32)  # noqa: E731
    tuned = engine.tune_discovery(flat, history, weights, users=np.arange(users), truth=truth, n_items=items)
    # then a positive weight wins, with a gain far beyond its standard error
    assert tuned["beta"] > 0
    assert tuned["table"][tuned["beta"]] > tuned["table"][0.0] + 0.5
    assert tuned["rule"]["gain_over_model"] > 10 * tuned["rule"]["standard_error"]


def test_tune_discovery_drops_the_term_only_when_the_model_alone_is_clearly_better():
    # given a model that ranks each user's next item first, and an item-to-item term that points elsewhere
    rng = np.random.default_rng(4)
    users, items = 200, 20
    bought = 2 * rng.integers(0, items // 2, users)
    history = sp.csr_matrix((np.ones(users), (np.arange(users), bought)), shape=(users, items))
    truth = sp.csr_matrix((np.ones(users), (np.arange(users), (bought + 1) % items)), shape=(users, items))
    misleading = sp.csr_matrix((np.ones(2 * users), (np.repeat(np.arange(users), 2),
                                                     np.stack([bought, (bought + 5) % items], 1).ravel())),
                               shape=(users, items))
    weights = engine.item_item_fit(misleading, lam=5.0)

    def knowing(rows):
        scores = np.zeros((len(rows), items), dtype=np.float32)
        scores[np.arange(len(rows)), (bought[rows] + 1) % items] = 1.0
        return scores

    # (only a large weight, where the term outweighs the model)
    tuned = engine.tune_discovery(knowing, history, weights, users=np.arange(users), truth=truth, n_items=items,
                                  grid=(0.0, 4.0))
    # then the model alone is served: its lead is far beyond one standard error
    assert tuned["beta"] == 0.0 and tuned["rule"]["best_positive"] == 4.0
    assert -tuned["rule"]["gain_over_model"] > tuned["rule"]["standard_error"]

    # and when the two are level, the term stays
    level = engine.tune_discovery(lambda rows: np.zeros((len(rows), items), dtype=np.float32), history,
                                  sp.csr_matrix((items, items), dtype=np.float32), users=np.arange(users),
                                  truth=truth, n_items=items)
    assert level["beta"] == min(b for b in engine.ITEM_ITEM_GRID if b > 0)


def test_the_engine_and_the_parameters_import_no_django():
    import subprocess
    import sys
    from pathlib import Path

    # when the engine and the job's parameters are imported in a fresh interpreter
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, recommender.engine, recommender.params; "
                               "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'strawberry'}))"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2],
    ).stdout.strip()
    # then neither Django nor the GraphQL layer came with them
    assert loaded == "[]"
