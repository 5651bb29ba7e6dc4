"""The trusted run: which statements each test cell of the solution completes, what verdicts must match.

``labs release`` (and, when the file is missing or stale, ``labs autograde``) grades the source notebook itself,
with its solutions, in the same sandbox and with the same sealed test cells as a submission, and writes the
records to ``reference/<assignment>.json`` with a digest of the source notebooks' code: an edited notebook is
re-run before its records are used. The file holds no answers (cell names and statement positions).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from labs.grading.jobs import GradeJob, Limits, Status

#: Where the records live, relative to the course root (hidden from submissions while they are graded).
REFERENCE_DIR = "reference"
#: Changes whenever sealing records differently (labs.grading.seal): old records are then re-made.
SEAL_VERSION = 3
log = logging.getLogger(__name__)


@dataclass
class ReferenceRecords:
    """What each test cell of the solution of one assignment completed, and what it was made from."""

    assignment: str
    digest: str
    records: dict[str, dict[str, dict[str, list[str]]]]  # notebook -> test cell -> {"done": [...], "cut": [...]}


def source_digest(root: Path, assignment: str) -> str:
    """sha256 of the code of every source notebook of ``assignment`` (and of the sealing scheme)."""
    import nbformat

    digest = hashlib.sha256(f"seal {SEAL_VERSION}".encode())
    for path in sorted((root / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        digest.update(path.name.encode())
        for cell in nb.cells:
            if cell.cell_type == "code":
                digest.update(cell.source.encode() + b"\0")
    return digest.hexdigest()


def reference_path(root: Path, assignment: str) -> Path:
    """``reference/<assignment>.json`` under the course root."""
    return root / REFERENCE_DIR / f"{assignment}.json"


def load_reference(root: Path, assignment: str) -> ReferenceRecords | None:
    """The stored records, or None when there are none or the source notebooks changed since."""
    path = reference_path(root, assignment)
    if not path.exists():
        return None
    try:
        stored = ReferenceRecords(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None
    return stored if stored.digest == source_digest(root, assignment) else None


def record_reference(root: Path, assignment: str, limits: Limits | None = None) -> ReferenceRecords:
    """Grade the solution in a sandbox with sealed tests, check it gets full marks, store and return the records."""
    from labs.grading.run import batch_base, grade_job

    base = batch_base(root, assignment, limits or Limits())
    files = {f"{name}.ipynb": (root / "source" / assignment / f"{name}.ipynb").read_bytes() for name in base.notebooks}
    job = GradeJob("reference-solution", assignment, base.course_id, base.notebooks, base.config_text, base.template_db,
                   files, base.source_files, base.limits, str(root.resolve()), expected_records=None)
    result = grade_job(job)
    if result.status != Status.GRADED:
        raise RuntimeError(f"the trusted run of the {assignment} solution failed: {result.reason}")
    lost = sorted(f"{nb}/{cell}" for nb, cells in result.scores.items() for cell, score in cells.items()
                  if cell in base.tests.get(nb, {}) and not score)
    if lost:
        raise RuntimeError(f"the {assignment} solution does not pass its own tests: {', '.join(lost)}")
    if result.flags:  # a locked cell or the solution changes what the probes watch: they would accuse students
        details = "; ".join(f"{flag['cell']}: {flag['detail']}" for flag in result.flags[:3])
        raise RuntimeError(f"the {assignment} solution trips the grader's kernel checks: {details}")
    reference = ReferenceRecords(assignment, source_digest(root, assignment), result.records)
    path = reference_path(root, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(reference), indent=1, sort_keys=True) + "\n")
    return reference


def reference_records(root: Path, assignment: str,
                      limits: Limits | None = None) -> dict[str, dict[str, dict[str, list[str]]]]:
    """The records verdicts must match: stored ones when current, else from a new trusted run (slow, logged)."""
    stored = load_reference(root, assignment)
    if stored is None:
        log.warning("%s: no current %s; grading the solution once to make it", assignment,
                    reference_path(root, assignment).relative_to(root))
        stored = record_reference(root, assignment, limits)
    return stored.records
