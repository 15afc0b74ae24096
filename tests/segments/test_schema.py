"""GraphQL: runSegmentation, served segments and profiles, members, customer fields, the audience CSV."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import Job, JobStatus
from jobs.services import job_execute, job_submit
from segments.models import SegmentationRun, SegmentMembership
from tests.conftest import GraphQLClient, make_staff

pytestmark = pytest.mark.django_db

VIEW = ("segments.view_segment", "behavior.view_customer", "segments.export_segment")


@pytest.fixture
def served(planted):
    job = job_submit(kind="segments.run", params={"as_of": planted.as_of.isoformat(), "k": 5})
    job = job_execute(job_id=job.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    return SegmentationRun.objects.get(pk=job.result_id)


@pytest.fixture
def analyst(client):
    return GraphQLClient(client, make_staff("seg-analyst", perms=VIEW))


SEGMENTS = """query($runId: ID) { segments(runId: $runId) {
    id label size recency frequency monetary revenueShare rScore fScore mScore isNoise run { id k status } } }"""


def test_run_segmentation_with_no_input_submits_a_job_that_serves_a_new_run(planted, client,
                                                                             django_capture_on_commit_callbacks):
    # Given a staff user allowed to run segmentations
    gql = GraphQLClient(client, make_staff("runner", perms=("segments.add_segmentationrun", "segments.view_segment")))

    # When they submit runSegmentation with every input defaulted (the job runs in-process on commit)
    with django_capture_on_commit_callbacks(execute=True):
        body = gql("mutation { runSegmentation(input: {kMax: 6}) { job { pk kind status } errors { code field } } }")

    # Then a segments.run job is recorded and, run in-process, serves a run
    payload = body["data"]["runSegmentation"]
    assert payload["errors"] == [] and payload["job"]["kind"] == "segments.run"
    job = Job.objects.get(pk=payload["job"]["pk"])
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    assert job.params["k_max"] == 6 and job.params["k"] is None
    labels = {s["label"] for s in gql(SEGMENTS)["data"]["segments"]}
    assert labels == {"Champions", "Loyal", "At risk", "Hibernating", "New"}


def test_run_segmentation_reports_typed_errors(client):
    no_perm = GraphQLClient(client, make_staff("viewer", perms=("segments.view_segment",)))
    body = no_perm("mutation { runSegmentation { job { pk } errors { code } } }")
    assert body["data"]["runSegmentation"]["errors"] == [{"code": "PERMISSION_DENIED"}]
    client.logout()
    runner = GraphQLClient(client, make_staff("runner", perms=("segments.add_segmentationrun",)))
    body = runner("mutation { runSegmentation(input: {kMin: 7, kMax: 4}) { job { pk } errors { code field } } }")
    assert body["data"]["runSegmentation"] == {"job": None, "errors": [{"code": "INVALID", "field": "kMin"}]}


def test_segments_serves_the_latest_successful_run_with_profiles(served, analyst):
    segments = analyst(SEGMENTS)["data"]["segments"]
    assert [s["label"] for s in segments][0] == "Champions"
    assert sorted(s["size"] for s in segments) == [120] * 5
    champions = segments[0]
    assert champions["run"] == {"id": str(served.pk), "k": 5, "status": "SUCCEEDED"}
    assert champions["rScore"] > 4 and champions["fScore"] == 5.0
    assert sum(s["revenueShare"] for s in segments) == pytest.approx(1.0)
    by_id = analyst(SEGMENTS, {"runId": str(served.pk)})["data"]["segments"]
    assert by_id == segments
    assert analyst(SEGMENTS, {"runId": "999999"})["data"]["segments"] == []
    runs = analyst("{ segmentations { id status algorithm customers k asOf silhouetteByK } }")["data"]
    assert runs["segmentations"][0]["id"] == str(served.pk)
    assert runs["segmentations"][0]["customers"] == 600


def test_segments_need_staff_with_view_segment(served, client):
    gql = GraphQLClient(client, make_staff("nobody", perms=("behavior.view_customer",)))
    body = gql("{ segments { label } }", expect_errors=True)
    assert body["data"] is None and "permission" in body["errors"][0]["message"].lower()


MEMBERS = """query($id: ID!, $first: Int, $after: String) { segment(id: $id) { label
    members(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { rfmScore rScore recency frequency monetary customer { externalId } } } } } }"""


def test_members_are_paginated_and_match_the_segment(served, analyst):
    new = served.segments.get(label="New")
    first = analyst(MEMBERS, {"id": str(new.pk), "first": 100})["data"]["segment"]["members"]
    assert first["totalCount"] == 120 and first["pageInfo"]["hasNextPage"]
    rest = analyst(MEMBERS, {"id": str(new.pk), "first": 100, "after": first["pageInfo"]["endCursor"]})
    nodes = first["edges"] + rest["data"]["segment"]["members"]["edges"]
    ids = [e["node"]["customer"]["externalId"] for e in nodes]
    assert len(set(ids)) == 120 and all(i.startswith("NEW") for i in ids)
    assert all(e["node"]["frequency"] <= 2 and e["node"]["rfmScore"][0] in "345" for e in nodes)


@pytest.mark.parametrize("query", [
    "query($first: Int) { customers(first: $first) { edges { node { externalId segment rfmScore } } } }",
    "query($id: ID!, $first: Int) { segment(id: $id) { members(first: $first) { edges { node { rfmScore "
    "customer { externalId segment } } } } } }",
])
def test_query_count_does_not_grow_with_the_page(served, analyst, query):
    champions = served.segments.get(label="Champions")
    counts = []
    for first in (10, 100):
        with CaptureQueriesContext(connection) as ctx:
            body = analyst(query, {"first": first, "id": str(champions.pk)})
        data = body["data"]
        edges = data["customers"]["edges"] if "customers" in data else data["segment"]["members"]["edges"]
        assert len(edges) == first
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_customer_segment_and_rfm_score(served, analyst):
    customer = analyst('{ customer(externalId: "CHA0001") { segment rfmScore } }')["data"]["customer"]
    assert customer["segment"] == "Champions"
    assert customer["rfmScore"][1] == "5"  # 15+ orders: top frequency fifth
    page = analyst('{ customers(first: 3, filters: {externalId: {startsWith: "HIB"}}) '
                   '{ edges { node { externalId segment rfmScore } } } }')["data"]["customers"]["edges"]
    assert [e["node"]["segment"] for e in page] == ["Hibernating"] * 3


def test_customer_without_a_served_run_has_no_segment(planted, analyst):
    assert analyst('{ customer(externalId: "CHA0001") { segment rfmScore } }')["data"]["customer"] == {
        "segment": None, "rfmScore": None}


def test_audience_export_streams_the_members_as_csv(served, client):
    at_risk = served.segments.get(label="At risk")
    gql = GraphQLClient(client, make_staff("marketer", perms=("segments.view_segment", "segments.export_segment")))
    url = gql("query($id: ID!) { segment(id: $id) { audienceExportUrl } }",
              {"id": str(at_risk.pk)})["data"]["segment"]["audienceExportUrl"]
    assert url == f"http://testserver/segments/{at_risk.pk}/audience.csv"

    response = client.get(url)

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["customer_external_id", "country", "recency_days", "frequency", "monetary", "rfm_score",
                       "segment"]
    assert len(rows) == 121
    assert all(r[0].startswith("ATR") and r[-1] == "At risk" for r in rows[1:])


def test_audience_export_needs_the_export_permission(served, client):
    client.force_login(make_staff("viewer", perms=("segments.view_segment",)))
    at_risk = served.segments.get(label="At risk")
    assert client.get(f"/segments/{at_risk.pk}/audience.csv").status_code == 403
    client.force_login(make_staff("exporter", perms=("segments.export_segment",)))
    assert client.get("/segments/999999/audience.csv").status_code == 404


SCATTER = "query($limit: Int!) { segmentScatter(limit: $limit) { total sampled points { segmentId recency frequency monetary } } }"


def test_segment_scatter_sends_every_member_of_a_small_run(served, analyst):
    scatter = analyst(SCATTER, {"limit": 5000})["data"]["segmentScatter"]
    members = SegmentMembership.objects.filter(run=served).order_by("id")
    assert scatter["total"] == members.count() == 600
    assert scatter["sampled"] is False
    assert scatter["points"] == [{"segmentId": str(m.segment_id), "recency": m.recency, "frequency": m.frequency,
                                  "monetary": m.monetary} for m in members]


def test_segment_scatter_samples_every_nth_member_of_a_large_run(served, analyst):
    scatter = analyst(SCATTER, {"limit": 100})["data"]["segmentScatter"]
    ids = list(SegmentMembership.objects.filter(run=served).order_by("id").values_list("id", flat=True))
    expected = [pk for pk in ids if pk % 6 == 0][:100]  # 600 members, at most 100 points: every 6th row
    assert scatter["total"] == 600 and scatter["sampled"] is True
    assert len(scatter["points"]) == len(expected) >= 95
    assert {p["segmentId"] for p in scatter["points"]} == {str(s.pk) for s in served.segments.all()}


def test_segment_scatter_needs_the_view_permission(served, client):
    body = GraphQLClient(client, make_staff("no-segments"))(SCATTER, {"limit": 10}, expect_errors=True)
    assert body["data"] is None
    assert "permission" in body["errors"][0]["message"].lower()
