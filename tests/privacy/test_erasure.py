"""A customer's export and erasure (issue 15 item 6): everything held is exported; erasing removes the
customer's rows, corrects the rollups, removes them from every model file and the admin log, and is
recorded without personal data, idempotently."""

from __future__ import annotations

import io

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.services import rollups_rebuild
from behavior.models import Customer, Event
from jobs.models import JobStatus
from jobs.services import job_execute, job_submit
from privacy.models import Erasure
from privacy.selectors import customer_export
from privacy.services import customer_erase, subject_hash
from recommender import serving
from recommender.models import ModelVersion
from segments.models import SegmentMembership
from tests.analytics.test_refresh import snapshot
from tests.conftest import GraphQLClient, make_api_key, make_staff
from tests.recommender.conftest import build_shop, train

pytestmark = pytest.mark.django_db

EXPORT = "query($id: String!) { exportCustomer(externalId: $id) }"
ERASE = """mutation($id: String!) { eraseCustomer(externalId: $id) {
    erasure { subject times events memberships artifacts adminLogEntries } errors { code field } } }"""


@pytest.fixture
def held(settings):
    """A shop with rollups, two trained model versions and a segmentation; one customer with an admin log entry."""
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 0
    serving.forget()
    shop = build_shop()
    rollups_rebuild()
    assert train().status == JobStatus.SUCCEEDED and train({"epochs": 3}).status == JobStatus.SUCCEEDED
    segmented = job_execute(job_id=job_submit(kind="segments.run", params={"k": 3}).pk)
    assert segmented.status == JobStatus.SUCCEEDED, segmented.error_message
    customer = shop.customers[3]
    LogEntry.objects.create(user=make_staff("editor"), content_type=ContentType.objects.get_for_model(Customer),
                            object_id=str(customer.pk), object_repr=customer.external_id, action_flag=ADDITION)
    yield customer
    serving.forget()


def _versions_holding(customer_pk: int) -> list[int]:
    return [v.pk for v in ModelVersion.objects.order_by("pk") if customer_pk in serving.artifact_load(v.artifact)["user_ids"]]


def test_the_export_holds_profile_events_segments_and_models(held):
    export = customer_export(external_id=held.external_id)
    assert export["customer"]["external_id"] == held.external_id
    assert len(export["events"]) == Event.objects.filter(customer=held).count() > 0
    assert {e["product_sku"] for e in export["events"]} == set(
        Event.objects.filter(customer=held).values_list("product__sku", flat=True))
    assert [s["segment"] for s in export["segments"]] == [
        SegmentMembership.objects.get(customer=held).segment.label]
    assert export["recommender"]["model_versions_with_embedding"] == _versions_holding(held.pk) != []
    assert customer_export(external_id="nobody") is None


def test_erasure_removes_the_customer_everywhere(held):
    pk, external_id = held.pk, held.external_id
    events = Event.objects.filter(customer_id=pk).count()
    old_files = list(ModelVersion.objects.values_list("artifact", flat=True))
    assert len(_versions_holding(pk)) == 2

    erasure = customer_erase(external_id=external_id)

    # rows: the customer, their events and memberships, the admin log entry about them
    assert not Customer.objects.filter(pk=pk).exists() and not Event.objects.filter(customer_id=pk).exists()
    assert not SegmentMembership.objects.filter(customer_id=pk).exists()
    assert not LogEntry.objects.filter(object_repr=external_id).exists()
    # rollups: as if rebuilt from the remaining events
    after = snapshot()
    rollups_rebuild()
    assert snapshot() == after
    # model files: the active one and the older one, rewritten under new names; the old files are gone
    assert _versions_holding(pk) == []
    assert not any(default_storage.exists(path) for path in old_files)
    assert serving.loaded_model() is not None and pk not in serving.loaded_model().user_ids
    # the record: counts and a keyed hash, never the id
    assert (erasure.events, erasure.memberships, erasure.artifacts, erasure.admin_log_entries, erasure.times) == (
        events, 1, 2, 1, 1)
    assert erasure.subject == subject_hash(external_id) and external_id not in erasure.subject
    assert customer_export(external_id=external_id) is None


def test_erasing_again_changes_nothing_and_returns_the_record(held):
    first = customer_erase(external_id=held.external_id)
    again = customer_erase(external_id=held.external_id)
    assert again.pk == first.pk and again.times == 1 and Erasure.objects.count() == 1


def test_recommendations_for_an_erased_customer_are_the_unknown_customers(held, client):
    backend = GraphQLClient(client, bearer=make_api_key("recommendations:read"))
    query = 'query($id: String) { recommendations(customerExternalId: $id, first: 5) { strategy items { score } } }'
    assert backend(query, {"id": held.external_id})["data"]["recommendations"]["strategy"] == "PERSONALIZED"
    customer_erase(external_id=held.external_id)
    assert backend(query, {"id": held.external_id}) == backend(query, {"id": "never-existed"})


def test_graphql_erase_needs_its_permission_and_reports_unknown_ids(held, client):
    plain = GraphQLClient(client, make_staff("plain", perms=("behavior.view_customer", "behavior.delete_customer")))
    assert plain(ERASE, {"id": held.external_id}, expect_errors=True)["data"] is None
    assert Customer.objects.filter(pk=held.pk).exists()
    client.logout()
    officer = GraphQLClient(client, make_staff("dpo", perms=("privacy.erase_customer", "privacy.export_customer")))
    assert officer(EXPORT, {"id": held.external_id})["data"]["exportCustomer"]["customer"]["external_id"] \
        == held.external_id
    body = officer(ERASE, {"id": held.external_id})["data"]["eraseCustomer"]
    assert body["errors"] == [] and body["erasure"]["events"] > 0 and body["erasure"]["artifacts"] == 2
    assert officer(ERASE, {"id": "nobody"})["data"]["eraseCustomer"] == {
        "erasure": None, "errors": [{"code": "NOT_FOUND", "field": "externalId"}]}
    assert officer(EXPORT, {"id": held.external_id})["data"]["exportCustomer"] is None


def test_the_commands_export_and_erase(held):
    out = io.StringIO()
    call_command("export_customer", held.external_id, stdout=out)
    assert f'"external_id": "{held.external_id}"' in out.getvalue()
    out = io.StringIO()
    call_command("erase_customer", held.external_id, stdout=out)
    assert out.getvalue().startswith(f"Erased subject {subject_hash(held.external_id)} (1 time(s)): ")
    assert held.external_id not in out.getvalue()
    with pytest.raises(CommandError, match="NOT_FOUND"):
        call_command("export_customer", held.external_id, stdout=io.StringIO())
