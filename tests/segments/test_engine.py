"""The pure numerics: quintile scores, the DBSCAN guard and sample-then-assign, labels from centroids."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from segments import engine


def test_quintile_scores_split_ten_values_into_fifths():
    # Given ten distinct values, when scored, then each fifth (two values) gets one score.
    values = np.array([50, 10, 20, 30, 40, 60, 70, 80, 90, 100])
    assert engine.quintile_scores(values).tolist() == [3, 1, 1, 2, 2, 3, 4, 4, 5, 5]


def test_quintile_scores_reward_small_values_when_lower_is_better():
    values = np.array([1, 2, 3, 4, 5])
    assert engine.quintile_scores(values, higher_is_better=False).tolist() == [5, 4, 3, 2, 1]


def test_ties_share_a_score():
    # Given six customers with one order and four with more, then all one-order customers score 1.
    frequency = np.array([1, 1, 1, 1, 1, 1, 2, 3, 4, 5])
    assert engine.quintile_scores(frequency).tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]


def test_rfm_codes():
    assert engine.rfm_codes(np.array([[5, 5, 5], [1, 2, 3]])).tolist() == ["555", "123"]


def test_transform_logs_skewed_columns_and_standardises():
    x = engine.transform(np.array([[0.0, 1.0], [np.e - 1, 3.0]]), ["monetary", "add_to_cart_rate"])
    assert np.allclose(x, [[-1, -1], [1, 1]])


def blobs(n_per: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [6, 6, 0], [0, 6, 6]])
    x = np.vstack([c + rng.normal(scale=0.3, size=(n_per, 3)) for c in centres])
    return x, np.repeat(np.arange(3), n_per)


def test_dbscan_fits_a_sample_and_assigns_the_rest_to_the_nearest_core_point():
    x, truth = blobs(2000)
    result = engine.dbscan_cluster(x, eps=0.5, min_samples=5, sample_size=600, max_pairs=1e9, seed=1)
    assert result.fit_size == 600
    assert result.k == 3
    assert adjusted_rand_score(truth, result.labels) == pytest.approx(1.0, abs=0.01)


def test_dbscan_past_its_memory_guard_raises_a_typed_error_before_fitting():
    x, _ = blobs(1000)
    with pytest.raises(engine.SegmentationError) as caught:
        engine.dbscan_cluster(x, eps=50.0, min_samples=5, sample_size=3000, max_pairs=1e6, seed=1)
    assert caught.value.code == "DBSCAN_TOO_LARGE"
    assert "about 9,000,000 neighbour pairs" in caught.value.message


def test_kmeans_chooses_k_by_silhouette_on_a_sample():
    x, truth = blobs(3000)
    result = engine.kmeans_cluster(x, k=None, k_min=2, k_max=6, sample_size=1500, seed=0)
    assert result.k == 3
    assert result.fit_size == 1500
    assert set(result.silhouette_by_k) == {2, 3, 4, 5, 6}
    assert adjusted_rand_score(truth, result.labels) == 1.0


def profile(r, f, m, orders=5, tenure=300, total=100.0, **extra):
    return {"r_score": r, "f_score": f, "m_score": m, "median_orders": orders, "tenure": tenure,
            "monetary_total": total, **extra}


def test_labels_of_the_five_classic_segments_from_their_centroids():
    # Given centroids like those of a shop's five kinds (mean quintile scores, median orders, tenure)
    profiles = [
        profile(1.6, 3.7, 3.9, orders=3, total=30_000),  # frequent once, long ago
        profile(4.0, 4.1, 4.0, orders=4, total=60_000),  # recent, frequent, good spend
        profile(4.5, 4.9, 4.9, orders=10, total=150_000),  # recent, most frequent, top spend
        profile(1.2, 1.2, 1.3, orders=1, tenure=280, total=7_000),  # one small order long ago
        profile(4.1, 1.4, 1.9, orders=1, tenure=25, total=8_000),  # first order last month
    ]
    assert engine.label_segments(profiles, new_days=60) == ["At risk", "Loyal", "Champions", "Hibernating", "New"]


def test_fallback_labels():
    profiles = [
        profile(3.8, 1.5, 2.0, orders=1, tenure=200),  # recent but one order, not new: Promising
        profile(2.4, 1.6, 1.8, orders=1),  # lapsing, low frequency: About to sleep
        profile(0, 0, 0, orders=0, noise=True),
    ]
    assert engine.label_segments(profiles, new_days=60) == ["Promising", "About to sleep", "Outliers"]


def test_a_label_used_twice_gets_a_numeral_the_more_valuable_cluster_keeps_the_plain_one():
    labels = engine.label_segments([profile(4.2, 4.0, 3.0), profile(4.6, 4.9, 4.9), profile(4.0, 4.5, 4.0)],
                                   new_days=60)
    assert labels == ["Loyal 2", "Champions", "Loyal"]
