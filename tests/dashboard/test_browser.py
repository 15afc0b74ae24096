"""The dashboard and GraphiQL in headless Chromium, against a live server over a demo-like shop.

Each page is opened after logging in through the admin's form; a test waits until every panel has
settled and every chart has drawn (<body data-ready>), then reads what the page shows and compares it
with the GraphQL answer for the same filters, asked through the same logged-in browser session.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.dashboard.browser import PAGES, READY, foreign_requests, log_in, open_and_wait
from tests.dashboard.conftest import ANALYST_PASSWORD

# django_db: the test database is created for these tests (each runs in a transaction it rolls back; the
# shop itself is committed once per module by shop_server, which also empties the tables at the end).
pytestmark = [pytest.mark.requires_browser, pytest.mark.django_db]

PERIOD = {"from": "2024-10-01", "to": "2024-12-31"}


def money(value) -> str:  # the shop's currency is GBP in the tests (settings.SHOP_CURRENCY's default)
    amount = Decimal(str(value))
    return f"{'-' if amount < 0 else ''}£{abs(amount):,.2f}"


def count(value) -> str:
    return f"{int(value):,}"


def percent(value) -> str:
    return f"{Decimal(str(value)) * 100:.1f}%"


def graphql(page, query: str, variables: dict | None = None) -> dict:
    """The API's answer through the page's own session (cookie and CSRF token), as its scripts ask it."""
    return page.evaluate("""async ([query, variables]) => {
        const token = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "";
        const response = await fetch("/graphql/", { method: "POST", credentials: "same-origin",
            headers: { "Content-Type": "application/json", "X-CSRFToken": token },
            body: JSON.stringify({ query, variables }) });
        return response.json(); }""", [query, variables or {}])


@pytest.fixture
def analyst_page(page, shop_server):
    log_in(page, shop_server, "analyst", ANALYST_PASSWORD)
    return page


def test_graphiql_renders_from_local_files_only(page, shop_server, settings):
    settings.GRAPHQL_IDE = settings.GRAPHQL_INTROSPECTION = True  # as in development (docs/hardening.md)
    page.goto(shop_server + "/graphql/")
    page.wait_for_selector(".graphiql-editor", timeout=30_000)
    assert page.locator("text=Loading...").count() == 0
    assert foreign_requests(page.requested, shop_server) == []
    assert any("/static/vendor/graphiql/graphiql.min.js" in url for url in page.requested)


def test_anonymous_users_are_sent_to_the_login_page(page, shop_server):
    page.goto(shop_server + "/dashboard/models/")
    assert "/admin/login/" in page.url
    assert "next=/dashboard/models/" in page.url


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_draws_every_chart_from_local_files(analyst_page, shop_server, screenshots, name):
    open_and_wait(analyst_page, shop_server + PAGES[name])
    states = analyst_page.eval_on_selector_all("[data-panel]", "nodes => nodes.map(n => n.dataset.state)")
    assert states and set(states) == {"ready"}
    charts = analyst_page.locator(".chart")
    assert charts.count() >= 2
    assert analyst_page.locator(".chart[data-drawn=true]").count() == charts.count()
    assert analyst_page.errors == []
    assert foreign_requests(analyst_page.requested, shop_server) == []
    analyst_page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def test_kpi_cards_equal_the_sales_summary(analyst_page, shop_server):
    open_and_wait(analyst_page, f"{shop_server}/dashboard/?from={PERIOD['from']}&to={PERIOD['to']}")
    answer = graphql(analyst_page, """query ($from: Date!, $to: Date!) { salesSummary(from: $from, to: $to) {
        revenue orders units customers averageOrderValue conversionRate } }""", PERIOD)["data"]["salesSummary"]
    shown = {kpi: analyst_page.text_content(f"[data-kpi={kpi}] .kpi-value")
             for kpi in ("revenue", "orders", "units", "customers", "averageOrderValue", "conversionRate")}
    assert answer["orders"] > 0
    assert shown == {
        "revenue": money(answer["revenue"]), "orders": count(answer["orders"]), "units": count(answer["units"]),
        "customers": count(answer["customers"]), "averageOrderValue": money(answer["averageOrderValue"]),
        "conversionRate": percent(answer["conversionRate"]),
    }


def test_funnel_equals_the_api_for_the_chosen_category(analyst_page, shop_server):
    category = graphql(analyst_page, "{ categories(rootsOnly: true) { id name } }")["data"]["categories"][0]
    open_and_wait(analyst_page, f"{shop_server}/dashboard/?from={PERIOD['from']}&to={PERIOD['to']}"
                                f"&category={category['id']}")
    answer = graphql(analyst_page, """query ($from: Date!, $to: Date!, $c: ID) { funnel(from: $from, to: $to, categoryId: $c) {
        views addToCarts purchases viewToCartRate cartToPurchaseRate viewToPurchaseRate } }""",
                     {**PERIOD, "c": category["id"]})["data"]["funnel"]
    shown = {step: analyst_page.text_content(f"[data-funnel={step}]") for step in answer}
    assert answer["views"] > 0
    assert shown == {step: percent(value) if step.endswith("Rate") else count(value) for step, value in answer.items()}
    assert analyst_page.input_value("#f-category") == category["id"]


def test_segment_sizes_equal_the_served_segments(analyst_page, shop_server):
    open_and_wait(analyst_page, shop_server + "/dashboard/segments/")
    segments = graphql(analyst_page, "{ segments { id label size revenueShare } }")["data"]["segments"]
    shown = analyst_page.eval_on_selector_all("[data-segment]", "nodes => nodes.map(n => [n.dataset.segment, n.textContent])")
    assert len(segments) >= 2
    assert shown == [[s["id"], f"{count(s['size'])} · {percent(s['revenueShare'])}"] for s in segments]
    assert analyst_page.locator("#export a[download]").count() == len(segments)


def test_filters_live_in_the_url(analyst_page, shop_server):
    open_and_wait(analyst_page, f"{shop_server}/dashboard/?from={PERIOD['from']}&to={PERIOD['to']}")
    analyst_page.select_option("#f-interval", "WEEK")
    analyst_page.click(".filters button[type=submit]")
    analyst_page.wait_for_selector(READY)
    assert "interval=WEEK" in analyst_page.url and f"from={PERIOD['from']}" in analyst_page.url
    analyst_page.reload()
    analyst_page.wait_for_selector(READY)
    assert analyst_page.input_value("#f-interval") == "WEEK"
    assert analyst_page.input_value("#f-from") == PERIOD["from"]


def test_a_chart_table_opens_from_the_keyboard(analyst_page, shop_server):
    open_and_wait(analyst_page, shop_server + "/dashboard/segments/")
    toggle = analyst_page.locator("[data-panel=sizes] details.chart-table summary")
    toggle.focus()
    analyst_page.keyboard.press("Enter")
    table = analyst_page.locator("[data-panel=sizes] details.chart-table table")
    assert table.is_visible()
    assert table.locator("tbody tr").count() == analyst_page.locator("[data-segment]").count()


def test_staff_without_a_permission_see_the_panel_marked_not_permitted(page, shop_server):
    log_in(page, shop_server, "viewer", ANALYST_PASSWORD)
    open_and_wait(page, shop_server + "/dashboard/models/")
    assert page.eval_on_selector_all("[data-panel]", "nodes => nodes.map(n => n.dataset.state)") == ["denied", "denied"]
    assert "Not permitted" in page.text_content("[data-panel=recommender]")
    assert "recommender.view_modelversion" in page.text_content("[data-panel=recommender]")
    assert page.errors == []
    open_and_wait(page, shop_server + "/dashboard/")
    assert set(page.eval_on_selector_all("[data-panel]", "nodes => nodes.map(n => n.dataset.state)")) == {"ready"}


def test_retraining_from_the_models_page_shows_the_job_until_it_ends(analyst_page, shop_server):
    open_and_wait(analyst_page, shop_server + "/dashboard/models/")
    analyst_page.click("#train-recommender")
    # Tasks run in-process in the tests: the job has ended when the mutation answers.
    status = analyst_page.wait_for_selector("#job-recommender [data-job-status]", timeout=60_000)
    assert status.get_attribute("data-job-status") == "SUCCEEDED"
    assert analyst_page.locator("#job-recommender progress").get_attribute("value") == "1"


def test_a_queued_job_shows_its_progress_and_can_be_cancelled_from_the_page(analyst_page, shop_server, broker_mode):
    # Jobs are published to the broker here (no worker takes them): the page follows a job that waits.
    open_and_wait(analyst_page, shop_server + "/dashboard/models/")
    analyst_page.click("#run-forecast")
    analyst_page.wait_for_selector("#job-forecast [data-job-status=QUEUED]", timeout=30_000)
    assert analyst_page.locator("#job-forecast progress").get_attribute("value") == "0"
    analyst_page.click("#job-forecast button:has-text('Cancel')")
    analyst_page.wait_for_selector("#job-forecast [data-job-status=CANCELLED]", timeout=30_000)
    assert analyst_page.locator("#job-forecast button").count() == 0
    analyst_page.wait_for_selector("#run-forecast:enabled", timeout=5_000)  # the polling ended with the job
    forget_published_jobs()


def forget_published_jobs() -> None:
    """Drop the message the test published, so that no later worker test runs a job of this database."""
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).delete("ml")
