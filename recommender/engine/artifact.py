"""What a training run hands to serving: the arrays of one version (saved as one .npz)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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


def without_users(arrays: dict[str, np.ndarray], user_ids: list[int]) -> dict[str, np.ndarray] | None:
    """The arrays with these users' rows (their id and embedding) removed; None when none of them is in."""
    keep = ~np.isin(arrays["user_ids"], np.asarray(user_ids, dtype=np.int64))
    if keep.all():
        return None
    return {**arrays, "user_ids": arrays["user_ids"][keep], "user_vectors": arrays["user_vectors"][keep]}
