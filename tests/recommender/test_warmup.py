"""A new web worker is warmed before it takes requests (config/warmup.py, gunicorn's post_worker_init):
the active model's arrays are loaded and one request has been through the whole stack, and a failure in
warming never stops the worker. (``WSGIHandler()`` rather than ``get_wsgi_application()``: the latter
re-runs the logging configuration, which would detach pytest's log capture.)"""

from __future__ import annotations

import logging

import pytest
from django.core.handlers.wsgi import WSGIHandler

from config.warmup import warm
from jobs.models import JobStatus
from recommender import serving
from recommender.models import ModelVersion

from .conftest import train


@pytest.mark.django_db(transaction=True)  # the warm-up request closes connections as a request does
def test_warm_loads_the_active_model_and_serves_one_request(shop, settings, caplog):
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 60
    settings.ALLOWED_HOSTS = ["api.shop.example"]  # the warm-up request must use a host the settings accept
    assert train().status == JobStatus.SUCCEEDED
    serving.forget()
    with caplog.at_level(logging.WARNING, logger="config.warmup"):
        warm(WSGIHandler())
    assert caplog.records == []
    active = ModelVersion.objects.get(is_active=True)
    assert serving._cache.model is not None and serving._cache.model.version_id == active.pk


@pytest.mark.django_db(transaction=True)  # the warm-up request closes connections as a request does
def test_a_broken_model_file_is_logged_and_the_worker_still_starts(shop, settings, caplog):
    settings.RECOMMENDER_ACTIVE_CHECK_SECONDS = 60
    assert train().status == JobStatus.SUCCEEDED
    ModelVersion.objects.filter(is_active=True).update(artifact="recommender/missing.npz")
    serving.forget()
    seconds = warm(WSGIHandler())
    assert seconds >= 0 and serving._cache.model is None  # served as popular items, as before
    assert "cannot load the artifact" in caplog.text
