"""The jobs app's own kind: a self-check that proves a worker takes jobs, reports progress and obeys cancel.

Submit it from the admin-less API to see that workers are alive:
``jobs.services.job_submit(kind="jobs.selfcheck", params={"steps": 5, "step_seconds": 0.2})``.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from .params import JobParams, param
from .registry import JobContext, JobResult, job_kind


@dataclass
class SelfCheckParams(JobParams):
    steps: int = param(5, low=1, high=1000, help="How many steps to sleep through, reporting progress after each.")
    step_seconds: float = param(0.2, low=0, high=60, help="Seconds per step.",
                                message="step_seconds must be from 0 to 60")


@job_kind("jobs.selfcheck", permission="jobs.add_job", params=SelfCheckParams)
def selfcheck(ctx: JobContext) -> JobResult:
    steps, pause = ctx.params["steps"], ctx.params["step_seconds"]
    where = f"on {socket.gethostname()} pid {os.getpid()}"  # which worker process is running it
    started = time.monotonic()
    ctx.progress(0.0, f"started {where}")
    for step in range(1, steps + 1):
        time.sleep(pause)
        ctx.progress(step / steps, f"step {step}/{steps} {where}")
    return JobResult(message=f"{steps} steps in {time.monotonic() - started:.2f} s {where}")
