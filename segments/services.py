"""Writes: run a segmentation end to end, publish it, discard a failed one, prune old memberships."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from jobs.selectors import running_job_ids

from . import engine
from .error_codes import SegmentsErrorCode
from .models import Algorithm, RunStatus, Segment, SegmentationRun, SegmentMembership
from .params import SegmentationParams
from .selectors import customer_features, latest_purchase_date

# A customer whose first purchase is this recent (and who has at most two orders) is "New".
NEW_CUSTOMER_DAYS = 60


def dbscan_max_pairs() -> float:
    """DBSCAN's memory guard: the most (point, neighbour) pairs its fit may hold (~16 bytes each)."""
    return float(getattr(settings, "SEGMENTS_DBSCAN_MAX_PAIRS", 25_000_000))


def sklearn_threads() -> int | None:
    """Threads scikit-learn may use (None: all cores). 1 by default: the worker shares its cores."""
    value = getattr(settings, "SEGMENTS_SKLEARN_THREADS", 1)
    return None if value in (None, 0) else int(value)


def memberships_kept_runs() -> int:
    return int(getattr(settings, "SEGMENTS_KEEP_MEMBERSHIPS_RUNS", 3))


class SegmentationFailed(Exception):
    def __init__(self, code: SegmentsErrorCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class StageTimer:
    seconds: dict[str, float] = field(default_factory=dict)
    sklearn_seconds: float = 0.0

    def stage(self, name: str, started: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - started, 3)
        return now


def segmentation_run(*, params: SegmentationParams, job_id: int | None = None,
                     progress: Callable[[float, str], None] = lambda fraction, message: None) -> SegmentationRun:
    """Compute features, cluster, label, write the run BUILDING and publish it at the end.

    Any failure marks the run FAILED and removes what it wrote; the served run does not change.
    """
    timer = StageTimer()
    started = time.perf_counter()
    as_of = params.as_of_date or latest_purchase_date()
    if as_of is None:
        raise SegmentationFailed(SegmentsErrorCode.NO_CUSTOMERS, "There are no purchases to segment.")
    progress(0.02, f"computing features as of {as_of}")
    frame = customer_features(as_of=as_of)
    started = timer.stage("features", started)
    if frame.empty:
        raise SegmentationFailed(SegmentsErrorCode.NO_CUSTOMERS, f"No customer bought anything by {as_of}.")
    progress(0.25, f"{len(frame)} customers; scoring and clustering")

    scores = engine.rfm_scores(frame["recency"].to_numpy(), frame["frequency"].to_numpy(),
                               frame["monetary"].to_numpy())
    names = list(params.features)
    x = engine.transform(frame[names].to_numpy(dtype=np.float64), names)
    started = timer.stage("scale", started)

    result = _cluster(x, params, lambda fraction, message: progress(0.25 + 0.45 * fraction, message))
    timer.sklearn_seconds = result.sklearn_seconds
    started = timer.stage("cluster", started)

    profiles = engine.cluster_profiles(frame, scores, result.labels)
    labels = engine.label_segments(profiles, new_days=NEW_CUSTOMER_DAYS)
    started = timer.stage("label", started)
    progress(0.72, "writing segments and memberships")

    run = SegmentationRun.objects.create(
        job_id=job_id, algorithm=params.algorithm, as_of=as_of, customers=len(frame), k=result.k,
        silhouette=result.silhouette, silhouette_by_k={str(c): s for c, s in result.silhouette_by_k.items()},
        features=names, params={"k": params.k, "k_min": params.k_min, "k_max": params.k_max, "eps": params.eps,
                                "min_samples": params.min_samples, "sample_size": params.sample_size,
                                "seed": params.seed, "fit_size": result.fit_size},
    )
    try:
        segments = Segment.objects.bulk_create([Segment(run=run, label=label, **profile_fields(p))
                                                for p, label in zip(profiles, labels, strict=True)])
        segment_ids = {s.cluster: s.pk for s in segments}
        _write_memberships(run, frame, scores, result.labels, segment_ids)
        started = timer.stage("write", started)
        progress(0.97, "publishing")
        run.sizes = {s.label: s.size for s in segments}
        timer.seconds["sklearn"] = round(timer.sklearn_seconds, 3)
        run.timings = timer.seconds
        segmentation_publish(run=run)
    except BaseException:
        segmentation_discard(run=run)
        raise
    return run


def _cluster(x: np.ndarray, params: SegmentationParams,
             progress: Callable[[float, str], None]) -> engine.ClusterResult:
    """The run's algorithm over the scaled features; the engine's failures as the app's typed ones."""
    try:
        if params.algorithm == Algorithm.DBSCAN:
            result = engine.dbscan_cluster(x, eps=params.eps, min_samples=params.min_samples,
                                           sample_size=params.sample_size, max_pairs=dbscan_max_pairs(),
                                           seed=params.seed, threads=sklearn_threads(), progress=progress)
            if result.k == 0:
                raise SegmentationFailed(SegmentsErrorCode.NO_CLUSTERS, f"DBSCAN with eps={params.eps} and "
                                         f"min_samples={params.min_samples} found no cluster: every customer "
                                         "is noise.")
            return result
        return engine.kmeans_cluster(x, k=params.k, k_min=params.k_min, k_max=params.k_max,
                                     sample_size=params.sample_size, seed=params.seed, threads=sklearn_threads(),
                                     progress=progress)
    except engine.SegmentationError as exc:
        raise SegmentationFailed(SegmentsErrorCode(exc.code), exc.message) from exc


def profile_fields(p: dict) -> dict:
    keys = ("cluster", "size", "recency", "frequency", "monetary", "views", "add_to_cart_rate", "category_breadth",
            "average_basket", "tenure", "r_score", "f_score", "m_score", "revenue_share")
    return {key: p[key] for key in keys}


MEMBERSHIP_COLUMNS = ["run_id", "segment_id", "customer_id", "recency", "frequency", "monetary", "r_score",
                      "f_score", "m_score", "rfm_score"]


def _write_memberships(run: SegmentationRun, frame: pd.DataFrame, scores: np.ndarray, labels: np.ndarray,
                       segment_ids: dict[int, int]) -> None:
    distinct, inverse = np.unique(labels, return_inverse=True)
    seg = np.array([segment_ids[int(c)] for c in distinct], dtype=np.int64)[inverse]
    rows = pd.DataFrame({
        "run_id": run.pk, "segment_id": seg, "customer_id": frame["customer_id"].to_numpy(),
        "recency": frame["recency"].to_numpy(), "frequency": frame["frequency"].to_numpy(),
        "monetary": frame["monetary"].to_numpy(), "r_score": scores[:, 0], "f_score": scores[:, 1],
        "m_score": scores[:, 2], "rfm_score": engine.rfm_codes(scores),
    }, columns=MEMBERSHIP_COLUMNS)
    table = SegmentMembership._meta.db_table
    if connection.vendor == "postgresql":
        # pyarrow writes the CSV about 4x faster than DataFrame.to_csv (multi-threaded C++).
        sink = io.BytesIO()
        pa_csv.write_csv(pa.Table.from_pandas(rows, preserve_index=False), sink,
                         pa_csv.WriteOptions(include_header=False, quoting_style="none"))
        data = sink.getvalue()
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(MEMBERSHIP_COLUMNS)}) FROM STDIN WITH (FORMAT csv)") \
                    as copy:
                for start in range(0, len(data), 1 << 20):
                    copy.write(data[start:start + (1 << 20)])
        return
    SegmentMembership.objects.bulk_create(
        (SegmentMembership(**record) for record in rows.to_dict("records")), batch_size=2000
    )


def segmentation_publish(*, run: SegmentationRun) -> None:
    """Serve this run: one UPDATE, so readers see the old run or the new one, never a mix."""
    with transaction.atomic():
        SegmentationRun.objects.filter(pk=run.pk).update(
            status=RunStatus.SUCCEEDED, finished_at=timezone.now(), sizes=run.sizes, timings=run.timings
        )
    run.refresh_from_db()


def segmentation_discard(*, run: SegmentationRun) -> None:
    """A failed or cancelled run: drop what it wrote, keep the row (FAILED) for the record."""
    with transaction.atomic():
        SegmentMembership.objects.filter(run_id=run.pk).delete()
        Segment.objects.filter(run_id=run.pk).delete()
        SegmentationRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=timezone.now())


def segmentation_runs_abandoned_fail() -> list[int]:
    """Runs left BUILDING by a job that is no longer running (its worker was killed, the reaper re-queued
    or failed it): drop what they wrote and mark them FAILED. Called after every reap (segments/jobs.py)."""
    building = list(SegmentationRun.objects.filter(status=RunStatus.BUILDING, job__isnull=False)
                    .values_list("id", "job_id"))
    running = running_job_ids([job_id for _, job_id in building])
    abandoned = [run_id for run_id, job_id in building if job_id not in running]
    for run in SegmentationRun.objects.filter(pk__in=abandoned):
        segmentation_discard(run=run)
    return abandoned


def segmentation_prune(*, keep: int | None = None) -> int:
    """Delete the memberships of all but the ``keep`` newest successful runs (their profiles stay)."""
    keep = memberships_kept_runs() if keep is None else keep
    kept = list(SegmentationRun.objects.filter(status=RunStatus.SUCCEEDED).order_by("-finished_at", "-id")
                .values_list("id", flat=True)[:keep])
    old = list(SegmentationRun.objects.filter(members_pruned=False, status=RunStatus.SUCCEEDED)
               .exclude(id__in=kept).values_list("id", flat=True))
    deleted = 0
    for run_id in old:
        with transaction.atomic():
            # _raw_delete: one DELETE using the (run, customer) index, without the ORM collecting a million
            # rows first (memberships have no dependants).
            qs = SegmentMembership.objects.filter(run_id=run_id)
            deleted += qs._raw_delete(qs.db)
            SegmentationRun.objects.filter(pk=run_id).update(members_pruned=True)
    return deleted


@transaction.atomic
def customer_memberships_delete(*, customer_id: int) -> list[int]:
    """Delete the customer's memberships in every run; returns their ids. The runs' segment profiles
    (sizes, means) are aggregates and stay as computed."""
    memberships = SegmentMembership.objects.filter(customer_id=customer_id)
    ids = list(memberships.values_list("id", flat=True))
    memberships.delete()
    return ids
