"""Ranking metrics (precision, recall, nDCG at k; AUC; coverage) and a scorer's evaluation on held-out users."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .scoring import Scorer, mask_rows, top_k

# The depth of the rankings the metrics judge (the ``@10`` of ``ndcg@10``); not a job parameter.
K = 10


def ranking_metrics(recommended: np.ndarray, truth: sp.csr_matrix, k: int = K) -> dict[str, np.ndarray]:
    """Per-user precision@k, recall@k and nDCG@k (binary relevance) for best-first lists.

    ``recommended`` is (users, >=k) column indices, -1 for an empty slot; ``truth`` (users, items).
    """
    recommended = np.asarray(recommended)[:, :k]
    truth = truth.tocsr()
    dense = truth.toarray() > 0
    hits = np.take_along_axis(dense, np.maximum(recommended, 0), axis=1) & (recommended >= 0)
    return metrics_from_hits(hits, np.diff(truth.indptr), k)


def metrics_from_hits(hits: np.ndarray, n_true: np.ndarray, k: int = K) -> dict[str, np.ndarray]:
    """``ranking_metrics`` from (users, <=k) best-first hit flags and each user's number of relevant items."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    ideal = np.cumsum(discounts)[np.minimum(n_true, k) - 1] if len(n_true) else np.zeros(0)
    ideal = np.where(n_true > 0, ideal, 1.0)
    n_hits = hits.sum(axis=1)
    return {
        "precision": n_hits / k,
        "recall": np.where(n_true > 0, n_hits / np.maximum(n_true, 1), 0.0),
        "ndcg": np.where(n_true > 0, dcg / ideal, 0.0),
    }


def auc_scores(scores: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Per-user ROC AUC of positives against the other candidates; ``-inf`` items are not candidates.

    Ties count one half (average ranks). Each row is sorted once and only the positives' ranks are looked
    up (binary search), instead of ranking every item.
    """
    truth = truth.tocsr()
    excluded = ~np.isfinite(scores)
    n_excluded = excluded.sum(axis=1)
    ordered = np.sort(np.where(excluded, -np.inf, scores), axis=1)  # excluded first
    out = np.full(scores.shape[0], np.nan)
    for row in range(scores.shape[0]):
        positives = truth.indices[truth.indptr[row]:truth.indptr[row + 1]]
        positives = positives[~excluded[row, positives]]
        n_positives = len(positives)
        n_negatives = scores.shape[1] - n_excluded[row] - n_positives
        if n_positives == 0 or n_negatives <= 0:
            continue
        # average rank among the candidates: the tied group of a score spans ranks below+1 .. upto
        positive_scores = scores[row, positives]
        below = np.searchsorted(ordered[row], positive_scores, side="left") - n_excluded[row]
        upto = np.searchsorted(ordered[row], positive_scores, side="right") - n_excluded[row]
        rank_sum = float((below + (upto - below + 1) / 2).sum())
        out[row] = (rank_sum - n_positives * (n_positives + 1) / 2) / (n_positives * n_negatives)
    return out


def evaluate(
    scorer: Scorer, *, users: np.ndarray, truth: sp.csr_matrix, excluded: sp.csr_matrix | None, n_items: int,
    k: int = K, batch: int = 512, with_auc: bool = True, per_user: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Mean precision/recall/nDCG@k, AUC and catalogue coverage of a scorer for the given users.

    ``truth`` and ``excluded`` are indexed by user row (the full user space), ``users`` selects rows.
    Given a ``per_user`` dict, it is filled with each ranking metric's per-user values (``"ndcg@10"``: array
    in ``users`` order), for paired comparisons.
    """
    users = np.asarray(users, dtype=np.int64)
    sums = {"precision": 0.0, "recall": 0.0, "ndcg": 0.0}
    auc_total, auc_count = 0.0, 0
    shown = np.zeros(n_items, dtype=bool)
    for start in range(0, len(users), batch):
        rows = users[start:start + batch]
        scores = np.asarray(scorer(rows), dtype=np.float32).copy()
        mask_rows(scores, rows, excluded)
        best = top_k(scores, k)
        # never count an excluded item as recommended
        best = np.where(np.isfinite(np.take_along_axis(scores, best, axis=1)), best, -1)
        shown[best[best >= 0]] = True
        block_truth = truth[rows]
        for name, values in ranking_metrics(best, block_truth, k).items():
            sums[name] += float(values.sum())
            if per_user is not None:
                per_user.setdefault(f"{name}@{k}", []).append(values)  # type: ignore[attr-defined]
        if with_auc:
            aucs = auc_scores(scores, block_truth)
            auc_total += float(np.nansum(aucs))
            auc_count += int(np.isfinite(aucs).sum())
    if per_user is not None:
        for name in sums:
            parts = per_user.get(f"{name}@{k}", [])
            per_user[f"{name}@{k}"] = np.concatenate(parts) if len(parts) else np.zeros(0)
    n_users = max(len(users), 1)
    out = {f"{name}@{k}": sums[name] / n_users for name in sums}
    out["auc"] = auc_total / auc_count if auc_count else float("nan")
    out["coverage"] = float(shown.sum()) / max(n_items, 1)
    out["users"] = int(len(users))
    return out


def paired_gain(challenger: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(mean, standard error) of the per-user difference ``challenger - reference``: the one-standard-error
    rule keeps the reference unless the mean gain exceeds its standard error."""
    difference = challenger - reference
    standard_error = (float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1
                      else float("inf"))
    gain = float(difference.mean()) if len(difference) else 0.0
    return gain, standard_error


def metric_name_and_depth(metric: str) -> tuple[str, int]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; a bare name is at depth ``K``."""
    name, _, depth = metric.partition("@")
    return name, int(depth) if depth else K
