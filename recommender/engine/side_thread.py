"""The one thread that works beside LightFM while it fits, and the thread budget the two share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from threadpoolctl import threadpool_limits


class StageTimes:
    """Seconds per named stage; a stage measured twice (or on both threads) adds up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def measure(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


class SideThread:
    """One worker thread for the work that does not wait for the model being fitted.

    LightFM fits on the job's thread (it releases the GIL while an epoch runs, and the progress reports stay
    on the job's thread). Tasks here run one after another in the order they were submitted, so a task may
    read an earlier task's result: it is there when the task starts. A task's exception reaches the job when
    it reads the task's result, which fails the job.

    While a task is pending LightFM runs on one thread fewer (``lightfm_threads``), and BLAS is held to one
    thread for the whole run: OpenBLAS's pool on top of LightFM's threads and this one would put more busy
    threads than cores on the machine.
    """

    def __init__(self, num_threads: int) -> None:
        self.num_threads = num_threads
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recommender-side")
        self._pending: list[Future] = []
        self._blas_limit = None

    def __enter__(self) -> SideThread:
        self._blas_limit = threadpool_limits(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._blas_limit.restore_original_limits()

    def submit(self, work: Callable[..., Any], *args: Any) -> Future:
        future = self._executor.submit(work, *args)
        self._pending.append(future)
        return future

    def lightfm_threads(self) -> int:
        """LightFM's threads for its next epoch.

        While the side thread has work, LightFM leaves it a core: one more busy thread than cores stalls every
        epoch (OpenMP's static split waits for the slowest thread), while LightFM's last thread is worth less
        than a core (hogwild threads contend: 2 threads ran 1.0-1.75x as fast as one here)."""
        busy = any(not future.done() for future in self._pending)
        return max(self.num_threads - 1, 1) if busy else self.num_threads
