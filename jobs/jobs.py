"""The jobs app's own kind: a self-check that proves a worker takes jobs, reports progress and obeys cancel.

Submit it from the admin-less API to see that workers are alive:
``jobs.services.job_submit(kind="jobs.selfcheck", params={"steps": 5, "step_seconds": 0.2})``.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

from .registry import JobContext, JobParamsError, JobResult, job_kind


@dataclass
class SelfCheckParams:
    steps: int = 5
    step_seconds: float = 0.2

    def __post_init__(self):
        if not isinstance(self.steps, int) or isinstance(self.steps, bool) or not 1 <= self.steps <= 1000:
            raise JobParamsError("steps", "steps must be an integer from 1 to 1000")
        if not isinstance(self.step_seconds, (int, float)) or not 0 <= self.step_seconds <= 60:
            raise JobParamsError("step_seconds", "step_seconds must be from 0 to 60")


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
