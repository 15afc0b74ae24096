"""The `segments.run` job kind: parameters (all defaulted) and the runner over services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from jobs.registry import JobContext, JobFailed, JobParamsError, JobResult, job_kind

from .models import Algorithm
from .services import ALL_FEATURES, DEFAULT_FEATURES, SegmentationFailed, segmentation_prune, segmentation_run

MAX_SAMPLE = 200_000


def _int(value, name: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise JobParamsError(name, f"{name} must be an integer from {low} to {high}")
    return value


@dataclass
class RunParams:
    algorithm: str = Algorithm.KMEANS.value
    as_of: str | None = None  # ISO date; default: the day of the last purchase
    k: int | None = None  # None: chosen by silhouette over k_min..k_max
    k_min: int = 3
    k_max: int = 8
    eps: float = 0.5
    min_samples: int = 10
    sample_size: int = 20_000
    features: list[str] = field(default_factory=lambda: list(DEFAULT_FEATURES))
    seed: int = 0

    def __post_init__(self):
        if self.algorithm not in Algorithm.values:
            raise JobParamsError("algorithm", f"algorithm must be one of {', '.join(Algorithm.values)}")
        if self.as_of is not None:
            try:
                self.as_of = date.fromisoformat(str(self.as_of)).isoformat()
            except ValueError:
                raise JobParamsError("as_of", "as_of must be a date, YYYY-MM-DD") from None
        if self.k is not None:
            _int(self.k, "k", 2, 30)
        _int(self.k_min, "k_min", 2, 30)
        _int(self.k_max, "k_max", 2, 30)
        if self.k_min > self.k_max:
            raise JobParamsError("k_min", "k_min must not exceed k_max")
        if not isinstance(self.eps, (int, float)) or isinstance(self.eps, bool) or not 0 < self.eps <= 10:
            raise JobParamsError("eps", "eps must be a number in (0, 10] (features are standardised)")
        _int(self.min_samples, "min_samples", 1, 10_000)
        _int(self.sample_size, "sample_size", 100, MAX_SAMPLE)
        if not isinstance(self.features, (list, tuple)) or not self.features:
            raise JobParamsError("features", "features must be a non-empty list")
        unknown = [f for f in self.features if f not in ALL_FEATURES]
        if unknown:
            raise JobParamsError("features", f"unknown feature '{unknown[0]}'; known: {', '.join(ALL_FEATURES)}")
        if len(set(self.features)) != len(self.features):
            raise JobParamsError("features", "features must not repeat")
        self.features = list(self.features)
        _int(self.seed, "seed", 0, 2**31 - 1)


@job_kind("segments.run", permission="segments.add_segmentationrun", params=RunParams)
def segments_run_job(ctx: JobContext) -> JobResult:
    p = dict(ctx.params)
    as_of_text = p.pop("as_of", None)
    as_of = date.fromisoformat(as_of_text) if as_of_text else None
    try:
        run = segmentation_run(as_of=as_of, job_id=ctx.job_id, progress=ctx.progress, **p)
    except SegmentationFailed as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    segmentation_prune()
    sizes = ", ".join(f"{label} {size}" for label, size in run.sizes.items())
    silhouette = f"{run.silhouette:.3f}" if run.silhouette is not None else "n/a"
    return JobResult(result_type="segments.segmentationrun", result_id=run.pk,
                     message=f"{run.customers} customers, k={run.k}, silhouette {silhouette}: {sizes}")
