"""Brings a fresh database to a state where every query has an answer, and does nothing twice.

1. with DEBUG on only, an ``admin`` superuser for the admin and GraphiQL: its password is DEMO_ADMIN_PASSWORD
   or a random one, printed once (in production create accounts with ``manage.py createsuperuser``);
2. the demo dataset (UCI Online Retail, ``data/`` in the repository) through the normal import path, once;
   where the dataset is not on disk (settings.DEMO_DATA_PATH), a seeded synthetic shop instead, so the
   service still starts with data on any machine;
3. one successful run of every model-building job kind (recommender, segmentation, forecast), run in this
   process so the service starts with models in place.

Every step goes through the owning app's services and selectors; ``say`` receives one line per step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from django.contrib.auth import get_user_model

from behavior.selectors import events_exist
from behavior.services import Progress, demo_load, synthetic_load
from behavior.synthetic import SyntheticSpec
from jobs.models import Job, JobStatus
from jobs.registry import JobParamsError, all_kinds
from jobs.services import job_execute

Say = Callable[[str], None]


def admin_user_ensure(*, development: bool, say: Say) -> None:
    """The demo's superuser, in development only; never a known password."""
    if not development:
        say("==> no demo admin: DEBUG is off (create accounts with manage.py createsuperuser)")
        return
    User = get_user_model()
    if not User.objects.filter(username="admin").exists():
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@example.com", password)
        say(f"==> created superuser admin / {password}   (shown once; DEMO_ADMIN_PASSWORD sets it)")


def demo_data_ensure(*, path: Path, say: Say, on_rows: Progress | None = None) -> None:
    """The demo dataset when it is on disk; else the stored events when there are some; else a synthetic shop."""
    if path.exists():
        report, loaded = demo_load(path=path, on_rows=on_rows)
        verb = "loaded" if loaded else "already loaded, reused"
        say(f"==> demo data {verb} (report {report.pk}): {report.rows_read:,} lines read, {report.rows_stored:,} "
            f"events stored, {report.rows_rejected:,} rejected {report.rejected_by_reason}, "
            f"{report.rows_duplicate:,} duplicates; {report.notes.get('products')} products, "
            f"{report.notes.get('customers')} customers")
    elif events_exist():
        say(f"==> no demo dataset at {path}; the stored events are used")
    else:
        say(f"==> no demo dataset at {path} (set DEMO_DATA_PATH); generating a synthetic shop instead")
        spec = SyntheticSpec()
        data = synthetic_load(spec=spec, on_rows=on_rows)
        say(f"==> stored {len(data.categories)} categories, {len(data.products)} products, "
            f"{len(data.customers)} customers, {len(data.events):,} events (seed {spec.seed})")


def model_jobs_ensure(*, say: Say) -> None:
    """One successful run of every kind that builds a model; a kind that already has one is skipped."""
    for kind in sorted(all_kinds()):
        if kind.startswith("jobs."):  # the service's own checks (jobs.selfcheck) train nothing
            continue
        if _has_succeeded(kind):
            say(f"==> {kind}: a successful run exists, reused")
            continue
        try:
            params = all_kinds()[kind].clean_params({})
        except JobParamsError:  # a kind that acts on a given record (e.g. a campaign): no default run
            continue
        say(f"==> {kind}: running with default parameters")
        job = _run_here(kind, params)
        say(f"    {job.status} {job.message} {job.error_code} {job.error_message}".rstrip())


def _has_succeeded(kind: str) -> bool:
    return Job.objects.filter(kind=kind, status=JobStatus.SUCCEEDED).exists()


def _run_here(kind: str, params: dict) -> Job:
    # Recorded and executed in this process rather than through jobs.services.job_submit: with a broker
    # configured, job_submit would hand the run to a worker, and the server would start without models.
    job = Job.objects.create(kind=kind, params=params)
    return job_execute(job_id=job.pk)


def demo_campaign_ensure(*, say: Say) -> None:
    """A small recorded campaign on the served segmentation's largest segment, launched and measured, so the
    campaign queries have an answer; skipped when any campaign exists or nothing is segmented yet."""
    from campaigns.services import demo_campaign

    campaign = demo_campaign()
    if campaign is not None:
        say(f"==> demo campaign '{campaign.name}' launched: {campaign.members_count:,} members")
