"""The discovery ranking's item-to-item term: sparse EASE weights, the term per customer, its blend with
the model's score, and the choice of its weight on the validation users."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from .metrics import evaluate, paired_gain
from .scoring import Scorer, standardise_rows

ITEM_ITEM_MAX_ITEMS = 8000  # the dense Gram matrix and its inverse: 8,000^2 float32 = 256 MB each
ITEM_ITEM_NEIGHBOURS = 300
# Items bought by fewer customers get no weights in the pipeline's fit: on the demo data, 10 leaves 2,700 of
# 3,600 bought items, halves the fit's time (the inverse costs the cube of the items) and moves discovery
# nDCG@10 by 0.0002 at most.
ITEM_ITEM_MIN_BUYERS = 10
ITEM_ITEM_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)

_ROW_BLOCK = 1024


def _kept_items(bought: sp.csr_matrix, max_items: int, min_buyers: int) -> np.ndarray:
    """The columns that get weights: at least ``min_buyers`` buyers, the ``max_items`` most bought."""
    buyers = np.asarray(bought.sum(axis=0)).ravel()
    keep = np.flatnonzero(buyers >= max(min_buyers, 1))
    if len(keep) > max_items:
        keep = np.sort(keep[np.argsort(-buyers[keep], kind="stable")[:max_items]])
    return keep


def _ease_weights(bought: sp.csr_matrix, lam: float) -> np.ndarray:
    """EASE's dense ``-P / diag(P)`` with a zero diagonal, ``P = (X'X + lam I)^-1`` by Cholesky, in C order."""
    from scipy.linalg import lapack

    gram = (bought.T @ bought).toarray().astype(np.float32, copy=False)  # Fortran order: LAPACK works in place
    gram[np.diag_indices_from(gram)] += np.float32(lam)
    factor, info = lapack.spotrf(gram, lower=True, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"item-item Gram matrix is not positive definite (spotrf info {info})")
    inverse, info = lapack.spotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"item-item Gram matrix could not be inverted (spotri info {info})")
    del gram, factor
    np.copyto(inverse, inverse.T, where=~np.tri(len(inverse), dtype=bool))  # spotri fills the lower triangle
    full = inverse.T  # the same symmetric matrix, in C order: the row-wise steps that follow read it row by row
    diagonal = full.diagonal().copy()
    full /= -diagonal[None, :]
    np.fill_diagonal(full, 0.0)
    return full


def item_item_fit(purchases: sp.csr_matrix, *, lam: float, neighbours: int = ITEM_ITEM_NEIGHBOURS,
                  max_items: int = ITEM_ITEM_MAX_ITEMS, min_buyers: int = 1) -> sp.csr_matrix:
    """Sparse EASE weights: an (items, items) matrix ``W`` such that ``bought @ W`` scores every item from a
    customer's bought items (binary).

    EASE (Steck 2019) in closed form, ``W = -P / diag(P)`` with ``P = (X'X + lam I)^-1`` and a zero
    diagonal, over the ``max_items`` items with the most buyers, each with at least ``min_buyers`` (the rest
    get no weights: a Gram matrix of every item of a large catalogue would not fit in memory, and an item
    few customers bought says little about the others), in float32 with a Cholesky inverse (about
    6x faster than a float64 ``np.linalg.inv``); then each item keeps only its ``neighbours`` largest
    positive weights, so the matrix stays small and a request sums a few thousand entries. ``ease_fit``
    is the dense, unpruned form the benchmark compares with.
    """
    bought = (sp.csr_matrix(purchases) > 0).astype(np.float32)
    n_items = bought.shape[1]
    keep = _kept_items(bought, max_items, min_buyers)
    if len(keep) < 2 or neighbours < 1:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    full = _ease_weights(bought[:, keep], lam)
    n_kept = len(keep)
    kept_neighbours = min(neighbours, n_kept - 1)
    picked_cols, picked_values = [], []
    for start in range(0, n_kept, _ROW_BLOCK):  # in row blocks: argpartition's int64 indices of all would be 2x full
        block = full[start:start + _ROW_BLOCK]
        block_cols = np.argpartition(block, n_kept - kept_neighbours, axis=1)[:, n_kept - kept_neighbours:]
        picked_cols.append(block_cols)
        picked_values.append(np.take_along_axis(block, block_cols, axis=1))
    del full
    rows = np.repeat(np.arange(n_kept), kept_neighbours)
    cols, values = np.concatenate(picked_cols).ravel(), np.concatenate(picked_values).ravel()
    positive = values > 0
    return sp.csr_matrix((values[positive], (keep[rows[positive]], keep[cols[positive]])),
                         shape=(n_items, n_items), dtype=np.float32)


def item_item_terms(bought: sp.csr_matrix, weights: sp.csr_matrix) -> np.ndarray:
    """``bought @ weights`` as a dense float32 block (``bought``: rows of purchase counts, taken as 0/1)."""
    return np.asarray(((bought > 0).astype(np.float32) @ weights).toarray(), dtype=np.float32)


def discovery_scores(model_scores: np.ndarray, terms: np.ndarray, beta: float) -> np.ndarray:
    """The served discovery ranking: the model's standardised score plus ``beta`` times the standardised
    item-to-item term (per row); the model's scores as they are when ``beta`` is 0."""
    if not beta:
        return model_scores
    return standardise_rows(model_scores) + np.float32(beta) * standardise_rows(terms)


def discovery_scorer(model: Scorer, history: sp.csr_matrix, weights: sp.csr_matrix, beta: float) -> Scorer:
    def score(rows: np.ndarray) -> np.ndarray:
        if not beta:
            return model(rows)
        return discovery_scores(model(rows), item_item_terms(history[rows], weights), beta)

    return score


def tune_discovery(model: Scorer, history: sp.csr_matrix, weights: sp.csr_matrix, *, users: np.ndarray,
                   truth: sp.csr_matrix, n_items: int, metric: str = "ndcg@10",
                   grid: Sequence[float] = ITEM_ITEM_GRID) -> dict[str, Any]:
    """Choose the weight of the item-to-item term on the (validation) users.

    The best positive weight of ``grid`` on ``metric`` (ties to the smaller) is kept unless the model alone
    (weight 0) beats it by more than one standard error of their paired per-user difference: with a
    couple of hundred validation users the two are usually within noise of each other (in 20 trainings
    on the demo data the gain was 0.1-1.2 standard errors, and on the test window the term added
    0.015-0.02 nDCG@10 every time), so a plain argmax dropped a helpful term on noise about once in
    ten trainings. The gain over the model alone and its standard error are recorded."""
    users = np.asarray(users, dtype=np.int64)
    by_id = np.argsort(users, kind="stable")
    model_scores = model(users).astype(np.float32)
    terms = item_item_terms(history[users], weights)
    results: dict[float, float] = {}
    per_user_values: dict[float, np.ndarray] = {}
    for beta in sorted(set(grid) | {0.0}):
        block = discovery_scores(model_scores, terms, beta)
        per_user: dict[str, np.ndarray] = {}
        results[beta] = evaluate(lambda rows, block=block: block[by_id[np.searchsorted(users[by_id], rows)]],
                                 users=users, truth=truth, excluded=history, n_items=n_items, with_auc=False,
                                 per_user=per_user)[metric]
        per_user_values[beta] = per_user[metric]
    positive = [beta for beta in results if beta > 0]
    if not positive:
        return {"beta": 0.0, "table": results, "rule": {"chosen": 0.0, "why": "no positive weight in the grid"}}
    best = max(positive, key=lambda beta: (results[beta], -beta))
    gain, standard_error = paired_gain(per_user_values[best], per_user_values[0.0])
    chosen = 0.0 if -gain > standard_error else best
    return {"beta": chosen, "table": results,
            "rule": {"best_positive": best, "gain_over_model": gain, "standard_error": standard_error,
                     "chosen": chosen,
                     "key": "the best positive weight unless the model alone beats it by > 1 standard error"}}
