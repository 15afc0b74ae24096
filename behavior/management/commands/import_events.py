"""manage.py import_events FILE: events from CSV (plain or gzip), COPY-speed on PostgreSQL."""

from behavior.management.commands._import import ImportCommand
from behavior.services import events_import_csv


class Command(ImportCommand):
    help = ("Import events from a CSV (plain or gzip) with a header naming columns among event_id, "
            "customer_external_id, product_sku, kind, occurred_at, quantity, unit_price, rating, order_ref, session_id.")
    service = staticmethod(events_import_csv)
