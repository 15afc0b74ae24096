"""The whole training run, as stages that read top to bottom in ``run_pipeline``:

1. ``prepare``: the time split's matrices and the features;
2. ``_fit_evaluated_model``: LightFM with early stopping on the training rows (the job's thread), while the
   side thread runs ``_side_work_before_fit``: the item-to-item weights the choices are made with, and the
   baselines' figures;
3. ``_side_work_after_fit`` (side thread): the choices on the validation users -- the item-to-item term's
   weight and the next-basket blend -- the evaluated model's figures on the test window, and the served
   item-to-item weights refitted on everything; beside it ``_refit_served_model`` (the job's thread) refits
   LightFM on all data for the best epoch count;
4. ``_artifact`` and ``_info``: what serving loads and what the version records.

See ``side_thread.SideThread`` for how the two threads share the cores.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..params import TrainParams
from .artifact import Artifact, PipelineResult
from .baselines import buy_again_scorer, popularity, popularity_scorer
from .blend import BLEND_GRID, REFERENCE_BLEND, TREND_HALF_LIFE_DAYS, blend_scorer, tune_blend
from .gate import judge
from .item_item import ITEM_ITEM_MIN_BUYERS, discovery_scorer, item_item_fit, tune_discovery
from .lightfm_fit import FitResult, available_threads, fit_lightfm, model_scorer, representations
from .metrics import K, evaluate
from .prepare import Frames, Prepared, prepare
from .scoring import Scorer
from .side_thread import SideThread, StageTimes

Progress = Callable[[float, str], None]
VALIDATION_METRIC = f"ndcg@{K}"  # what early stopping and the choices on the validation users maximise


def _no_progress(fraction: float, message: str) -> None:
    pass


def evaluate_both(data: Prepared, *, discovery: Scorer, next_basket: Scorer, k: int = K,
                  per_user: dict[str, dict] | None = None) -> dict[str, dict]:
    """One model's metrics on the test window for both questions; given ``per_user``, its ``"discovery"`` and
    ``"next_basket"`` entries are filled with the per-customer figures (see ``metrics.evaluate``)."""
    per_user = {"discovery": {}, "next_basket": {}} if per_user is None else per_user
    return {
        "discovery": evaluate(discovery, users=data.test_users, truth=data.test_truth,
                              excluded=data.purchases_before_test, n_items=data.n_items, k=k,
                              per_user=per_user.setdefault("discovery", {})),
        "next_basket": evaluate(next_basket, users=data.test_next_basket_users, truth=data.test_next_basket_truth,
                                excluded=None, n_items=data.n_items, k=k,
                                per_user=per_user.setdefault("next_basket", {})),
    }


# --- the side thread's work ------------------------------------------------------------------------


@dataclass
class _BeforeFit:
    """The side work that needs no fitted model."""

    item_item_weights: sp.csr_matrix | None  # fitted on the evaluated model's training purchases; None: unused
    item_item_failure: str  # why the fit failed ("" if it did not)
    baselines: dict[str, dict]
    baseline_per_user: dict[str, dict[str, dict]]  # question -> baseline -> metric -> per-customer values


@dataclass
class _Blend:
    """The next-basket blend chosen on the validation users."""

    half_life: float
    trend_weight: float
    alpha: float
    table: dict[str, float]
    rule: dict[str, Any]


@dataclass
class _Choices:
    """The choices made on the validation users, the evaluated model's figures, and the served weights."""

    discovery_beta: float  # the item-to-item term's weight in the discovery ranking
    discovery_table: dict[str, float]
    discovery_rule: dict[str, Any]
    blend: _Blend
    metrics: dict[str, dict]
    served_per_user: dict[str, dict]  # question -> metric -> per-customer values of the served rankings
    refitted_item_item: sp.csr_matrix | None  # on every purchase; None: not refitted, or its fit failed


def _fit_item_item(purchases: sp.csr_matrix, params: TrainParams) -> tuple[sp.csr_matrix | None, str]:
    try:
        return item_item_fit(purchases, lam=params.item_item_lambda, neighbours=params.item_item_neighbours,
                             min_buyers=ITEM_ITEM_MIN_BUYERS), ""
    except np.linalg.LinAlgError as exc:  # the term is left out; the model alone is served
        return None, f"item-to-item fit failed: {exc}"


def _uses_item_item(data: Prepared, params: TrainParams) -> bool:
    return params.item_item_lambda > 0 and len(data.validation_users) > 0


def _baselines(data: Prepared) -> tuple[dict[str, dict], dict[str, dict[str, dict]]]:
    """The baselines' test figures, and their per-customer values by question and baseline (for the gate)."""
    popular = popularity(data.purchases_before_test)
    popular_per_user: dict[str, dict] = {}
    figures = evaluate_both(data, discovery=popularity_scorer(popular), next_basket=popularity_scorer(popular),
                            per_user=popular_per_user)
    buy_again_per_user: dict = {}
    figures["buy_again"] = evaluate(buy_again_scorer(data.purchases_before_test, popular),
                                    users=data.test_next_basket_users, truth=data.test_next_basket_truth,
                                    excluded=None, n_items=data.n_items, per_user=buy_again_per_user)
    per_user = {"discovery": {"popularity": popular_per_user["discovery"]},
                "next_basket": {"popularity": popular_per_user["next_basket"], "buy_again": buy_again_per_user}}
    return figures, per_user


def _side_work_before_fit(data: Prepared, params: TrainParams, times: StageTimes) -> _BeforeFit:
    # The item-to-item weights for the choice of their weight and the test figures are fitted, like the
    # evaluated model, on the purchases of its training rows (nothing of the validation users' held-out
    # days, nothing of the test window).
    weights, failure = None, ""
    if _uses_item_item(data, params):
        with times.measure("item_item"):
            weights, failure = _fit_item_item(data.purchases_before_validation, params)
    with times.measure("evaluate"):
        baselines, baseline_per_user = _baselines(data)
    return _BeforeFit(item_item_weights=weights, item_item_failure=failure, baselines=baselines,
                      baseline_per_user=baseline_per_user)


def _choose_discovery(data: Prepared, params: TrainParams, scorer: Scorer,
                      before_fit: _BeforeFit) -> tuple[float, dict[str, float], dict[str, Any]]:
    """The weight of the item-to-item term in the discovery ranking, chosen on the validation users:
    (weight, validation table, rule)."""
    if before_fit.item_item_weights is None:
        why = before_fit.item_item_failure or (
            "item_item_lambda is 0" if not params.item_item_lambda else "no validation users")
        return 0.0, {}, {"chosen": 0.0, "why": why}
    tuned = tune_discovery(scorer, data.purchases_before_validation, before_fit.item_item_weights,
                           users=data.validation_users, truth=data.validation_truth, n_items=data.n_items,
                           metric=VALIDATION_METRIC)
    return tuned["beta"], {f"{beta:g}": value for beta, value in tuned["table"].items()}, tuned["rule"]


def _choose_blend(data: Prepared, scorer: Scorer) -> _Blend:
    """The next-basket blend (history half-life, trend weight, alpha), chosen on the validation users only,
    never on the test window; without validation users, the reference blend."""
    histories = data.decayed_purchases_before_validation
    half_life = REFERENCE_BLEND[0] if REFERENCE_BLEND[0] in histories else next(iter(histories))
    alpha = BLEND_GRID[-1]
    if not len(data.validation_next_basket_users):
        return _Blend(half_life=half_life, trend_weight=0.0, alpha=alpha, table={},
                      rule={"chosen": f"{half_life:g}/0/{alpha:g}", "why": "no validation users"})
    tuned = tune_blend(scorer, histories, users=data.validation_next_basket_users,
                       truth=data.validation_next_basket_truth, n_items=data.n_items,
                       trend=data.trend_before_validation, metric=VALIDATION_METRIC)
    return _Blend(
        half_life=tuned["half_life"], trend_weight=tuned["trend_weight"], alpha=tuned["alpha"],
        table={"{:g}/{:g}/{:g}".format(*key): value for key, value in tuned["table"].items()}, rule=tuned["rule"],
    )


def _evaluate_model(data: Prepared, scorer: Scorer, item_item_weights: sp.csr_matrix | None, beta: float,
                    blend: _Blend, baselines: dict[str, dict], served_per_user: dict) -> dict[str, dict]:
    """The test window's figures for both questions: the served rankings (the discovery one with the
    item-to-item term at weight ``beta``, the next-basket blend), the model alone, and the baselines."""
    served_discovery = (discovery_scorer(scorer, data.purchases_before_test, item_item_weights, beta) if beta
                        else scorer)
    served_next_basket = blend_scorer(scorer, data.decayed_purchases_before_test[blend.half_life], blend.alpha,
                                      data.trend_before_test, blend.trend_weight)
    served = evaluate_both(data, discovery=served_discovery, next_basket=served_next_basket,
                           per_user=served_per_user)
    model_discovery = evaluate(scorer, users=data.test_users, truth=data.test_truth,
                               excluded=data.purchases_before_test, n_items=data.n_items) if beta else dict(
        served["discovery"])
    model_next_basket = evaluate(scorer, users=data.test_next_basket_users, truth=data.test_next_basket_truth,
                                 excluded=None, n_items=data.n_items)
    return {
        "discovery": {"served": served["discovery"], "model": model_discovery,
                      "popularity": baselines["discovery"]},
        "next_basket": {"served": served["next_basket"], "model": model_next_basket,
                        "buy_again": baselines["buy_again"], "popularity": baselines["next_basket"]},
    }


def _side_work_after_fit(data: Prepared, params: TrainParams, scorer: Scorer, before_fit_task: Future,
                         times: StageTimes) -> _Choices:
    # submitted after the first side task, so its result is there already
    before_fit: _BeforeFit = before_fit_task.result()
    with times.measure("item_item"):
        beta, discovery_table, discovery_rule = _choose_discovery(data, params, scorer, before_fit)
    with times.measure("evaluate"):
        blend = _choose_blend(data, scorer)
        served_per_user: dict = {}
        metrics = _evaluate_model(data, scorer, before_fit.item_item_weights, beta, blend, before_fit.baselines,
                                  served_per_user)
    refitted = None
    # the served item-to-item weights, refitted on everything, only if the term is kept
    if beta and params.refit and _uses_item_item(data, params):
        with times.measure("item_item_refit"):
            refitted, _ = _fit_item_item(data.all_purchases, params)
    return _Choices(discovery_beta=beta, discovery_table=discovery_table, discovery_rule=discovery_rule,
                    blend=blend, metrics=metrics, served_per_user=served_per_user, refitted_item_item=refitted)


# --- LightFM on the job's thread -------------------------------------------------------------------


def _validation_score(data: Prepared, scorer: Scorer) -> float:
    figures = evaluate(scorer, users=data.validation_users, truth=data.validation_truth,
                       excluded=data.purchases_before_validation, n_items=data.n_items, with_auc=False)
    return figures[VALIDATION_METRIC]


class _EpochProgress:
    """Progress from 5% to 85% over the epochs of both fits."""

    def __init__(self, progress: Progress, params: TrainParams):
        self.progress = progress
        self.planned_epochs = params.epochs * (2 if params.refit else 1)
        self.first_fit_epochs = 0
        self.refit_epochs = 0

    def first_fit(self, epoch: int, value: float | None) -> None:
        shown = "" if value is None else f", validation nDCG@{K} {value:.4f}"
        self.progress(0.05 + 0.8 * epoch / self.planned_epochs, f"epoch {epoch}{shown}")

    def begin_refit(self, first_fit_epochs: int, refit_epochs: int) -> None:
        self.first_fit_epochs, self.refit_epochs = first_fit_epochs, refit_epochs

    def refit(self, epoch: int, value: float | None) -> None:
        done = self.first_fit_epochs
        self.progress(0.05 + 0.8 * (done + epoch) / (done + self.refit_epochs),
                      f"refit on all data: epoch {epoch}/{self.refit_epochs} (evaluating beside it)")


def _fit_evaluated_model(data: Prepared, params: TrainParams, side: SideThread,
                         epoch_progress: _EpochProgress) -> FitResult:
    """LightFM on the training rows, keeping the epoch best on the validation users."""
    epoch_progress.progress(0.05, "fitting on the training window")
    return fit_lightfm(data.fit_interactions, user_features=data.user_features, item_features=data.item_features,
                       params=params, validate=partial(_validation_score, data) if len(data.validation_users) else None,
                       on_epoch=epoch_progress.first_fit, threads=side.lightfm_threads)


def _refit_served_model(data: Prepared, params: TrainParams, evaluated: FitResult, side: SideThread,
                        epoch_progress: _EpochProgress) -> FitResult:
    """LightFM on all data for the evaluated model's best epoch count (no validation left to stop on)."""
    refit_epochs = max(evaluated.best_epoch, 1)
    epoch_progress.begin_refit(evaluated.epochs_run, refit_epochs)
    return fit_lightfm(data.all_interactions, user_features=data.user_features, item_features=data.item_features,
                       params=params, epochs=refit_epochs, on_epoch=epoch_progress.refit,
                       threads=side.lightfm_threads)


# --- what the run hands over -----------------------------------------------------------------------


def _served_item_item(data: Prepared, before_fit: _BeforeFit, choices: _Choices) -> sp.csr_matrix:
    """The weights refitted on everything; those the version was evaluated with when there was no refit or
    the refit's fit failed; none when the term is left out."""
    weights = None
    if choices.discovery_beta:
        weights = (choices.refitted_item_item if choices.refitted_item_item is not None
                   else before_fit.item_item_weights)
    if weights is None:
        weights = sp.csr_matrix((data.n_items, data.n_items), dtype=np.float32)
    return weights


def _artifact(data: Prepared, model, choices: _Choices, item_item: sp.csr_matrix) -> Artifact:
    user_vectors, item_vectors, item_bias = representations(model, data.user_features, data.item_features)
    n_users, n_items = len(data.user_ids), len(data.item_ids)
    return Artifact(
        user_ids=data.user_ids, item_ids=data.item_ids,
        user_vectors=user_vectors, item_vectors=item_vectors, item_bias=item_bias,
        user_feature_names=np.array(data.user_vocabulary, dtype=str),
        user_feature_vectors=np.asarray(model.user_embeddings[n_users:], dtype=np.float32),
        item_feature_names=np.array(data.item_vocabulary, dtype=str),
        item_feature_vectors=np.asarray(model.item_embeddings[n_items:], dtype=np.float32),
        item_feature_bias=np.asarray(model.item_biases[n_items:], dtype=np.float32),
        price_edges=data.price_edges, item_category=data.item_category,
        popular_recent=data.popular_recent.astype(np.float32),
        blend_alpha=np.array(choices.blend.alpha, dtype=np.float32),
        history_half_life=np.array(choices.blend.half_life, dtype=np.float32),
        trend=data.trend_at_end.astype(np.float32),
        trend_weight=np.array(choices.blend.trend_weight, dtype=np.float32),
        item_item_indptr=item_item.indptr.astype(np.int64), item_item_indices=item_item.indices.astype(np.int32),
        item_item_weights=item_item.data.astype(np.float32),
        discovery_beta=np.array(choices.discovery_beta, dtype=np.float32),
    )


def _gate(data: Prepared, params: TrainParams, before_fit: _BeforeFit, choices: _Choices) -> dict[str, Any]:
    """The gate's verdict on the primary metric, per question, from the per-customer test figures."""
    metric = params.primary_metric
    per_user = {question: {"served": choices.served_per_user[question][metric],
                           **{name: values[metric] for name, values in baselines.items()}}
                for question, baselines in before_fit.baseline_per_user.items()}
    return judge(per_user, rate=data.repeat_rate, metric=metric)


def _info(frames: Frames, data: Prepared, params: TrainParams, evaluated: FitResult, choices: _Choices,
          item_item: sp.csr_matrix, times: StageTimes) -> dict[str, Any]:
    split, blend = data.split, choices.blend
    return {
        "windows": data.windows.as_info(),
        "judged_users": {"discovery": int(len(data.test_users)),
                         "next_basket": int(len(data.test_next_basket_users))},
        "window": {"start": str(frames.events["occurred_at"].min()), "fit_end": str(split.fit_end),
                   "test_start": str(split.test_start), "end": str(split.end)},
        "counts": {"users": len(data.user_ids), "items": len(data.item_ids), "events": data.n_events,
                   "pairs": int(data.fit_interactions.nnz), "user_features": len(data.user_vocabulary),
                   "item_features": len(data.item_vocabulary), "validation_users": int(len(data.validation_users)),
                   "test_users_discovery": int(len(data.test_users)),
                   "test_users_next_basket": int(len(data.test_next_basket_users))},
        "best_epoch": evaluated.best_epoch, "epochs_run": evaluated.epochs_run,
        "validation_history": evaluated.history, "blend_alpha": blend.alpha,
        "history_half_life_days": blend.half_life, "trend_weight": blend.trend_weight,
        "trend_half_life_days": TREND_HALF_LIFE_DAYS,
        "blend_validation": {f"half-life/trend/alpha {key}": value for key, value in blend.table.items()},
        "blend_rule": blend.rule,
        "discovery_beta": choices.discovery_beta, "item_item_lambda": params.item_item_lambda,
        "item_item_neighbours": params.item_item_neighbours, "item_item_weights": int(item_item.nnz),
        "discovery_validation": {f"beta {key}": value for key, value in choices.discovery_table.items()},
        "discovery_rule": choices.discovery_rule,
        "timings": times.seconds,
    }


def run_pipeline(frames: Frames, params: TrainParams, *, progress: Progress = _no_progress,
                 num_threads: int | None = None) -> PipelineResult:
    """Prepare, fit with early stopping, evaluate against the baselines on the test window, refit, export.

    LightFM runs on this thread with ``num_threads`` (all cores by default); the work that does not wait
    for the model being fitted runs on one side thread beside it (see the module docstring)."""
    times = StageTimes()
    with times.measure("total"):
        with times.measure("prepare"):
            data = prepare(frames, params)
        epoch_progress = _EpochProgress(progress, params)
        with SideThread(num_threads or available_threads()) as side:
            before_fit_task = side.submit(_side_work_before_fit, data, params, times)
            evaluated = _fit_evaluated_model(data, params, side, epoch_progress)
            times.seconds["fit"] = evaluated.seconds
            scorer = model_scorer(evaluated.model, data.user_features, data.item_features)
            choices_task = side.submit(_side_work_after_fit, data, params, scorer, before_fit_task, times)
            served = evaluated
            if params.refit:
                served = _refit_served_model(data, params, evaluated, side, epoch_progress)
                times.seconds["refit"] = served.seconds
            else:
                progress(0.85, "evaluating on the held-out window")
            before_fit, choices = before_fit_task.result(), choices_task.result()
        progress(0.9, "exporting")
        item_item = _served_item_item(data, before_fit, choices)
        artifact = _artifact(data, served.model, choices, item_item)
    info = _info(frames, data, params, evaluated, choices, item_item, times)
    info["gate"] = _gate(data, params, before_fit, choices)
    return PipelineResult(artifact=artifact, metrics=choices.metrics, info=info)
