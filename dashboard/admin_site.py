"""The admin as the service: its name instead of "Django administration", the derived tables (rollups,
segmentation and forecast results, rebuilt by jobs) grouped under one heading and read-only, and each run,
segment, model version and job linked to its dashboard page ("View on site").

The derived tables are named here once: the grouping and the read-only rule both read DERIVED, so a table
cannot be grouped as derived and still be editable. Their admins stay in their apps; registering one
here makes a read-only subclass of it.
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import reverse

# app label -> model names (lower case) whose rows are computed by jobs, never typed in.
DERIVED = {
    "analytics": {"productscope", "productdaily", "productweekly", "productmonthly", "scopedaily", "purchaserday",
                  "purchasergap", "scopebuyersdaily", "cohortmonthly"},
    "segments": {"segmentationrun", "segment", "segmentmembership"},
    "forecasting": {"forecastrun", "forecastseries"},
}
DERIVED_HEADING = "Derived data (read-only: computed by jobs)"
JOB_PAGES = {"recommender": "dashboard:models", "forecasting": "dashboard:models", "segments": "dashboard:segments"}


def is_derived(model) -> bool:
    return model._meta.model_name in DERIVED.get(model._meta.app_label, set())


def dashboard_url(obj) -> str | None:
    """The dashboard page that shows this row, if any."""
    label = obj._meta.label_lower
    if label == "segments.segmentationrun":
        return reverse("dashboard:segments") + f"?run={obj.pk}"
    if label == "segments.segment":
        return reverse("dashboard:segments") + f"?run={obj.run_id}"
    if label in ("recommender.modelversion", "forecasting.forecastrun"):
        return reverse("dashboard:models")
    if label == "jobs.job":
        page = JOB_PAGES.get(obj.kind.split(".")[0])
        return reverse(page) if page else None
    return None


def _read_only(admin_class: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    def no(self, request, obj=None):
        return False

    return type(admin_class.__name__, (admin_class,), {
        "has_add_permission": no, "has_change_permission": no, "has_delete_permission": no,
        "__module__": admin_class.__module__,
    })


class ShopAdminSite(admin.AdminSite):
    site_header = "Shop analytics"
    site_title = "Shop analytics admin"
    index_title = "Data, models and jobs"
    site_url = "/dashboard/"

    def register(self, model_or_iterable, admin_class=None, **options):
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else list(model_or_iterable)
        for model in models:
            chosen = admin_class or admin.ModelAdmin
            if is_derived(model):
                chosen = _read_only(chosen)
            if model._meta.label_lower in ("segments.segmentationrun", "segments.segment", "recommender.modelversion",
                                           "forecasting.forecastrun", "jobs.job"):
                chosen = type(chosen.__name__, (chosen,), {"view_on_site": staticmethod(dashboard_url),
                                                           "__module__": chosen.__module__})
            super().register(model, chosen, **options)

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps
        derived = []
        for app in apps:
            keep = []
            for entry in app["models"]:
                (derived if is_derived(entry["model"]) else keep).append(entry)
            app["models"] = keep
        apps = [app for app in apps if app["models"]]
        if derived:
            derived.sort(key=lambda entry: entry["name"])
            apps.append({"name": DERIVED_HEADING, "app_label": "derived", "app_url": "", "has_module_perms": True,
                         "models": derived})
        return apps
