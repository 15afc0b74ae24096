"""Pure numerics for the recommender: matrices, features, LightFM fitting, scoring, metrics, baselines.

No Django here: everything takes and returns numpy/scipy/pandas objects, so it can be unit-tested and
benchmarked without a database. Conventions:

* users and items are rows/columns 0..n-1; callers keep the id arrays (``user_ids``, ``item_ids``);
* a "scorer" maps an array of user rows to a dense ``(len(rows), n_items)`` float32 score block;
* ``-inf`` marks an item that must not be recommended (already bought, outside the category, ...).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

NEG_INF = np.float32(-np.inf)
Scorer = Callable[[np.ndarray], np.ndarray]


# --- interactions ---------------------------------------------------------------------------------


def interaction_weights(
    kinds: np.ndarray, *, kind_weights: dict[str, float], age_days: np.ndarray | None = None,
    half_life_days: float = 0.0,
) -> np.ndarray:
    """One weight per event: its kind's weight, halved every ``half_life_days`` of age (0 = no decay)."""
    kinds = np.asarray(kinds)
    weights = np.zeros(len(kinds), dtype=np.float64)
    for kind, weight in kind_weights.items():
        weights[kinds == kind] = weight
    if half_life_days and age_days is not None:
        weights *= np.power(0.5, np.maximum(np.asarray(age_days, dtype=np.float64), 0.0) / half_life_days)
    return weights


def interaction_matrix(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """Sum of values per (row, col); entries with a zero or negative sum are dropped."""
    matrix = sp.coo_matrix((np.asarray(values, dtype=np.float64), (rows, cols)), shape=shape).tocsr()
    matrix.sum_duplicates()
    matrix.data[matrix.data < 0] = 0
    matrix.eliminate_zeros()
    return matrix


def training_pair(weighted: sp.csr_matrix) -> tuple[sp.coo_matrix, sp.coo_matrix]:
    """LightFM's (interactions, sample_weight): positives as ones, weights log-damped with mean 1.

    Wholesale buyers repeat an item dozens of times; raw sums would let a few pairs dominate the
    gradient, so the weight grows with the log of the summed event weight.
    """
    coo = weighted.tocoo()
    damped = np.log1p(coo.data).astype(np.float32)
    damped /= max(float(damped.mean()), 1e-9) if len(damped) else 1.0
    positives = sp.coo_matrix((np.ones_like(damped), (coo.row, coo.col)), shape=weighted.shape)
    weights = sp.coo_matrix((damped, (coo.row, coo.col)), shape=weighted.shape)
    return positives, weights


def index_of(sorted_ids: np.ndarray, ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """Positions of ``ids`` in the sorted id array, -1 where absent (vectorised)."""
    ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
    if len(sorted_ids) == 0 or len(ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, pos, -1).astype(np.int64)


# --- features -------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[a-z]{3,}")
_STOP = frozenset("and the for with set of in on to a an pack box bag small large mini red white blue pink".split())


def description_tokens(texts: Sequence[str], *, min_items: int = 5, max_share: float = 0.2) -> list[list[str]]:
    """Words shared by at least ``min_items`` items and at most ``max_share`` of them, per item."""
    per_item = [sorted(set(_TOKEN.findall((t or "").lower())) - _STOP) for t in texts]
    counts = Counter(tok for toks in per_item for tok in toks)
    ceiling = max(min_items, int(max_share * len(texts)))
    keep = {tok for tok, n in counts.items() if min_items <= n <= ceiling}
    return [[f"word:{tok}" for tok in toks if tok in keep] for toks in per_item]


def price_band_edges(prices: np.ndarray, bands: int = 5) -> np.ndarray:
    prices = np.asarray(prices, dtype=np.float64)
    if len(prices) == 0:
        return np.zeros(0)
    return np.unique(np.quantile(prices, np.linspace(0, 1, bands + 1)[1:-1]))


def price_bands(prices: np.ndarray, edges: np.ndarray) -> list[str]:
    return [f"price:{b}" for b in np.searchsorted(edges, np.asarray(prices, dtype=np.float64), side="right")]


def feature_matrix(
    features: Sequence[Sequence[str]], *, vocabulary: Sequence[str] | None = None, identity: bool = True,
    identity_share: float | None = None,
) -> tuple[sp.csr_matrix, list[str]]:
    """Rows sum to 1; identity columns (one per entity) first, then the named features.

    By default every column of a row weighs the same; ``identity_share`` gives the identity that
    share of the row instead (the named features split the rest), so a well-known entity keeps
    mostly its own embedding. With ``vocabulary`` given (cold start), unknown names are ignored and
    no identity is added.
    """
    if vocabulary is None:
        vocabulary = sorted({name for names in features for name in names})
    column = {name: i for i, name in enumerate(vocabulary)}
    n = len(features)
    offset = n if identity else 0
    rows, cols = [], []
    for r, names in enumerate(features):
        if identity:
            rows.append(r)
            cols.append(r)
        for name in set(names):
            c = column.get(name)
            if c is not None:
                rows.append(r)
                cols.append(offset + c)
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(n, offset + len(vocabulary)), dtype=np.float32)
    if identity and identity_share is not None:
        named = np.diff(matrix.indptr) - 1  # named features per row
        coo = matrix.tocoo()
        is_identity = coo.col == coo.row
        per_named = np.where(named > 0, (1 - identity_share) / np.maximum(named, 1), 0.0)
        coo.data = np.where(is_identity, np.where(named[coo.row] > 0, identity_share, 1.0),
                            per_named[coo.row]).astype(np.float32)
        return coo.tocsr(), list(vocabulary)
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    sums[sums == 0] = 1
    matrix = sp.diags(1 / sums).astype(np.float32) @ matrix
    return matrix.tocsr(), list(vocabulary)


# --- LightFM --------------------------------------------------------------------------------------


@dataclass
class FitParams:
    loss: str = "warp"
    components: int = 48
    epochs: int = 20
    learning_rate: float = 0.05
    item_alpha: float = 1e-6
    user_alpha: float = 1e-6
    max_sampled: int = 10
    patience: int = 3
    seed: int = 0
    num_threads: int = field(default_factory=lambda: os.cpu_count() or 1)


@dataclass
class FitResult:
    model: object
    best_epoch: int
    epochs_run: int
    history: list[float]
    seconds: float


def representations(model, user_features: sp.csr_matrix, item_features: sp.csr_matrix):
    """(user vectors, item vectors, item biases) as float32: score = U @ V.T + item_bias (+ a per-user constant)."""
    users = np.asarray(user_features @ model.user_embeddings, dtype=np.float32)
    items = np.asarray(item_features @ model.item_embeddings, dtype=np.float32)
    item_bias = np.asarray(item_features @ model.item_biases, dtype=np.float32).ravel()
    return users, items, item_bias


def lightfm_scorer(users: np.ndarray, items: np.ndarray, item_bias: np.ndarray) -> Scorer:
    def score(rows: np.ndarray) -> np.ndarray:
        return users[rows] @ items.T + item_bias

    return score


def fit_lightfm(
    interactions: sp.csr_matrix,
    *,
    user_features: sp.csr_matrix,
    item_features: sp.csr_matrix,
    params: FitParams,
    epochs: int | None = None,
    validate: Callable[[Scorer], float] | None = None,
    on_epoch: Callable[[int, float | None], None] | None = None,
    threads: Callable[[], int] | None = None,
) -> FitResult:
    """Fit epoch by epoch; with ``validate`` keep the best epoch and stop after ``patience`` without gain.

    ``threads``, when given, says before each epoch how many threads it gets (``params.num_threads``
    otherwise)."""
    from lightfm import LightFM

    started = time.perf_counter()
    model = LightFM(
        no_components=params.components, loss=params.loss, learning_rate=params.learning_rate,
        item_alpha=params.item_alpha, user_alpha=params.user_alpha, max_sampled=params.max_sampled,
        random_state=np.random.RandomState(params.seed),
    )
    positives, weights = training_pair(interactions)
    # k-OS and logistic losses take no sample weights in LightFM; WARP and BPR do.
    sample_weight = weights if params.loss in ("warp", "bpr") else None
    total = epochs or params.epochs
    history: list[float] = []
    best_value, best_epoch, best_state = -math.inf, 0, None
    for epoch in range(1, total + 1):
        model.fit_partial(positives, user_features=user_features, item_features=item_features,
                          sample_weight=sample_weight, epochs=1,
                          num_threads=threads() if threads is not None else params.num_threads)
        value = None
        if validate is not None:
            value = float(validate(lightfm_scorer(*representations(model, user_features, item_features))))
            history.append(value)
            if value > best_value:
                best_value, best_epoch = value, epoch
                best_state = [a.copy() for a in (model.user_embeddings, model.user_biases,
                                                 model.item_embeddings, model.item_biases)]
        else:
            best_epoch = epoch
        if on_epoch is not None:
            on_epoch(epoch, value)
        if validate is not None and epoch - best_epoch >= params.patience:
            break
    if best_state is not None:
        model.user_embeddings, model.user_biases, model.item_embeddings, model.item_biases = best_state
    return FitResult(model=model, best_epoch=best_epoch, epochs_run=epoch,
                     history=history, seconds=time.perf_counter() - started)


# --- top-k ----------------------------------------------------------------------------------------


def mask_rows(scores: np.ndarray, rows: np.ndarray, excluded: sp.csr_matrix | None) -> np.ndarray:
    """Set ``-inf`` where ``excluded[rows]`` has an entry (in place; returns scores)."""
    if excluded is None:
        return scores
    block = excluded[rows]
    r = np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))
    scores[r, block.indices] = NEG_INF
    return scores


_TOP_K_BLOCK = 64


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best columns per row, best first.

    The columns are cut into blocks of ``_TOP_K_BLOCK``: the k best items lie in the k blocks with the
    largest maxima (a block ranked below k others has k items above its best), so a partial sort runs on
    those k blocks only, not on every column (about 3x faster for k = 10 over a few thousand items).
    Ties may come in either order, as with a plain argpartition."""
    scores = np.atleast_2d(scores)
    n_rows, n = scores.shape
    k = min(k, n)
    if k <= 0:
        return np.zeros((n_rows, 0), dtype=np.int64)
    b = _TOP_K_BLOCK
    n_blocks = -(-n // b)
    if n_blocks <= 4 * k:  # few blocks: partition everything
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        if n % b:
            padded = np.full((n_rows, n_blocks * b), -np.inf, dtype=scores.dtype)
            padded[:, :n] = scores
        else:
            padded = np.ascontiguousarray(scores)
        blocks = padded.reshape(n_rows, n_blocks, b)
        chosen = np.argpartition(-blocks.max(axis=2), k - 1, axis=1)[:, :k]
        values = np.take_along_axis(blocks, chosen[:, :, None], axis=1).reshape(n_rows, k * b)
        columns = (chosen[:, :, None] * b + np.arange(b)).reshape(n_rows, k * b)
        part = np.take_along_axis(columns, np.argpartition(-values, k - 1, axis=1)[:, :k], axis=1)
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def score_items(item_vectors: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``item_vectors @ vector`` for one query, on the calling thread.

    A plain matvec goes to a multi-threaded BLAS, which on a busy host waits for its other thread to
    be scheduled (measured: p50 0.2 ms idle but 20-40 ms under load); einsum stays on this thread
    (about 0.5 ms for 50,000 x 48) and touches no process-wide thread setting.
    """
    return np.einsum("ij,j->i", item_vectors, vector)


def top_k_1d(scores: np.ndarray, k: int) -> np.ndarray:
    """Best-first indices of the k best finite scores of one vector."""
    best = top_k(scores[None, :], k)[0]
    return best[np.isfinite(scores[best])]


# --- metrics --------------------------------------------------------------------------------------


def ranking_metrics(recommended: np.ndarray, truth: sp.csr_matrix, k: int = 10) -> dict[str, np.ndarray]:
    """Per-user precision@k, recall@k and nDCG@k (binary relevance) for best-first lists.

    ``recommended`` is (users, >=k) column indices, -1 for an empty slot; ``truth`` (users, items).
    """
    recommended = np.asarray(recommended)[:, :k]
    truth = truth.tocsr()
    dense = truth.toarray() > 0
    hits = np.take_along_axis(dense, np.maximum(recommended, 0), axis=1) & (recommended >= 0)
    return metrics_from_hits(hits, np.diff(truth.indptr), k)


def metrics_from_hits(hits: np.ndarray, n_true: np.ndarray, k: int = 10) -> dict[str, np.ndarray]:
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
    for r in range(scores.shape[0]):
        pos = truth.indices[truth.indptr[r]:truth.indptr[r + 1]]
        pos = pos[~excluded[r, pos]]
        n_pos = len(pos)
        n_neg = scores.shape[1] - n_excluded[r] - n_pos
        if n_pos == 0 or n_neg <= 0:
            continue
        # average rank among the candidates: the tied group of x spans ranks below+1 .. upto
        x = scores[r, pos]
        below = np.searchsorted(ordered[r], x, side="left") - n_excluded[r]
        upto = np.searchsorted(ordered[r], x, side="right") - n_excluded[r]
        rank_sum = float((below + (upto - below + 1) / 2).sum())
        out[r] = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return out


def evaluate(
    scorer: Scorer, *, users: np.ndarray, truth: sp.csr_matrix, excluded: sp.csr_matrix | None, n_items: int,
    k: int = 10, batch: int = 512, with_auc: bool = True, per_user: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """Mean precision/recall/nDCG@k, AUC and catalogue coverage of a scorer for the given users.

    ``truth`` and ``excluded`` are indexed by user row (the full user space), ``users`` selects rows.
    Given a ``per_user`` dict, it is filled with each ranking metric's per-user values (``"ndcg@10"``: array
    in ``users`` order), for paired comparisons.
    """
    users = np.asarray(users, dtype=np.int64)
    sums = {"precision": 0.0, "recall": 0.0, "ndcg": 0.0}
    auc_total, auc_n = 0.0, 0
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
            auc_n += int(np.isfinite(aucs).sum())
    if per_user is not None:
        for name in sums:
            parts = per_user.get(f"{name}@{k}", [])
            per_user[f"{name}@{k}"] = np.concatenate(parts) if len(parts) else np.zeros(0)
    n = max(len(users), 1)
    out = {f"{name}@{k}": sums[name] / n for name in sums}
    out["auc"] = auc_total / auc_n if auc_n else float("nan")
    out["coverage"] = float(shown.sum()) / max(n_items, 1)
    out["users"] = int(len(users))
    return out


# --- baselines ------------------------------------------------------------------------------------


def popularity(purchases: sp.csr_matrix) -> np.ndarray:
    """Distinct buyers per item (ties broken by total count), as float32 scores."""
    buyers = np.asarray((purchases > 0).sum(axis=0), dtype=np.float64).ravel()
    volume = np.asarray(purchases.sum(axis=0), dtype=np.float64).ravel()
    return (buyers + volume / (volume.max() + 1.0 if len(volume) else 1.0)).astype(np.float32)


def popularity_scorer(scores: np.ndarray) -> Scorer:
    def score(rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(scores, (len(rows), len(scores))).astype(np.float32)

    return score


def buy_again_scorer(history: sp.csr_matrix, popular: np.ndarray) -> Scorer:
    """The customer's own items by how often they were bought, then popular items."""
    fill = (popular / (popular.max() + 1.0)).astype(np.float32) if len(popular) else popular

    def score(rows: np.ndarray) -> np.ndarray:
        return history[rows].toarray().astype(np.float32) + fill

    return score


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


TREND_HALF_LIFE_DAYS = 30.0


def trend(recent_purchases: sp.csr_matrix) -> np.ndarray:
    """Per item, everybody's purchase lines weighted by age (``TREND_HALF_LIFE_DAYS`` half-life), scaled to 0..1."""
    volume = np.asarray(recent_purchases.sum(axis=0), dtype=np.float64).ravel()
    top = volume.max() if len(volume) else 0.0
    return (volume / top if top > 0 else volume).astype(np.float32)


def standardise_rows(scores: np.ndarray) -> np.ndarray:
    finite = np.isfinite(scores)
    safe = np.where(finite, scores, 0.0)
    n = np.maximum(finite.sum(axis=-1, keepdims=True), 1)
    mean = safe.sum(axis=-1, keepdims=True) / n
    std = np.sqrt((np.where(finite, (safe - mean) ** 2, 0.0)).sum(axis=-1, keepdims=True) / n)
    return ((scores - mean) / np.maximum(std, 1e-6)).astype(np.float32)


def blend_scorer(model: Scorer, history: sp.csr_matrix, alpha: float, trend: np.ndarray | None = None,
                 trend_weight: float = 0.0) -> Scorer:
    """Next basket: the model's standardised score plus ``alpha`` times the own-history strength."""

    def score(rows: np.ndarray) -> np.ndarray:
        own = history_strength(history[rows].toarray(), trend, trend_weight).astype(np.float32)
        return standardise_rows(model(rows)) + np.float32(alpha) * own

    return score


BLEND_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 1000.0)
TREND_GRID = (0.0, 0.5, 1.0, 2.0)
HISTORY_HALF_LIVES = (0.0, 30.0, 90.0, 365.0)


REFERENCE_BLEND = (0.0, 1000.0)  # (history half-life, alpha), no trend: own items first by count, then the model


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
    name_k = metric.split("@")
    measure, k = name_k[0], int(name_k[1]) if len(name_k) > 1 else 10
    users = np.asarray(users, dtype=np.int64)
    first = next(iter(histories.values()))
    cand, model_c, hit_c = [], [], []
    counts_c: dict[float, list[np.ndarray]] = {h: [] for h in histories}
    for start in range(0, len(users), 512):
        rows = users[start:start + 512]
        scores = standardise_rows(model(rows)).astype(np.float32)
        bought = first[rows]
        masked = mask_rows(scores.copy(), np.arange(len(rows)), bought)
        others = top_k(masked, k)
        others = np.where(np.isfinite(np.take_along_axis(masked, others, axis=1)), others, -1)
        lengths = np.diff(bought.indptr)
        block = np.full((len(rows), int(lengths.max(initial=0)) + others.shape[1]), -1, dtype=np.int64)
        at = np.repeat(np.arange(len(rows)), lengths)
        block[at, np.arange(bought.nnz) - np.repeat(bought.indptr[:-1], lengths)] = bought.indices
        block[:, block.shape[1] - others.shape[1]:] = others
        columns = np.maximum(block, 0)
        valid = block >= 0
        cand.append(block)
        model_c.append(np.where(valid, np.take_along_axis(scores, columns, axis=1), NEG_INF))
        hit_c.append(np.take_along_axis(truth[rows].toarray() > 0, columns, axis=1) & valid)
        for h, history in histories.items():
            counts_c[h].append(np.take_along_axis(history[rows].toarray(), columns, axis=1))
    width = max((b.shape[1] for b in cand), default=0)

    def padded(parts: list[np.ndarray], fill) -> np.ndarray:
        out = np.full((len(users), width), fill, dtype=parts[0].dtype if parts else np.float32)
        at = 0
        for part in parts:
            out[at:at + len(part), :part.shape[1]] = part
            at += len(part)
        return out

    cand_all, model_all, hits_all = padded(cand, -1), padded(model_c, NEG_INF), padded(hit_c, False)
    trend_c = trend[np.maximum(cand_all, 0)] if trend is not None else None
    n_true = np.diff(truth.tocsr()[users].indptr)
    results: dict[tuple[float, float, float], float] = {}
    values: dict[tuple[float, float, float], np.ndarray] = {}
    for h in histories:
        counts = padded(counts_c[h], 0.0)
        for gamma in trend_grid:
            own = history_strength(counts, trend_c, gamma).astype(np.float32)
            for alpha in grid:
                scores = model_all + np.float32(alpha) * own
                best = top_k(scores, k)
                hits = np.take_along_axis(hits_all, best, axis=1) & np.isfinite(np.take_along_axis(scores, best, axis=1))
                per = metrics_from_hits(hits, n_true, k)[measure]
                results[(h, gamma, alpha)] = float(per.mean()) if len(per) else 0.0
                values[(h, gamma, alpha)] = per
    best = max(results, key=lambda key: (results[key], -key[1], -key[2]))
    reference = (REFERENCE_BLEND[0] if REFERENCE_BLEND[0] in histories else next(iter(histories)), 0.0, max(grid))
    diff = values[best] - values[reference]
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
    gain = float(diff.mean()) if len(diff) else 0.0
    chosen = best if gain > se else reference
    name = "{:g}/{:g}/{:g}".format
    return {"half_life": chosen[0], "trend_weight": chosen[1], "alpha": chosen[2], "table": results,
            "rule": {"best": name(*best), "reference": name(*reference), "gain": gain, "standard_error": se,
                     "chosen": name(*chosen), "key": "half-life/trend weight/alpha"}}


def ease_fit(matrix: sp.csr_matrix, lam: float = 250.0) -> np.ndarray:
    """EASE (Steck 2019): B = I - P / diag(P) with P = (X'X + lam I)^-1, zero diagonal, closed form."""
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    weights[np.diag_indices_from(weights)] = 0.0
    return weights.astype(np.float32)


def ease_scorer(matrix: sp.csr_matrix, weights: np.ndarray) -> Scorer:
    def score(rows: np.ndarray) -> np.ndarray:
        return np.asarray(matrix[rows] @ weights, dtype=np.float32)

    return score


# --- the item-to-item term of the discovery ranking ------------------------------------------------

ITEM_ITEM_MAX_ITEMS = 8000  # the dense Gram matrix and its inverse: 8,000^2 float32 = 256 MB each
ITEM_ITEM_NEIGHBOURS = 300
# Items bought by fewer customers get no weights in the pipeline's fit: on the demo data, 10 leaves 2,700 of
# 3,600 bought items, halves the fit's time (the inverse costs the cube of the items) and moves discovery
# nDCG@10 by 0.0002 at most.
ITEM_ITEM_MIN_BUYERS = 10
ITEM_ITEM_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)


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
    from scipy.linalg import lapack

    x = (sp.csr_matrix(purchases) > 0).astype(np.float32)
    n_items = x.shape[1]
    buyers = np.asarray(x.sum(axis=0)).ravel()
    keep = np.flatnonzero(buyers >= max(min_buyers, 1))
    if len(keep) > max_items:
        keep = np.sort(keep[np.argsort(-buyers[keep], kind="stable")[:max_items]])
    if len(keep) < 2 or neighbours < 1:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    xs = x[:, keep]
    gram = (xs.T @ xs).toarray().astype(np.float32, copy=False)  # Fortran order: LAPACK works in place
    gram[np.diag_indices_from(gram)] += np.float32(lam)
    factor, info = lapack.spotrf(gram, lower=True, overwrite_a=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"item-item Gram matrix is not positive definite (spotrf info {info})")
    inverse, info = lapack.spotri(factor, lower=True, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"item-item Gram matrix could not be inverted (spotri info {info})")
    del gram, factor
    np.copyto(inverse, inverse.T, where=~np.tri(len(inverse), dtype=bool))  # spotri fills the lower triangle
    full = inverse.T  # the same symmetric matrix, in C order: the row-wise steps below read it row by row
    diagonal = full.diagonal().copy()
    full /= -diagonal[None, :]
    np.fill_diagonal(full, 0.0)
    m = len(keep)
    k = min(neighbours, m - 1)
    picked_cols, picked_values = [], []
    for start in range(0, m, 1024):  # in row blocks: argpartition's int64 indices of all m^2 would be 2x full
        block = full[start:start + 1024]
        block_cols = np.argpartition(block, m - k, axis=1)[:, m - k:]
        picked_cols.append(block_cols)
        picked_values.append(np.take_along_axis(block, block_cols, axis=1))
    del full, inverse
    rows = np.repeat(np.arange(m), k)
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
    values: dict[float, np.ndarray] = {}
    for beta in sorted(set(grid) | {0.0}):
        block = discovery_scores(model_scores, terms, beta)
        per: dict[str, np.ndarray] = {}
        results[beta] = evaluate(lambda rows, block=block: block[by_id[np.searchsorted(users[by_id], rows)]],
                                 users=users, truth=truth, excluded=history, n_items=n_items, with_auc=False,
                                 per_user=per)[metric]
        values[beta] = per[metric]
    positive = [b for b in results if b > 0]
    if not positive:
        return {"beta": 0.0, "table": results, "rule": {"chosen": 0.0, "why": "no positive weight in the grid"}}
    best = max(positive, key=lambda b: (results[b], -b))
    diff = values[best] - values[0.0]
    se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else float("inf")
    gain = float(diff.mean()) if len(diff) else 0.0
    chosen = 0.0 if -gain > se else best
    return {"beta": chosen, "table": results,
            "rule": {"best_positive": best, "gain_over_model": gain, "standard_error": se, "chosen": chosen,
                     "key": "the best positive weight unless the model alone beats it by > 1 standard error"}}


# --- splits ---------------------------------------------------------------------------------------


@dataclass
class TimeSplit:
    """Rows of an event frame before ``fit_end`` (model training), up to ``test_start`` (history), and after."""

    fit_end: pd.Timestamp
    test_start: pd.Timestamp
    end: pd.Timestamp


def time_split(occurred_at: pd.Series, *, test_days: int, validation_days: int) -> TimeSplit:
    end = occurred_at.max()
    test_start = end - pd.Timedelta(days=test_days)
    return TimeSplit(fit_end=test_start - pd.Timedelta(days=validation_days), test_start=test_start, end=end)


def holdout_truth(
    users: np.ndarray, items: np.ndarray, shape: tuple[int, int], *, known: sp.csr_matrix, discovery: bool,
    eligible_users: np.ndarray,
) -> tuple[np.ndarray, sp.csr_matrix]:
    """Held-out purchases as a truth matrix and the users to evaluate (eligible, with at least one).

    For discovery, pairs the user had bought before (in ``known``) are removed from the truth.
    """
    truth = interaction_matrix(users, items, np.ones(len(users)), shape)
    truth.data[:] = 1
    if discovery:
        truth = truth - truth.multiply(known > 0)
        truth.eliminate_zeros()
    has = np.diff(truth.indptr) > 0
    mask = np.zeros(shape[0], dtype=bool)
    mask[eligible_users] = True
    return np.flatnonzero(has & mask), truth.tocsr()


# --- the whole training run -----------------------------------------------------------------------


@dataclass
class PipelineParams:
    kind_weights: dict[str, float]
    half_life_days: float = 0.0
    history_half_life_days: float | None = None  # None: chosen on validation from HISTORY_HALF_LIVES
    test_days: int = 30
    validation_days: int = 14
    validation_share: float = 0.3
    popular_days: int = 30
    price_bands: int = 5
    identity_share: float | None = 0.5
    description_words: str = "uncategorised"  # or "always"
    refit: bool = True
    item_item_lambda: float = 200.0  # the discovery ranking's item-to-item (EASE) term; 0 leaves it out
    item_item_neighbours: int = ITEM_ITEM_NEIGHBOURS
    item_item_min_buyers: int = ITEM_ITEM_MIN_BUYERS
    k: int = 10
    fit: FitParams = field(default_factory=FitParams)


@dataclass
class Frames:
    """The training data as plain frames (the service reads them from the database).

    events: user_id, item_id, kind, occurred_at (UTC), quantity; users: user_id, country, attributes (dict);
    items: item_id, category_ids (the category first, then its ancestors; possibly empty), brand, price, text.
    """

    events: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame


def user_feature_names(country: str, attributes: dict | None) -> list[str]:
    names = [f"country:{country}"] if country else []
    for key, value in sorted((attributes or {}).items()):
        if isinstance(value, (str, bool, int)) and not isinstance(value, float) and len(str(value)) <= 40:
            names.append(f"attr:{key}={value}")
    return names


def item_feature_names(category_ids: Sequence[int], brand: str, band: str, tokens: Sequence[str],
                       words_always: bool = False) -> list[str]:
    names = [f"cat:{c}" for c in category_ids]
    if brand:
        names.append(f"brand:{brand.strip().lower()}")
    names.append(band)
    if words_always or not category_ids:
        names.extend(tokens)
    return names


@dataclass
class Artifact:
    """Everything serving needs, as numpy arrays (saved as one .npz)."""

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    item_bias: np.ndarray
    user_feature_names: np.ndarray
    user_feature_vectors: np.ndarray
    item_feature_names: np.ndarray
    item_feature_vectors: np.ndarray
    item_feature_bias: np.ndarray
    price_edges: np.ndarray
    item_category: np.ndarray
    popular_recent: np.ndarray
    blend_alpha: np.ndarray
    history_half_life: np.ndarray
    trend: np.ndarray
    trend_weight: np.ndarray
    # the discovery ranking's item-to-item weights (a CSR matrix's three arrays; empty when unused) and the
    # weight of that term
    item_item_indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    item_item_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    item_item_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    discovery_beta: np.ndarray = field(default_factory=lambda: np.array(0.0, dtype=np.float32))

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(self.__dict__)


@dataclass
class PipelineResult:
    artifact: Artifact
    metrics: dict
    info: dict


@dataclass
class Prepared:
    """Matrices and features for one run; the bench evaluates other models on exactly these."""

    split: TimeSplit
    user_ids: np.ndarray
    item_ids: np.ndarray
    item_category: np.ndarray
    price_edges: np.ndarray
    user_features: sp.csr_matrix
    item_features: sp.csr_matrix
    user_vocab: list[str]
    item_vocab: list[str]
    w_fit: sp.csr_matrix  # weighted interactions the evaluated model is fitted on
    w_pre_test: sp.csr_matrix  # everything before the test window (what other models may use)
    w_all: sp.csr_matrix  # everything (the served model's refit)
    hist_val: sp.csr_matrix  # purchase counts known at validation / test time
    hist_test: sp.csr_matrix
    hist_all: sp.csr_matrix  # every purchase (the served item-to-item weights)
    own_val: dict[float, sp.csr_matrix]  # age-decayed purchases per half-life (the next-basket blend's history)
    own_test: dict[float, sp.csr_matrix]
    val_users: np.ndarray
    val_truth: sp.csr_matrix
    val_nb_users: np.ndarray
    val_nb_truth: sp.csr_matrix
    test_users: np.ndarray
    test_truth: sp.csr_matrix
    test_nb_users: np.ndarray
    test_nb_truth: sp.csr_matrix
    popular_recent: np.ndarray
    # everybody's recent buying per item (0..1) as known at validation / test time / the end of the data
    trend_val: np.ndarray
    trend_test: np.ndarray
    trend_all: np.ndarray
    n_events: int

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


def prepare(frames: Frames, params: PipelineParams) -> Prepared:
    """Id maps, features, and the time split's matrices.

    The test window is the last ``test_days``; its users must have been seen in training. Validation
    (early stopping, the blend weight) holds out the ``validation_days`` before the test window of a
    random ``validation_share`` of users only: everyone else's data up to the test window trains the
    model, so the evaluated model is as fresh as the baselines it is compared with.

    The events are turned into plain arrays once (row and column indices, times in nanoseconds, each
    event's kind weight, a purchase flag); every matrix below is built from a boolean mask over them.
    """
    events = frames.events
    if events.empty:
        raise ValueError("no events with a customer to learn from")
    split = time_split(events["occurred_at"], test_days=params.test_days, validation_days=params.validation_days)
    user_ids = np.unique(events["user_id"].to_numpy(dtype=np.int64))
    item_ids = np.unique(frames.items["item_id"].to_numpy(dtype=np.int64))
    items = frames.items.set_index("item_id").loc[item_ids]
    users = frames.users.set_index("user_id").reindex(user_ids)
    known = np.isin(events["item_id"].to_numpy(dtype=np.int64), item_ids)
    shape = (len(user_ids), len(item_ids))
    ev_u = index_of(user_ids, events["user_id"].to_numpy(dtype=np.int64)[known])
    ev_i = index_of(item_ids, events["item_id"].to_numpy(dtype=np.int64)[known])
    ev_t = pd.DatetimeIndex(events["occurred_at"]).as_unit("ns").asi8[known]
    kinds = events["kind"].to_numpy()[known]
    kind_weight = interaction_weights(kinds, kind_weights=params.kind_weights)
    bought = kinds == "purchase"

    def ns(moment: pd.Timestamp) -> int:
        return int(pd.Timestamp(moment).as_unit("ns").value)

    def age_days(mask: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
        return (ns(as_of) - ev_t[mask]) / 86_400e9

    def before(moment) -> np.ndarray:
        return ev_t < ns(moment)

    def weighted(mask: np.ndarray, as_of) -> sp.csr_matrix:
        w = kind_weight[mask]
        if params.half_life_days:
            w = w * history_weights(age_days(mask, as_of), params.half_life_days)
        return interaction_matrix(ev_u[mask], ev_i[mask], w, shape)

    def purchases(mask: np.ndarray, as_of=None, half_life: float = 0.0) -> sp.csr_matrix:
        mask = mask & bought
        values = np.ones(int(mask.sum())) if as_of is None else history_weights(age_days(mask, as_of), half_life)
        return interaction_matrix(ev_u[mask], ev_i[mask], values, shape)

    everything = np.ones(len(ev_t), dtype=bool)
    pre_test = before(split.test_start)
    test_rows = ~pre_test
    tail = pre_test & ~before(split.fit_end)
    tail_buyers = np.unique(ev_u[tail & bought])
    rng = np.random.default_rng(params.fit.seed)
    val_user_ids = rng.choice(tail_buyers, size=int(round(params.validation_share * len(tail_buyers))),
                              replace=False) if len(tail_buyers) else tail_buyers
    held = tail & np.isin(ev_u, val_user_ids)
    fit_rows, val_rows = pre_test & ~held, held
    if not fit_rows.any() or not test_rows.any():
        raise ValueError("the data window is too short for the validation and test windows")

    edges = price_band_edges(items["price"].to_numpy(dtype=np.float64), params.price_bands)
    bands = price_bands(items["price"].to_numpy(dtype=np.float64), edges)
    tokens = description_tokens(items["text"].fillna("").tolist())
    item_names = [item_feature_names(list(c or []), b or "", band, tok,
                                     words_always=params.description_words == "always")
                  for c, b, band, tok in zip(items["category_ids"], items["brand"], bands, tokens)]
    user_names = [user_feature_names(c if isinstance(c, str) else "", a if isinstance(a, dict) else None)
                  for c, a in zip(users["country"], users["attributes"])]
    item_features, item_vocab = feature_matrix(item_names, identity_share=params.identity_share)
    user_features, user_vocab = feature_matrix(user_names, identity_share=params.identity_share)

    w_fit = weighted(fit_rows, split.test_start)
    hist_val, hist_test = purchases(fit_rows), purchases(pre_test)
    seen_fit = np.flatnonzero(np.diff(w_fit.indptr) > 0)
    eligible_val = np.intersect1d(val_user_ids, np.flatnonzero(np.diff(hist_val.indptr) > 0))
    val_p, test_p = val_rows & bought, test_rows & bought

    def truth(mask, known_pairs, discovery, eligible):
        return holdout_truth(ev_u[mask], ev_i[mask], shape, known=known_pairs, discovery=discovery,
                             eligible_users=eligible)

    val_users, val_truth = truth(val_p, hist_val, True, eligible_val)
    val_nb_users, val_nb_truth = truth(val_p, hist_val, False, eligible_val)
    test_users, test_truth = truth(test_p, hist_test, True, seen_fit)
    test_nb_users, test_nb_truth = truth(test_p, hist_test, False, seen_fit)
    recent = ~before(split.end - pd.Timedelta(days=params.popular_days))
    half_lives = HISTORY_HALF_LIVES if params.history_half_life_days is None else (params.history_half_life_days,)
    return Prepared(
        split=split, user_ids=user_ids, item_ids=item_ids,
        item_category=np.array([c[0] if len(c or []) else -1 for c in items["category_ids"]], dtype=np.int64),
        price_edges=np.asarray(edges, dtype=np.float64),
        user_features=user_features, item_features=item_features, user_vocab=user_vocab, item_vocab=item_vocab,
        w_fit=w_fit, w_pre_test=weighted(pre_test, split.test_start), w_all=weighted(everything, split.end),
        hist_val=hist_val, hist_test=hist_test, hist_all=purchases(everything),
        own_val={h: purchases(fit_rows, split.fit_end, h) for h in half_lives},
        own_test={h: purchases(pre_test, split.test_start, h) for h in half_lives},
        val_users=val_users, val_truth=val_truth, val_nb_users=val_nb_users, val_nb_truth=val_nb_truth,
        test_users=test_users, test_truth=test_truth, test_nb_users=test_nb_users, test_nb_truth=test_nb_truth,
        popular_recent=popularity(purchases(recent) if recent.any() else purchases(everything)),
        # no purchase on or after the validation window's start may inform the validation trend
        trend_val=trend(purchases(before(split.fit_end), split.fit_end, TREND_HALF_LIFE_DAYS)),
        trend_test=trend(purchases(pre_test, split.test_start, TREND_HALF_LIFE_DAYS)),
        trend_all=trend(purchases(everything, split.end, TREND_HALF_LIFE_DAYS)),
        n_events=int(known.sum()),
    )


def evaluate_both(data: Prepared, *, discovery: Scorer, next_basket: Scorer, k: int = 10) -> dict[str, dict]:
    """One model's metrics on the test window for both questions."""
    return {
        "discovery": evaluate(discovery, users=data.test_users, truth=data.test_truth, excluded=data.hist_test,
                              n_items=data.n_items, k=k),
        "next_basket": evaluate(next_basket, users=data.test_nb_users, truth=data.test_nb_truth, excluded=None,
                                n_items=data.n_items, k=k),
    }


def _choose_discovery(data: Prepared, params: PipelineParams, model_scorer: Scorer, ii_eval: sp.csr_matrix | None,
                      ii_why: str) -> tuple[float, dict[str, float], dict[str, Any]]:
    """The weight of the item-to-item term in the discovery ranking, chosen on the validation users:
    (weight, validation table, rule)."""
    if ii_eval is None:
        why = ii_why or ("item_item_lambda is 0" if not params.item_item_lambda else "no validation users")
        return 0.0, {}, {"chosen": 0.0, "why": why}
    tuned = tune_discovery(model_scorer, data.hist_val, ii_eval, users=data.val_users, truth=data.val_truth,
                           n_items=data.n_items, metric=f"ndcg@{params.k}")
    return tuned["beta"], {f"{b:g}": v for b, v in tuned["table"].items()}, tuned["rule"]


def _evaluate_model(data: Prepared, params: PipelineParams, model_scorer: Scorer, ii_eval: sp.csr_matrix | None,
                    beta: float) -> dict[str, Any]:
    """The fitted model's next-basket blend, chosen on the validation users, and its figures on the test
    window: served (with the item-to-item term at weight ``beta``) and alone, for both questions."""
    k = params.k
    # the next-basket blend (weight, history half-life) is chosen on the validation users only,
    # never on the test window
    half_life, trend_weight, alpha = (
        REFERENCE_BLEND[0] if REFERENCE_BLEND[0] in data.own_val else next(iter(data.own_val)), 0.0, BLEND_GRID[-1])
    alpha_table: dict[str, float] = {}
    blend_rule: dict[str, Any] = {"chosen": f"{half_life:g}/0/{alpha:g}", "why": "no validation users"}
    if len(data.val_nb_users):
        tuned = tune_blend(model_scorer, data.own_val, users=data.val_nb_users, truth=data.val_nb_truth,
                           n_items=data.n_items, trend=data.trend_val, metric=f"ndcg@{k}")
        half_life, trend_weight, alpha = tuned["half_life"], tuned["trend_weight"], tuned["alpha"]
        blend_rule = tuned["rule"]
        alpha_table = {f"{h:g}/{g:g}/{x:g}": v for (h, g, x), v in tuned["table"].items()}
    served_discovery = discovery_scorer(model_scorer, data.hist_test, ii_eval, beta) if beta else model_scorer
    served = evaluate_both(data, discovery=served_discovery,
                           next_basket=blend_scorer(model_scorer, data.own_test[half_life], alpha, data.trend_test,
                                                    trend_weight),
                           k=k)
    return {
        "half_life": half_life, "trend_weight": trend_weight, "alpha": alpha, "alpha_table": alpha_table,
        "blend_rule": blend_rule, "served": served,
        "model_discovery": evaluate(model_scorer, users=data.test_users, truth=data.test_truth,
                                    excluded=data.hist_test, n_items=data.n_items, k=k)
        if beta else dict(served["discovery"]),
        "model_next_basket": evaluate(model_scorer, users=data.test_nb_users, truth=data.test_nb_truth,
                                      excluded=None, n_items=data.n_items, k=k),
    }


def run_pipeline(frames: Frames, params: PipelineParams,
                 progress: Callable[[float, str], None] = lambda f, m: None) -> PipelineResult:
    """Prepare, fit with early stopping, evaluate against the baselines on the test window, refit, export.

    LightFM fits on the calling thread (it releases the GIL while an epoch runs, and the progress reports
    stay on the job's thread); everything that does not wait for a fitted model -- the item-to-item fits and
    the baselines' figures -- runs on one side thread beside the first fit, and the evaluated model's figures
    beside the refit (the refit needs only the best epoch). While the side thread has work LightFM runs on
    one thread fewer (see ``lightfm_threads``), so the side work takes a core LightFM makes poor use of.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    data = prepare(frames, params)
    timings["prepare"] = time.perf_counter() - t0
    k, fp = params.k, params.fit
    total_epochs = fp.epochs * (2 if params.refit else 1)
    pop = popularity(data.hist_test)

    def validate(scorer: Scorer) -> float:
        return evaluate(scorer, users=data.val_users, truth=data.val_truth, excluded=data.hist_val,
                        n_items=data.n_items, k=k, with_auc=False)[f"ndcg@{k}"]

    def on_epoch_1(epoch: int, value: float | None) -> None:
        shown = "" if value is None else f", validation nDCG@{k} {value:.4f}"
        progress(0.05 + 0.8 * epoch / total_epochs, f"epoch {epoch}{shown}")

    def timed(name: str, work: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - started

    def item_item(hist: sp.csr_matrix) -> tuple[sp.csr_matrix | None, str]:
        try:
            return item_item_fit(hist, lam=params.item_item_lambda, neighbours=params.item_item_neighbours,
                                 min_buyers=params.item_item_min_buyers), ""
        except np.linalg.LinAlgError as exc:  # the term is left out; the model alone is served
            return None, f"item-to-item fit failed: {exc}"

    def baselines() -> dict[str, dict]:
        popular = evaluate_both(data, discovery=popularity_scorer(pop), next_basket=popularity_scorer(pop), k=k)
        popular["buy_again"] = evaluate(buy_again_scorer(data.hist_test, pop), users=data.test_nb_users,
                                        truth=data.test_nb_truth, excluded=None, n_items=data.n_items, k=k)
        return popular

    side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recommender-side")
    pending: list[Future] = []

    def submit(*args: Any) -> Future:
        future = side.submit(*args)
        pending.append(future)
        return future

    def lightfm_threads() -> int:
        # While the side thread has work, LightFM leaves it a core: one more busy thread than cores stalls
        # every epoch (OpenMP's static split waits for the slowest thread), while LightFM's last thread is
        # worth less than a core (hogwild threads contend: 2 threads ran 1.0-1.75x as fast as one here).
        busy = any(not f.done() for f in pending)
        return max(fp.num_threads - 1, 1) if busy else fp.num_threads

    # one BLAS thread while the side thread runs beside LightFM's own threads: OpenBLAS's pool on top of
    # them would put more busy threads than cores on the machine
    blas = threadpool_limits(limits=1, user_api="blas")
    try:
        # The item-to-item weights for the choice of their weight and the test figures are fitted, like the
        # evaluated model, on the purchases of its training rows (nothing of the validation users' held-out
        # days, nothing of the test window).
        use_ii = params.item_item_lambda > 0 and len(data.val_users) > 0
        ii_eval_f = submit(timed, "item_item", item_item, data.hist_val) if use_ii else None
        baselines_f = submit(timed, "evaluate", baselines)

        progress(0.05, "fitting on the training window")
        stage1 = fit_lightfm(data.w_fit, user_features=data.user_features, item_features=data.item_features,
                             params=fp, validate=validate if len(data.val_users) else None, on_epoch=on_epoch_1,
                             threads=lightfm_threads)
        timings["fit"] = stage1.seconds
        model_scorer = lightfm_scorer(*representations(stage1.model, data.user_features, data.item_features))
        # (the side thread takes its tasks in order: each result a task waits for is there when it starts)
        discovery_f = submit(timed, "item_item", lambda: _choose_discovery(
            data, params, model_scorer, *(ii_eval_f.result() if ii_eval_f is not None else (None, ""))))
        choices_f = submit(timed, "evaluate", lambda: _evaluate_model(
            data, params, model_scorer, ii_eval_f.result()[0] if ii_eval_f is not None else None,
            discovery_f.result()[0]))
        # the served item-to-item weights, refitted on everything, only if the term is kept
        ii_all_f = submit(lambda: timed("item_item_refit", item_item, data.hist_all)
                          if discovery_f.result()[0] else (None, "")) if use_ii and params.refit else None

        final = stage1
        if params.refit:
            epochs = max(stage1.best_epoch, 1)
            done = stage1.epochs_run

            def on_epoch_2(epoch: int, value: float | None) -> None:
                progress(0.05 + 0.8 * (done + epoch) / (done + epochs),
                         f"refit on all data: epoch {epoch}/{epochs} (evaluating beside it)")

            final = fit_lightfm(data.w_all, user_features=data.user_features, item_features=data.item_features,
                                params=fp, epochs=epochs, on_epoch=on_epoch_2, threads=lightfm_threads)
            timings["refit"] = final.seconds
        else:
            progress(0.85, "evaluating on the held-out window")
        beta, beta_table, beta_rule = discovery_f.result()
        choices = choices_f.result()
        popular = baselines_f.result()
        ii_eval = ii_eval_f.result()[0] if ii_eval_f is not None else None
        ii_all = ii_all_f.result()[0] if ii_all_f is not None else None
    finally:
        side.shutdown(wait=True, cancel_futures=True)
        blas.restore_original_limits()

    half_life, trend_weight, alpha = choices["half_life"], choices["trend_weight"], choices["alpha"]
    evals = {
        "discovery": {"served": choices["served"]["discovery"], "model": choices["model_discovery"],
                      "popularity": popular["discovery"]},
        "next_basket": {"served": choices["served"]["next_basket"], "model": choices["model_next_basket"],
                        "buy_again": popular["buy_again"], "popularity": popular["next_basket"]},
    }
    ii_served = None
    if beta:
        # the weights the version was evaluated with when there is no refit, or the refit's fit failed
        ii_served = ii_all if params.refit and ii_all is not None else ii_eval
    if ii_served is None:
        ii_served = sp.csr_matrix((data.n_items, data.n_items), dtype=np.float32)
    alpha_table, blend_rule = choices["alpha_table"], choices["blend_rule"]
    progress(0.9, "exporting")
    user_vectors, item_vectors, item_bias = representations(final.model, data.user_features, data.item_features)
    n_u, n_i = len(data.user_ids), len(data.item_ids)
    artifact = Artifact(
        user_ids=data.user_ids, item_ids=data.item_ids,
        user_vectors=user_vectors, item_vectors=item_vectors, item_bias=item_bias,
        user_feature_names=np.array(data.user_vocab, dtype=str),
        user_feature_vectors=np.asarray(final.model.user_embeddings[n_u:], dtype=np.float32),
        item_feature_names=np.array(data.item_vocab, dtype=str),
        item_feature_vectors=np.asarray(final.model.item_embeddings[n_i:], dtype=np.float32),
        item_feature_bias=np.asarray(final.model.item_biases[n_i:], dtype=np.float32),
        price_edges=data.price_edges, item_category=data.item_category,
        popular_recent=data.popular_recent.astype(np.float32),
        blend_alpha=np.array(alpha, dtype=np.float32),
        history_half_life=np.array(half_life, dtype=np.float32),
        trend=data.trend_all.astype(np.float32),
        trend_weight=np.array(trend_weight, dtype=np.float32),
        item_item_indptr=ii_served.indptr.astype(np.int64), item_item_indices=ii_served.indices.astype(np.int32),
        item_item_weights=ii_served.data.astype(np.float32), discovery_beta=np.array(beta, dtype=np.float32),
    )
    timings["total"] = time.perf_counter() - t0
    split = data.split
    info = {
        "window": {"start": str(frames.events["occurred_at"].min()), "fit_end": str(split.fit_end),
                   "test_start": str(split.test_start), "end": str(split.end)},
        "counts": {"users": n_u, "items": n_i, "events": data.n_events, "pairs": int(data.w_fit.nnz),
                   "user_features": len(data.user_vocab), "item_features": len(data.item_vocab),
                   "validation_users": int(len(data.val_users)), "test_users_discovery": int(len(data.test_users)),
                   "test_users_next_basket": int(len(data.test_nb_users))},
        "best_epoch": stage1.best_epoch, "epochs_run": stage1.epochs_run,
        "validation_history": stage1.history, "blend_alpha": alpha, "history_half_life_days": half_life,
        "trend_weight": trend_weight, "trend_half_life_days": TREND_HALF_LIFE_DAYS,
        "blend_validation": {f"half-life/trend/alpha {key}": v for key, v in alpha_table.items()},
        "blend_rule": blend_rule,
        "discovery_beta": beta, "item_item_lambda": params.item_item_lambda,
        "item_item_neighbours": params.item_item_neighbours, "item_item_weights": int(ii_served.nnz),
        "discovery_validation": {f"beta {key}": v for key, v in beta_table.items()},
        "discovery_rule": beta_rule,
        "timings": timings,
    }
    return PipelineResult(artifact=artifact, metrics=evals, info=info)
