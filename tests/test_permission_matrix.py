"""The permission matrix (issue 15 item 5): every root field and mutation, asked by every kind of caller.

Callers: anonymous; an API key holding the scope that grants the field (every scope when none does); a key
holding every other scope; a customer token; a user who holds the permission but is not staff; staff
holding every permission but the field's; staff holding only the field's. The expected answer follows
one rule: a public field answers everyone; any other answers staff with its permission and a key whose
scope grants it, and nobody else (`recommendations` names a customer for those and for that customer's
token, and answers everyone else as for an unknown id). docs/security.md shows this matrix; a test
keeps the two the same.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from access.scopes import Scope
from access.services import customer_token_issue
from behavior.models import Customer, Event, EventKind
from catalog.models import Category, Product
from config.schema import schema
from jobs.services import job_submit
from recommender import selectors as recommender_selectors, serving
from tests.conftest import GraphQLClient, make_api_key

ALL_SCOPES = [scope.value for scope in Scope]
CUSTOMER = "C-1"
PERMISSION_MESSAGES = {"User is not a staff member.", "You don't have permission to access this app.",
                       "User does not have permission."}
DATES = 'from: "2024-01-01", to: "2024-01-31"'


@dataclass(frozen=True)
class Case:
    query: str
    perms: tuple[str, ...] = ()  # none: public
    scope: str | None = None  # the scope that grants the permission (None: no scope does)
    token: bool = False  # a customer token for CUSTOMER is allowed too
    withheld: tuple[str, ...] = ()  # also withheld from "staff without" (another permission would also allow it)
    allowed: object = field(default=None, compare=False)  # how to read "allowed" from the data, when not the rule


def _payload_job(name):
    return lambda data: data[name]["job"] is not None and data[name]["errors"] == []


ANALYTICS = ("behavior.view_event",)
CASES: dict[str, Case] = {
    "products": Case("{ products(first: 1) { totalCount } }"),
    "product": Case('{ product(sku: "P1") { sku } }'),
    "categories": Case("{ categories { id } }"),
    "customers": Case("{ customers(first: 1) { totalCount } }", ("behavior.view_customer",)),
    "customer": Case('{ customer(externalId: "C-1") { externalId } }', ("behavior.view_customer",)),
    "importReports": Case("{ importReports { id } }", ("behavior.view_importreport",)),
    "salesSummary": Case(f"{{ salesSummary({DATES}) {{ __typename }} }}", ANALYTICS, "analytics:read"),
    "salesSeries": Case(f"{{ salesSeries({DATES}) {{ __typename }} }}", ANALYTICS, "analytics:read"),
    "funnel": Case(f"{{ funnel({DATES}) {{ __typename }} }}", ANALYTICS, "analytics:read"),
    "topProducts": Case(f"{{ topProducts({DATES}) {{ __typename }} }}", ANALYTICS, "analytics:read"),
    "categoryShare": Case(f"{{ categoryShare({DATES}) {{ __typename }} }}", ANALYTICS, "analytics:read"),
    "newVsReturningCustomers": Case(f"{{ newVsReturningCustomers({DATES}) {{ __typename }} }}", ANALYTICS,
                                    "analytics:read"),
    "cohortRetention": Case(f"{{ cohortRetention({DATES}) {{ __typename }} }}", ANALYTICS, "analytics:read"),
    # Another user's job: staff see their own jobs only, unless they hold jobs.view_job.
    "job": Case("query($job: ID!) { job(id: $job) { id } }", ("jobs.view_job",), "jobs:run",
                allowed=lambda data: data["job"] is not None),
    "jobs": Case("{ jobs(first: 5) { totalCount } }", ("jobs.view_job",), "jobs:run",
                 allowed=lambda data: data["jobs"]["totalCount"] == 1),
    "recommenderModels": Case("{ recommenderModels(first: 1) { totalCount } }", ("recommender.view_modelversion",)),
    # Named customer: allowed means their purchase (P1, the most popular product) was left out for them.
    "recommendations": Case('{ recommendations(customerExternalId: "C-1", first: 2) { items { product { sku } } } }',
                            ("behavior.view_customer",), "recommendations:read", token=True,
                            allowed=lambda data: [i["product"]["sku"] for i in data["recommendations"]["items"]]
                            == ["P2"]),
    "similarProducts": Case('{ similarProducts(sku: "P1") { score } }'),
    "activeRecommenderModel": Case("{ activeRecommenderModel { id } }", ("recommender.view_modelversion",)),
    "segmentations": Case("{ segmentations { id } }", ("segments.view_segment",)),
    "segments": Case("{ segments { id } }", ("segments.view_segment",)),
    "segment": Case('{ segment(id: "1") { id } }', ("segments.view_segment",)),
    "forecast": Case('{ forecast(productSku: "P1") { __typename } }', ("forecasting.view_forecastrun",),
                     "analytics:read"),
    "forecastRuns": Case("{ forecastRuns(first: 1) { totalCount } }", ("forecasting.view_forecastrun",),
                         "analytics:read"),
    "segmentScatter": Case("{ segmentScatter { total } }", ("segments.view_segment",)),
    "campaigns": Case("{ campaigns { __typename } }", ("campaigns.view_campaign",)),
    "campaign": Case('{ campaign(id: "999") { __typename } }', ("campaigns.view_campaign",)),
    "campaignResults": Case('{ campaignResults(id: "999") { __typename } }', ("campaigns.view_campaign",)),
    "campaignTreatment": Case('{ campaignTreatment(id: "999") { __typename } }', ("campaigns.export_campaign",)),
    "exportCustomer": Case('{ exportCustomer(externalId: "C-1") }', ("privacy.export_customer",)),
    "upsertCategories": Case("mutation { upsertCategories(categories: []) { created errors { code } } }",
                             ("catalog.add_category", "catalog.change_category"), "catalog:write"),
    "upsertProducts": Case("mutation { upsertProducts(products: []) { created errors { code } } }",
                           ("catalog.add_product", "catalog.change_product"), "catalog:write"),
    "upsertCustomers": Case("mutation { upsertCustomers(customers: []) { created errors { code } } }",
                            ("behavior.add_customer", "behavior.change_customer"), "events:write"),
    "ingestEvents": Case("mutation { ingestEvents(events: []) { accepted errors { code } } }",
                         ("behavior.add_event",), "events:write"),
    "runSelfCheck": Case("mutation { runSelfCheck { job { id } errors { code } } }", ("jobs.add_job",), "jobs:run",
                         allowed=_payload_job("runSelfCheck")),
    # Another user's queued self-check: jobs.change_job, or the kind's own permission (jobs.add_job).
    "cancelJob": Case("mutation($job: ID!) { cancelJob(id: $job) { job { id } errors { code } } }",
                      ("jobs.change_job",), "jobs:run", withheld=("jobs.add_job",), allowed=_payload_job("cancelJob")),
    "trainRecommender": Case("mutation { trainRecommender { job { id } errors { code } } }",
                             ("recommender.add_modelversion",), "jobs:run", allowed=_payload_job("trainRecommender")),
    "activateRecommenderModel": Case('mutation { activateRecommenderModel(versionId: "999") { errors { code } } }',
                                     ("recommender.change_modelversion",)),
    "rollbackRecommender": Case("mutation { rollbackRecommender { errors { code } } }",
                                ("recommender.change_modelversion",)),
    "runSegmentation": Case("mutation { runSegmentation { job { id } errors { code } } }",
                            ("segments.add_segmentationrun",), "jobs:run", allowed=_payload_job("runSegmentation")),
    "runForecast": Case("mutation { runForecast { job { id } errors { code } } }", ("forecasting.add_forecastrun",),
                        "jobs:run", allowed=_payload_job("runForecast")),
    "createCampaign": Case('mutation { createCampaign(input: {name: "x", segmentIds: [], startsAt: '
                           '"2024-01-01T00:00:00Z", endsAt: "2024-01-02T00:00:00Z"}) { errors { code } } }',
                           ("campaigns.change_campaign",), "jobs:run"),
    "updateCampaign": Case('mutation { updateCampaign(id: "999", input: {name: "y"}) { errors { code } } }',
                           ("campaigns.change_campaign",), "jobs:run"),
    # Launching is a job kind (campaigns.change_campaign), and jobs:run grants every kind's permission.
    "launchCampaign": Case('mutation { launchCampaign(id: "999") { errors { code } } }', ("campaigns.change_campaign",),
                           "jobs:run"),
    "endCampaign": Case('mutation { endCampaign(id: "999") { errors { code } } }', ("campaigns.change_campaign",),
                        "jobs:run"),
    "issueCustomerToken": Case('mutation { issueCustomerToken(customerExternalId: "C-1") { token } }',
                               ("behavior.view_customer",), "recommendations:read"),
    "eraseCustomer": Case('mutation { eraseCustomer(externalId: "nobody") { errors { code } } }',
                          ("privacy.erase_customer",)),
}

CALLERS = ["anonymous", "key with the scope", "key without the scope", "customer token",
           "not staff, with the permission", "staff without the permission", "staff with the permission"]


def expected(case: Case, caller: str) -> bool:
    if not case.perms:
        return True
    return (caller == "staff with the permission" or (caller == "key with the scope" and case.scope is not None)
            or (caller == "customer token" and case.token))


def _has_permission_denied(value) -> bool:
    if isinstance(value, dict):
        return value.get("code") == "PERMISSION_DENIED" or any(_has_permission_denied(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_permission_denied(v) for v in value)
    return False


def answered(case: Case, body: dict) -> bool:
    """Whether the field answered the caller (by the case's own reading, or: no permission refusal)."""
    refused = any(e["message"] in PERMISSION_MESSAGES or e.get("extensions", {}).get("code") == "PERMISSION_DENIED"
                  for e in body.get("errors", []))
    if refused or body.get("data") is None or _has_permission_denied(body["data"]):
        return False
    assert "errors" not in body, body["errors"]  # any other error would hide a verdict
    return case.allowed(body["data"]) if case.allowed else True


_usernames = itertools.count()


def _user(perms, *, staff: bool):
    user = get_user_model().objects.create_user(username=f"u{next(_usernames)}", password="pw", is_staff=staff)
    app_perms = [p.split(".") for p in perms]
    user.user_permissions.set([Permission.objects.get(content_type__app_label=a, codename=c) for a, c in app_perms])
    return get_user_model().objects.get(pk=user.pk)


def _client_for(client, case: Case, caller: str) -> GraphQLClient:
    if caller == "anonymous":
        return GraphQLClient(client)
    if caller == "key with the scope":
        return GraphQLClient(client, bearer=make_api_key(*([case.scope] if case.scope else ALL_SCOPES)))
    if caller == "key without the scope":
        return GraphQLClient(client, bearer=make_api_key(*[s for s in ALL_SCOPES if s != case.scope and case.perms]))
    if caller == "customer token":
        return GraphQLClient(client, bearer=customer_token_issue(customer_external_id=CUSTOMER)[0])
    if caller == "not staff, with the permission":
        return GraphQLClient(client, _user(case.perms, staff=False))
    if caller == "staff with the permission":
        return GraphQLClient(client, _user(case.perms, staff=True))
    withheld = {*case.perms, *case.withheld}
    everything = [f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")]
    return GraphQLClient(client, _user([p for p in everything if p not in withheld], staff=True))


@pytest.fixture
def shop(db, settings):
    """P1 is the most popular product and C-1 bought it; another user's queued job."""
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 0
    serving.forget()
    recommender_selectors._popular_cache.clear()
    category = Category.objects.create(slug="mugs", name="Mugs")
    p1, p2 = (Product.objects.create(sku=sku, name=sku, price=Decimal("3"), category=category) for sku in ("P1", "P2"))
    now = datetime.now(dt_timezone.utc) - timedelta(days=1)
    for n, (who, product) in enumerate([("C-1", p1), ("C-2", p1), ("C-3", p1), ("C-2", p2)]):
        customer, _ = Customer.objects.get_or_create(external_id=who)
        Event.objects.create(event_id=f"e{n}", customer=customer, product=product, kind=EventKind.PURCHASE,
                             occurred_at=now, unit_price=Decimal("3"))
    job = job_submit(kind="jobs.selfcheck", params={}, user=_user((), staff=True))
    yield {"job": str(job.pk)}
    recommender_selectors._popular_cache.clear()


def test_every_root_field_and_mutation_is_in_the_matrix():
    fields = {f"{kind}.{name}" for kind in ("Query", "Mutation")
              for name in schema._schema.type_map[kind].fields}  # type: ignore[union-attr]
    assert {name.split(".")[1] for name in fields} == set(CASES)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", list(CASES))
def test_the_matrix(shop, client, name, caller):
    case = CASES[name]
    body = _client_for(client, case, caller)(case.query, {"job": shop["job"]} if "$job" in case.query else None,
                                             expect_errors=True)
    assert answered(case, body) is expected(case, caller), body


def matrix_markdown() -> str:
    head = "| field | needs | scope | " + " | ".join(CALLERS) + " |"
    lines = [head, "|" + " --- |" * (3 + len(CALLERS))]
    for name, case in CASES.items():
        cells = ["yes" if expected(case, caller) else "—" for caller in CALLERS]
        needs = ", ".join(case.perms) or "public"
        lines.append(f"| `{name}` | {needs} | {case.scope or '—'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_the_docs_show_this_matrix():
    doc = (Path(__file__).resolve().parents[1] / "docs" / "security.md").read_text(encoding="utf-8")
    assert matrix_markdown() in doc, ("regenerate it with: manage.py shell -c 'from tests.test_permission_matrix "
                                      "import matrix_markdown; print(matrix_markdown())'")
