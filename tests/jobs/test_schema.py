"""GraphQL for jobs: submit through `submit_job` (runSelfCheck and a kind registered only here), watch, cancel."""

import pytest
import strawberry
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from strawberry.types import Info

from jobs.models import Job, JobStatus
from jobs.schema import JobPayload, Query, submit_job
from jobs.services import job_execute, job_submit
from tests.conftest import GraphQLClient, make_staff

pytestmark = pytest.mark.django_db

RUN = """
mutation($input: RunSelfCheckInput) {
  runSelfCheck(input: $input) {
    job { id pk kind status progress params submittedAt startedAt finishedAt error { code message } }
    errors { field code message }
  }
}
"""
JOB = """
query($id: ID!) {
  job(id: $id) { id pk kind status progress message attempts error { code message } result { type id }
                 submittedAt startedAt finishedAt }
}
"""
JOBS = """
query($kind: String, $status: JobStatus, $first: Int, $after: String) {
  jobs(kind: $kind, status: $status, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { pk kind status } }
  }
}
"""
CANCEL = """
mutation($id: ID!) { cancelJob(id: $id) { job { pk status cancelRequested } errors { field code message } } }
"""


@pytest.fixture
def runner(client):
    return GraphQLClient(client, make_staff("runner", perms=("jobs.add_job",)))


def test_submit_records_a_queued_job_with_cleaned_defaults(runner):
    # given a staff user allowed to run the self-check, when they submit it with an empty input
    body = runner(RUN, {"input": {}})["data"]["runSelfCheck"]
    # then a queued job with every default filled in, and no errors
    assert body["errors"] == []
    assert body["job"]["kind"] == "jobs.selfcheck"
    assert body["job"]["status"] == "QUEUED"
    assert body["job"]["progress"] == 0.0
    assert body["job"]["params"] == {"steps": 5, "step_seconds": 0.2}
    assert body["job"]["startedAt"] is None and body["job"]["error"] is None
    job = Job.objects.get()
    assert (job.pk, job.submitted_by.username) == (body["job"]["pk"], "runner")


def test_submit_without_input_uses_defaults(runner):
    body = runner("mutation { runSelfCheck { job { params } errors { code } } }")["data"]["runSelfCheck"]
    assert body == {"job": {"params": {"steps": 5, "step_seconds": 0.2}}, "errors": []}


def test_anonymous_and_unprivileged_get_permission_denied_and_no_job(gql, client):
    body = gql(RUN, {"input": {"steps": 2}})["data"]["runSelfCheck"]
    assert body["job"] is None
    assert [(e["code"], e["field"]) for e in body["errors"]] == [("PERMISSION_DENIED", None)]
    client.force_login(make_staff("viewer", perms=("jobs.view_job",)))
    body = gql(RUN, {"input": {"steps": 2}})["data"]["runSelfCheck"]
    assert [e["code"] for e in body["errors"]] == ["PERMISSION_DENIED"]
    assert Job.objects.count() == 0


def test_invalid_params_are_typed_errors_on_the_camel_case_field(runner):
    body = runner(RUN, {"input": {"steps": 0}})["data"]["runSelfCheck"]
    assert body["job"] is None
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("steps", "INVALID")]
    body = runner(RUN, {"input": {"stepSeconds": 61}})["data"]["runSelfCheck"]
    assert [(e["field"], e["code"], e["message"]) for e in body["errors"]] == [
        ("stepSeconds", "INVALID", "step_seconds must be from 0 to 60")
    ]
    assert Job.objects.count() == 0


def test_submit_enqueues_after_commit_and_runs_in_process_by_default(runner, django_capture_on_commit_callbacks):
    # given no worker (tests run tasks eagerly, as the embedded default does)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        body = runner(RUN, {"input": {"steps": 3, "stepSeconds": 0}})["data"]["runSelfCheck"]
        # then nothing is enqueued before the transaction commits
        assert body["job"]["status"] == "QUEUED"
    # when it commits, the task runs the job
    assert len(callbacks) == 1
    job = runner(JOB, {"id": body["job"]["id"]})["data"]["job"]
    assert job["status"] == "SUCCEEDED"
    assert job["progress"] == 1.0
    assert job["attempts"] == 1
    assert job["message"].startswith("3 steps in ")
    assert job["startedAt"] and job["finishedAt"] and job["error"] is None and job["result"] is None


def test_job_by_database_id_or_global_id_and_failure_fields(client):
    runner = GraphQLClient(client, make_staff("ops", perms=("jobs.view_job",)))
    job = job_submit(kind="jobs.selfcheck", params={"steps": 1, "step_seconds": 0})
    Job.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error_code="NOT_ENOUGH_DATA",
                                         error_message="too few orders", result_type="x.y", result_id=7)
    by_pk = runner(JOB, {"id": str(job.pk)})["data"]["job"]
    by_global = runner(JOB, {"id": by_pk["id"]})["data"]["job"]
    assert by_pk == by_global
    assert by_pk["error"] == {"code": "NOT_ENOUGH_DATA", "message": "too few orders"}
    assert by_pk["result"] == {"type": "x.y", "id": "7"}
    assert runner(JOB, {"id": "999999"})["data"]["job"] is None
    assert runner(JOB, {"id": "not-an-id"})["data"]["job"] is None


def test_job_queries_need_staff_and_view_perm_for_others_jobs(gql, client):
    mine_user = make_staff("mine", perms=("jobs.add_job",))
    mine = job_submit(kind="jobs.selfcheck", params={}, user=mine_user)
    theirs = job_submit(kind="jobs.selfcheck", params={})
    # anonymous: an error, not data
    body = gql(JOB, {"id": str(mine.pk)}, expect_errors=True)
    assert body["data"] == {"job": None}
    assert body["errors"][0]["message"] == "User is not a staff member."
    # staff without jobs.view_job: their own jobs only
    client.force_login(mine_user)
    assert gql(JOB, {"id": str(mine.pk)})["data"]["job"]["pk"] == mine.pk
    assert gql(JOB, {"id": str(theirs.pk)})["data"]["job"] is None
    assert [e["node"]["pk"] for e in gql(JOBS)["data"]["jobs"]["edges"]] == [mine.pk]
    # with jobs.view_job: every job, newest first
    client.force_login(make_staff("ops", perms=("jobs.view_job",)))
    assert [e["node"]["pk"] for e in gql(JOBS)["data"]["jobs"]["edges"]] == [theirs.pk, mine.pk]


def test_jobs_filter_by_kind_and_status_and_paginate_with_constant_queries(client):
    ops = GraphQLClient(client, make_staff("ops", perms=("jobs.view_job",)))
    ids = [job_submit(kind="jobs.selfcheck", params={"steps": 1, "step_seconds": 0}).pk for _ in range(5)]
    job_execute(job_id=ids[0])
    job_execute(job_id=ids[1])
    Job.objects.create(kind="other.kind")
    done = ops(JOBS, {"kind": "jobs.selfcheck", "status": "SUCCEEDED"})["data"]["jobs"]
    assert done["totalCount"] == 2
    assert [e["node"]["pk"] for e in done["edges"]] == [ids[1], ids[0]]
    queued = ops(JOBS, {"kind": "jobs.selfcheck", "status": "QUEUED", "first": 2})["data"]["jobs"]
    assert [e["node"]["pk"] for e in queued["edges"]] == [ids[4], ids[3]]
    assert queued["pageInfo"]["hasNextPage"] is True
    rest = ops(JOBS, {"kind": "jobs.selfcheck", "status": "QUEUED", "first": 2,
                      "after": queued["pageInfo"]["endCursor"]})["data"]["jobs"]
    assert [e["node"]["pk"] for e in rest["edges"]] == [ids[2]]
    counts = []
    for first in (1, 5):
        with CaptureQueriesContext(connection) as ctx:
            ops(JOBS, {"first": first})
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_cancel_queued_job_and_errors(gql, client):
    job = job_submit(kind="jobs.selfcheck", params={})
    # anonymous: refused, whatever the id
    assert [e["code"] for e in gql(CANCEL, {"id": str(job.pk)})["data"]["cancelJob"]["errors"]] == [
        "PERMISSION_DENIED"
    ]
    assert gql(CANCEL, {"id": "424242"})["data"]["cancelJob"] == gql(CANCEL, {"id": str(job.pk)})["data"]["cancelJob"]
    # staff without the permission: the same answer as for an id that does not exist
    client.force_login(make_staff("viewer", perms=("jobs.view_job",)))
    forbidden = gql(CANCEL, {"id": str(job.pk)})["data"]["cancelJob"]
    assert forbidden == gql(CANCEL, {"id": "424242"})["data"]["cancelJob"]
    assert [(e["field"], e["code"]) for e in forbidden["errors"]] == [("id", "NOT_FOUND")]
    # with the permission to run this kind: cancelled at once (it had not started)
    client.force_login(make_staff("runner", perms=("jobs.add_job",)))
    body = gql(CANCEL, {"id": str(job.pk)})["data"]["cancelJob"]
    assert body == {"job": {"pk": job.pk, "status": "CANCELLED", "cancelRequested": True}, "errors": []}
    assert job_execute(job_id=job.pk) is None  # a late message for it does nothing
    # cancelling again is harmless; unknown ids are NOT_FOUND
    again = gql(CANCEL, {"id": str(job.pk)})["data"]["cancelJob"]
    assert again == body
    assert gql(CANCEL, {"id": "424242"})["data"]["cancelJob"]["errors"][0]["code"] == "NOT_FOUND"


def test_job_answers_the_same_for_a_missing_id_and_a_forbidden_one(gql, client):
    # given a job submitted by nobody, and staff who see only their own jobs
    job = job_submit(kind="jobs.selfcheck", params={})
    client.force_login(make_staff("someone"))
    # then reading it answers as for an id that does not exist
    forbidden = gql(JOB, {"id": str(job.pk)})
    assert forbidden == gql(JOB, {"id": "424242"}) == {"data": {"job": None}}


def test_cancel_finished_job_is_already_finished(client):
    runner = GraphQLClient(client, make_staff("runner", perms=("jobs.add_job",)))
    job = job_submit(kind="jobs.selfcheck", params={"steps": 1, "step_seconds": 0})
    job_execute(job_id=job.pk)
    body = runner(CANCEL, {"id": str(job.pk)})["data"]["cancelJob"]
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("id", "ALREADY_FINISHED")]
    assert body["job"]["status"] == "SUCCEEDED"


# --- submit_job with a kind registered only in the tests, behind a mutation like the ML apps write ---


@strawberry.input
class PublishInput:
    version: int = 1
    steps: int = 3
    fail_at_step: int = 0


@strawberry.type
class PublishMutation:
    @strawberry.mutation
    def run_publish(self, info: Info, input: PublishInput) -> JobPayload:
        return submit_job(info, kind="tests.publish", params=input)


test_schema = strawberry.Schema(query=Query, mutation=PublishMutation)
RUN_PUBLISH = "mutation($input: PublishInput!) { runPublish(input: $input) { job { pk kind status params } " \
              "errors { field code message } } }"


def _execute(user, variables):
    request = RequestFactory().post("/graphql/")
    request.user = user
    result = test_schema.execute_sync(RUN_PUBLISH, variable_values=variables,
                                      context_value=type("Ctx", (), {"request": request})())
    assert result.errors is None, result.errors
    return result.data["runPublish"]


def test_submit_job_helper_with_a_test_only_kind(publish_kind):
    from django.contrib.auth.models import AnonymousUser

    allowed = make_staff("runner", perms=("jobs.add_job",))
    assert _execute(allowed, {"input": {}}) == {
        "job": {"pk": Job.objects.get().pk, "kind": "tests.publish", "status": "QUEUED",
                "params": {"version": 1, "steps": 3, "fail_at_step": 0}},
        "errors": [],
    }
    bad = _execute(allowed, {"input": {"failAtStep": -1}})
    assert bad == {"job": None, "errors": [{"field": "failAtStep", "code": "INVALID",
                                            "message": "fail_at_step must be 0 (never) or a step number"}]}
    denied = _execute(AnonymousUser(), {"input": {}})
    assert [e["code"] for e in denied["errors"]] == ["PERMISSION_DENIED"] and denied["job"] is None
    not_staff = make_staff("notstaff", perms=("jobs.add_job",))
    not_staff.is_staff = False
    assert _execute(not_staff, {"input": {}})["errors"][0]["code"] == "PERMISSION_DENIED"
    assert Job.objects.count() == 1
