"""The rankers a model must beat (popularity, buy-again) and EASE, the dense item-to-item model the
benchmark compares with."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .scoring import Scorer


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
