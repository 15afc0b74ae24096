import time

from django.core.management.base import BaseCommand

from analytics.services import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute every analytics rollup from the raw events (after a bulk load or a category change)."

    def handle(self, *args, **options):
        started = time.perf_counter()
        rollups_rebuild()
        self.stdout.write(f"rollups rebuilt in {time.perf_counter() - started:.1f} s")
