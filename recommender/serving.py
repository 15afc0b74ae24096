"""The active version's arrays, held in process memory and swapped when the active version changes.

Every request asks ``loaded_model()``; at most once per ``RECOMMENDER_ACTIVE_CHECK_SECONDS``
(default 5 s; 0 in tests) it reads the active version's id (one indexed query) and, if it changed,
loads the new .npz from Django's default storage and drops the old arrays. Activating a version in
this process also calls ``forget()`` on commit, so the switch is immediate here and at most a few
seconds late in other processes.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from django.conf import settings
from django.core.files.storage import default_storage

from catalog.selectors import descendant_ids_in

from . import engine
from .models import ModelVersion

logger = logging.getLogger(__name__)


# One bool per item each (50 kB at 50,000 items): a bound on the memory a version's masks can take.
MAX_CATEGORY_MASKS = 256


@dataclass
class LoadedModel:
    version_id: int
    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vectors: np.ndarray
    item_vectors: np.ndarray
    item_bias: np.ndarray
    item_unit: np.ndarray  # item vectors scaled to length 1, for cosine similarity
    item_category: np.ndarray
    user_feature_index: dict[str, int]
    user_feature_vectors: np.ndarray
    item_feature_index: dict[str, int]
    item_feature_vectors: np.ndarray
    item_feature_bias: np.ndarray
    price_edges: np.ndarray
    popular_recent: np.ndarray
    blend_alpha: float
    history_half_life_days: float
    trend: np.ndarray
    trend_weight: float
    item_item: sp.csr_matrix  # the discovery ranking's item-to-item weights (no entries when unused)
    discovery_beta: float  # the weight of that term (0: the model's scores alone)
    # (category tree, {category id: items in it or below}), derived from item_category on first use
    _category_masks: tuple[tuple, dict[int, np.ndarray]] = field(default_factory=lambda: ((), {}), repr=False,
                                                                  compare=False)

    @classmethod
    def from_arrays(cls, version_id: int, arrays: dict[str, np.ndarray]) -> LoadedModel:
        items = arrays["item_vectors"].astype(np.float32)
        norms = np.linalg.norm(items, axis=1, keepdims=True)
        return cls(
            version_id=version_id,
            user_ids=arrays["user_ids"].astype(np.int64),
            item_ids=arrays["item_ids"].astype(np.int64),
            user_vectors=arrays["user_vectors"].astype(np.float32),
            item_vectors=items,
            item_bias=arrays["item_bias"].astype(np.float32),
            item_unit=items / np.maximum(norms, 1e-9),
            item_category=arrays["item_category"].astype(np.int64),
            user_feature_index={str(n): i for i, n in enumerate(arrays["user_feature_names"])},
            user_feature_vectors=arrays["user_feature_vectors"].astype(np.float32),
            item_feature_index={str(n): i for i, n in enumerate(arrays["item_feature_names"])},
            item_feature_vectors=arrays["item_feature_vectors"].astype(np.float32),
            item_feature_bias=arrays["item_feature_bias"].astype(np.float32),
            price_edges=arrays["price_edges"].astype(np.float64),
            popular_recent=arrays["popular_recent"].astype(np.float32),
            blend_alpha=float(arrays["blend_alpha"]),
            # artifacts written before the half-life was tuned used 90 days
            history_half_life_days=float(arrays["history_half_life"]) if "history_half_life" in arrays else 90.0,
            # artifacts written before the trend term had none
            trend=(arrays["trend"] if "trend" in arrays else np.zeros(len(arrays["item_ids"]))).astype(np.float32),
            trend_weight=float(arrays["trend_weight"]) if "trend_weight" in arrays else 0.0,
            # artifacts written before the item-to-item term had none
            item_item=sp.csr_matrix(
                (arrays["item_item_weights"].astype(np.float32), arrays["item_item_indices"].astype(np.int32),
                 arrays["item_item_indptr"].astype(np.int64)), shape=(len(items), len(items)))
            if "item_item_indptr" in arrays and len(arrays["item_item_indptr"]) == len(items) + 1
            else sp.csr_matrix((len(items), len(items)), dtype=np.float32),
            discovery_beta=float(arrays["discovery_beta"]) if "discovery_beta" in arrays else 0.0,
        )

    def category_mask(self, category_id: int, tree: tuple[tuple[int, int | None], ...]) -> np.ndarray:
        """Items whose category (as of training) is ``category_id`` or below it in ``tree``, the current
        (id, parent_id) rows of the category tree. Cached per category while the tree stays the same:
        any change to it (a category moved, added or removed) drops every cached mask."""
        held_tree, masks = self._category_masks
        if held_tree != tree:
            masks = {}
            self._category_masks = (tree, masks)
        mask = masks.get(category_id)
        if mask is None:
            mask = np.isin(self.item_category, descendant_ids_in(tree, [category_id]))
            mask.flags.writeable = False
            if len(masks) >= MAX_CATEGORY_MASKS:
                masks.clear()
            masks[category_id] = mask
        return mask


def artifact_save(*, name: str, artifact: engine.Artifact) -> tuple[str, int]:
    """Write the arrays as one .npz through the storage API; returns (path, bytes).

    Uncompressed: embeddings and weights are float32 noise to zlib (a quarter smaller on the demo model, for
    half a second of the training job and again on every load); versions written compressed still load."""
    return arrays_save(name=name, arrays=artifact.arrays())


def arrays_save(*, name: str, arrays: dict[str, np.ndarray]) -> tuple[str, int]:
    """Write arrays as one .npz through the storage API; returns (path, bytes)."""
    from django.core.files.base import ContentFile

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    data = buffer.getvalue()
    path = default_storage.save(name, ContentFile(data))
    return path, len(data)


def artifact_load(path: str) -> dict[str, np.ndarray]:
    with default_storage.open(path, "rb") as fh:
        data = fh.read()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = -1e18
        self.model: LoadedModel | None = None
        self.active_id: tuple[int, str] | None = None  # (version id, artifact path)


_cache = _Cache()


def forget() -> None:
    """Drop the held arrays; the next request re-reads the active version."""
    with _cache.lock:
        _cache.model = None
        _cache.active_id = None
        _cache.checked_at = -1e18


def loaded_model() -> LoadedModel | None:
    ttl = float(getattr(settings, "RECOMMENDER_ACTIVE_CHECK_SECONDS", 5.0))
    now = time.monotonic()
    if now - _cache.checked_at < ttl:
        return _cache.model
    with _cache.lock:
        if now - _cache.checked_at < ttl:
            return _cache.model
        row = ModelVersion.objects.filter(is_active=True).values("id", "artifact").first()
        # The file too: erasing a customer rewrites a version's artifact under a new name (privacy).
        active_id = (row["id"], row["artifact"]) if row else None
        if active_id != _cache.active_id:
            model = None
            if row is not None:
                try:
                    model = LoadedModel.from_arrays(row["id"], artifact_load(row["artifact"]))
                except (OSError, KeyError, ValueError):
                    # A missing or broken file must not take serving down: fall back to popular items.
                    logger.exception("recommender: cannot load the artifact of version %s", row["id"])
            _cache.model, _cache.active_id = model, active_id
        _cache.checked_at = now
        return _cache.model
