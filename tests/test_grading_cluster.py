"""Grading on a Dask cluster (127.0.0.1 only): a real ``dask scheduler`` and two ``dask worker`` processes.

EXPENSIVE (a minute or two on 2 cores): a few hostile submissions are graded by the local runner, then by the
cluster, then by the cluster again while one worker is killed with SIGKILL. Per-cell scores must be the same
every time, every student graded exactly once, and ``submitted/`` untouched. The Slurm/PBS job scripts made
from the course config are checked as text (there is no batch scheduler here).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import hostile
import pytest
from conftest import file_digests
from test_grading_batch import make_course, scores

from labs.grading.coursedir import tool_env
from labs.grading.jobs import GIB, Limits
from labs.grading.run import autograde
from labs.grading.state import STATE_DIR

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading_cluster")]  # one worker: module fixtures

STUDENTS = ["correct", "blank", "partial", "bug", "segfault", "kill_grader", "not_a_notebook"]
# None of these submissions loops, so generous time limits cost nothing and keep a busy machine from timing out.
LIMITS = Limits(cell_timeout=60, time_limit=300, memory_limit=int(1.5 * GIB), output_limit=1024 * 1024, threads=1)
DASK = str(Path(sys.executable).parent / "dask")


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


class LoopbackCluster:
    """A ``dask scheduler`` and ``workers`` nanny-less ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        self.file = folder / "scheduler.json"
        env = {**tool_env(), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
        self.scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                           "--no-dashboard", "--scheduler-file", str(self.file)],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(self.file.exists, 60, "the scheduler did not start")
        import json

        self.address = json.loads(self.file.read_text())["address"]
        self.workers = [subprocess.Popen([DASK, "worker", self.address, "--nthreads", "1", "--no-nanny",
                                          "--no-dashboard", "--host", "127.0.0.1"],
                                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for _ in range(workers)]
        from distributed import Client

        with Client(self.address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=90)

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    running = LoopbackCluster(tmp_path_factory.mktemp("dask"))
    try:
        yield running
    finally:
        running.close()


def _course(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    root = make_course(tmp_path_factory.mktemp(name))
    cases = hostile.cases()
    hostile.write_corpus(root, [case for case in cases if case.student in STUDENTS])
    return root


@pytest.fixture(scope="module")
def local_scores(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = _course(tmp_path_factory, "local")
    autograde(root, hostile.ASSIGNMENT, workers=2, limits=LIMITS, progress=False)
    return scores(root)


def _dask_autograde(root: Path, address: str):
    from labs.grading.cluster import dask_executor

    with dask_executor(root, scheduler=address) as executor:
        return autograde(root, hostile.ASSIGNMENT, limits=LIMITS, progress=False, executor=executor)


def test_cluster_scores_equal_the_local_runner(cluster, local_scores, tmp_path_factory):
    root = _course(tmp_path_factory, "dask")
    before = file_digests(root / "submitted")
    outcomes = _dask_autograde(root, cluster.address)
    assert sorted(o.student for o in outcomes) == sorted(STUDENTS)
    assert scores(root) == local_scores
    assert file_digests(root / "submitted") == before
    assert {o.worker for o in outcomes if o.worker}, "the report names the worker of each submission"


def test_benchmarks_can_wait_for_warm_workers(cluster):
    from distributed import Client

    from labs.grading.cluster import wait_until_warm, warm_workers

    with Client(cluster.address) as client:
        warm_workers(client)
        wait_until_warm(client)  # returns once each worker's fork server has its imports done
        assert len(client.scheduler_info()["workers"]) >= 1


def test_a_killed_worker_loses_no_grade_and_grades_nothing_twice(cluster, local_scores, tmp_path_factory):
    root = _course(tmp_path_factory, "killed")
    done: dict[str, list] = {}
    thread = threading.Thread(target=lambda: done.setdefault("outcomes", _dask_autograde(root, cluster.address)))
    thread.start()
    state = root / STATE_DIR / hostile.ASSIGNMENT
    # "not_a_notebook" is decided without a worker; wait for the first graded notebook, then kill a worker
    # that is in the middle of another one.
    _wait_for(lambda: len(list(state.glob("*.json"))) >= 2 or not thread.is_alive(), 600, "no result came")
    victim = cluster.workers[-1]
    os.kill(victim.pid, signal.SIGKILL)
    thread.join(900)
    assert not thread.is_alive()
    outcomes = done["outcomes"]
    assert sorted(o.student for o in outcomes) == sorted(STUDENTS), "every student graded exactly once"
    assert scores(root) == local_scores


def test_slurm_and_pbs_job_scripts_come_from_the_course_config(tmp_path):
    from labs.grading.cluster import cluster_settings, job_script

    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.LabsCluster.cores = 8\nc.LabsCluster.memory = '32GB'\nc.LabsCluster.processes = 4\n"
        "c.LabsCluster.queue = 'grading'\nc.LabsCluster.account = 'cs433'\nc.LabsCluster.walltime = '02:00:00'\n"
        "c.LabsCluster.job_extra_directives = ['--constraint=cpu']\n")
    settings = cluster_settings(tmp_path)
    slurm = job_script("slurm", settings)
    for line in ["#SBATCH -p grading", "#SBATCH -A cs433", "#SBATCH -n 1", "#SBATCH --cpus-per-task=8",
                 "#SBATCH -t 02:00:00", "#SBATCH --constraint=cpu", "--nworkers 4", "--nthreads 1"]:
        assert line in slurm, line
    pbs = job_script("pbs", settings)
    for line in ["#PBS -q grading", "#PBS -A cs433", "#PBS -l walltime=02:00:00", "--nworkers 4"]:
        assert line in pbs, line


def test_unknown_cluster_settings_are_named(tmp_path):
    from labs.grading.cluster import cluster_settings

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.LabsCluster.cpus = 8\n")
    with pytest.raises(ValueError, match="unknown c.LabsCluster settings in nbgrader_config.py: cpus"):
        cluster_settings(tmp_path)
