"""Throughput of batch autograding: plain serial ``nbgrader autograde`` vs ``labs autograde --workers N``.

Builds a temporary copy of the course with 20+ ps01 submissions (the correct solution, the blank release
and every catalogued bug, repeated as needed), grades it both ways from a fresh gradebook, checks that the
per-cell scores are identical and prints a table. Run: ``python benchmarks/autograde_throughput.py``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

ASSIGNMENT = "ps01"


def make_course(root: Path, count: int) -> list[str]:
    """A course copy with ``count`` ps01 submissions; returns the student ids."""
    import nbformat
    from cases.ps01 import BUGS
    from submissions import load_release, solved

    from labs.grading.coursedir import nbgrader

    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder / ASSIGNMENT, root / folder / ASSIGNMENT)
    nbgrader(root, "generate_assignment", ASSIGNMENT, "--force")
    kinds = [None, "blank", *BUGS]
    students = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        nb = load_release(ASSIGNMENT, root) if kind == "blank" else solved(ASSIGNMENT, kind, root)
        student = f"s{number:03d}"
        path = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
        students.append(student)
    return students


def scores(root: Path) -> dict[tuple[str, str], float | None]:
    from labs.grading.report import cell_scores

    return {(r.student, r.cell): r.score for r in cell_scores(root, ASSIGNMENT)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=22, help="number of submissions (default 22)")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers (default 2)")
    args = parser.parse_args()

    from labs.grading.executor import default_workers
    from labs.grading.run import autograde, autograde_serial

    with tempfile.TemporaryDirectory(prefix="labs-bench-") as tmp:
        serial_root, parallel_root = Path(tmp) / "serial", Path(tmp) / "parallel"
        students = make_course(serial_root, args.submissions)
        make_course(parallel_root, args.submissions)

        start = time.perf_counter()
        autograde_serial(serial_root, ASSIGNMENT)
        serial = time.perf_counter() - start

        start = time.perf_counter()
        outcomes = autograde(parallel_root, ASSIGNMENT, workers=args.workers, force=True, progress=False)
        parallel = time.perf_counter() - start

        same = scores(serial_root) == scores(parallel_root)
        failed = [o.student for o in outcomes if o.status != "graded"]

    n = len(students)
    print(f"autograde throughput, {n} ps01 submissions, {default_workers()} CPU cores")
    print(f"{'mode':<38}{'seconds':>9}{'notebooks/min':>15}{'speed-up':>10}")
    print(f"{'nbgrader autograde (serial)':<38}{serial:>9.1f}{60 * n / serial:>15.1f}{1.0:>10.2f}")
    label = f"labs autograde --workers {args.workers}"
    print(f"{label:<38}{parallel:>9.1f}{60 * n / parallel:>15.1f}{serial / parallel:>10.2f}")
    print(f"per-cell scores identical: {same}; submissions not graded: {failed or 'none'}")
    return 0 if same and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
