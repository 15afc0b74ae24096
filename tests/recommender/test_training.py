"""Training as a job on planted data: it beats popularity, versions, gate, failures leave the old one serving."""

import numpy as np
import pytest
from django.core.files.storage import default_storage

from jobs.models import Job, JobStatus
from recommender import engine, serving
from recommender.engine import pipeline
from recommender.models import ModelActivation, ModelStatus, ModelVersion
from recommender.services import model_version_activate, model_version_rollback

from .conftest import train


def test_training_beats_popularity_and_becomes_active(shop):
    # when
    job = train()
    # then
    assert job.status == JobStatus.SUCCEEDED, (job.error_code, job.error_message)
    version = ModelVersion.objects.get(pk=job.result_id)
    assert job.result_type == "recommender.modelversion"
    d, nb = version.metrics["discovery"], version.metrics["next_basket"]
    assert d["model"]["ndcg@10"] >= 1.3 * d["popularity"]["ndcg@10"]
    assert d["model"]["precision@10"] >= 1.3 * d["popularity"]["precision@10"]
    assert nb["served"]["ndcg@10"] > nb["buy_again"]["ndcg@10"]
    # the served discovery ranking (model + item-to-item term, its weight chosen on validation) is recorded too
    assert d["served"]["ndcg@10"] >= 1.3 * d["popularity"]["ndcg@10"]
    assert version.info["discovery_beta"] in engine.ITEM_ITEM_GRID and version.info["discovery_validation"]
    arrays = serving.artifact_load(version.artifact)
    assert float(arrays["discovery_beta"]) == version.info["discovery_beta"]
    assert (len(arrays["item_item_weights"]) > 0) == (version.info["discovery_beta"] > 0)
    assert version.is_active and version.status == ModelStatus.READY and version.beats_baselines
    assert default_storage.exists(version.artifact)
    assert set(version.timings) >= {"fit", "evaluate", "refit", "job"}
    activation = ModelActivation.objects.get(version=version)
    assert activation.activated_by is None and not activation.override and activation.previous is None


def _serving_version_id():
    model = serving.loaded_model()
    return model.version_id if model else None


def test_a_failed_training_leaves_the_active_version_serving(shop, monkeypatch):
    # given an active version, held in memory
    first = ModelVersion.objects.get(pk=train().result_id)
    assert _serving_version_id() == first.pk

    # when the next run fails at its very last step (the storage write)
    def broken_save(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(serving, "artifact_save", broken_save)
    job = train()
    # then the job failed with a code, no version row was written, the first version still serves
    assert job.status == JobStatus.FAILED and job.error_code == "INTERNAL_ERROR"
    assert list(ModelVersion.objects.values_list("pk", flat=True)) == [first.pk]
    assert _serving_version_id() == first.pk


def test_a_failure_on_the_side_thread_fails_the_job_and_leaves_the_active_version_serving(shop, monkeypatch):
    # given an active version
    first = ModelVersion.objects.get(pk=train().result_id)
    side_threads = []

    # when the evaluation, which runs on the side thread beside the refit, breaks
    def broken_tune(*args, **kwargs):
        import threading

        side_threads.append(threading.current_thread().name)
        raise RuntimeError("evaluation broke")

    monkeypatch.setattr(pipeline, "tune_blend", broken_tune)
    job = train()
    # then the error reached the job, nothing was written, the first version still serves
    assert side_threads and side_threads[0].startswith("recommender-side")
    assert job.status == JobStatus.FAILED and job.error_code == "INTERNAL_ERROR"
    assert list(ModelVersion.objects.values_list("pk", flat=True)) == [first.pk]
    assert _serving_version_id() == first.pk


def test_a_training_without_data_fails_with_a_named_code(db):
    job = train()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "NO_DATA")
    assert not ModelVersion.objects.exists()


def test_a_cancelled_training_leaves_the_active_version_serving(shop, monkeypatch):
    first = ModelVersion.objects.get(pk=train().result_id)
    real_fit = pipeline.fit_lightfm

    def fit_then_cancel(*args, **kwargs):
        # staff press "cancel" while the model is being fitted; the next progress report stops the run
        result = real_fit(*args, **kwargs)
        Job.objects.filter(status=JobStatus.RUNNING).update(cancel_requested=True)
        return result

    monkeypatch.setattr(pipeline, "fit_lightfm", fit_then_cancel)
    job = train()
    assert job.status == JobStatus.CANCELLED
    assert ModelVersion.objects.count() == 1
    assert ModelVersion.objects.get(is_active=True).pk == first.pk
    assert _serving_version_id() == first.pk


def test_the_job_result_says_how_the_gate_came_out(shop):
    # when a version passes the gate (or is not worse) and is activated
    job = train()
    version = ModelVersion.objects.get(pk=job.result_id)
    # then the job's code says so, and the version records its verdict and whom it judged
    assert version.gate in ("PASSED", "NOT_WORSE") and version.is_active
    assert job.result_code == ("ACTIVATED" if version.gate == "PASSED" else "ACTIVATED_NOT_WORSE")
    gate = version.info["gate"]
    assert gate["questions"]["discovery"]["judged_users"] == version.info["judged_users"]["discovery"] > 0
    assert set(gate["questions"]["next_basket"]["comparisons"]) == {"buy_again", "popularity"}
    # when a version is trained without activation, it is READY
    second = train({"activate": False})
    assert second.result_code == "READY" and not ModelVersion.objects.get(pk=second.result_id).is_active


def test_rejected_version_needs_an_override_which_is_recorded(shop, django_user_model):
    from recommender.error_codes import RecommenderError, RecommenderErrorCode

    first = ModelVersion.objects.get(pk=train().result_id)
    rejected = ModelVersion.objects.get(pk=train({"activate": False}).result_id)
    ModelVersion.objects.filter(pk=rejected.pk).update(status=ModelStatus.REJECTED, beats_baselines=False)
    staff = django_user_model.objects.create_user("ops", is_staff=True)

    with pytest.raises(RecommenderError) as err:
        model_version_activate(version_id=rejected.pk, user=staff)
    assert err.value.code == RecommenderErrorCode.GATE_NOT_PASSED
    assert ModelVersion.objects.get(is_active=True).pk == first.pk

    model_version_activate(version_id=rejected.pk, user=staff, override=True, reason="marketing asked")
    assert ModelVersion.objects.get(is_active=True).pk == rejected.pk
    record = ModelActivation.objects.first()
    assert (record.version_id, record.previous_id, record.activated_by, record.override, record.reason) == (
        rejected.pk, first.pk, staff, True, "marketing asked")
    assert _serving_version_id() == rejected.pk

    # and a rollback brings the first one back, recorded too
    model_version_rollback(user=staff)
    assert ModelVersion.objects.get(is_active=True).pk == first.pk
    assert _serving_version_id() == first.pk
    assert ModelActivation.objects.first().previous_id == rejected.pk


def test_training_with_activate_false_keeps_the_current_version(shop):
    first = ModelVersion.objects.get(pk=train().result_id)
    second = ModelVersion.objects.get(pk=train({"activate": False, "seed": 3}).result_id)
    assert second.status == ModelStatus.READY and not second.is_active
    assert ModelVersion.objects.get(is_active=True).pk == first.pk


def test_a_failed_item_to_item_fit_serves_the_model_alone(shop, monkeypatch):
    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(pipeline, "item_item_fit", broken)
    job = train()
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    version = ModelVersion.objects.get(pk=job.result_id)
    assert version.info["discovery_beta"] == 0.0 and "failed" in version.info["discovery_rule"]["why"]
    assert version.metrics["discovery"]["served"] == version.metrics["discovery"]["model"]
    assert len(serving.artifact_load(version.artifact)["item_item_weights"]) == 0


@pytest.mark.parametrize("value", [0.5, -1, "200"])
def test_item_item_lambda_is_zero_or_at_least_one(value):
    from jobs.registry import JobParamsError, get_kind

    with pytest.raises(JobParamsError) as caught:
        get_kind("recommender.train").clean_params({"item_item_lambda": value})
    assert caught.value.field == "item_item_lambda"
    assert get_kind("recommender.train").clean_params({"item_item_lambda": 0})["item_item_lambda"] == 0


def test_the_admin_shows_the_served_discovery_figure_and_the_model_for_older_versions():
    from django.contrib import admin as django_admin

    from recommender.admin import ModelVersionAdmin

    columns = ModelVersionAdmin(ModelVersion, django_admin.site)
    version = ModelVersion(primary_metric="ndcg@10", metrics={
        "discovery": {"served": {"ndcg@10": 0.3}, "model": {"ndcg@10": 0.2}, "popularity": {"ndcg@10": 0.1}},
        "next_basket": {"served": {"ndcg@10": 0.5}}})
    assert (columns.discovery(version), columns.popularity(version)) == ("0.3000", "0.1000")
    assert (columns.next_basket(version), columns.buy_again(version)) == ("0.5000", "-")
    del version.metrics["discovery"]["served"]
    assert columns.discovery(version) == "0.2000"
    assert columns.discovery(ModelVersion(primary_metric="ndcg@10", metrics={})) == "-"


def test_default_windows_are_sized_from_the_data_and_recorded(shop):
    # when trained with no test_days / validation_days
    job = train({"test_days": None, "validation_days": None})
    version = ModelVersion.objects.get(pk=job.result_id)
    windows = version.info["windows"]
    # then the windows were chosen by the rule: 160 active customers, so a target of 16 judged buyers
    assert windows["chosen"] == "data" and windows["active_customers"] == 160 and windows["target_users"] == 16
    assert windows["test_days"] >= engine.windows.MIN_WINDOW_DAYS and windows["test_buyers"] >= 16
    assert version.info["judged_users"]["next_basket"] == version.metrics["next_basket"]["served"]["users"]


def test_a_shop_too_small_to_judge_gets_a_code_and_is_not_served(db):
    from .conftest import build_shop

    # given a shop of 12 customers: fewer than the gate's minimum in any test window
    build_shop(customers=12)
    job = train()
    version = ModelVersion.objects.get(pk=job.result_id)
    # then the job succeeded, says NOT_JUDGEABLE in its code, and nothing is served
    assert (job.status, job.result_code) == (JobStatus.SUCCEEDED, "NOT_JUDGEABLE")
    assert (version.gate, version.status, version.is_active) == ("NOT_JUDGEABLE", ModelStatus.REJECTED, False)
    assert "not judgeable" in job.message
