"""The admin as the service: branding, derived tables grouped and read-only, plain names, numbers for people."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin

from dashboard import formats
from dashboard.admin_site import DERIVED, DERIVED_HEADING, ShopAdminSite, dashboard_url
from jobs.models import Job
from segments.models import Segment, SegmentationRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def test_the_site_is_the_service(superuser_client):
    page = superuser_client.get("/admin/").content.decode()
    assert isinstance(admin.site, ShopAdminSite)
    assert "Django administration" not in page
    assert "<title>Data, models and jobs | Shop analytics admin</title>" in page
    assert 'href="/dashboard/"' in page  # "View site" is the dashboard


def test_derived_tables_are_grouped_under_one_heading_and_read_only(superuser_client, rf):
    request = rf.get("/admin/")
    request.user = superuser_client.get("/admin/").wsgi_request.user
    app_list = admin.site.get_app_list(request)
    derived = [app for app in app_list if app["name"] == DERIVED_HEADING]
    assert len(derived) == 1
    grouped = {entry["model"]._meta.label_lower for entry in derived[0]["models"]}
    assert grouped == {f"{app}.{model}" for app, models in DERIVED.items() for model in models}
    assert not any(entry["model"]._meta.label_lower in grouped for app in app_list if app is not derived[0]
                   for entry in app["models"])
    for label in grouped:
        model_admin = admin.site._registry[apps.get_model(label)]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)


def test_there_is_no_add_segment_button(superuser_client):
    page = superuser_client.get("/admin/segments/segment/").content.decode()
    assert superuser_client.get("/admin/segments/segment/add/").status_code == 403
    assert "Add segment" not in page


def test_plural_names_read_as_words(superuser_client):
    page = superuser_client.get("/admin/").content.decode()
    assert "dailys" not in page.lower() and "seriess" not in page.lower()
    assert "Product sales by day" in page and "Category sales by day" in page and "Forecast series" in page


def test_segment_means_are_formatted_for_people(superuser_client):
    run = SegmentationRun.objects.create(algorithm="kmeans", as_of="2024-12-31", status="SUCCEEDED", customers=1234)
    Segment.objects.create(run=run, cluster=0, label="Champions", size=1234, recency=13.6721, frequency=4.25,
                           monetary=1234.5, r_score=4.5, f_score=4.1, m_score=4.9, revenue_share=0.72134)
    page = superuser_client.get("/admin/segments/segment/").content.decode()
    assert "13.7 days" in page and "£1,234.50" in page and "72.1%" in page and "1,234" in page
    assert "13.6721" not in page


def test_runs_versions_and_jobs_link_to_their_dashboard_page(superuser_client):
    run = SegmentationRun.objects.create(algorithm="kmeans", as_of="2024-12-31", status="SUCCEEDED")
    assert dashboard_url(run) == f"/dashboard/segments/?run={run.pk}"
    assert dashboard_url(Job(kind="recommender.train")) == "/dashboard/models/"
    assert dashboard_url(Job(kind="jobs.selfcheck")) is None
    page = superuser_client.get(f"/admin/segments/segmentationrun/{run.pk}/change/").content.decode()
    assert f'href="/dashboard/segments/?run={run.pk}"' in page


def test_formats_follow_the_shop_currency(settings):
    settings.SHOP_CURRENCY = "EUR"
    assert formats.money(-1234.5) == "-€1,234.50"
    assert formats.money(3, "CHF") == "3.00 CHF"
    assert formats.pence(123456) == "€1,234.56"
    assert (formats.count(1234567), formats.mean(13.6721, "days"), formats.share(0.72134)) == \
        ("1,234,567", "13.7 days", "72.1%")
