"""Session recommendations: rank from what a visitor viewed, carted or bought in their current session,
with no retraining (the served version's item-to-item weights and item embeddings).

A session event's weight is its kind's (``SESSION_KIND_WEIGHTS``) halved every ``minutes / 2`` of age, so
the latest steps lead. The ranking is ``standardise(item-to-item term) + standardise(cosine to the session's
profile)``, where the term sums the weights' rows of the session's items (as the discovery ranking's term
does for a customer's purchases) and the profile is the weighted mean of their unit embeddings; either part
is left out when it is flat (no item-to-item weights for those items). Items bought in the session are
not recommended again; viewed ones may be (visitors come back to buy what they looked at).

``replay`` judges it offline: for held-out sessions, the items after the first ``prefix`` events are the
truth, against recent popularity and item-to-item from the last item.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .metrics import K, ranking_metrics
from .ranking import item_item_term
from .scoring import NEG_INF, score_items, standardise_rows, top_k

SESSION_KIND_WEIGHTS = {"view": 0.4, "add_to_cart": 0.8, "purchase": 1.0}
# how much a known customer's own model score counts beside their session (standardised both)
CUSTOMER_WEIGHT_IN_SESSION = 0.5
# how much (in standard deviations) the session's own items are lifted, the most weighted one fully: a
# visitor often comes back to what they looked at
SEEN_ITEM_LIFT = 1.0


def session_event_weights(kinds: list[str], age_minutes: np.ndarray, minutes: float) -> np.ndarray:
    """Each event's weight: its kind's (0 for kinds that say nothing of intent), halved every minutes / 2."""
    kind_weight = np.array([SESSION_KIND_WEIGHTS.get(kind, 0.0) for kind in kinds], dtype=np.float64)
    return kind_weight * np.power(0.5, np.maximum(age_minutes, 0.0) / max(minutes / 2.0, 1e-9))


def _standardised_or_zero(values: np.ndarray) -> np.ndarray:
    if not np.isfinite(values).all() or float(values.std()) < 1e-9:
        return np.zeros(len(values), dtype=np.float32)
    return standardise_rows(values[None, :].astype(np.float64))[0]


def session_scores(item_item: sp.csr_matrix, item_unit: np.ndarray, columns: np.ndarray,
                   weights: np.ndarray) -> np.ndarray:
    """The session ranking's score of every item for session events at item ``columns`` with ``weights``."""
    keep = weights > 0
    columns, weights = columns[keep], weights[keep]
    n_items = item_unit.shape[0]
    if not len(columns):
        return np.zeros(n_items, dtype=np.float32)
    per_item = np.bincount(columns, weights=weights, minlength=n_items)
    items = np.flatnonzero(per_item)
    # the item-to-item term: each session item's row of weights, times its session weight
    term = np.asarray(item_item.T @ per_item).ravel() if item_item.nnz else np.zeros(n_items)
    profile = (item_unit[items] * per_item[items, None]).sum(axis=0)
    cosine = score_items(item_unit, profile / max(float(np.linalg.norm(profile)), 1e-9))
    scores = _standardised_or_zero(term) + _standardised_or_zero(cosine.astype(np.float64))
    scores[items] += SEEN_ITEM_LIFT * per_item[items] / per_item[items].max()
    return scores.astype(np.float32)


def with_customer(session: np.ndarray, customer_scores: np.ndarray) -> np.ndarray:
    """A known customer's session ranking: the session's scores plus their own model's, standardised."""
    return session + np.float32(CUSTOMER_WEIGHT_IN_SESSION) * _standardised_or_zero(customer_scores.astype(np.float64))


def last_item_scores(item_item: sp.csr_matrix, item_unit: np.ndarray, last_column: int) -> np.ndarray:
    """The reference the session ranking is judged against: item-to-item from the last item alone (its
    weights' row; its embedding neighbours when it has no weights)."""
    if item_item.nnz and item_item.indptr[last_column + 1] > item_item.indptr[last_column]:
        return item_item_term(item_item, np.array([last_column])).astype(np.float32)
    return score_items(item_unit, item_unit[last_column]).astype(np.float32)


def replay(sessions: list[tuple[np.ndarray, list[str], np.ndarray]], truths: list[np.ndarray], *,
           item_item: sp.csr_matrix, item_unit: np.ndarray, popular: np.ndarray, minutes: float,
           k: int = K) -> dict[str, dict[str, float]]:
    """Mean precision/recall/nDCG@k of three rankers over held-out sessions.

    ``sessions[i]`` is the visible part of a session: (item columns, kinds, age in minutes at the moment of
    the request) of its events, oldest first; ``truths[i]`` the item columns it went on to view, cart or buy.
    """
    n_items = item_unit.shape[0]
    rankings: dict[str, list[np.ndarray]] = {"session": [], "popularity": [], "last item": []}
    for columns, kinds, ages in sessions:
        bought = columns[np.array([kind == "purchase" for kind in kinds], dtype=bool)]
        scores = {"session": session_scores(item_item, item_unit, columns,
                                            session_event_weights(kinds, ages, minutes)),
                  "popularity": popular.astype(np.float32).copy(),
                  "last item": last_item_scores(item_item, item_unit, int(columns[-1]))}
        for name, values in scores.items():
            values[bought] = NEG_INF
            rankings[name].append(top_k(values[None, :], k)[0])
    truth = sp.csr_matrix((np.ones(sum(len(t) for t in truths)), np.concatenate(truths) if truths else [],
                           np.concatenate([[0], np.cumsum([len(t) for t in truths])])),
                          shape=(len(truths), n_items))
    truth.sum_duplicates()
    truth.data[:] = 1
    out = {}
    for name, ranked in rankings.items():
        figures = ranking_metrics(np.array(ranked), truth, k)
        out[name] = {f"{metric}@{k}": float(values.mean()) if len(values) else 0.0
                     for metric, values in figures.items()}
        out[name]["sessions"] = len(ranked)
    return out
