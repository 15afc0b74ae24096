"""manage.py erase_customer EXTERNAL_ID: the same erasure as the eraseCustomer mutation."""

from django.core.management.base import BaseCommand, CommandError

from privacy.error_codes import PrivacyError
from privacy.services import customer_erase


class Command(BaseCommand):
    help = "Erase a customer: events, memberships, rollups, recommender model files, admin log (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("external_id")

    def handle(self, *args, external_id: str, **options):
        try:
            erasure = customer_erase(external_id=external_id)
        except PrivacyError as exc:
            raise CommandError(f"{exc.code.value}: {exc.message}") from None
        self.stdout.write(f"Erased subject {erasure.subject} ({erasure.times} time(s)): {erasure.events} events, "
                          f"{erasure.memberships} memberships, {erasure.artifacts} model files, "
                          f"{erasure.admin_log_entries} admin log entries.")
