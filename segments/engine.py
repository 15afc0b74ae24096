"""Pure numerics for segmentation: scores, transforms, k selection, K-means, DBSCAN, labels.

No Django here: arrays in, arrays out, so it can be unit-tested and benchmarked without a database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, KMeans
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

# Features whose distribution is long-tailed (counts and money): log1p before scaling.
SKEWED = frozenset({"recency", "frequency", "monetary", "views", "category_breadth", "average_basket", "tenure"})
NOISE = -1
# Silhouette is O(n^2) in memory traffic: scored on at most this many rows.
SILHOUETTE_SAMPLE = 4_000


class SegmentationError(Exception):
    """A failure the job reports with a code (see segments.error_codes)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- RFM quintile scores -----------------------------------------------------------------------------


def quintile_scores(values: np.ndarray, *, higher_is_better: bool = True) -> np.ndarray:
    """Score 1..5 by rank: the lowest fifth of values gets 1 (5 when lower is better).

    Ties share a score (the rank of the first of them decides), so two customers with the same
    frequency never get different F scores. One customer alone scores 1 (or 5 when lower is better
    it still scores by its rank: 1).
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    keyed = values if higher_is_better else -values
    order = np.argsort(keyed, kind="stable")
    sorted_vals = keyed[order]
    # Minimal 0-based rank of each value's tie group.
    first_of_group = np.r_[True, sorted_vals[1:] != sorted_vals[:-1]]
    group_start = np.maximum.accumulate(np.where(first_of_group, np.arange(n), 0))
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = group_start
    return (1 + (5 * ranks) // n).astype(np.int8)


def rfm_scores(recency: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
    """(n, 3) int8 array of R, F, M scores; R rewards a small recency (a recent purchase)."""
    return np.column_stack([
        quintile_scores(recency, higher_is_better=False),
        quintile_scores(frequency),
        quintile_scores(monetary),
    ])


def rfm_codes(scores: np.ndarray) -> np.ndarray:
    """'555'-style codes for an (n, 3) score array."""
    s = scores.astype(np.int64)
    return (s[:, 0] * 100 + s[:, 1] * 10 + s[:, 2]).astype(str)


# --- transform -----------------------------------------------------------------------------------------


def transform(matrix: np.ndarray, names: list[str]) -> np.ndarray:
    """log1p the skewed columns (clipped at 0: net spend can be negative), then standardise each column."""
    x = np.array(matrix, dtype=np.float64, copy=True)
    for j, name in enumerate(names):
        if name in SKEWED:
            x[:, j] = np.log1p(np.clip(x[:, j], 0.0, None))
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return (x - mean) / std


# --- clustering ----------------------------------------------------------------------------------------


@dataclass
class ClusterResult:
    labels: np.ndarray
    k: int
    silhouette: float | None
    silhouette_by_k: dict[int, float] = field(default_factory=dict)
    fit_size: int = 0
    sklearn_seconds: float = 0.0
    noise: int = 0


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _silhouette(x: np.ndarray, labels: np.ndarray, sample_size: int, seed: int) -> float | None:
    mask = labels != NOISE
    distinct = np.unique(labels[mask])
    if len(distinct) < 2 or mask.sum() <= len(distinct):
        return None
    x, labels = x[mask], labels[mask]
    size = min(sample_size, SILHOUETTE_SAMPLE, len(labels))
    return float(silhouette_score(x, labels, sample_size=size if size < len(labels) else None, random_state=seed))


def kmeans_cluster(
    x: np.ndarray, *, k: int | None, k_min: int, k_max: int, sample_size: int, seed: int, threads: int | None = 1,
    progress=lambda fraction, message: None,
) -> ClusterResult:
    # OpenMP threads spin while they wait for a core: on a shared 2-core box one thread is often faster.
    with threadpool_limits(limits=threads):
        return _kmeans_cluster(x, k=k, k_min=k_min, k_max=k_max, sample_size=sample_size, seed=seed,
                               progress=progress)


def _kmeans_cluster(x, *, k, k_min, k_max, sample_size, seed, progress) -> ClusterResult:
    """K-means with a given k, or k chosen by the best silhouette over k_min..k_max on a sample.

    Each candidate is fitted on the sample; the winner's centres start one full fit (n_init=1), so a
    million rows cost one Lloyd run, not one per candidate.
    """
    n = len(x)
    rng = np.random.default_rng(seed)
    idx = _sample(n, sample_size, rng)
    xs = x[idx]
    spent = 0.0
    scores: dict[int, float] = {}
    candidates = [k] if k is not None else list(range(k_min, k_max + 1))
    candidates = [c for c in candidates if c <= len(xs)]
    if not candidates:
        raise SegmentationError("TOO_FEW_CUSTOMERS", f"{n} customers cannot form {k or k_min} segments")
    best: tuple[float, int, np.ndarray] | None = None
    for i, c in enumerate(candidates):
        t = time.perf_counter()
        model = KMeans(n_clusters=c, n_init=4, random_state=seed).fit(xs)
        s = _silhouette(xs, model.labels_, sample_size, seed) if len(candidates) > 1 else None
        spent += time.perf_counter() - t
        if s is not None:
            scores[c] = round(s, 4)
        if best is None or (s is not None and s > best[0]):
            best = (s if s is not None else -1.0, c, model.cluster_centers_)
        progress((i + 1) / len(candidates), f"k={c}" + (f" silhouette {s:.3f}" if s is not None else ""))
    _, chosen, centres = best
    t = time.perf_counter()
    labels = KMeans(n_clusters=chosen, init=centres, n_init=1, random_state=seed).fit(x).labels_
    silhouette = _silhouette(x, labels, sample_size, seed)
    spent += time.perf_counter() - t
    return ClusterResult(labels=labels.astype(np.int64), k=chosen, silhouette=silhouette, silhouette_by_k=scores,
                         fit_size=len(idx), sklearn_seconds=spent)


def dbscan_neighbour_pairs(x: np.ndarray, *, eps: float, probe: int = 500, seed: int = 0) -> float:
    """Estimated number of (point, neighbour) pairs DBSCAN would hold in memory for x at this eps."""
    n = len(x)
    rng = np.random.default_rng(seed)
    idx = _sample(n, probe, rng)
    counts = NearestNeighbors(radius=eps).fit(x).radius_neighbors(x[idx], return_distance=False)
    mean = float(np.mean([len(c) for c in counts]))
    return mean * n


def dbscan_cluster(
    x: np.ndarray, *, eps: float, min_samples: int, sample_size: int, max_pairs: float, seed: int,
    threads: int | None = 1, progress=lambda fraction, message: None,
) -> ClusterResult:
    with threadpool_limits(limits=threads):
        return _dbscan_cluster(x, eps=eps, min_samples=min_samples, sample_size=sample_size, max_pairs=max_pairs,
                               seed=seed, progress=progress)


def _dbscan_cluster(x, *, eps, min_samples, sample_size, max_pairs, seed, progress) -> ClusterResult:
    """DBSCAN fitted on at most ``sample_size`` rows; the rest join the cluster of their nearest core
    point within eps (else noise). Refuses, with a typed error, when the neighbourhood graph of the
    fit set would exceed ``max_pairs`` entries: DBSCAN's memory grows with it, and a crash is worse."""
    n = len(x)
    rng = np.random.default_rng(seed)
    idx = _sample(n, sample_size, rng)
    xs = x[idx]
    t = time.perf_counter()
    pairs = dbscan_neighbour_pairs(xs, eps=eps, seed=seed)
    spent = time.perf_counter() - t
    if pairs > max_pairs:
        raise SegmentationError(
            "DBSCAN_TOO_LARGE",
            f"DBSCAN with eps={eps} on {len(xs)} customers would hold about {pairs:,.0f} neighbour pairs "
            f"(limit {max_pairs:,.0f}); lower eps or sampleSize, or use K-means.",
        )
    progress(0.3, f"DBSCAN fit on {len(xs)} customers")
    t = time.perf_counter()
    model = DBSCAN(eps=eps, min_samples=min_samples).fit(xs)
    labels = np.full(n, NOISE, dtype=np.int64)
    labels[idx] = model.labels_
    core = model.core_sample_indices_
    if len(idx) < n and len(core):
        rest = np.setdiff1d(np.arange(n), idx, assume_unique=True)
        progress(0.6, f"assigning {len(rest)} customers to the nearest core point")
        nn = NearestNeighbors(n_neighbors=1).fit(xs[core])
        dist, nearest = nn.kneighbors(x[rest])
        assigned = model.labels_[core][nearest[:, 0]]
        labels[rest] = np.where(dist[:, 0] <= eps, assigned, NOISE)
    silhouette = _silhouette(x, labels, min(sample_size, 10_000), seed)
    spent += time.perf_counter() - t
    k = len(np.unique(labels[labels != NOISE]))
    return ClusterResult(labels=labels, k=k, silhouette=silhouette, fit_size=len(idx), sklearn_seconds=spent,
                         noise=int((labels == NOISE).sum()))


# --- profiles and labels ---------------------------------------------------------------------------------------------


def cluster_profiles(frame: pd.DataFrame, scores: np.ndarray, labels: np.ndarray) -> list[dict]:
    """Per-cluster means of the raw features and of the R/F/M scores (what labels are read from)."""
    data = frame.drop(columns=["customer_id"]).assign(
        cluster=labels, r_score=scores[:, 0], f_score=scores[:, 1], m_score=scores[:, 2]
    )
    grouped = data.groupby("cluster")
    means = grouped.mean()
    medians = grouped["frequency"].median()
    sizes = grouped.size()
    totals = grouped["monetary"].sum()
    revenue = float(np.clip(frame["monetary"].to_numpy(), 0, None).sum())
    positive = data.assign(pos=np.clip(data["monetary"], 0, None)).groupby("cluster")["pos"].sum()
    out = []
    for cluster in means.index:
        row = means.loc[cluster]
        out.append({
            "cluster": int(cluster), "noise": cluster == NOISE, "size": int(sizes[cluster]),
            **{name: round(float(row[name]), 4) for name in
               ("recency", "frequency", "monetary", "views", "add_to_cart_rate", "category_breadth",
                "average_basket", "tenure", "r_score", "f_score", "m_score")},
            "median_orders": float(medians[cluster]), "monetary_total": float(totals[cluster]),
            # Share of positive net revenue, so shares add up to 1 even when some customers net negative.
            "revenue_share": round(float(positive[cluster]) / revenue, 6) if revenue > 0 else 0.0,
        })
    return out



def label_segments(profiles: list[dict], *, new_days: float) -> list[str]:
    """A marketer's name for each segment, read from its centroid.

    Each profile has the members' mean R/F/M quintile scores (1..5), median order count, mean tenure
    (days since the first purchase) and total spend. Labels are relative, so a strong population does
    not turn every recent cluster into "Champions":

    * New: at most two orders (median) and a first purchase within ``new_days``;
    * recent clusters (mean R >= 3), best value (F + M) first: the first frequent one (F >= 3.5) is
      Champions, other frequent ones (F >= 2.5) Loyal, the rest Promising;
    * lapsed clusters (mean R < 3): frequent ones (F >= 2.5) are At risk, the rest About to sleep
      (R >= 2) or Hibernating; DBSCAN's noise is Outliers.

    A label given twice gets a numeral ("Loyal 2"), the more valuable cluster keeping the plain one.
    """
    labels = [""] * len(profiles)
    value = [p["f_score"] + p["m_score"] for p in profiles]
    order = sorted(range(len(profiles)), key=lambda i: (-value[i], -profiles[i]["monetary_total"]))
    champion_given = False
    for i in order:
        p = profiles[i]
        if p.get("noise"):
            labels[i] = "Outliers"
        elif p["median_orders"] <= 2 and p["tenure"] <= new_days:
            labels[i] = "New"
        elif p["r_score"] >= 3:
            if p["f_score"] >= 3.5 and not champion_given:
                labels[i], champion_given = "Champions", True
            else:
                labels[i] = "Loyal" if p["f_score"] >= 2.5 else "Promising"
        elif p["f_score"] >= 2.5:
            labels[i] = "At risk"
        else:
            labels[i] = "About to sleep" if p["r_score"] >= 2 else "Hibernating"
    seen: dict[str, int] = {}
    out = list(labels)
    for i in order:
        seen[labels[i]] = seen.get(labels[i], 0) + 1
        if seen[labels[i]] > 1:
            out[i] = f"{labels[i]} {seen[labels[i]]}"
    return out
