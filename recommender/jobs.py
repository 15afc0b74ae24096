"""The `recommender.train` job kind: its runner, registered with its parameters (``params.TrainParams``).

A run that succeeds sets ``Job.result_code`` to an ``error_codes.TrainResultCode`` (ACTIVATED,
ACTIVATED_NOT_WORSE, READY, REJECTED, NOT_JUDGEABLE), so a client branches on the code, not the message."""

from __future__ import annotations

from jobs.registry import JobContext, JobFailed, JobResult, job_kind

from .error_codes import RecommenderError
from .params import TrainParams

# re-exported: recommender/schema.py builds its input type from this name
__all__ = ["TrainParams", "recommender_train_job"]


@job_kind("recommender.train", permission="recommender.add_modelversion", params=TrainParams)
def recommender_train_job(ctx: JobContext) -> JobResult:
    from .services import recommender_train, served_discovery, train_result_code

    try:
        version = recommender_train(params=ctx.params, job_id=ctx.job_id, progress=ctx.progress)
    except RecommenderError as exc:
        raise JobFailed(exc.code.value, exc.message) from exc
    discovery = version.metrics["discovery"]
    served = served_discovery(version.metrics)
    next_basket = version.metrics["next_basket"]
    metric = version.primary_metric
    code = train_result_code(version)
    notes = "; ".join(version.info.get("gate", {}).get("notes", []))
    judged = version.info.get("judged_users", {})
    return JobResult(
        result_type="recommender.modelversion", result_id=version.pk, result_code=code.value,
        message=(f"v{version.pk} {code.value}{': ' + notes if notes else ''}. {metric} discovery "
                 f"{served[metric]:.4f} vs popularity {discovery['popularity'][metric]:.4f} "
                 f"({judged.get('discovery', 0)} customers); next basket {next_basket['served'][metric]:.4f} vs "
                 f"buy-again {next_basket['buy_again'][metric]:.4f} ({judged.get('next_basket', 0)} customers)")[:500],
    )
