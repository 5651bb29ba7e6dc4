"""Where grading jobs run: any ``concurrent.futures.Executor``; this module holds the local one.

The runner (:func:`labs.grading.run.autograde`) only calls ``executor.submit(grade_job, job)`` with the
top-level :func:`~labs.grading.run.grade_job` and a picklable :class:`~labs.grading.jobs.GradeJob` that
carries everything as bytes, and collects the futures with ``concurrent.futures.as_completed``. That is the
interface Dask already speaks (``distributed.Client.get_executor()``, see :mod:`labs.grading.cluster`), so a
cluster needs no other seam.

:class:`LocalExecutor` grades on this machine, ``workers`` at a time. Each job forks its own sandbox
process from a warm fork server (:data:`labs.grading.sandbox.ZYGOTE`), so the executor only needs threads
that wait on those processes: a job that hangs or kills its process never takes a worker down with it.
Cancelling (Ctrl-C) kills the running sandboxes; what finished is kept.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from labs.grading.jobs import Limits


def default_workers() -> int:
    """The default degree of parallelism: the number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def local_limits(workers: int, **overrides: object) -> Limits:
    """Limits for ``workers`` local sandboxes: the cores shared out as math-library threads per kernel."""
    threads = overrides.pop("threads", None) or max(1, default_workers() // max(1, workers))
    return Limits(threads=int(threads), **overrides)  # type: ignore[arg-type]


class LocalExecutor(ThreadPoolExecutor):
    """Grades on this machine, ``workers`` sandboxes at a time (default: the number of CPU cores)."""

    def __init__(self, workers: int | None = None) -> None:
        from labs.grading.sandbox import ZYGOTE

        self.workers = max(1, workers or default_workers())
        super().__init__(max_workers=self.workers, thread_name_prefix="labs-grade")
        ZYGOTE.start()  # imports nbgrader in the background while the caller prepares the jobs

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the threads; with ``cancel_futures`` also kill the sandboxes still running."""
        if cancel_futures:
            from labs.grading.sandbox import stop_all

            stop_all()
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
