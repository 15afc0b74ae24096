"""manage.py import_customers FILE"""

from behavior.management.commands._import import ImportCommand
from behavior.services import customers_import_csv


class Command(ImportCommand):
    help = "Import customers from a CSV (plain or gzip): external_id; optional country, signed_up_at."
    service = staticmethod(customers_import_csv)
