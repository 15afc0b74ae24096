"""The staff dashboard's pages: a shell per page; the browser gets every number from /graphql/.

The view decides only what the page needs before its first query: the staff user's permissions (a panel
the user may not see is drawn as "not permitted" and never queried), the shop's currency and time zone
for formatting, and the default period (the 90 days up to the last purchase, so historic demo data
shows). Filters are the page's GET parameters, so a view can be shared by its URL.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie

from segments.selectors import latest_purchase_date

DEFAULT_DAYS = 90
# Permission codes the pages check, by the name the page's script uses.
PERMISSIONS = {
    "sales": "behavior.view_event",
    "forecast": "forecasting.view_forecastrun",
    "runForecast": "forecasting.add_forecastrun",
    "segments": "segments.view_segment",
    "exportSegment": "segments.export_segment",
    "runSegmentation": "segments.add_segmentationrun",
    "models": "recommender.view_modelversion",
    "trainRecommender": "recommender.add_modelversion",
}
PAGES = [("overview", "Overview"), ("segments", "Segments"), ("models", "Models")]


def page_config(request, page: str) -> dict:
    last = latest_purchase_date() or timezone.localdate()
    return {
        "page": page,
        "graphqlUrl": reverse("graphql"),
        "currency": settings.SHOP_CURRENCY,
        "timeZone": settings.SHOP_TIME_ZONE,
        "defaultFrom": (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
        "defaultTo": last.isoformat(),
        "permissions": {name: request.user.has_perm(code) for name, code in PERMISSIONS.items()},
        "permissionCodes": PERMISSIONS,
    }


def _page(request, page: str):
    context = {"config": page_config(request, page), "page": page, "pages": PAGES,
               "title": dict(PAGES)[page]}
    return render(request, f"dashboard/{page}.html", context)


@staff_member_required
@ensure_csrf_cookie  # the page's script sends it back as X-CSRFToken with the session cookie
def overview(request):
    return _page(request, "overview")


@staff_member_required
@ensure_csrf_cookie  # the page's script sends it back as X-CSRFToken with the session cookie
def segments(request):
    return _page(request, "segments")


@staff_member_required
@ensure_csrf_cookie  # the page's script sends it back as X-CSRFToken with the session cookie
def models(request):
    return _page(request, "models")
