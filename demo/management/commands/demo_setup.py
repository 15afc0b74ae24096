"""manage.py demo_setup: a fresh database to a shop with data, models and an admin (see demo.services)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from tqdm import tqdm

from demo.services import admin_user_ensure, demo_campaign_ensure, demo_data_ensure, model_jobs_ensure


class Command(BaseCommand):
    help = "Load demo data and train every model once (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--skip-jobs", action="store_true", help="Load data only.")

    def handle(self, *args, skip_jobs: bool = False, verbosity: int = 1, **options):
        say = self.stdout.write
        admin_user_ensure(development=settings.DEBUG, say=say)
        with tqdm(desc="demo events", unit="event", unit_scale=True, disable=verbosity == 0) as bar:
            demo_data_ensure(path=Path(str(settings.DEMO_DATA_PATH)), say=say, on_rows=bar.update)
        if not skip_jobs:
            model_jobs_ensure(say=say)
            demo_campaign_ensure(say=say)
