"""Grade on a Dask cluster: an existing scheduler, local worker processes, or Slurm/PBS batch jobs.

:func:`dask_executor` yields a ``concurrent.futures.Executor`` (Dask's ``Client.get_executor()``) that
:func:`labs.grading.run.autograde` uses exactly like the local one: each task ships a
:class:`~labs.grading.jobs.GradeJob` (the submission and the release files as bytes) to a worker, which
grades it in the same sandbox as the local runner (:func:`~labs.grading.run.grade_job`: limits, read-only
course, watchdog) and returns the graded notebook and per-cell scores. Workers need the ``labs`` package
(with the ``grading`` and ``cluster`` extras) and no shared file system; only this process writes the
gradebook.

Faults: Dask re-runs the tasks of a worker that dies on another worker; a task whose runs killed
``allowed_failures + 1`` workers raises ``KilledWorker`` and is recorded as failed (not retried for ever);
a lost scheduler ends the batch with every finished grade already written.

Warm kernels (:mod:`labs.grading.warm`) work on workers as locally: each worker process starts its fork server
(which imports torch & co. once) as soon as it joins (:func:`warm_workers`), and every submission's kernel is
forked from it; ``GradeJob.cold_kernels`` (``--cold-kernels``) travels with each job.

The Slurm/PBS settings live in a small section of ``nbgrader_config.py``::

    c.LabsCluster.cores = 8               # cores per batch job
    c.LabsCluster.memory = "32GB"         # memory per batch job
    c.LabsCluster.processes = 4           # worker processes per job (one submission at a time each)
    c.LabsCluster.queue = "normal"        # partition (Slurm) or queue (PBS)
    c.LabsCluster.account = "cs123"
    c.LabsCluster.walltime = "02:00:00"
    c.LabsCluster.jobs = 4                # batch jobs to start (--jobs overrides)
    c.LabsCluster.python = "/path/to/venv/bin/python"
    c.LabsCluster.job_extra_directives = ["--constraint=cpu"]
    c.LabsCluster.allowed_failures = 1    # worker deaths a submission may cause before it is failed
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

ClusterKind = Literal["local", "slurm", "pbs"]

#: Dask config key: how many worker deaths a task may be involved in before it fails with KilledWorker.
ALLOWED_FAILURES = "distributed.scheduler.allowed-failures"


@dataclass(frozen=True)
class ClusterSettings:
    """The ``c.LabsCluster`` section of ``nbgrader_config.py`` (see the module docstring)."""

    cores: int = 1
    memory: str = "8GB"
    processes: int = 1
    queue: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    jobs: int | None = None
    python: str | None = None
    job_extra_directives: list[str] = field(default_factory=list)
    allowed_failures: int = 1


def cluster_settings(root: Path) -> ClusterSettings:
    """Read ``c.LabsCluster`` from the course's ``nbgrader_config.py`` (defaults where it says nothing)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    section = dict(config.get("LabsCluster", {}))
    known = {f.name for f in fields(ClusterSettings)}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ValueError(f"unknown c.LabsCluster settings in nbgrader_config.py: {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(known))})")
    return ClusterSettings(**{key: (list(value) if isinstance(value, list | tuple) else value)
                              for key, value in section.items()})


def jobqueue_cluster(kind: ClusterKind, settings: ClusterSettings) -> Any:
    """A dask-jobqueue ``SLURMCluster`` or ``PBSCluster`` built from ``settings`` (no job is submitted yet)."""
    from dask_jobqueue import PBSCluster, SLURMCluster

    cls = {"slurm": SLURMCluster, "pbs": PBSCluster}[kind]
    options: dict[str, Any] = dict(cores=settings.cores, memory=settings.memory, processes=settings.processes,
                                   queue=settings.queue, account=settings.account, walltime=settings.walltime,
                                   job_extra_directives=settings.job_extra_directives,
                                   worker_extra_args=["--nthreads", "1"])
    if settings.python:
        options["python"] = settings.python
    return cls(**options)


def job_script(kind: ClusterKind, settings: ClusterSettings) -> str:
    """The batch script each Slurm/PBS job would run (to check the settings before submitting anything)."""
    cluster = jobqueue_cluster(kind, settings)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def _start_cluster(kind: ClusterKind, settings: ClusterSettings, jobs: int | None) -> Any:
    """Start a cluster of ``kind`` with ``jobs`` worker processes (local) or batch jobs (slurm, pbs)."""
    if kind == "local":
        from distributed import LocalCluster

        from labs.grading.executor import default_workers

        return LocalCluster(n_workers=jobs or settings.jobs or default_workers(), threads_per_worker=1,
                            processes=True, host="127.0.0.1", dashboard_address=None)
    cluster = jobqueue_cluster(kind, settings)
    cluster.scale(jobs=jobs or settings.jobs or 1)
    return cluster


class _WarmUp:
    """Dask worker plugin: start the worker's grading fork server (and its imports) when the worker starts."""

    name = "labs-warm-fork-server"

    def setup(self, worker: Any) -> None:
        from labs.grading.sandbox import ZYGOTE

        ZYGOTE.start()


def warm_workers(client: Any) -> None:
    """Have every worker of ``client`` (present and future) start its fork server now, not at its first job."""
    try:
        from distributed.diagnostics.plugin import WorkerPlugin

        plugin = type("WarmUp", (_WarmUp, WorkerPlugin), {})()
        client.register_plugin(plugin)
    except Exception:  # noqa: BLE001 - an optimisation only: the first job starts it otherwise
        pass


def _fork_server_ready() -> bool:
    from labs.grading.sandbox import ZYGOTE

    ZYGOTE.wait_ready()
    return True


def wait_until_warm(client: Any) -> None:
    """Block until every current worker of ``client`` has its fork server's imports done (benchmarks time
    grading on warm workers, as a long-lived cluster has them)."""
    client.run(_fork_server_ready)


@contextmanager
def dask_executor(root: Path, *, scheduler: str | None = None, cluster: ClusterKind | None = None,
                  jobs: int | None = None) -> Iterator[Executor]:
    """A ``concurrent.futures.Executor`` on a Dask cluster: the scheduler at ``scheduler``, or a new cluster of
    kind ``cluster``; closed (and a cluster this function started, stopped) on exit.

    With an existing scheduler, its own configuration decides ``allowed-failures`` (start it with
    ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1``); a cluster started here takes it from the settings.
    """
    try:
        import dask
        from distributed import Client
    except ImportError as error:
        raise SystemExit("labs: grading on a cluster needs Dask: pip install 'dl-labs[grading,cluster]'") from error
    settings = cluster_settings(root)
    started = None
    with dask.config.set({ALLOWED_FAILURES: settings.allowed_failures}):
        try:
            if scheduler:
                client = Client(scheduler, timeout="20s")
            else:
                started = _start_cluster(cluster or "local", settings, jobs)
                client = Client(started)
        except OSError as error:
            raise SystemExit(f"labs: cannot reach the Dask scheduler {scheduler or ''}: {error}") from error
        warm_workers(client)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
            if started is not None:
                started.close()

