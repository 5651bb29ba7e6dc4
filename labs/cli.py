"""The ``labs`` command line: one verb per pipeline stage (``labs <verb> --help`` for each)."""

from __future__ import annotations

import argparse
from pathlib import Path

from labs.grading.coursedir import find_course_root


def _release(args: argparse.Namespace) -> int:
    from labs.grading.release import release

    names = release(find_course_root(args.course), args.assignments or None)
    print(f"released: {', '.join(names)}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from labs.grading.report import cell_scores, export_grades, format_table

    root = find_course_root(args.course)
    print(format_table(args.assignment, cell_scores(root, args.assignment)))
    print(f"grades exported to {export_grades(root, root / 'grades.csv')}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from labs.grading.pipeline import demo

    demo(find_course_root(args.course))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per stage."""
    parser = argparse.ArgumentParser(prog="labs", description=__doc__)
    parser.add_argument("--course", type=Path, default=None, help="course folder (default: found from here)")
    verbs = parser.add_subparsers(dest="verb", required=True)

    release = verbs.add_parser("release", help="generate release/ from source/ with nbgrader")
    release.add_argument("assignments", nargs="*", help="assignments to release (default: all)")
    release.set_defaults(run=_release)

    report = verbs.add_parser("report", help="print the score table and export grades.csv")
    report.add_argument("assignment")
    report.set_defaults(run=_report)

    demo = verbs.add_parser("demo", help="release, autograde the example submissions, export and print grades")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labs`` command."""
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
