"""The `segments.run` job kind: the runner over services (its parameters are segments.params)."""

from __future__ import annotations

from jobs.registry import JobContext, JobFailed, JobResult, job_kind, on_reap

from .params import SegmentationParams
from .services import SegmentationFailed, segmentation_prune, segmentation_run, segmentation_runs_abandoned_fail

on_reap(segmentation_runs_abandoned_fail)  # a killed run's rows are dropped and it is marked FAILED


@job_kind("segments.run", permission="segments.add_segmentationrun", params=SegmentationParams)
def segments_run_job(ctx: JobContext) -> JobResult:
    try:
        run = segmentation_run(params=SegmentationParams(**ctx.params), job_id=ctx.job_id, progress=ctx.progress)
    except SegmentationFailed as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    segmentation_prune()
    sizes = ", ".join(f"{label} {size}" for label, size in run.sizes.items())
    silhouette = f"{run.silhouette:.3f}" if run.silhouette is not None else "n/a"
    return JobResult(result_type="segments.segmentationrun", result_id=run.pk,
                     message=f"{run.customers} customers, k={run.k}, silhouette {silhouette}: {sizes}")
