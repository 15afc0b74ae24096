"""Mounted by config/urls.py: path("campaigns/", include("campaigns.urls"))."""

from django.urls import path

from . import views

app_name = "campaigns"
urlpatterns = [
    path("<int:campaign_id>/treatment.csv", views.treatment_export, name="treatment-export"),
]
