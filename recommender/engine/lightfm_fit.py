"""Fitting LightFM epoch by epoch with early stopping, and the fitted model as vectors and a scorer."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..params import TrainParams
from .features import training_pair
from .scoring import Scorer


def available_threads() -> int:
    """LightFM's threads when nothing else runs beside it: one per core."""
    return os.cpu_count() or 1


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


def model_scorer(model, user_features: sp.csr_matrix, item_features: sp.csr_matrix) -> Scorer:
    """The fitted model's scores for user rows."""
    return lightfm_scorer(*representations(model, user_features, item_features))


def new_model(params: TrainParams):
    from lightfm import LightFM

    return LightFM(
        no_components=params.components, loss=params.loss, learning_rate=params.learning_rate,
        item_alpha=params.item_alpha, user_alpha=params.user_alpha, max_sampled=params.max_sampled,
        random_state=np.random.RandomState(params.seed),
    )


def fit_lightfm(
    interactions: sp.csr_matrix,
    *,
    user_features: sp.csr_matrix,
    item_features: sp.csr_matrix,
    params: TrainParams,
    epochs: int | None = None,
    validate: Callable[[Scorer], float] | None = None,
    on_epoch: Callable[[int, float | None], None] | None = None,
    threads: Callable[[], int] = available_threads,
) -> FitResult:
    """Fit ``epochs`` (``params.epochs`` by default) epochs; with ``validate`` keep the best epoch and stop
    after ``params.patience`` epochs without gain.

    ``threads`` says before each epoch how many threads it gets."""
    started = time.perf_counter()
    model = new_model(params)
    positives, weights = training_pair(interactions)
    # k-OS and logistic losses take no sample weights in LightFM; WARP and BPR do.
    sample_weight = weights if params.loss in ("warp", "bpr") else None
    total = epochs or params.epochs
    history: list[float] = []
    best_value, best_epoch, best_state = -math.inf, 0, None
    for epoch in range(1, total + 1):
        model.fit_partial(positives, user_features=user_features, item_features=item_features,
                          sample_weight=sample_weight, epochs=1, num_threads=threads())
        value = None
        if validate is not None:
            value = float(validate(model_scorer(model, user_features, item_features)))
            history.append(value)
            if value > best_value:
                best_value, best_epoch = value, epoch
                best_state = [array.copy() for array in (model.user_embeddings, model.user_biases,
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
