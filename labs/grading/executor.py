"""Where grading jobs are handed to workers: one small interface and its local implementation.

The runner (:mod:`labs.grading.run`) only ever calls :meth:`Executor.run` with a picklable, top-level job
function and picklable jobs that carry everything they need as bytes (no shared disk, no shared
database). That is what lets a later implementation ship the same jobs to a Dask cluster
(``client.map`` + ``distributed.as_completed``) without touching the rest of the pipeline.

:class:`LocalExecutor` runs the jobs on this machine, ``workers`` at a time. Each job starts its own
sandbox process for the student's notebook (see :func:`labs.grading.run.grade_job`), so the local
executor only needs threads that wait on those processes: a job that hangs or kills its process never
takes a pool worker down with it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Generic, TypeVar

J = TypeVar("J")
R = TypeVar("R")


class Executor(ABC, Generic[J, R]):
    """Runs ``fn(job)`` for many jobs concurrently and yields ``(job, result or exception)`` as each ends."""

    workers: int

    @abstractmethod
    def run(self, fn: Callable[[J], R], jobs: Iterable[J]) -> Iterator[tuple[J, R | BaseException]]:
        """Start every job and yield each one with its result (or the exception it raised) when done."""

    def close(self) -> None:
        """Release the workers (no-op by default)."""

    def __enter__(self) -> Executor[J, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor[J, R]):
    """Runs jobs on this machine, ``workers`` at a time (default: the number of CPU cores)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="labs-grade")

    def run(self, fn: Callable[[J], R], jobs: Iterable[J]) -> Iterator[tuple[J, R | BaseException]]:
        """Submit all jobs, then yield them in completion order."""
        futures: dict[Future[R], J] = {self._pool.submit(fn, job): job for job in jobs}
        try:
            for future in as_completed(futures):
                error = future.exception()
                yield futures[future], (error if error is not None else future.result())
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Wait for running jobs and stop the threads."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    """The default degree of parallelism: the number of CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)
