"""The segments.run job: planted segments recovered and named; failures leave the served run alone."""

from collections import Counter

import pytest
from sklearn.metrics import adjusted_rand_score

from jobs.models import Job, JobStatus
from jobs.registry import JobParamsError, get_kind
from jobs.services import job_execute, job_submit
from segments import services
from segments.models import RunStatus, Segment, SegmentationRun, SegmentMembership
from segments.selectors import segmentation_run_current, segments_for_run

pytestmark = pytest.mark.django_db


def run_job(**params):
    job = job_submit(kind="segments.run", params=params)
    return job_execute(job_id=job.pk)


def recovered(planted, run: SegmentationRun) -> tuple[float, dict[str, str]]:
    rows = SegmentMembership.objects.filter(run=run).values_list("customer__external_id", "segment__label")
    truth = [planted.truth[external_id] for external_id, _ in rows]
    found = [label for _, label in rows]
    majority = {kind: Counter(l for t, l in zip(truth, found) if t == kind).most_common(1)[0][0]
                for kind in set(truth)}
    return adjusted_rand_score(truth, found), majority


def test_kmeans_with_automatic_k_recovers_and_names_the_planted_segments(planted):
    # Given 600 customers planted as five kinds, when the job runs with every default
    job = run_job(as_of=planted.as_of.isoformat())

    # Then it succeeds, chooses k=5 by silhouette, and the segments match the planted ones and their names.
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    run = SegmentationRun.objects.get(pk=job.result_id)
    assert (run.status, run.k, run.customers) == (RunStatus.SUCCEEDED, 5, 600)
    assert run.silhouette > 0.5
    ari, majority = recovered(planted, run)
    assert ari >= 0.8
    assert majority == {kind: kind for kind in majority}
    segments = list(segments_for_run())
    assert sum(s.size for s in segments) == 600
    assert sum(s.revenue_share for s in segments) == pytest.approx(1.0)
    assert segments[0].label == "Champions"  # biggest revenue first
    assert segmentation_run_current() == run
    assert job.progress == 1.0 and "k=5" in job.message


def test_dbscan_recovers_the_planted_segments_by_sample_and_assign(planted):
    job = run_job(as_of=planted.as_of.isoformat(), algorithm="dbscan", eps=0.6, min_samples=5, sample_size=400)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    run = SegmentationRun.objects.get(pk=job.result_id)
    assert run.params["fit_size"] == 400
    ari, _ = recovered(planted, run)
    assert ari >= 0.8


def test_dbscan_past_its_guard_fails_with_a_clear_error_and_the_previous_run_stays_served(planted, settings):
    # Given a served K-means run
    first = run_job(as_of=planted.as_of.isoformat(), k=5)
    served = segmentation_run_current()
    assert served.pk == first.result_id

    # When DBSCAN is asked with a radius that joins everyone, past a small guard
    settings.SEGMENTS_DBSCAN_MAX_PAIRS = 10_000
    job = run_job(as_of=planted.as_of.isoformat(), algorithm="dbscan", eps=5.0)

    # Then the job fails with a typed code and a message saying what to change; nothing else moves.
    assert job.status == JobStatus.FAILED
    assert job.error_code == "DBSCAN_TOO_LARGE"
    assert "lower eps or sampleSize" in job.error_message
    assert segmentation_run_current() == served
    assert not SegmentationRun.objects.exclude(pk=served.pk).exists()  # it failed before writing anything


def test_a_run_failing_while_writing_keeps_the_previous_one_served(planted, monkeypatch):
    first = run_job(as_of=planted.as_of.isoformat(), k=5)
    served = SegmentationRun.objects.get(pk=first.result_id)

    def broken_write(run, *args, **kwargs):
        SegmentMembership.objects.create(run=run, segment=run.segments.first(), customer_id=args[0].iloc[0, 0],
                                         recency=1, frequency=1, monetary=1, r_score=1, f_score=1, m_score=1,
                                         rfm_score="111")
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "_write_memberships", broken_write)
    job = run_job(as_of=planted.as_of.isoformat(), k=4)

    assert job.status == JobStatus.FAILED and job.error_code == "INTERNAL_ERROR"
    failed = SegmentationRun.objects.exclude(pk=served.pk).get()
    assert failed.status == RunStatus.FAILED
    assert not Segment.objects.filter(run=failed).exists()
    assert not SegmentMembership.objects.filter(run=failed).exists()
    assert segmentation_run_current() == served
    assert SegmentMembership.objects.filter(run=served).count() == 600


def test_old_runs_memberships_are_pruned_but_their_profiles_stay(planted, settings):
    settings.SEGMENTS_KEEP_MEMBERSHIPS_RUNS = 1
    first = run_job(as_of=planted.as_of.isoformat(), k=5)
    second = run_job(as_of=planted.as_of.isoformat(), k=4)
    assert SegmentMembership.objects.filter(run_id=first.result_id).count() == 0
    assert SegmentationRun.objects.get(pk=first.result_id).members_pruned
    assert Segment.objects.filter(run_id=first.result_id).count() == 5
    assert SegmentMembership.objects.filter(run_id=second.result_id).count() == 600


def test_nothing_to_segment_fails_with_no_customers():
    job = run_job()
    assert (job.status, job.error_code) == (JobStatus.FAILED, "NO_CUSTOMERS")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"algorithm": "hdbscan"}, "algorithm"),
        ({"k_min": 6, "k_max": 4}, "k_min"),
        ({"k": 1}, "k"),
        ({"eps": 0}, "eps"),
        ({"as_of": "yesterday"}, "as_of"),
        ({"features": ["recency", "shoe_size"]}, "features"),
        ({"sample_size": 10_000_000}, "sample_size"),
    ],
)
def test_bad_parameters_are_refused_with_the_field(params, field):
    with pytest.raises(JobParamsError) as caught:
        get_kind("segments.run").clean_params(params)
    assert caught.value.field == field


def test_every_parameter_has_a_default():
    cleaned = get_kind("segments.run").clean_params({})
    assert cleaned == {"algorithm": "kmeans", "as_of": None, "k": None, "k_min": 3, "k_max": 8, "eps": 0.5,
                       "min_samples": 10, "sample_size": 20000, "features": ["recency", "frequency", "monetary", "views"],
                       "seed": 0}


def test_a_run_cancelled_midway_is_discarded_and_the_previous_one_stays_served(planted, monkeypatch):
    served = SegmentationRun.objects.get(pk=run_job(as_of=planted.as_of.isoformat(), k=5).result_id)
    real_write = services._write_memberships

    def write_then_cancel(*args, **kwargs):
        # The cancel arrives while the memberships are written; the next progress report obeys it.
        real_write(*args, **kwargs)
        Job.objects.filter(status=JobStatus.RUNNING).update(cancel_requested=True)

    monkeypatch.setattr(services, "_write_memberships", write_then_cancel)
    job = run_job(as_of=planted.as_of.isoformat(), k=4)

    assert job.status == JobStatus.CANCELLED
    assert segmentation_run_current() == served
    cancelled = SegmentationRun.objects.exclude(pk=served.pk).get()
    assert cancelled.status == RunStatus.FAILED
    assert SegmentMembership.objects.filter(run=cancelled).count() == 0
    assert SegmentMembership.objects.filter(run=served).count() == 600
