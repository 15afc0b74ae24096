"""Nested objects check their own permission (issue 15 item 5): a segment's members are its audience
(segments.export_segment) and a member's customer is a customer record (behavior.view_customer)."""

import itertools

import pytest

from jobs.models import JobStatus
from jobs.services import job_execute, job_submit
from segments.models import SegmentationRun
from tests.conftest import GraphQLClient, make_staff

pytestmark = pytest.mark.django_db

MEMBERS = """query($id: ID!) { segment(id: $id) { label audienceExportUrl
    members(first: 2) { edges { node { rfmScore customer { externalId } } } } } }"""
LABEL = "query($id: ID!) { segment(id: $id) { label } }"
_usernames = itertools.count()


@pytest.fixture
def segment(planted):
    job = job_execute(job_id=job_submit(kind="segments.run", params={"as_of": planted.as_of.isoformat(), "k": 5}).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error_message
    return SegmentationRun.objects.get(pk=job.result_id).segments.get(label="At risk")


def _ask(client, perms, query=MEMBERS, segment=None):
    client.logout()
    return GraphQLClient(client, make_staff(f"user{next(_usernames)}", perms=perms))(
        query, {"id": str(segment.pk)}, expect_errors=True)


def test_view_segment_alone_reads_the_profile_but_not_the_audience(segment, client):
    assert _ask(client, ("segments.view_segment",), LABEL, segment) == {"data": {"segment": {"label": "At risk"}}}
    body = _ask(client, ("segments.view_segment",), segment=segment)
    assert body["data"] == {"segment": None}
    assert {tuple(e["path"]) for e in body["errors"]} == {("segment", "audienceExportUrl"), ("segment", "members")}


def test_the_audience_without_view_customer_has_no_customer_records(segment, client):
    body = _ask(client, ("segments.view_segment", "segments.export_segment"), segment=segment)
    nodes = [e["node"] for e in body["data"]["segment"]["members"]["edges"]]
    assert len(nodes) == 2 and all(n["customer"] is None and n["rfmScore"] for n in nodes)
    assert {e["path"][-1] for e in body["errors"]} == {"customer"}


def test_export_and_view_customer_read_the_whole_audience(segment, client):
    body = _ask(client, ("segments.view_segment", "segments.export_segment", "behavior.view_customer"),
                segment=segment)
    assert "errors" not in body
    nodes = [e["node"] for e in body["data"]["segment"]["members"]["edges"]]
    assert all(n["customer"]["externalId"].startswith("ATR") for n in nodes)
