"""The shared shape of the import commands: a file, a progress bar, the report printed."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from behavior.services import file_size


class ImportCommand(BaseCommand):
    service = None

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file, plain or gzip")

    def handle(self, *args, path: str, verbosity: int = 1, **options):
        path = Path(path)
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            with tqdm(total=file_size(path), unit="B", unit_scale=True, desc=path.name,
                      disable=verbosity == 0) as bar:
                report = self.service(path=path, on_bytes=bar.update)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"==> report {report.pk}: {report.rows_read} read, {report.rows_stored} stored, "
            f"{report.rows_rejected} rejected {report.rejected_by_reason}, {report.rows_duplicate} duplicates"
        )
