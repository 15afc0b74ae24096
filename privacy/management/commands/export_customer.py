"""manage.py export_customer EXTERNAL_ID: the exportCustomer JSON on standard output."""

import json

from django.core.management.base import BaseCommand, CommandError

from privacy.selectors import customer_export


class Command(BaseCommand):
    help = "Print everything held about one customer as JSON."

    def add_arguments(self, parser):
        parser.add_argument("external_id")

    def handle(self, *args, external_id: str, **options):
        export = customer_export(external_id=external_id)
        if export is None:
            raise CommandError("NOT_FOUND: No such customer.")
        self.stdout.write(json.dumps(export, indent=2, ensure_ascii=False))
