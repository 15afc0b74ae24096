"""The next-basket ranking: the model's score blended with the customer's own (age-decayed) purchases and
everybody's recent buying (the trend), and the choice of that blend on the validation users."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .metrics import metric_name_and_depth, metrics_from_hits, paired_gain
from .scoring import NEG_INF, Scorer, mask_rows, standardise_rows, top_k

TREND_HALF_LIFE_DAYS = 30.0
BLEND_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 1000.0)
TREND_GRID = (0.0, 0.5, 1.0, 2.0)
HISTORY_HALF_LIVES = (0.0, 30.0, 90.0, 365.0)
REFERENCE_BLEND = (0.0, 1000.0)  # (history half-life, alpha), no trend: own items first by count, then the model

_BATCH = 512


def history_weights(age_days: np.ndarray, half_life_days: float) -> np.ndarray:
    """Each past purchase counts 1, halved every ``half_life_days`` (0 = no decay)."""
    age = np.maximum(np.asarray(age_days, dtype=np.float64), 0.0)
    return np.power(0.5, age / half_life_days) if half_life_days else np.ones_like(age)


def history_strength(history_row_counts: np.ndarray, trend: np.ndarray | None = None,
                     trend_weight: float = 0.0) -> np.ndarray:
    """How strongly own history pushes an item up in the blend: log of 1 + (decayed) times bought, plus, for
    items the customer has bought, ``trend_weight`` times how much everybody is buying the item lately
    (``trend``, 0..1): of a customer's usual items, the ones in season come back first."""
    strength = np.log1p(history_row_counts)
    if trend is not None and trend_weight:
        strength = strength + np.where(history_row_counts > 0, np.float32(trend_weight) * trend, 0.0)
    return strength


def trend(recent_purchases: sp.csr_matrix) -> np.ndarray:
    """Per item, everybody's purchase lines weighted by age (``TREND_HALF_LIFE_DAYS`` half-life), scaled to 0..1."""
    volume = np.asarray(recent_purchases.sum(axis=0), dtype=np.float64).ravel()
    top = volume.max() if len(volume) else 0.0
    return (volume / top if top > 0 else volume).astype(np.float32)


def blend_scorer(model: Scorer, history: sp.csr_matrix, alpha: float, trend: np.ndarray | None = None,
                 trend_weight: float = 0.0) -> Scorer:
    """Next basket: the model's standardised score plus ``alpha`` times the own-history strength."""

    def score(rows: np.ndarray) -> np.ndarray:
        own = history_strength(history[rows].toarray(), trend, trend_weight).astype(np.float32)
        return standardise_rows(model(rows)) + np.float32(alpha) * own

    return score


@dataclass
class _Candidates:
    """Each user's candidate items (a row, -1 for an empty slot) and, per candidate, what the blend needs."""

    columns: np.ndarray
    model_scores: np.ndarray  # standardised; -inf in empty slots
    hits: np.ndarray  # bought in the truth window
    counts: dict[float, np.ndarray]  # decayed purchase counts per history half-life


def _pad(parts: list[np.ndarray], n_rows: int, width: int, fill) -> np.ndarray:
    out = np.full((n_rows, width), fill, dtype=parts[0].dtype if parts else np.float32)
    at = 0
    for part in parts:
        out[at:at + len(part), :part.shape[1]] = part
        at += len(part)
    return out


def _candidates(model: Scorer, histories: dict[float, sp.csr_matrix], users: np.ndarray, truth: sp.csr_matrix,
                k: int) -> _Candidates:
    """The items each user bought and the model's k best of the rest (the blend's k best lie among them)."""
    bought_any = next(iter(histories.values()))
    columns, model_scores, hits = [], [], []
    counts: dict[float, list[np.ndarray]] = {half_life: [] for half_life in histories}
    for start in range(0, len(users), _BATCH):
        rows = users[start:start + _BATCH]
        scores = standardise_rows(model(rows)).astype(np.float32)
        bought = bought_any[rows]
        masked = mask_rows(scores.copy(), np.arange(len(rows)), bought)
        others = top_k(masked, k)
        others = np.where(np.isfinite(np.take_along_axis(masked, others, axis=1)), others, -1)
        lengths = np.diff(bought.indptr)
        block = np.full((len(rows), int(lengths.max(initial=0)) + others.shape[1]), -1, dtype=np.int64)
        at = np.repeat(np.arange(len(rows)), lengths)
        block[at, np.arange(bought.nnz) - np.repeat(bought.indptr[:-1], lengths)] = bought.indices
        block[:, block.shape[1] - others.shape[1]:] = others
        safe_columns = np.maximum(block, 0)
        valid = block >= 0
        columns.append(block)
        model_scores.append(np.where(valid, np.take_along_axis(scores, safe_columns, axis=1), NEG_INF))
        hits.append(np.take_along_axis(truth[rows].toarray() > 0, safe_columns, axis=1) & valid)
        for half_life, history in histories.items():
            counts[half_life].append(np.take_along_axis(history[rows].toarray(), safe_columns, axis=1))
    width = max((block.shape[1] for block in columns), default=0)
    return _Candidates(
        columns=_pad(columns, len(users), width, -1), model_scores=_pad(model_scores, len(users), width, NEG_INF),
        hits=_pad(hits, len(users), width, False),
        counts={half_life: _pad(parts, len(users), width, 0.0) for half_life, parts in counts.items()},
    )


def tune_blend(model: Scorer, histories: dict[float, sp.csr_matrix], *, users: np.ndarray, truth: sp.csr_matrix,
               n_items: int, trend: np.ndarray | None = None, metric: str = "ndcg@10",
               grid: Sequence[float] = BLEND_GRID, trend_grid: Sequence[float] = TREND_GRID) -> dict[str, Any]:
    """Choose the next-basket blend (history half-life, trend weight, blend weight) on the (validation) users.

    Every combination of ``histories`` (half-life -> decayed purchases) x ``trend_grid`` x ``grid`` is scored.
    The reference (no decay if it is among the histories, no trend, weight 1000: the customer's own items
    first by how often they were bought, then the model's picks) is kept unless the best combination beats
    it by more than one standard error of their paired per-user difference (the one-standard-error rule):
    with a few hundred validation users, smaller gains are noise. Ties go to the smaller weights.

    Only each user's candidates are ranked: the items they bought (the only ones the blend moves; every
    history has the same bought items, only their decay differs) and the model's k best of the rest -- the
    blend's k best always lie among them -- so a combination costs a top-k over a few dozen columns, not
    over the catalogue.
    """
    trend_grid = trend_grid if trend is not None else (0.0,)
    measure, k = metric_name_and_depth(metric)
    users = np.asarray(users, dtype=np.int64)
    candidates = _candidates(model, histories, users, truth, k)
    candidate_trend = trend[np.maximum(candidates.columns, 0)] if trend is not None else None
    n_true = np.diff(truth.tocsr()[users].indptr)
    results: dict[tuple[float, float, float], float] = {}
    per_user: dict[tuple[float, float, float], np.ndarray] = {}
    for half_life in histories:
        for trend_weight in trend_grid:
            own = history_strength(candidates.counts[half_life], candidate_trend, trend_weight).astype(np.float32)
            for alpha in grid:
                scores = candidates.model_scores + np.float32(alpha) * own
                best = top_k(scores, k)
                hits = (np.take_along_axis(candidates.hits, best, axis=1)
                        & np.isfinite(np.take_along_axis(scores, best, axis=1)))
                values = metrics_from_hits(hits, n_true, k)[measure]
                results[(half_life, trend_weight, alpha)] = float(values.mean()) if len(values) else 0.0
                per_user[(half_life, trend_weight, alpha)] = values
    best = max(results, key=lambda key: (results[key], -key[1], -key[2]))
    reference = (REFERENCE_BLEND[0] if REFERENCE_BLEND[0] in histories else next(iter(histories)), 0.0, max(grid))
    gain, standard_error = paired_gain(per_user[best], per_user[reference])
    chosen = best if gain > standard_error else reference
    name = "{:g}/{:g}/{:g}".format
    return {"half_life": chosen[0], "trend_weight": chosen[1], "alpha": chosen[2], "table": results,
            "rule": {"best": name(*best), "reference": name(*reference), "gain": gain,
                     "standard_error": standard_error, "chosen": name(*chosen), "key": "half-life/trend weight/alpha"}}
