"""What sealed test cells and their verdicts cost: ``labs autograde`` of correct submissions with and without.

Grades ``--copies`` correct submissions of each assignment with one worker, alternating runs with verdicts on
and off (``--rounds`` of each), and prints the best seconds per notebook of each and the overhead:

    .venv/bin/python benchmarks/verdict_overhead.py ps01 ps02 --copies 2 --rounds 2

The issue's target: verdicts add less than 10% to the autograde time of a correct submission.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def make_course(folder: Path, assignment: str, copies: int) -> Path:
    """A released copy of the course with ``copies`` solved submissions of ``assignment``."""
    import nbformat
    from conftest import copy_course
    from submissions import solved

    from labs.grading.coursedir import nbgrader

    copy_course(folder, assignments=(assignment,))
    nbgrader(folder, "generate_assignment", assignment, "--force")
    for number in range(copies):
        path = folder / "submitted" / f"solved{number}" / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(solved(assignment, root=folder), path)
    return folder


def seconds_per_notebook(course: Path, assignment: str, verdicts: bool) -> tuple[float, float]:
    """Wall seconds per notebook of one forced ``labs autograde --workers 1`` and the total score."""
    from labs.grading.report import autograded_totals, cell_scores
    from labs.grading.run import autograde

    start = time.perf_counter()
    outcomes = autograde(course, assignment, workers=1, force=True, progress=False, verdicts=verdicts)
    seconds = (time.perf_counter() - start) / len(outcomes)
    totals = autograded_totals(cell_scores(course, assignment))
    return seconds, sum(got for got, _ in totals.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=["ps01", "ps02"])
    parser.add_argument("--copies", type=int, default=2, help="correct submissions graded per run")
    parser.add_argument("--rounds", type=int, default=2, help="runs with verdicts on and off, alternating")
    args = parser.parse_args(argv)
    os.environ.pop("LABS_DB_URL", None)
    print(f"{'assignment':<12}{'plain s/nb':>12}{'sealed s/nb':>13}{'overhead':>10}   (best of {args.rounds}, "
          f"{args.copies} notebooks per run, 1 worker, load {os.getloadavg()[0]:.1f})")
    for assignment in args.assignments:
        folder = Path(tempfile.mkdtemp(prefix="verdict-bench-"))
        try:
            course = make_course(folder, assignment, args.copies)
            best = {True: float("inf"), False: float("inf")}
            scores = {}
            for _ in range(args.rounds):
                for verdicts in (False, True):
                    seconds, scores[verdicts] = seconds_per_notebook(course, assignment, verdicts)
                    best[verdicts] = min(best[verdicts], seconds)
            overhead = 100 * (best[True] / best[False] - 1)
            same = "" if scores[True] == scores[False] else f"  SCORES DIFFER {scores}"
            print(f"{assignment:<12}{best[False]:>12.2f}{best[True]:>13.2f}{overhead:>9.1f}%{same}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
