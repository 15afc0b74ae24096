"""The project's URLs plus the audience export, as config/urls.py will mount it."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("segments/", include("segments.urls"))]
