"""What the job machinery costs and how fast it recovers, with a real worker over Redis.

Baseline: the diagnostic job (jobs.selfcheck, 1 step, no sleep) run in this process with
`job_execute` — the database work of a job and nothing else. Against it: the same job submitted and
run by a real worker (`celery -A config worker -Q reaper,ml,default -c 1`), one at a time (latency from
submit to SUCCEEDED) and N at once (throughput); a submit with the broker unreachable; and the time
from SIGKILL of a worker to the reaper re-queueing its job (heartbeat 0.3 s, timeout 1.5 s).

    scripts/bench jobs            # or: DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench jobs [--n 40]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from urllib.parse import quote


def _db_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def _start_worker() -> subprocess.Popen:
    import socket

    from config.celery import app

    name = f"bench-{uuid.uuid4().hex[:6]}@%h"
    env = {**os.environ, "DATABASE_URL": _db_url(), "JOB_HEARTBEAT_INTERVAL": "0.3", "CONN_MAX_AGE": "60",
           "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "reaper,ml,default", "-c", "1",
                             "-n", name, "-l", "warning", "--without-gossip", "--without-mingle"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    hostname = name.replace("%h", socket.gethostname())
    deadline = time.monotonic() + 90
    while not app.control.ping(destination=[hostname], timeout=0.5):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the worker did not start")
    return proc


def _stop(proc: subprocess.Popen, sig=signal.SIGQUIT) -> None:
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait(job_ids: list[int], timeout: float = 120) -> None:
    from jobs.models import FINISHED_STATUSES, Job

    deadline = time.monotonic() + timeout
    while Job.objects.filter(pk__in=job_ids).exclude(status__in=FINISHED_STATUSES).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"jobs {job_ids} did not finish in {timeout} s")
        time.sleep(0.005)


PARAMS = {"steps": 1, "step_seconds": 0}  # the diagnostic job at its cheapest


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench jobs", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40, help="jobs per measurement")
    args = parser.parse_args(argv)

    from django.conf import settings

    if not settings.REDIS_URL:
        raise SystemExit("bench jobs needs REDIS_URL (a real broker and worker)")
    base = _in_process(args.n)
    rows = [("in-process job_execute (baseline)", base, 1.0, "")]
    rows += _with_a_worker(args.n, base)
    rows.append(_broker_down(base))
    load = os.getloadavg()[0]
    print(f"{'measurement':<52}{'time':>12}{'x baseline':>12}  note")
    for label, seconds, ratio, note in rows:
        print(f"{label:<52}{seconds * 1000:>10.1f}ms{ratio:>12.1f}  {note}")
    print(f"(n={args.n}, -c 1 prefork worker, load average {load:.1f} on {os.cpu_count()} CPUs)")


def _in_process(n: int) -> float:
    """Median seconds of the baseline: in-process, no broker."""
    from config.celery import app
    from jobs.models import Job
    from jobs.services import job_execute

    app.conf.task_always_eager = True
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        job = Job.objects.create(kind="jobs.selfcheck", params=PARAMS)
        job_execute(job_id=job.pk)
        timings.append(time.perf_counter() - started)
    app.conf.task_always_eager = False
    return statistics.median(timings)


def _with_a_worker(n: int, base: float) -> list[tuple[str, float, float, str]]:
    """Latency one at a time, throughput n at once, then recovery from a worker killed mid-job."""
    from django.conf import settings

    from config.celery import app
    from jobs.models import Job, JobStatus
    from jobs.services import job_submit, jobs_reap

    rows = []
    worker = _start_worker()
    try:
        with app.connection_for_write() as conn:
            for queue in ("ml", "default"):
                conn.default_channel.queue_purge(queue)
        latencies = []
        for _ in range(n):
            started = time.perf_counter()
            job = job_submit(kind="jobs.selfcheck", params=PARAMS)
            _wait([job.pk])
            latencies.append(time.perf_counter() - started)
        p50, p95 = statistics.median(latencies), sorted(latencies)[int(0.95 * (len(latencies) - 1))]
        rows.append(("worker: submit -> SUCCEEDED, p50", p50, p50 / base, f"p95 {p95 * 1000:.1f} ms"))

        started = time.perf_counter()
        ids = [job_submit(kind="jobs.selfcheck", params=PARAMS).pk for _ in range(n)]
        _wait(ids)
        per_job = (time.perf_counter() - started) / n
        assert Job.objects.filter(pk__in=ids, status=JobStatus.SUCCEEDED).count() == n
        rows.append((f"worker: {n} at once, per job", per_job, per_job / base, f"{1 / per_job:.0f} jobs/s"))

        # Worker lost: SIGKILL mid-job, then how long until the reaper has re-queued it.
        settings.JOB_HEARTBEAT_TIMEOUT = 1.5
        job = job_submit(kind="jobs.selfcheck", params={"steps": 40, "step_seconds": 0.1})
        while Job.objects.get(pk=job.pk).progress < 0.1:
            time.sleep(0.01)
        _stop(worker, signal.SIGKILL)
        killed = time.perf_counter()
        while not jobs_reap().requeued:
            time.sleep(0.05)
        recovered = time.perf_counter() - killed
        rows.append(("worker SIGKILLed -> job re-queued", recovered, recovered / base, "heartbeat timeout 1.5 s"))
        Job.objects.filter(pk=job.pk).update(status=JobStatus.CANCELLED)
    finally:
        _stop(worker)
    return rows


def _broker_down(base: float) -> tuple[str, float, float, str]:
    """A submit with the broker unreachable: how long until it fails as BROKER_UNAVAILABLE."""
    from config.celery import app
    from jobs.models import JobStatus
    from jobs.services import JobBrokerUnavailable, job_submit

    app.conf.broker_url = "redis://127.0.0.1:1/0"
    started = time.perf_counter()
    try:
        job_submit(kind="jobs.selfcheck", params=PARAMS)
        raise SystemExit("submit with the broker down did not fail")
    except JobBrokerUnavailable as exc:
        assert exc.job.status == JobStatus.FAILED
    down = time.perf_counter() - started
    return ("submit, broker unreachable -> BROKER_UNAVAILABLE", down, down / base, "job marked FAILED")
