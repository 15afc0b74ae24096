"""Interactions and features as sparse matrices: event weights, LightFM's training pair, feature rows."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

# Items are described by their price quintile among the catalogue's prices.
PRICE_BANDS = 5
# Description words describe only the items without a category (a category says more, and the words of
# every item would dilute it); True gives every item its words.
DESCRIPTION_WORDS_ALWAYS = False

_TOKEN = re.compile(r"[a-z]{3,}")
_STOP_WORDS = frozenset(
    "and the for with set of in on to a an pack box bag small large mini red white blue pink".split())


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
    position = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    return np.where(sorted_ids[position] == ids, position, -1).astype(np.int64)


def description_tokens(texts: Sequence[str], *, min_items: int = 5, max_share: float = 0.2) -> list[list[str]]:
    """Words shared by at least ``min_items`` items and at most ``max_share`` of them, per item."""
    per_item = [sorted(set(_TOKEN.findall((text or "").lower())) - _STOP_WORDS) for text in texts]
    counts = Counter(token for tokens in per_item for token in tokens)
    ceiling = max(min_items, int(max_share * len(texts)))
    keep = {token for token, count in counts.items() if min_items <= count <= ceiling}
    return [[f"word:{token}" for token in tokens if token in keep] for tokens in per_item]


def price_band_edges(prices: np.ndarray, bands: int = PRICE_BANDS) -> np.ndarray:
    prices = np.asarray(prices, dtype=np.float64)
    if len(prices) == 0:
        return np.zeros(0)
    return np.unique(np.quantile(prices, np.linspace(0, 1, bands + 1)[1:-1]))


def price_bands(prices: np.ndarray, edges: np.ndarray) -> list[str]:
    return [f"price:{band}" for band in np.searchsorted(edges, np.asarray(prices, dtype=np.float64), side="right")]


def user_feature_names(country: str, attributes: dict | None) -> list[str]:
    names = [f"country:{country}"] if country else []
    for key, value in sorted((attributes or {}).items()):
        if isinstance(value, (str, bool, int)) and not isinstance(value, float) and len(str(value)) <= 40:
            names.append(f"attr:{key}={value}")
    return names


def item_feature_names(category_ids: Sequence[int], brand: str, band: str, tokens: Sequence[str],
                       words_always: bool = DESCRIPTION_WORDS_ALWAYS) -> list[str]:
    names = [f"cat:{category}" for category in category_ids]
    if brand:
        names.append(f"brand:{brand.strip().lower()}")
    names.append(band)
    if words_always or not category_ids:
        names.extend(tokens)
    return names


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
    column = {name: position for position, name in enumerate(vocabulary)}
    n_rows = len(features)
    offset = n_rows if identity else 0
    rows, cols = [], []
    for row, names in enumerate(features):
        if identity:
            rows.append(row)
            cols.append(row)
        for name in set(names):
            col = column.get(name)
            if col is not None:
                rows.append(row)
                cols.append(offset + col)
    data = np.ones(len(rows), dtype=np.float32)
    matrix = sp.csr_matrix((data, (rows, cols)), shape=(n_rows, offset + len(vocabulary)), dtype=np.float32)
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
