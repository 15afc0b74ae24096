"""The GraphQL contract: public serving queries, staff-only training and activation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import JobStatus
from recommender.models import ModelActivation, ModelVersion
from tests.conftest import GraphQLClient, make_api_key, make_staff

from .conftest import FAST, train

RECOMMEND = """
query($who: String, $first: Int!, $exclude: Boolean!, $cat: ID) {
  recommendations(customerExternalId: $who, first: $first, excludePurchased: $exclude, categoryId: $cat) {
    strategy modelVersionId items { score product { sku name category { name } } }
  }
}"""


@pytest.fixture
def trained(shop):
    assert train().status == JobStatus.SUCCEEDED
    return shop


@pytest.fixture
def backend_gql(client, db):
    """The shop's backend: an API key with recommendations:read may name a customer."""
    return GraphQLClient(client, bearer=make_api_key("recommendations:read"))


def test_a_backend_gets_recommendations_with_the_strategy(trained, backend_gql, gql):
    who = trained.customers[3].external_id
    body = backend_gql(RECOMMEND, {"who": who, "first": 4, "exclude": True})
    result = body["data"]["recommendations"]
    assert result["strategy"] == "PERSONALIZED"
    assert result["modelVersionId"] == ModelVersion.objects.get(is_active=True).pk
    assert len(result["items"]) == 4 and all(i["product"]["sku"] for i in result["items"])
    anonymous = gql(RECOMMEND, {"who": None, "first": 3, "exclude": True})["data"]["recommendations"]
    assert anonymous["strategy"] == "POPULAR" and len(anonymous["items"]) == 3


def test_recommendations_cost_the_same_queries_at_two_page_sizes(trained, backend_gql):
    gql = backend_gql
    who = trained.customers[5].external_id
    gql(RECOMMEND, {"who": who, "first": 2, "exclude": True})  # warm the model cache
    counts = []
    for first in (5, 20):
        with CaptureQueriesContext(connection) as ctx:
            assert len(gql(RECOMMEND, {"who": who, "first": first, "exclude": False})
                       ["data"]["recommendations"]["items"]) == first
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_bad_arguments_are_explained(trained, gql):
    body = gql(RECOMMEND, {"who": None, "first": 0, "exclude": True}, expect_errors=True)
    assert body["errors"][0]["message"] == "first must be from 1 to 100"
    body = gql(RECOMMEND, {"who": None, "first": 3, "exclude": True, "cat": "abc"}, expect_errors=True)
    assert body["errors"][0]["message"] == "categoryId must be a category's database id"


def test_similar_products_query(trained, gql):
    sku = trained.products[0].sku
    items = gql('query($sku: String!) { similarProducts(sku: $sku, first: 3) { score product { sku } } }',
                {"sku": sku})["data"]["similarProducts"]
    assert len(items) == 3 and sku not in {i["product"]["sku"] for i in items}


TRAIN = """
mutation($input: TrainRecommenderInput) {
  trainRecommender(input: $input) { job { pk status kind result { type id } } errors { field code message } }
}"""


def test_training_needs_the_permission(shop, gql, client):
    body = gql(TRAIN, {"input": {"epochs": 2}})
    assert body["data"]["trainRecommender"]["errors"][0]["code"] == "PERMISSION_DENIED"
    staff = GraphQLClient(client, make_staff("nope"))
    assert staff(TRAIN, {})["data"]["trainRecommender"]["errors"][0]["code"] == "PERMISSION_DENIED"


def test_staff_train_through_the_mutation(shop, client, django_capture_on_commit_callbacks):
    staff = GraphQLClient(client, make_staff("trainer", perms=("recommender.add_modelversion",)))
    fast = {"components": FAST["components"], "epochs": FAST["epochs"], "maxSampled": FAST["max_sampled"],
            "loss": "WARP"}
    with django_capture_on_commit_callbacks(execute=True):
        payload = staff(TRAIN, {"input": fast})["data"]["trainRecommender"]
    assert payload["errors"] == []
    version = ModelVersion.objects.get()
    assert version.params["components"] == 16 and version.params["epochs"] == 12
    assert version.is_active
    # the job says how the gate came out, as a code and the version's verdict
    job = staff("query($id: ID!) { job(id: $id) { status resultCode } }", {"id": payload["job"]["pk"]})["data"]["job"]
    assert job == {"status": "SUCCEEDED",
                   "resultCode": "ACTIVATED" if version.gate == "PASSED" else "ACTIVATED_NOT_WORSE"}
    invalid = staff(TRAIN, {"input": {"learningRate": 5.0}})["data"]["trainRecommender"]
    assert invalid["errors"][0]["code"] == "INVALID" and invalid["errors"][0]["field"] == "learningRate"


ACTIVATE = """
mutation($id: ID!, $override: Boolean!) {
  activateRecommenderModel(versionId: $id, override: $override, reason: "test") {
    model { pk isActive } errors { field code message }
  }
}"""
ROLLBACK = "mutation { rollbackRecommender { model { pk isActive } errors { code message } } }"


def test_activation_and_rollback_for_staff_with_the_permission(trained, client, gql):
    first = ModelVersion.objects.get(is_active=True)
    second = ModelVersion.objects.get(pk=train({"activate": False, "seed": 2}).result_id)
    denied = gql(ACTIVATE, {"id": str(second.pk), "override": False}, expect_errors=True)
    assert "errors" in denied and ModelVersion.objects.get(is_active=True).pk == first.pk

    staff = GraphQLClient(client, make_staff("ops", perms=("recommender.change_modelversion",
                                                           "recommender.view_modelversion")))
    assert staff(ROLLBACK)["data"]["rollbackRecommender"]["errors"][0]["code"] == "NO_PREVIOUS_VERSION"
    missing = staff(ACTIVATE, {"id": "999999", "override": False})["data"]["activateRecommenderModel"]
    assert missing["errors"][0]["code"] == "NOT_FOUND"
    done = staff(ACTIVATE, {"id": str(second.pk), "override": False})["data"]["activateRecommenderModel"]
    assert done == {"model": {"pk": second.pk, "isActive": True}, "errors": []}
    assert ModelActivation.objects.first().activated_by.username == "ops"
    again = staff(ACTIVATE, {"id": str(second.pk), "override": False})["data"]["activateRecommenderModel"]
    assert again["errors"][0]["code"] == "ALREADY_ACTIVE"
    back = staff(ROLLBACK)["data"]["rollbackRecommender"]
    assert back == {"model": {"pk": first.pk, "isActive": True}, "errors": []}
    listed = staff("{ recommenderModels { edges { node { pk isActive status metrics } } } }")
    nodes = listed["data"]["recommenderModels"]["edges"]
    assert [n["node"]["pk"] for n in nodes] == [second.pk, first.pk]
    assert nodes[1]["node"]["metrics"]["discovery"]["model"]["ndcg@10"] > 0
