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
from .error_codes import RecommenderError, RecommenderErrorCode
from .models import ModelActivation, ModelStatus, ModelVersion
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


def gate_check(metrics: dict, metric: str) -> tuple[bool, list[str]]:
    """Does the model beat every baseline on ``metric``, for both questions? Returns (passed, why-not)."""
    failures = []
    discovery, next_basket = metrics["discovery"], metrics["next_basket"]
    served = served_discovery(metrics)
    if not served[metric] > discovery["popularity"][metric]:
        failures.append(f"discovery: served {served[metric]:.4f} <= popularity {discovery['popularity'][metric]:.4f}")
    for baseline in ("buy_again", "popularity"):
        if not next_basket["served"][metric] > next_basket[baseline][metric]:
            failures.append(f"next basket: served {next_basket['served'][metric]:.4f} <= {baseline} "
                            f"{next_basket[baseline][metric]:.4f}")
    return not failures, failures


def recommender_train(*, params: dict[str, Any], job_id: int | None = None,
                      progress: Callable[[float, str], None] = _no_progress) -> ModelVersion:
    """Train, evaluate against the baselines, store the arrays, and record the version.

    Only the last step writes to the database, in one transaction: the version row, and (when it
    passed the gate and ``activate`` is set) the switch of the active version. A failure or a
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
    passed, failures = gate_check(result.metrics, params["primary_metric"])
    progress(0.95, "saving the model")
    path, size = serving.artifact_save(name=f"recommender/model-{uuid.uuid4().hex}.npz", artifact=result.artifact)
    try:
        version = _version_record(params=params, result=result, passed=passed, failures=failures, job_id=job_id,
                                  path=path, size=size, read_seconds=read_seconds,
                                  total_seconds=time.perf_counter() - started)
    except BaseException:
        default_storage.delete(path)
        raise
    return version


@transaction.atomic
def _version_record(*, params, result: engine.PipelineResult, passed: bool, failures: list[str], job_id, path: str,
                    size: int, read_seconds: float, total_seconds: float) -> ModelVersion:
    info = dict(result.info)
    info["gate_failures"] = failures
    window = info["window"]
    version = ModelVersion.objects.create(
        job_id=job_id, status=ModelStatus.READY if passed else ModelStatus.REJECTED, params=params,
        metrics=result.metrics, primary_metric=params["primary_metric"], beats_baselines=passed,
        data_start=pd.Timestamp(window["start"]).to_pydatetime(), data_end=pd.Timestamp(window["end"]).to_pydatetime(),
        test_start=pd.Timestamp(window["test_start"]).to_pydatetime(),
        n_users=info["counts"]["users"], n_items=info["counts"]["items"], n_events=info["counts"]["events"],
        info=info, timings={**info.pop("timings"), "read": read_seconds, "job": total_seconds},
        artifact=path, artifact_bytes=size,
    )
    if passed and params["activate"]:
        _activate(version, user=None, override=False, reason="beat the baselines")
    return version


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

