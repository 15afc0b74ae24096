"""The `recommender.train` job kind: its runner, registered with its parameters (``params.TrainParams``)."""

from __future__ import annotations

from jobs.registry import JobContext, JobFailed, JobResult, job_kind

from .error_codes import RecommenderError
from .params import TrainParams

# re-exported: recommender/schema.py builds its input type from this name
__all__ = ["TrainParams", "recommender_train_job"]


@job_kind("recommender.train", permission="recommender.add_modelversion", params=TrainParams)
def recommender_train_job(ctx: JobContext) -> JobResult:
    from .services import recommender_train, served_discovery

    try:
        version = recommender_train(params=ctx.params, job_id=ctx.job_id, progress=ctx.progress)
    except RecommenderError as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    discovery = version.metrics["discovery"]
    served = served_discovery(version.metrics)
    next_basket = version.metrics["next_basket"]
    metric = version.primary_metric
    state = "active" if version.is_active else ("ready" if version.beats_baselines else "rejected: " +
                                                 "; ".join(version.info.get("gate_failures", [])))
    return JobResult(
        result_type="recommender.modelversion", result_id=version.pk,
        message=(f"v{version.pk} {state}. {metric} discovery {served[metric]:.4f} vs popularity "
                 f"{discovery['popularity'][metric]:.4f}; next basket {next_basket['served'][metric]:.4f} vs "
                 f"buy-again {next_basket['buy_again'][metric]:.4f}")[:500],
    )
