"""Time nbgrader per assignment: generate the release, autograde a solved and a blank submission, report.

Works on a throw-away copy of the course (nbgrader_config.py and source/), so the repository is untouched:

    .venv/bin/python benchmarks/notebook_autograde.py            # every assignment, grading budget
    .venv/bin/python benchmarks/notebook_autograde.py ps02 --full # also run the solution with the full budget

Prints one row per submission: the wall-clock seconds of its ``nbgrader autograde``, the autograded score, and
the results the notebook prints on lines starting with ``[<assignment>]`` (for ps02: held-out errors of the
2-D fits, MNIST test accuracy on the offline 5,000-image sample, activation scales of the initialisation study).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from labs.grading.coursedir import nbgrader, tool_env
from labs.grading.report import autograded_totals, cell_scores

ROOT = Path(__file__).resolve().parents[1]


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def nbgrader_env(threads: int | None) -> dict[str, str]:
    """The labs tool environment (this interpreter's scripts on PATH) out of grading mode, with ``threads``
    math-library threads for the kernel (None leaves torch's default)."""
    env = tool_env()
    if threads is not None:
        env.update({name: str(threads) for name in THREAD_VARIABLES})
    env.pop("NBGRADER_EXECUTION", None)
    return env


def timed_nbgrader(course: Path, *args: str, threads: int | None = None) -> float:
    """Run ``nbgrader <args>`` in ``course`` (labs' runner, which raises with the log on failure); return seconds."""
    start = time.perf_counter()
    nbgrader(course, *args, env=nbgrader_env(threads))
    return time.perf_counter() - start


def make_course(folder: Path) -> Path:
    """A copy of the course config and sources in ``folder``."""
    shutil.copy2(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    shutil.copytree(ROOT / "source", folder / "source")
    return folder


def submit(course: Path, assignment: str, student: str, notebook: Path) -> None:
    """Place ``notebook`` as the submission of ``student``."""
    target = course / "submitted" / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(notebook, target)


def score(course: Path, assignment: str, student: str) -> tuple[float, float]:
    """(autograded points, autograded maximum) of ``student`` from the course's gradebook."""
    return autograded_totals(cell_scores(course, assignment))[student]


def printed_results(notebook: Path, marker: str) -> list[str]:
    """The lines starting with ``marker`` (e.g. ``[ps02]``) in the notebook's stored outputs."""
    nb = nbformat.read(notebook, as_version=4)
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines += [line.strip() for line in output.get("text", "").splitlines() if line.startswith(marker)]
    return lines


def run_full_budget(notebook: Path, marker: str) -> tuple[float, list[str]]:
    """Execute the solution notebook outside grading mode (full budgets); return seconds and its result lines."""
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    env_before = os.environ.pop("NBGRADER_EXECUTION", None)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    finally:
        if env_before is not None:
            os.environ["NBGRADER_EXECUTION"] = env_before
    seconds = time.perf_counter() - start
    with tempfile.NamedTemporaryFile("w", suffix=".ipynb", delete=False) as handle:
        nbformat.write(nb, handle)
    lines = printed_results(Path(handle.name), marker)
    os.unlink(handle.name)
    return seconds, lines


def benchmark(course: Path, assignment: str, threads: int | None, full: bool) -> None:
    """Release, autograde a solved and a blank submission of ``assignment`` and print the table."""
    marker = f"[{assignment}]"
    release_seconds = timed_nbgrader(course, "generate_assignment", assignment, "--force")
    submit(course, assignment, "solved", ROOT / "source" / assignment / f"{assignment}.ipynb")
    submit(course, assignment, "blank", course / "release" / assignment / f"{assignment}.ipynb")
    rows = []
    for student in ["solved", "blank"]:
        seconds = timed_nbgrader(course, "autograde", assignment, "--student", student, "--create", "--force",
                           threads=threads)
        got, available = score(course, assignment, student)
        graded = course / "autograded" / student / assignment / f"{assignment}.ipynb"
        rows.append((student, seconds, got, available, printed_results(graded, marker)))

    setting = "default" if threads is None else str(threads)
    print(f"{assignment}: nbgrader generate_assignment {release_seconds:.1f} s "
          f"({os.cpu_count()} CPUs, kernel math threads: {setting})")
    print(f"{'submission':<12}{'autograde s':>12}{'score':>12}")
    for student, seconds, got, available, _ in rows:
        print(f"{student:<12}{seconds:>12.1f}{f'{got:g}/{available:g}':>12}")
    for student, *_, lines in rows:
        if lines:
            print(f"results printed by the {student} notebook (grading budget, offline MNIST sample):")
            print("\n".join(f"  {line}" for line in lines))
    if full:
        seconds, lines = run_full_budget(ROOT / "source" / assignment / f"{assignment}.ipynb", marker)
        print(f"full budget run of the solution: {seconds:.1f} s")
        print("\n".join(f"  {line}" for line in lines))
    print()


def main(argv: list[str] | None = None) -> int:
    from labs.grading.coursedir import assignments

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments to time (default: all)")
    parser.add_argument("--full", action="store_true", help="also execute the solution with the full budgets")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course folder and print its path")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP/MKL threads of the grading kernel (labs' own runner uses 1; default: torch's choice)")
    args = parser.parse_args(argv)
    os.environ.pop("LABS_DB_URL", None)  # each temporary course uses its own default SQLite gradebook

    folder = Path(tempfile.mkdtemp(prefix="autograde-bench-"))
    try:
        course = make_course(folder)
        for assignment in args.assignments or assignments(ROOT):
            benchmark(course, assignment, args.threads, args.full)
        if args.keep:
            print(f"course copy kept in {folder}")
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
