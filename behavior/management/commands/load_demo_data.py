"""manage.py load_demo_data: the UCI Online Retail dataset through the import path, once."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from behavior.services import demo_load


class Command(BaseCommand):
    help = "Load the demo dataset (UCI Online Retail) once; a second run reuses it."

    def add_arguments(self, parser):
        parser.add_argument("--path", default=None, help="Defaults to settings.DEMO_DATA_PATH.")
        parser.add_argument("--force", action="store_true", help="Load again (stores nothing twice).")

    def handle(self, *args, path=None, force=False, verbosity=1, **options):
        path = Path(path or settings.DEMO_DATA_PATH)
        if not path.exists():
            raise CommandError(f"demo dataset not found at {path} (set DEMO_DATA_PATH)")
        with tqdm(desc="demo events", unit="line", unit_scale=True, disable=verbosity == 0) as bar:
            report, loaded = demo_load(path=path, on_rows=bar.update, force=force)
        verb = "loaded" if loaded else "already loaded, reused"
        self.stdout.write(
            f"==> demo data {verb} (report {report.pk}): {report.rows_read:,} lines read, {report.rows_stored:,} "
            f"events stored, {report.rows_rejected:,} rejected {report.rejected_by_reason}, "
            f"{report.rows_duplicate:,} duplicates; {report.notes.get('products')} products, "
            f"{report.notes.get('customers')} customers"
        )
