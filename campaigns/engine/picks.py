"""Every member's picks in one batch over the active recommender's arrays.

What ``recommender.selectors.recommendations_for`` computes for one visitor, computed for blocks of
members at once with the recommender engine's own block functions: the model's scores (the member's
vector, else one built from their country, else the recent popularity), then DISCOVERY (the item-to-item
term for members the model knows, never an item they bought) or NEXT_BASKET (the standardised score
plus the blend with their decayed purchase history), restricted to a category when asked, and the k
best. One matrix product per block instead of a request per member.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from recommender.engine import (
    NEG_INF, discovery_scores, history_strength, history_weights, item_item_terms, standardise_rows, top_k,
)

BLOCK = 4096
# Up to this many picks, k passes of argmax over a block beat a partial sort (measured on 4096 x 2000: 3 passes
# take a fifth of argpartition's time); more picks use the recommender's blocked top-k.
ARGMAX_PICKS = 8


@dataclass
class PickModel:
    """The served version's arrays that picks need (rows of ``user_vectors`` are the model's users)."""

    user_vectors: np.ndarray  # (users, d) float32
    item_vectors: np.ndarray  # (items, d) float32
    item_bias: np.ndarray  # (items,)
    popular: np.ndarray  # (items,) the recent window's popularity: the answer for a member with nothing to go on
    cold_vectors: np.ndarray  # (cold, d): vectors built from features (e.g. one per country)
    item_item: sp.csr_matrix | None = None
    discovery_beta: float = 0.0
    blend_alpha: float = 0.0
    history_half_life_days: float = 90.0
    trend: np.ndarray | None = None
    trend_weight: float = 0.0


@dataclass
class PicksResult:
    columns: np.ndarray  # (members, k) item columns, best first; -1 where a member has fewer picks
    scores: np.ndarray  # (members, k) float32, the ranking values
    seconds: float  # time spent in the numerics (matrix products, blends, top-k)


def purchase_matrix(member_index: np.ndarray, item_column: np.ndarray, age_days: np.ndarray, *, n_members: int,
                    n_items: int, half_life_days: float) -> sp.csr_matrix:
    """Members x items, each purchase counting its age-decayed weight (purchases of unknown items dropped)."""
    known = (member_index >= 0) & (item_column >= 0)
    weights = history_weights(age_days[known], half_life_days)
    matrix = sp.csr_matrix((weights.astype(np.float64), (member_index[known], item_column[known])),
                           shape=(n_members, n_items))
    matrix.sum_duplicates()
    return matrix


def _block_scores(model: PickModel, rows: np.ndarray, cold: np.ndarray) -> np.ndarray:
    vectors = np.zeros((len(rows), model.item_vectors.shape[1]), dtype=np.float32)
    known, has_cold = rows >= 0, (rows < 0) & (cold >= 0)
    vectors[known] = model.user_vectors[rows[known]]
    vectors[has_cold] = model.cold_vectors[cold[has_cold]]
    scores = vectors @ model.item_vectors.T
    scores += model.item_bias.astype(np.float32)
    nothing = ~(known | has_cold)
    if nothing.any():
        scores[nothing] = model.popular.astype(np.float32)
    return scores


def _discovery(model: PickModel, scores: np.ndarray, history: sp.csr_matrix, known: np.ndarray) -> np.ndarray:
    bought = np.diff(history.indptr) > 0
    if model.discovery_beta and model.item_item is not None and model.item_item.nnz:
        blend = known & bought
        if blend.any():
            scores[blend] = discovery_scores(scores[blend], item_item_terms(history[blend], model.item_item),
                                             model.discovery_beta)
    rows = np.repeat(np.arange(history.shape[0]), np.diff(history.indptr))
    scores[rows, history.indices] = NEG_INF
    return scores


def _next_basket(model: PickModel, scores: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
    bought = np.diff(history.indptr) > 0
    if not bought.any():
        return scores
    own = history_strength(history[bought].toarray(), model.trend, model.trend_weight).astype(np.float32)
    scores[bought] = standardise_rows(scores[bought]) + np.float32(model.blend_alpha) * own
    return scores


def best_columns(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns per row, best first, and their values (``scores`` is overwritten)."""
    if k > ARGMAX_PICKS:
        best = top_k(scores, k)
        return best, np.take_along_axis(scores, best, axis=1)
    rows = np.arange(scores.shape[0])
    k = min(k, scores.shape[1])
    best = np.empty((scores.shape[0], k), dtype=np.int64)
    values = np.empty((scores.shape[0], k), dtype=scores.dtype)
    for rank in range(k):
        column = scores.argmax(axis=1)
        best[:, rank], values[:, rank] = column, scores[rows, column]
        scores[rows, column] = NEG_INF
    return best, values


def batch_picks(model: PickModel, *, member_rows: np.ndarray, member_cold: np.ndarray, history: sp.csr_matrix,
                k: int, next_basket: bool, allowed: np.ndarray | None = None, block: int = BLOCK,
                progress: Callable[[float], None] = lambda fraction: None) -> PicksResult:
    """The k best items per member (``member_rows``: the model's user row or -1; ``member_cold``: a row of
    ``cold_vectors`` or -1; ``history``: members x items decayed purchases, from ``purchase_matrix``)."""
    n = len(member_rows)
    columns = np.full((n, k), -1, dtype=np.int64)
    values = np.zeros((n, k), dtype=np.float32)
    spent = 0.0
    for start in range(0, n, block):
        began = time.perf_counter()
        stop = min(start + block, n)
        rows = member_rows[start:stop]
        scores = _block_scores(model, rows, member_cold[start:stop])
        own = history[start:stop]
        scores = _next_basket(model, scores, own) if next_basket else _discovery(model, scores, own, rows >= 0)
        if allowed is not None:
            scores[:, ~allowed] = NEG_INF
        best, best_values = best_columns(scores, k)
        finite = np.isfinite(best_values)
        columns[start:stop, :best.shape[1]] = np.where(finite, best, -1)
        values[start:stop, :best.shape[1]] = np.where(finite, best_values, 0.0)
        spent += time.perf_counter() - began
        progress(stop / n)
    return PicksResult(columns=columns, scores=values, seconds=spent)
