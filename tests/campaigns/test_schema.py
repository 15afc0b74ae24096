"""GraphQL: the contract's names (createCampaign ... campaignResults), typed errors, permissions, delivery."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign, CampaignStatus
from tests.campaigns.conftest import END, START, draft, window_purchases
from tests.conftest import GraphQLClient, make_staff

CREATE = """mutation($input: CreateCampaignInput!) { createCampaign(input: $input) {
    campaign { id status } errors { field code message } } }"""
LAUNCH = "mutation($id: ID!) { launchCampaign(id: $id) { campaign { id status } job { id status } errors { field code message } } }"
CAMPAIGN = """query($id: ID!, $group: CampaignGroup, $first: Int) { campaign(id: $id) {
    id name status holdoutShare startsAt endsAt
    members(group: $group, first: $first) { totalCount edges { node {
        customer { externalId } group picks { product { sku } rank score } } } } } }"""
RESULTS = """query($id: ID!) { campaignResults(id: $id) { updatedAt
    groups { group members converters conversionRate orders revenue revenuePerMember }
    conversionLift { absolute relative low high pValue }
    revenueLift { absolute relative low high pValue }
    cupedRevenueLift { absolute relative low high pValue varianceReduction }
    srmPValue picksHitRate { treatment control } incrementalRevenue
    daily { date treatmentRevenue controlRevenue treatmentConverters controlConverters } } }"""


def _input(shop, **fields):
    values = {"name": "Spring", "segmentIds": [str(i) for i in shop.segment_ids("Champions")],
              "rules": {"rfmScoreMin": 3}, "picks": 3, "picksFrom": "DISCOVERY", "categoryId": None,
              "offer": "Free delivery", "holdoutShare": 0.2, "seed": 7, "startsAt": START.isoformat(),
              "endsAt": END.isoformat(), "goal": "CONVERSION"}
    values.update(fields)
    return values


def test_create_then_launch_through_the_contract(shop, campaign_gql, django_capture_on_commit_callbacks):
    created = campaign_gql(CREATE, {"input": _input(shop)})["data"]["createCampaign"]
    assert created["errors"] == [] and created["campaign"]["status"] == "DRAFT"
    campaign_id = created["campaign"]["id"]
    with django_capture_on_commit_callbacks(execute=True):
        launched = campaign_gql(LAUNCH, {"id": campaign_id})["data"]["launchCampaign"]
    assert launched["errors"] == [] and launched["job"]["id"]
    assert Campaign.objects.get().status == CampaignStatus.LAUNCHED
    # launching again returns the campaign and the same job
    again = campaign_gql(LAUNCH, {"id": campaign_id})["data"]["launchCampaign"]
    assert again["campaign"]["status"] == "LAUNCHED" and again["job"]["id"] == launched["job"]["id"]
    body = campaign_gql(CAMPAIGN, {"id": campaign_id, "group": "TREATMENT", "first": 5})["data"]["campaign"]
    assert (body["name"], body["status"], body["holdoutShare"]) == ("Spring", "LAUNCHED", 0.2)
    members = body["members"]
    assert 0 < members["totalCount"] < 40
    node = members["edges"][0]["node"]
    assert node["group"] == "TREATMENT" and [p["rank"] for p in node["picks"]] == [1, 2, 3]


@pytest.mark.parametrize(("fields", "code", "field"), [
    ({"holdoutShare": 0.7}, "HOLDOUT_OUT_OF_RANGE", "holdoutShare"),
    ({"endsAt": "2024-12-01T00:00:00+00:00"}, "ENDS_BEFORE_START", "endsAt"),
    ({"categoryId": "999999"}, "UNKNOWN_CATEGORY", "categoryId"),
    ({"rules": {"countries": ["Nowhere"]}}, "EMPTY_AUDIENCE", "segmentIds"),
])
def test_bad_input_is_a_typed_payload_error(shop, campaign_gql, fields, code, field):
    payload = campaign_gql(CREATE, {"input": _input(shop, **fields)})["data"]["createCampaign"]
    assert payload["campaign"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert Campaign.objects.count() == 0


def test_a_segment_from_another_run_is_a_typed_error(shop, campaign_gql):
    from segments.params import SegmentationParams
    from segments.services import segmentation_run

    other = segmentation_run(params=SegmentationParams(k=5, features=["recency", "frequency", "monetary"], seed=2))
    ids = [str(shop.segments["Champions"].pk), str(other.segments.first().pk)]
    payload = campaign_gql(CREATE, {"input": _input(shop, segmentIds=ids)})["data"]["createCampaign"]
    assert [e["code"] for e in payload["errors"]] == ["SEGMENT_FROM_OTHER_RUN"]


def test_update_works_on_a_draft_only(shop, campaign_gql):
    from campaigns.launching import campaign_launch

    campaign = draft(shop)
    update = """mutation($id: ID!, $input: UpdateCampaignInput!) { updateCampaign(id: $id, input: $input) {
        campaign { id status } errors { field code } } }"""
    ok = campaign_gql(update, {"id": str(campaign.pk), "input": {"holdoutShare": 0.25, "name": "Renamed"}})
    assert ok["data"]["updateCampaign"]["errors"] == []
    assert Campaign.objects.get().name == "Renamed"
    campaign_launch(campaign_id=campaign.pk)
    refused = campaign_gql(update, {"id": str(campaign.pk), "input": {"holdoutShare": 0.1}})
    assert refused["data"]["updateCampaign"]["errors"] == [{"field": "id", "code": "NOT_DRAFT"}]
    assert Campaign.objects.get().holdout_share == 0.25


def test_results_through_the_contract(shop, campaign_gql):
    from campaigns.launching import campaign_launch
    from campaigns.measuring import results_compute

    campaign = draft(shop, holdout_share=0.5)
    campaign_launch(campaign_id=campaign.pk)
    totals = window_purchases(campaign, treatment_rate=0.7, control_rate=0.1)
    results_compute(campaign_id=campaign.pk)
    body = campaign_gql(RESULTS, {"id": str(campaign.pk)})["data"]["campaignResults"]
    treatment, control = body["groups"]
    assert (treatment["group"], treatment["converters"]) == ("TREATMENT", totals["TREATMENT"][0])
    assert (control["group"], control["revenue"]) == ("CONTROL", totals["CONTROL"][1])
    assert body["conversionLift"]["low"] < body["conversionLift"]["absolute"] < body["conversionLift"]["high"]
    assert body["conversionLift"]["pValue"] < 0.05
    assert body["daily"][0]["treatmentConverters"] == totals["TREATMENT"][0]
    assert body["updatedAt"] is not None and 0 <= body["cupedRevenueLift"]["varianceReduction"] <= 1


def test_end_submits_the_uplift_job(shop, campaign_gql, django_capture_on_commit_callbacks):
    from campaigns.launching import campaign_launch

    campaign = draft(shop)
    campaign_launch(campaign_id=campaign.pk)
    end = "mutation($id: ID!) { endCampaign(id: $id) { campaign { status } job { id } errors { code } } }"
    with django_capture_on_commit_callbacks(execute=True):
        payload = campaign_gql(end, {"id": str(campaign.pk)})["data"]["endCampaign"]
    assert payload["campaign"]["status"] == "ENDED" and payload["job"]["id"]


def test_campaigns_need_their_permissions(shop, client):
    campaign = draft(shop)
    viewer = GraphQLClient(client, make_staff("viewer", perms=("campaigns.view_campaign",)))
    listed = viewer("{ campaigns(first: 10) { totalCount edges { node { name status } } } }")
    assert listed["data"]["campaigns"]["totalCount"] == 1
    denied = viewer(CREATE, {"input": _input(shop)}, expect_errors=True)
    assert denied["data"] is None and Campaign.objects.count() == 1
    treatment = viewer('query($id: ID!) { campaignTreatment(id: $id, first: 5) { totalCount } }',
                       {"id": str(campaign.pk)}, expect_errors=True)
    assert treatment["data"] is None


def test_the_treatment_csv_needs_the_export_permission(shop, client):
    from campaigns.launching import campaign_launch

    campaign = draft(shop, offer="2 for 1")
    campaign_launch(campaign_id=campaign.pk)
    url = f"/campaigns/{campaign.pk}/treatment.csv"
    client.force_login(make_staff("viewer", perms=("campaigns.view_campaign",)))
    assert client.get(url).status_code == 403
    client.force_login(make_staff("exporter", perms=("campaigns.export_campaign",)))
    response = client.get(url)
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["customer_external_id", "pick_1_sku", "pick_2_sku", "offer"]
    treatment = campaign.members.filter(group="TREATMENT").count()
    assert len(rows) - 1 == treatment and all(row[-1] == "2 for 1" for row in rows[1:])
    assert all(row[1] for row in rows[1:])


@pytest.mark.parametrize("query", [CAMPAIGN])
def test_query_count_does_not_grow_with_the_page(shop, campaign_gql, query):
    from campaigns.launching import campaign_launch

    campaign = draft(shop)
    campaign_launch(campaign_id=campaign.pk)
    counts = []
    for first in (2, 20):
        with CaptureQueriesContext(connection) as ctx:
            campaign_gql(query, {"id": str(campaign.pk), "first": first})
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


def test_the_treatment_connection_lists_members_with_picks(shop, client):
    from campaigns.launching import campaign_launch

    campaign = draft(shop)
    campaign_launch(campaign_id=campaign.pk)
    exporter = GraphQLClient(client, make_staff("exporter", perms=("campaigns.export_campaign",)))
    body = exporter("""query($id: ID!) { campaignTreatment(id: $id, first: 3) { totalCount edges { node {
        group customer { externalId } picks { product { sku } rank } } } } }""", {"id": str(campaign.pk)})
    page = body["data"]["campaignTreatment"]
    assert page["totalCount"] == campaign.members.filter(group="TREATMENT").count()
    assert {edge["node"]["group"] for edge in page["edges"]} == {"TREATMENT"}

