"""Reads of the job records that other apps need (through here, not by querying jobs' tables)."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Job, JobStatus


def running_job_ids(job_ids: Iterable[int]) -> set[int]:
    """Which of ``job_ids`` are RUNNING now."""
    ids = sorted(set(job_ids))
    if not ids:
        return set()
    return set(Job.objects.filter(pk__in=ids, status=JobStatus.RUNNING).values_list("id", flat=True))
