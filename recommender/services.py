"""Writes: train a version (from the job), activate one, roll back."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from . import engine, serving
from .error_codes import RecommenderError, RecommenderErrorCode, TrainResultCode
from .models import ACTIVATABLE_GATES, GateStatus, ModelActivation, ModelStatus, ModelVersion
from .params import TrainParams, kind_weights
from .selectors import training_frames

logger = logging.getLogger(__name__)


def _no_progress(fraction: float, message: str) -> None:
    pass


def served_discovery(metrics: dict) -> dict:
    """The served discovery ranking's figures; versions from before the item-to-item term served the model
    alone and recorded it as ``model`` only."""
    discovery = metrics["discovery"]
    return discovery.get("served", discovery["model"])


def recommender_train(*, params: dict[str, Any], job_id: int | None = None,
                      progress: Callable[[float, str], None] = _no_progress) -> ModelVersion:
    """Train, evaluate against the baselines, store the arrays, and record the version.

    Only the last step writes to the database, in one transaction: the version row, and (when the gate
    (``engine.gate``) passed it or found it not worse, and ``activate`` is set) the switch of the active version. A failure or a
    cancel before that leaves the active version serving and no row behind.
    """
    started = time.perf_counter()
    train_params = TrainParams(**params)
    progress(0.0, "reading events")
    frames = training_frames(kinds=sorted(kind_weights(train_params)))
    if frames.events.empty:
        raise RecommenderError(RecommenderErrorCode.NO_DATA, "There are no events of known customers to learn from.")
    read_seconds = time.perf_counter() - started
    try:
        result = engine.run_pipeline(frames, train_params, progress=progress)
    except ValueError as exc:
        raise RecommenderError(RecommenderErrorCode.NO_DATA, str(exc)) from exc
    progress(0.95, "saving the model")
    path, size = serving.artifact_save(name=f"recommender/model-{uuid.uuid4().hex}.npz", artifact=result.artifact)
    try:
        version = _version_record(params=params, result=result, job_id=job_id, path=path, size=size,
                                  read_seconds=read_seconds,
                                  total_seconds=time.perf_counter() - started)
    except BaseException:
        default_storage.delete(path)
        raise
    return version


@transaction.atomic
def _version_record(*, params, result: engine.PipelineResult, job_id, path: str, size: int, read_seconds: float,
                    total_seconds: float) -> ModelVersion:
    info = dict(result.info)
    gate = GateStatus(info["gate"]["status"])
    info["gate_failures"] = info["gate"]["notes"]
    activatable = gate in ACTIVATABLE_GATES
    window = info["window"]
    version = ModelVersion.objects.create(
        job_id=job_id, status=ModelStatus.READY if activatable else ModelStatus.REJECTED, params=params,
        metrics=result.metrics, primary_metric=params["primary_metric"], beats_baselines=activatable, gate=gate,
        data_start=pd.Timestamp(window["start"]).to_pydatetime(), data_end=pd.Timestamp(window["end"]).to_pydatetime(),
        test_start=pd.Timestamp(window["test_start"]).to_pydatetime(),
        n_users=info["counts"]["users"], n_items=info["counts"]["items"], n_events=info["counts"]["events"],
        info=info, timings={**info.pop("timings"), "read": read_seconds, "job": total_seconds},
        artifact=path, artifact_bytes=size,
    )
    if activatable and params["activate"]:
        _activate(version, user=None, override=False,
                  reason="passed the gate" if gate == GateStatus.PASSED else "not worse than the baselines")
    return version


def train_result_code(version: ModelVersion) -> TrainResultCode:
    """The code a client branches on: served or not, and why (see ``TrainResultCode``)."""
    if version.gate == GateStatus.NOT_JUDGEABLE:
        return TrainResultCode.NOT_JUDGEABLE
    if not version.beats_baselines:
        return TrainResultCode.REJECTED
    if not version.is_active:
        return TrainResultCode.READY
    return TrainResultCode.ACTIVATED if version.gate == GateStatus.PASSED else TrainResultCode.ACTIVATED_NOT_WORSE


def _activate(version: ModelVersion, *, user, override: bool, reason: str) -> None:
    previous = ModelVersion.objects.select_for_update().filter(is_active=True).first()
    if previous is not None:
        ModelVersion.objects.filter(pk=previous.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True, activated_at=timezone.now())
    version.refresh_from_db()
    ModelActivation.objects.create(version=version, previous=previous, activated_by=user, override=override,
                                   reason=reason[:300])
    transaction.on_commit(serving.forget)


@transaction.atomic
def model_version_activate(*, version_id: int, user, override: bool = False, reason: str = "") -> ModelVersion:
    """Put a version in service. One that did not beat the baselines needs ``override`` (recorded)."""
    version = ModelVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise RecommenderError(RecommenderErrorCode.NOT_FOUND, "No such model version.", field="versionId")
    if version.is_active:
        raise RecommenderError(RecommenderErrorCode.ALREADY_ACTIVE, "This version is already active.",
                               field="versionId")
    if not version.beats_baselines and not override:
        raise RecommenderError(RecommenderErrorCode.GATE_NOT_PASSED,
                               "This version did not beat the baselines; send override: true to activate it anyway.",
                               field="override")
    if not default_storage.exists(version.artifact):
        raise RecommenderError(RecommenderErrorCode.ARTIFACT_MISSING, "The version's model file is missing.",
                               field="versionId")
    _activate(version, user=user, override=not version.beats_baselines,
              reason=reason or ("staff override" if not version.beats_baselines else "staff activation"))
    return version


def model_version_rollback(*, user, reason: str = "") -> ModelVersion:
    """Re-activate the version that was active before the current one."""
    last = ModelActivation.objects.filter(version__is_active=True).select_related("previous").first()
    if last is None or last.previous is None:
        raise RecommenderError(RecommenderErrorCode.NO_PREVIOUS_VERSION, "There is no earlier version to roll back to.")
    return model_version_activate(version_id=last.previous.pk, user=user, override=True,
                                  reason=reason or f"rollback from v{last.version_id}")


def customer_forget(*, customer_id: int) -> int:
    """Remove one customer (their id and embedding row) from every version's artifact, the active one and
    older ones; returns how many files changed. A changed artifact is written under a new name and the old
    file deleted, so every process's serving cache, keyed by version and file, reloads it. The other arrays
    are per item (vectors, popularity, item-to-item weights) and name no customer."""
    changed = 0
    for version in ModelVersion.objects.exclude(artifact="").only("id", "artifact").order_by("id"):
        try:
            arrays = serving.artifact_load(version.artifact)
        except (OSError, KeyError, ValueError):
            logger.warning("recommender: the artifact of version %s cannot be read; left as it is", version.pk)
            continue
        scrubbed = engine.without_users(arrays, [customer_id])
        if scrubbed is None:
            continue
        path, size = serving.arrays_save(name=f"recommender/model-{uuid.uuid4().hex}.npz", arrays=scrubbed)
        ModelVersion.objects.filter(pk=version.pk).update(artifact=path, artifact_bytes=size)
        default_storage.delete(version.artifact)
        changed += 1
    serving.forget()
    return changed

