"""The ``labs`` command line: one verb per pipeline stage (``labs <verb> --help`` for each).

    labs release [ps ...]                 generate release/ from source/ (nbgrader generate_assignment)
    labs publish ../student-edition       the student edition: release/, helpers without grading code, README
    labs collect ps01 export.zip          LMS zip -> submitted/<student>/ps01/ (repairs Colab notebooks)
    labs autograde ps01 --workers 4       grade in parallel, resumable, with time and memory limits
    labs audit ps01                       flag submissions that tamper with grading
    labs report ps01 [--feedback]         table, statistics, plot, failures, flags (and feedback HTML)
    labs feedback ps01                    feedback HTML per student without the hidden tests
    labs demo                             the whole pipeline on the bundled example submissions
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from labs.grading.coursedir import find_course_root


def _size(text: str) -> int:
    """Parse a size such as ``4G``, ``512M`` or ``1000000`` into bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 4G or 512M)")
    return int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2) or " "))


def _release(args: argparse.Namespace) -> int:
    from labs.grading.release import release

    names = release(find_course_root(args.course), args.assignments or None)
    print(f"released: {', '.join(names)}")
    return 0


def _publish(args: argparse.Namespace) -> int:
    from labs.grading.publish import publish

    names = publish(find_course_root(args.course), args.dest.resolve(), args.assignments or None)
    print(f"student edition of {', '.join(names)} written to {args.dest}")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from labs.grading.collect import collect

    report = collect(find_course_root(args.course), args.assignment, args.archive, lms=args.lms, regexp=args.regexp,
                     force=args.force, repair=not args.no_repair)
    print(report.format())
    return 0


def _autograde(args: argparse.Namespace) -> int:
    from labs.grading.executor import default_workers, local_limits
    from labs.grading.run import autograde

    root = find_course_root(args.course)
    workers = args.workers or default_workers()
    settings = dict(cell_timeout=args.cell_timeout, time_limit=args.time_limit, memory_limit=args.memory_limit,
                    output_limit=args.output_limit)
    if args.scheduler or args.cluster:
        from labs.grading.cluster import dask_executor
        from labs.grading.jobs import Limits

        limits = Limits(threads=args.threads or 1, **settings)
        with dask_executor(root, scheduler=args.scheduler, cluster=args.cluster, jobs=args.jobs) as executor:
            outcomes = autograde(root, args.assignment, force=args.force, students=args.student or None,
                                 limits=limits, repair=not args.no_repair, progress=not args.quiet,
                                 executor=executor, cold_kernels=args.cold_kernels)
    else:
        limits = local_limits(workers, threads=args.threads, **settings)
        outcomes = autograde(root, args.assignment, workers=workers, force=args.force,
                             students=args.student or None, limits=limits, repair=not args.no_repair,
                             progress=not args.quiet, cold_kernels=args.cold_kernels)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.reason or outcome.flags or outcome.repairs:
            extra = [outcome.reason] if outcome.reason else []
            extra += [f"repaired: {'; '.join(a for acts in outcome.repairs.values() for a in acts)}"] \
                if outcome.repairs else []
            extra += [f"{len(outcome.flags)} audit flag(s)"] if outcome.flags else []
            extra += [f"graded on {outcome.worker} in {outcome.seconds:.1f} s"] if outcome.worker else []
            print(f"  {outcome.student} [{outcome.status}] " + " | ".join(extra))
    print(f"{args.assignment}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return 1 if counts.get("error") else 0


def _audit(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from labs.grading.audit import audit_assignment
    from labs.grading.state import load_outcome, save_outcome

    root = find_course_root(args.course)
    results = audit_assignment(root, args.assignment, args.student or None)
    for student, flags in sorted(results.items()):
        outcome = load_outcome(root, args.assignment, student)
        if outcome is not None:
            outcome.flags = [asdict(f) for f in flags]
            save_outcome(root, args.assignment, outcome)
        if flags:
            print(f"{student}:")
            for flag in flags:
                print(f"  {flag.notebook}/{flag.cell} [{flag.kind}] {flag.detail}")
    print(f"{args.assignment}: {sum(bool(f) for f in results.values())} of {len(results)} submissions flagged")
    return 0


def _report(args: argparse.Namespace) -> int:
    from labs.grading.report import cell_scores, export_grades, format_table, write_report

    root = find_course_root(args.course)
    if args.brief:
        print(format_table(args.assignment, cell_scores(root, args.assignment)))
        print(f"grades exported to {export_grades(root, root / 'grades.csv')}")
        return 0
    out = args.out or root / "reports" / args.assignment
    print(write_report(root, args.assignment, out))
    export_grades(root, root / "grades.csv")
    print(f"\nreport written to {out} (grades.csv, questions.csv, scores.png, report.txt); "
          f"grades exported to {root / 'grades.csv'}")
    if args.feedback:
        return _feedback(args)
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from labs.grading.feedback import generate_feedback

    paths = generate_feedback(find_course_root(args.course), args.assignment, args.student or None)
    print(f"feedback written for {len(paths)} notebook(s) under feedback/ (hidden tests removed)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from labs.grading.pipeline import demo

    demo(find_course_root(args.course), workers=args.workers)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per stage."""
    parser = argparse.ArgumentParser(prog="labs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", type=Path, default=None, help="course folder (default: found from here)")
    verbs = parser.add_subparsers(dest="verb", required=True)

    release = verbs.add_parser("release", help="generate release/ from source/ with nbgrader")
    release.add_argument("assignments", nargs="*", help="assignments to release (default: all)")
    release.set_defaults(run=_release)

    publish = verbs.add_parser("publish", help="write the student edition (release/, helpers, README) to DEST")
    publish.add_argument("dest", type=Path, help="folder to write (emptied first), e.g. a clone of the student repo")
    publish.add_argument("assignments", nargs="*", help="assignments to publish (default: all)")
    publish.set_defaults(run=_publish)

    collect = verbs.add_parser("collect", help="place the notebooks of an LMS zip export under submitted/")
    collect.add_argument("assignment")
    collect.add_argument("archive", type=Path, help="the zip exported by Moodle, Canvas, ...")
    collect.add_argument("--lms", choices=["auto", "moodle", "canvas", "folders"], default="auto",
                         help="file-name pattern of the export (default: the one matching most files)")
    collect.add_argument("--regexp", help="nbgrader named_regexp with groups student_id and file_id (overrides --lms)")
    collect.add_argument("--force", action="store_true", help="replace submissions already in submitted/")
    collect.add_argument("--no-repair", action="store_true", help="copy notebooks as they are (no Colab repair)")
    collect.set_defaults(run=_collect)

    grade = verbs.add_parser("autograde", help="autograde submissions in parallel (resumable, sandboxed)")
    grade.add_argument("assignment")
    grade.add_argument("--workers", type=int, default=None, help="students graded at once (default: CPU cores)")
    grade.add_argument("--force", action="store_true", help="regrade students already graded from the same files")
    grade.add_argument("--student", action="append", help="grade only this student (repeatable)")
    grade.add_argument("--cell-timeout", type=int, default=None,
                       help="seconds per cell (default: Execute.timeout of nbgrader_config.py)")
    grade.add_argument("--time-limit", type=float, default=600.0, help="seconds per notebook (default: 600)")
    grade.add_argument("--memory-limit", type=_size, default="4G", help="memory per kernel (default: 4G)")
    grade.add_argument("--output-limit", type=_size, default="1M", help="output kept per cell (default: 1M)")
    grade.add_argument("--threads", type=int, default=None, help="math threads per kernel (default: cores/workers)")
    grade.add_argument("--no-repair", action="store_true", help="grade notebooks as submitted (no Colab repair)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--cold-kernels", action="store_true",
                       help="start every kernel as a new process instead of forking a warm one (slower; for "
                            "comparison)")
    where = grade.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on an existing Dask cluster, e.g. tcp://host:8786 (needs the 'cluster' extra)")
    where.add_argument("--cluster", choices=["local", "slurm", "pbs"],
                       help="start a Dask cluster: local processes, or Slurm/PBS jobs configured in "
                            "nbgrader_config.py (c.LabsCluster)")
    grade.add_argument("--jobs", type=int, default=None,
                       help="with --cluster: worker processes (local) or batch jobs (slurm/pbs) (default: "
                            "c.LabsCluster.jobs, else the CPU cores for local, 1 otherwise)")
    grade.set_defaults(run=_autograde)

    audit = verbs.add_parser("audit", help="flag submissions that tamper with grading")
    audit.add_argument("assignment")
    audit.add_argument("--student", action="append", help="audit only this student (repeatable)")
    audit.set_defaults(run=_audit)

    report = verbs.add_parser("report", help="scores, per-question statistics, plot, failed and flagged submissions")
    report.add_argument("assignment")
    report.add_argument("--out", type=Path, default=None, help="report folder (default: reports/<assignment>)")
    report.add_argument("--feedback", action="store_true", help="also write the students' feedback HTML")
    report.add_argument("--student", action="append", help="feedback only for this student (repeatable)")
    report.add_argument("--brief", action="store_true", help="only print the score table and export grades.csv")
    report.set_defaults(run=_report)

    feedback = verbs.add_parser("feedback", help="feedback HTML per student, without the hidden tests")
    feedback.add_argument("assignment")
    feedback.add_argument("--student", action="append", help="only this student (repeatable)")
    feedback.set_defaults(run=_feedback)

    demo = verbs.add_parser("demo", help="release, autograde the example submissions, export and print grades")
    demo.add_argument("--workers", type=int, default=None, help="students graded at once (default: CPU cores)")
    demo.set_defaults(run=_demo)
    return parser


#: Errors that mean "the command cannot do what was asked" (a missing course, an unknown student, a leak in
#: the student edition): reported in one line, exit status 2. Anything else is a bug and keeps its traceback.
USER_ERRORS = (FileNotFoundError, ValueError, RuntimeError, PermissionError)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labs`` command."""
    import sys

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except USER_ERRORS as error:
        print(f"labs {args.verb}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
