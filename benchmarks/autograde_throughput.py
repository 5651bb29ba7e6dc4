"""Throughput of batch autograding: plain serial ``nbgrader autograde`` vs ``labs autograde --workers N``
with cold kernels (``--cold-kernels``: a new interpreter per notebook) and with warm kernels (the default:
forked from a process that has torch & co. imported, :mod:`labs.grading.warm`), and optionally ``labs
autograde`` on a loopback Dask cluster of 1, 2, 4... worker processes (warm kernels).

For each assignment (default ps01 and ps02) it builds temporary copies of the course with 20+ submissions
(the correct solution, the blank release and every catalogued bug, repeated as needed), grades them every
way from a fresh gradebook, alternating the modes run after run and keeping each mode's best time, checks that
the per-cell scores are identical and prints a table with notebooks a minute and the speed-up over serial
nbgrader. Run: ``python benchmarks/autograde_throughput.py --repeat 2`` (``--assignments ps01`` for one;
``--dask 1,2`` for the cluster rows; the cluster's start-up and its workers' fork-server start are not timed,
as a course's cluster is long-lived; every local run times its fork server's start, as a ``labs`` command pays
it). The machine's other load and the time its host stole (a virtual machine) are measured and printed: compare
figures taken on a quiet machine.
``--catalogue --modes cold,warm`` grades each catalogued submission once (solution, blank, every bug, every
correct variant) and checks warm against cold kernels (the equivalence check for the slower assignments, where
serial nbgrader would take most of an hour).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

SERIAL = "nbgrader autograde (serial)"


def make_course(root: Path, count: int, assignment: str) -> list[str]:
    """A course copy with ``count`` submissions of ``assignment``; returns the student ids."""
    import importlib

    import nbformat
    from submissions import load_release, solved

    from labs.grading.coursedir import nbgrader

    cases = importlib.import_module(f"cases.{assignment}")
    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for folder in ("source", "release", "reference"):
        if (REPO / folder / assignment).is_dir():
            shutil.copytree(REPO / folder / assignment, root / folder / assignment)
        elif (REPO / folder / f"{assignment}.json").is_file():
            (root / folder).mkdir(exist_ok=True)
            shutil.copy(REPO / folder / f"{assignment}.json", root / folder / f"{assignment}.json")
    nbgrader(root, "generate_assignment", assignment, "--force")
    kinds = [None, "blank", *cases.BUGS, *cases.VARIANTS]  # a count below the catalogue's size: the first ones
    students = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        nb = load_release(assignment, root) if kind == "blank" else solved(assignment, kind, root)
        student = f"s{number:03d}"
        path = root / "submitted" / student / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        students.append(student)
    return students


def catalogue_size(assignment: str) -> int:
    """Submissions that cover ``assignment``'s catalogue once: the solution, the blank release, every bug and
    every correct variant."""
    import importlib

    cases = importlib.import_module(f"cases.{assignment}")
    return 2 + len(cases.BUGS) + len(cases.VARIANTS)


class ForeignLoad:
    """Average CPU (in cores) used by processes outside this benchmark while the block runs.

    The machine may be shared: a busy neighbour makes a parallel run look slower than it is, so the
    table reports what the other processes took.
    """

    def __init__(self) -> None:
        self.cores = 0.0
        self.steal = 0.0  # cores' worth of time the hypervisor gave to other machines (Linux: /proc/stat)

    @staticmethod
    def _steal_seconds() -> float:
        """CPU time stolen from this virtual machine so far, in seconds (0 where /proc/stat has no such field)."""
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()
            return int(fields[8]) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def _sample(self) -> dict[int, float]:
        import psutil

        mine = {os.getpid()} | {p.pid for p in psutil.Process().children(recursive=True)}
        times = {}
        for process in psutil.process_iter(["pid", "cpu_times"]):
            if process.info["pid"] not in mine and process.info["cpu_times"] is not None:
                times[process.info["pid"]] = process.info["cpu_times"].user + process.info["cpu_times"].system
        return times

    def _run(self) -> None:
        previous, used, start, stolen = self._sample(), 0.0, time.perf_counter(), self._steal_seconds()
        while not self._stop.wait(1.0):
            current = self._sample()
            used += sum(max(0.0, t - previous.get(pid, t)) for pid, t in current.items())
            previous = current
        elapsed = max(1e-9, time.perf_counter() - start)
        self.cores = used / elapsed
        self.steal = (self._steal_seconds() - stolen) / elapsed

    def __enter__(self) -> ForeignLoad:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def probe_seconds() -> float:
    """Seconds a fixed pure-Python loop takes now (best of 3), run while the machine is otherwise idle: the speed
    the host gives this virtual machine, which can drift by 20% and more within minutes without showing as stolen
    time. Printed beside each mode so that runs taken at different speeds are not compared as equals."""
    best = float("inf")
    for _ in range(3):
        start, total = time.perf_counter(), 0
        for number in range(1_000_000):
            total += number * number
        best = min(best, time.perf_counter() - start)
    return best


def scores(root: Path, assignment: str) -> dict[tuple[str, str], float | None]:
    from labs.grading.report import cell_scores

    return {(r.student, r.cell): r.score for r in cell_scores(root, assignment)}


@dataclass
class Mode:
    """One way of grading: a function grading a course root, and the size of the Dask cluster it needs (0: none)."""

    grade: Callable[[Path], object]
    cluster: int = 0


def _timed_modes(args: argparse.Namespace, assignment: str) -> dict[str, Mode]:
    """Label -> :class:`Mode`, for every mode the benchmark compares."""
    from labs.grading.run import autograde_serial

    modes: dict[str, Mode] = {}
    if "serial" in args.modes:
        modes[SERIAL] = Mode(lambda root: autograde_serial(root, assignment))
    if "cold" in args.modes:
        modes[f"labs autograde --workers {args.workers} --cold-kernels"] = Mode(
            lambda root: _local_grade(root, assignment, args.workers, cold_kernels=True))
    if "warm" in args.modes:
        modes[f"labs autograde --workers {args.workers} (warm kernels)"] = Mode(
            lambda root: _local_grade(root, assignment, args.workers, cold_kernels=False))
    for count in args.dask:
        modes[f"labs autograde, Dask {count} worker process{'es' if count > 1 else ''}"] = Mode(
            lambda root, count=count: _dask_grade(root, count, assignment), cluster=count)
    return modes


def _local_grade(root: Path, assignment: str, workers: int, cold_kernels: bool) -> list:
    """``labs autograde`` on this machine, its fork server started anew (as every ``labs`` command starts it)."""
    from labs.grading.run import autograde
    from labs.grading.sandbox import ZYGOTE

    ZYGOTE.close()
    try:
        return autograde(root, assignment, workers=workers, force=True, progress=False, cold_kernels=cold_kernels)
    finally:
        ZYGOTE.close()  # no idle fork server beside the other modes


class DaskClusters:
    """Loopback Dask clusters of single-threaded worker processes, started and warmed up before any timing
    (a course's cluster is long-lived: its workers start their fork servers once, when they join) and closed at
    the end."""

    def __init__(self) -> None:
        self._open: dict[int, tuple] = {}

    def client(self, workers: int):  # noqa: ANN201 - distributed.Client
        """The client of a running, warm cluster of ``workers`` worker processes."""
        if workers not in self._open:
            from distributed import Client, LocalCluster

            from labs.grading.cluster import wait_until_warm, warm_workers

            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, host="127.0.0.1",
                                   dashboard_address=None)
            client = Client(cluster)
            client.wait_for_workers(workers)
            warm_workers(client)
            wait_until_warm(client)
            self._open[workers] = (cluster, client)
        return self._open[workers][1]

    def close(self) -> None:
        for cluster, client in self._open.values():
            client.close()
            cluster.close()
        self._open.clear()


CLUSTERS = DaskClusters()


def _dask_grade(root: Path, workers: int, assignment: str) -> list:
    """Grade on the warm loopback Dask cluster of ``workers`` worker processes."""
    from labs.grading.executor import local_limits
    from labs.grading.run import autograde

    client = CLUSTERS.client(workers)
    return autograde(root, assignment, force=True, progress=False, limits=local_limits(workers),
                     executor=client.get_executor(pure=False))


def bench(args: argparse.Namespace, assignment: str, tmp: Path) -> bool:
    """Grade ``assignment`` every way, print its table; True when the scores agree and nothing failed."""
    from labs.grading.executor import default_workers

    modes = _timed_modes(args, assignment)
    roots = {label: tmp / f"{assignment}-mode{i}" for i, label in enumerate(modes)}
    students: list[str] = []
    count = catalogue_size(assignment) if args.catalogue else args.submissions
    for root in roots.values():
        students = make_course(root, count, assignment)
    runs: dict[str, list[tuple[float, float, float, float, float]]] = {label: [] for label in modes}
    failed: list[str] = []
    for _ in range(args.repeat):  # alternate the modes; keep the best time of each
        for label, mode in modes.items():
            if mode.cluster:  # started, its fork servers warm, before its timing; closed after (an idle
                CLUSTERS.client(mode.cluster)  # cluster beside another mode would take CPU from it)
            before = probe_seconds()
            with ForeignLoad() as load:
                start = time.perf_counter()
                outcomes = mode.grade(roots[label])
            wall = time.perf_counter() - start
            CLUSTERS.close()
            outcomes = list(outcomes or [])
            per_job = sum(o.seconds for o in outcomes) / len(outcomes) if outcomes else float("nan")
            probe = (before + probe_seconds()) / 2
            runs[label].append((wall, load.cores, load.steal, per_job, 1000 * probe))
            failed += [o.student for o in outcomes if o.status != "graded"]
    first = next(iter(roots))  # serial nbgrader when it ran: the reference the others must equal
    reference = scores(roots[first], assignment)
    same = all(scores(root, assignment) == reference for root in roots.values())

    n = len(students)
    serial = min(runs[first])[0]
    print(f"\nautograde throughput, {n} {assignment} submissions, {default_workers()} CPU cores, "
          f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ratio = "x serial" if first == SERIAL else "x row 1"
    print(f"{'mode':<52}{'seconds':>9}{'notebooks/min':>15}{ratio:>10}{'s/notebook':>12}{'other load':>12}"
          f"{'stolen':>10}{'probe ms':>10}")
    for label, values in runs.items():
        seconds, other, steal, per_job, probe = min(values)
        print(f"{label:<52}{seconds:>9.1f}{60 * n / seconds:>15.1f}{serial / seconds:>10.2f}{per_job:>12.1f}"
              f"{other:>8.2f} cpu{steal:>6.2f} cpu{probe:>10.0f}")
    if args.repeat > 1:
        print("best of", args.repeat, "runs; all runs (seconds, other load, stolen, s/notebook, probe ms):",
              {mode: [tuple(round(x, 2) for x in run) for run in values] for mode, values in runs.items()})
    print(f"per-cell scores identical: {same}; submissions not graded: {sorted(set(failed)) or 'none'}")
    return same and not failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assignments", default="ps01,ps02", help="comma-separated (default ps01,ps02)")
    parser.add_argument("--submissions", type=int, default=22, help="submissions per assignment (default 22)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each mode, best kept (default 1)")
    parser.add_argument("--modes", type=lambda text: text.split(","), default=["serial", "cold", "warm"],
                        help="comma-separated subset of serial,cold,warm (default all; the first is the reference)")
    parser.add_argument("--catalogue", action="store_true",
                        help="one submission per catalogued kind (solution, blank, bugs, variants), not --submissions")
    parser.add_argument("--dask", type=lambda text: [int(n) for n in text.split(",") if n], default=[],
                        help="also grade on loopback Dask clusters of these worker counts, e.g. 1,2,4")
    args = parser.parse_args()

    ok = True
    with tempfile.TemporaryDirectory(prefix="labs-bench-") as tmp:
        for assignment in [a for a in args.assignments.split(",") if a]:
            ok = bench(args, assignment, Path(tmp)) and ok
    print("\ns/notebook: mean wall time of one notebook in its sandbox (labs modes; nan for serial nbgrader); "
          "other load: CPU cores used by processes outside the benchmark meanwhile (0 on a quiet machine); "
          "stolen: cores' worth of time a virtual machine's host gave to other machines (0 on a quiet host); "
          "probe ms: a fixed pure-Python loop timed just before and after the mode on the idle machine (the host's "
          "speed then: compare rows taken at similar values)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
