"""manage.py generate_synthetic --seed 1 --customers N --products N --events-per-customer X"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from behavior.services import synthetic_load
from behavior.synthetic import SyntheticSpec


class Command(BaseCommand):
    help = "Generate a seeded synthetic shop (planted segments, seasonality, category affinity) and store it."

    def add_arguments(self, parser):
        defaults = SyntheticSpec()
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument("--customers", type=int, default=defaults.customers)
        parser.add_argument("--products", type=int, default=defaults.products)
        parser.add_argument("--days", type=int, default=defaults.days)
        parser.add_argument("--events-per-customer", type=float, default=defaults.events_per_customer)
        parser.add_argument("--start", type=date.fromisoformat, default=defaults.start, help="YYYY-MM-DD")
        parser.add_argument("--anonymous-share", type=float, default=defaults.anonymous_share)

    def handle(self, *args, **o):
        try:
            spec = SyntheticSpec(seed=o["seed"], customers=o["customers"], products=o["products"], days=o["days"],
                                 events_per_customer=o["events_per_customer"], start=o["start"],
                                 anonymous_share=o["anonymous_share"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        expected = int(spec.customers * spec.events_per_customer / (1 - spec.anonymous_share))
        self.stdout.write(f"==> generating about {expected:,} events (seed {spec.seed})")
        with tqdm(total=expected, unit="event", unit_scale=True, disable=o["verbosity"] == 0) as bar:
            data = synthetic_load(spec=spec, on_rows=bar.update)
        self.stdout.write(f"==> stored {len(data.categories)} categories, {len(data.products)} products, "
                          f"{len(data.customers)} customers, {len(data.events):,} events")
