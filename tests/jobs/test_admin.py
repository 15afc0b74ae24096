import pytest

from jobs.models import Job, JobStatus
from jobs.services import job_execute, job_submit

pytestmark = pytest.mark.django_db


def test_admin_lists_jobs_and_cancels_through_the_action(admin_client):
    queued = job_submit(kind="jobs.selfcheck", params={})
    done = job_submit(kind="jobs.selfcheck", params={"steps": 1, "step_seconds": 0})
    job_execute(job_id=done.pk)
    assert admin_client.get("/admin/jobs/job/").status_code == 200
    assert admin_client.get(f"/admin/jobs/job/{queued.pk}/change/").status_code == 200
    assert admin_client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    response = admin_client.post("/admin/jobs/job/", {"action": "cancel_jobs",
                                                      "_selected_action": [queued.pk, done.pk]})
    assert response.status_code == 302
    assert dict(Job.objects.values_list("pk", "status")) == {queued.pk: JobStatus.CANCELLED,
                                                              done.pk: JobStatus.SUCCEEDED}
