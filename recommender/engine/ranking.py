"""One request's ranking, over the served version's arrays: the pure maths ``selectors.recommendations_for``
and ``selectors.similar_products`` call once they have read the customer and the model.

Each function computes, for one customer, what the pipeline's scorers compute for a block of users
(``blend.blend_scorer``, ``item_item.discovery_scorer``), on the items the customer bought only, so a request
costs O(items) and no dense copy of the history or the item-to-item term; the tests hold them equal.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .blend import history_strength, history_weights
from .scoring import NEG_INF, score_items, standardise_rows, top_k_1d


def model_scores(item_vectors: np.ndarray, item_bias: np.ndarray, user_vector: np.ndarray) -> np.ndarray:
    """The model's score of every item for one user's (or a feature-built) vector."""
    return score_items(item_vectors, user_vector) + item_bias


def feature_vector(feature_index: dict[str, int], feature_vectors: np.ndarray, names: list[str]) -> np.ndarray | None:
    """A cold-start vector: the mean of the named features' vectors the model knows (None if it knows none)."""
    rows = [feature_index[name] for name in names if name in feature_index]
    if not rows:
        return None
    return feature_vectors[rows].mean(axis=0)


def next_basket_scores(scores: np.ndarray, bought_columns: np.ndarray, age_days: np.ndarray, *,
                       blend_alpha: float, history_half_life_days: float, trend: np.ndarray,
                       trend_weight: float) -> np.ndarray:
    """``standardise(scores) + alpha * history_strength(own)`` where ``own`` is the customer's decayed
    purchase count per item (one entry of ``bought_columns``/``age_days`` per purchase), computed on the
    items they bought only.

    Equal, value for value, to the dense formula over every item: elsewhere ``own`` is 0, so the
    strength is 0 and the dense sum is the standardised score itself (as float64); on the bought items
    ``np.add.at`` adds each item's weights in the same order from 0, and the strength is elementwise.
    """
    items, position = np.unique(bought_columns, return_inverse=True)
    own = np.zeros(len(items), dtype=np.float64)
    np.add.at(own, position, history_weights(age_days, history_half_life_days))
    blended = standardise_rows(scores).astype(np.float64)
    blended[items] += np.float32(blend_alpha) * history_strength(own, trend[items], trend_weight)
    return blended


def item_item_term(weights: sp.csr_matrix, bought_columns: np.ndarray) -> np.ndarray:
    """The item-to-item term for a customer who bought the items at ``bought_columns``
    (``item_item.item_item_terms`` for one customer): the sum of those items' rows of weights, dense (float64)."""
    rows = np.unique(bought_columns)
    starts = weights.indptr[rows]
    lengths = weights.indptr[rows + 1] - starts
    # the entries of those rows, without building a sliced matrix (scipy's fancy indexing costs more)
    at = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(int(lengths.sum()))
    return np.bincount(weights.indices[at], weights=weights.data[at], minlength=weights.shape[1])


def discovery_in_place(scores: np.ndarray, term: np.ndarray, beta: float) -> tuple[float, float]:
    """``item_item.discovery_scores`` for one customer, in O(items) with no dense copy of the term.

    ``standardise(s) + beta * standardise(t)`` ranks items as ``s + beta * (std(s) / std(t)) * t`` does (the
    rest is a constant), which is added to ``scores`` in place. Returns (scale, shift) that turn these ranking
    values into the formula's: ``value * scale + shift``.
    """
    mean_scores = float(scores.mean(dtype=np.float64))
    std_scores = max(float(scores.std(dtype=np.float64)), 1e-6)
    mean_term = float(term.mean())
    std_term = max(float(np.sqrt(max(float(term @ term) / len(term) - mean_term * mean_term, 0.0))), 1e-6)
    scores += (beta * std_scores / std_term) * term
    return 1.0 / std_scores, -(mean_scores / std_scores + beta * mean_term / std_term)


def exclude(scores: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Never recommend the items at ``columns`` (in place; returns scores)."""
    scores[columns] = NEG_INF
    return scores


def restrict(scores: np.ndarray, allowed: np.ndarray | None) -> np.ndarray:
    """Only the ``allowed`` items (a boolean mask; None allows every item)."""
    return scores if allowed is None else np.where(allowed, scores, NEG_INF)


def best_items(scores: np.ndarray, count: int, *, scale: float = 1.0,
               shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` best finite items, best first, and their scores as ``ranking value * scale + shift``."""
    best = top_k_1d(scores, count)
    values = scores[best] if scale == 1.0 and shift == 0.0 else scores[best].astype(np.float64) * scale + shift
    return best, values


def unit_vector(vector: np.ndarray) -> np.ndarray:
    """The vector scaled to length 1 (cosine similarity against ``item_unit``)."""
    return vector / max(float(np.linalg.norm(vector)), 1e-9)
