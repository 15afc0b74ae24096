"""Recover jobs whose worker died (beat runs the same service every JOB_REAP_INTERVAL seconds)."""

from django.core.management.base import BaseCommand

from jobs.services import jobs_reap


class Command(BaseCommand):
    help = "Re-queue or fail RUNNING jobs whose heartbeat stopped; fail QUEUED jobs nobody started in time."

    def add_arguments(self, parser):
        parser.add_argument(
            "--heartbeat-timeout", type=float, default=None,
            help="Seconds without a heartbeat after which a running job counts as dead (default "
                 "JOB_HEARTBEAT_TIMEOUT). `0` recovers every RUNNING job: only when no worker or server is "
                 "running, e.g. at the start of the embedded server after a crash.",
        )

    def handle(self, *args, heartbeat_timeout: float | None = None, **options):
        report = jobs_reap(heartbeat_timeout=heartbeat_timeout)
        self.stdout.write(f"reaped: {report}")
