"""demo_setup: with the demo dataset missing it still leaves a shop with data, models and an admin; the
dataset itself travels with the repository."""

import hashlib
import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from behavior.models import Event, ImportReport
from jobs.models import Job, JobStatus
from tests.behavior.test_import import RETAIL


@pytest.mark.django_db
def test_without_the_dataset_a_synthetic_shop_and_an_admin_are_made(settings, tmp_path):
    # given: no dataset, in development
    settings.DEBUG = True
    settings.DEMO_DATA_PATH = tmp_path / "missing.csv.gz"
    out = StringIO()
    # when
    call_command("demo_setup", "--skip-jobs", stdout=out)
    # then
    assert "generating a synthetic shop instead" in out.getvalue()
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()
    assert Event.objects.count() == 31_155  # every event of the default synthetic shop (seed 0, 1,000 customers)
    assert ImportReport.objects.filter(kind=ImportReport.Kind.SYNTHETIC).count() == 1


@pytest.mark.django_db
def test_a_second_run_uses_the_stored_events_and_generates_nothing_more(settings, tmp_path):
    # given: a first run without the dataset
    settings.DEMO_DATA_PATH = tmp_path / "missing.csv.gz"
    call_command("demo_setup", "--skip-jobs", stdout=StringIO())
    events = Event.objects.count()
    out = StringIO()
    # when
    call_command("demo_setup", "--skip-jobs", stdout=out)
    # then
    assert "the stored events are used" in out.getvalue()
    assert Event.objects.count() == events
    assert ImportReport.objects.filter(kind=ImportReport.Kind.SYNTHETIC).count() == 1


@pytest.mark.django_db
def test_with_the_dataset_it_is_loaded_once_through_the_import_path(settings, tmp_path):
    # given: a small file in the Online Retail format where DEMO_DATA_PATH points
    path = tmp_path / "retail.csv"
    path.write_text(RETAIL)
    settings.DEMO_DATA_PATH = path
    out = StringIO()
    # when: set up twice
    call_command("demo_setup", "--skip-jobs", stdout=out)
    call_command("demo_setup", "--skip-jobs", stdout=out)
    # then: one demo report, the same counts as load_demo_data, and the second run reused it
    report = ImportReport.objects.get(kind=ImportReport.Kind.DEMO)
    assert (report.rows_read, report.rows_stored, report.rows_rejected, report.rows_duplicate) == (13, 6, 5, 2)
    assert "==> demo data loaded" in out.getvalue() and "already loaded, reused" in out.getvalue()
    assert not ImportReport.objects.filter(kind=ImportReport.Kind.SYNTHETIC).exists()


@pytest.mark.django_db
def test_every_model_is_trained_on_the_synthetic_shop_and_reused_the_second_time(settings, tmp_path):
    settings.DEMO_DATA_PATH = tmp_path / "missing.csv.gz"
    call_command("demo_setup", stdout=StringIO())
    jobs = {job.kind: job for job in Job.objects.all()}
    assert set(jobs) == {"recommender.train", "segments.run", "forecasting.run"}  # not the jobs.* self-checks
    assert all(job.status == JobStatus.SUCCEEDED for job in jobs.values()), {
        k: (j.status, j.error_code, j.error_message) for k, j in jobs.items()}
    call_command("demo_setup", stdout=StringIO())
    assert Job.objects.count() == 3


DATA = Path(__file__).resolve().parents[2] / "data"


def test_the_demo_dataset_travels_with_the_repository_unchanged():
    # given: the checksum data/README.md states
    stated = re.search(r"`([0-9a-f]{64})`", (DATA / "README.md").read_text()).group(1)
    # then: the file in data/ has it
    assert hashlib.sha256((DATA / "online_retail.csv.gz").read_bytes()).hexdigest() == stated


@pytest.mark.skipif("DEMO_DATA_PATH" in os.environ, reason="DEMO_DATA_PATH is set: the default is not in use")
def test_the_demo_dataset_in_the_repository_is_the_default():
    assert Path(str(settings.DEMO_DATA_PATH)) == DATA / "online_retail.csv.gz"
