"""Mounted by config/urls.py: path("segments/", include("segments.urls"))."""

from django.urls import path

from . import views

app_name = "segments"
urlpatterns = [
    path("<int:segment_id>/audience.csv", views.audience_export, name="audience-export"),
]
