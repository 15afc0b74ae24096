"""Recover jobs whose worker died (beat runs the same service every JOB_REAP_INTERVAL seconds)."""

from django.core.management.base import BaseCommand

from jobs.services import jobs_reap


class Command(BaseCommand):
    help = "Re-queue or fail RUNNING jobs whose heartbeat stopped; fail QUEUED jobs nobody started in time."

    def handle(self, *args, **options):
        report = jobs_reap()
        self.stdout.write(f"reaped: {report}")
