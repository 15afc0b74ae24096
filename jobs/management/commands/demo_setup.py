"""Brings a fresh database to a state where every query has an answer, and does nothing twice.

1. an `admin` superuser (password from DEMO_ADMIN_PASSWORD, default "admin") for the admin and GraphiQL;
2. the demo dataset (UCI Online Retail) through the normal import path, once; where the dataset is not
   on disk (settings.DEMO_DATA_PATH), a seeded synthetic shop instead, so the service still starts
   with data on any machine;
3. one successful run of every model-building job kind (recommender, segmentation, forecast), run
   in this process so the service starts with models in place.
"""

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from behavior.models import Event
from jobs.models import Job, JobStatus
from jobs.registry import all_kinds
from jobs.services import job_execute


class Command(BaseCommand):
    help = "Load demo data and train every model once (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--skip-jobs", action="store_true", help="Load data only.")

    def handle(self, *args, skip_jobs: bool = False, **options):
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            password = os.environ.get("DEMO_ADMIN_PASSWORD", "admin")
            User.objects.create_superuser("admin", "admin@example.com", password)
            self.stdout.write(f"==> created superuser admin / {password}")
        if Path(str(settings.DEMO_DATA_PATH)).exists():
            call_command("load_demo_data", stdout=self.stdout, stderr=self.stderr)
        elif Event.objects.exists():
            self.stdout.write(f"==> no demo dataset at {settings.DEMO_DATA_PATH}; the stored events are used")
        else:
            self.stdout.write(f"==> no demo dataset at {settings.DEMO_DATA_PATH} (set DEMO_DATA_PATH); "
                              "generating a synthetic shop instead")
            call_command("generate_synthetic", stdout=self.stdout, stderr=self.stderr)
        if skip_jobs:
            return
        for kind in sorted(all_kinds()):
            if kind.startswith("jobs."):  # the service's own checks (jobs.selfcheck) train nothing
                continue
            if Job.objects.filter(kind=kind, status=JobStatus.SUCCEEDED).exists():
                self.stdout.write(f"==> {kind}: a successful run exists, reused")
                continue
            self.stdout.write(f"==> {kind}: running with default parameters")
            job = Job.objects.create(kind=kind, params=all_kinds()[kind].clean_params({}))
            job = job_execute(job_id=job.pk)
            self.stdout.write(f"    {job.status} {job.message} {job.error_code} {job.error_message}".rstrip())
