"""manage.py import_products FILE"""

from behavior.management.commands._import import ImportCommand
from catalog.services import products_upsert  # noqa: F401  (the catalogue's upsert does the work)
from behavior.services import products_import_csv


class Command(ImportCommand):
    help = ("Import products from a CSV (plain or gzip): sku, name, price; optional description, category_slug "
            "or category_id, brand, currency, stock, is_active. Existing SKUs are updated.")
    service = staticmethod(products_import_csv)
