"""Verdicts checked outside the kernel: a test cell scores only if it proved that it ran to its end.

Two nbgrader preprocessors around ``Execute`` (built by :func:`verdict_preprocessors`):

* :class:`SealTests` replaces the source of every autograded test cell by its sealed version (a new secret per
  cell and run, see :mod:`labs.grading.seal`) and puts a probe cell first and after every cell the student wrote;
* :class:`CheckVerdicts` reads what came back: a test cell without an error whose verdict is missing, carries
  the wrong secret, arrives in another cell, leaves unfinished a statement the trusted run of the solution
  completed or reports a failure swallowed where the trusted run had none gets an
  error output "test did not complete" (so nbgrader scores it 0) and the reason is recorded; a probe whose
  fingerprint changed records a runtime flag naming the cell after which the kernel was tampered with. The
  original sources are put back and the probe cells removed, so the graded notebook looks as before.

With ``expected`` None the preprocessors only record: that is the trusted run of the solution
(:mod:`labs.grading.reference`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from labs.authoring import error_output, is_autograded_test, nbgrader_meta
from labs.grading.audit import Flag
from labs.grading.seal import PROBE_MIME, VERDICT_MIME, changes, payload_of, probe_source, seal

SEAL_KEY = "labs_seal"
PROBE_KEY = "labs_probe"
INCOMPLETE = "TestIncomplete"


#: What a sealed cell reports: "done" - statements (``"line:column"``) that completed at least once, "cut" -
#: those that started and did not complete at least once (an exception, caught by the test itself or not).
Record = dict[str, list[str]]


@dataclass
class VerdictBook:
    """What the two preprocessors share within one grading process: secrets, records, flags and reasons."""

    expected: dict[str, dict[str, Record]] | None = None  # notebook -> test cell -> record; None: record only
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # notebook -> cell key -> secret
    sources: dict[str, dict[str, str]] = field(default_factory=dict)  # notebook -> cell key -> original source
    records: dict[str, dict[str, Record]] = field(default_factory=dict)  # notebook -> test cell -> record seen
    flags: list[Flag] = field(default_factory=list)  # tampering seen while it ran (kind 'kernel')
    incomplete: list[str] = field(default_factory=list)  # "test_x (why)"
    notes: list[str] = field(default_factory=list)


def _students(cell: Any) -> bool:
    """Whether the student wrote this code cell (an answer cell, or a cell the release does not have)."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and (bool(meta.get("solution")) or not meta.get("locked"))


def seal_notebook(nb: Any, name: str, book: VerdictBook) -> None:
    """Seal the test cells of ``nb`` and insert a probe first and after every cell the student wrote (in place)."""
    book.secrets[name], book.sources[name] = {}, {}
    cells = [_probe(book, name, 0)]
    for index, cell in enumerate(nb.cells):
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        key = nbgrader_meta(cell).get("grade_id") or f"cell {index}"
        if is_autograded_test(cell):
            secret = secrets.token_hex(16)
            try:
                sealed = seal(cell.source, secret)
            except SyntaxError:
                book.notes.append(f"{key}: not sealed (its source does not parse)")
            else:
                book.secrets[name][key], book.sources[name][key] = secret, cell.source
                cell.metadata[SEAL_KEY] = key
                cell.source = sealed
        if _students(cell):
            cells.append(_probe(book, name, len(cells)))
    nb.cells = cells


def _probe(book: VerdictBook, name: str, number: int) -> Any:
    """A probe cell with a secret of its own (the code cells the student wrote are followed by one)."""
    from nbformat.v4 import new_code_cell

    secret = secrets.token_hex(16)
    cell = new_code_cell(probe_source(secret))
    cell.metadata[PROBE_KEY] = f"probe {number}"
    book.secrets[name][f"probe {number}"] = secret
    return cell


def _not_run(cell: Any) -> bool:
    return any(o.get("output_type") == "error" and o.get("ename") in ("NotRun", "KernelDied", "CellTimeoutError")
               for o in cell.get("outputs", []))


def check_notebook(nb: Any, name: str, book: VerdictBook) -> None:
    """Score what the sealed cells and probes reported, restore the sources and drop the probes (in place)."""
    secrets_of = book.secrets.get(name, {})
    expected = None if book.expected is None else book.expected.get(name, {})
    book.records[name] = {}
    baseline: dict[str, str] | None = None
    last_code = "the first cell"
    cells, incomplete = [], []
    for cell in nb.cells:
        probe_key = cell.metadata.get(PROBE_KEY) if cell.cell_type == "code" else None
        if probe_key is not None:
            baseline = _read_probe(cell, probe_key, secrets_of, baseline, last_code, name, book)
            continue
        cells.append(cell)
        if cell.cell_type != "code":
            continue
        last_code = nbgrader_meta(cell).get("grade_id") or "an unnamed cell"
        key = cell.metadata.pop(SEAL_KEY, None)
        if key is None:
            continue
        cell.source = book.sources[name][key]
        verdicts = [payload_of(o, VERDICT_MIME) for o in cell.get("outputs", [])]
        cell.outputs = [o for o, v in zip(cell.get("outputs", []), verdicts, strict=True) if v is None]
        failed = any(o.get("output_type") == "error" for o in cell.outputs)
        mine = [v for v in verdicts if v is not None and v.get("secret") == secrets_of[key]]
        if failed:
            continue
        why = why_incomplete(mine, None if expected is None else expected.get(key))
        if why is None:
            book.records[name][key] = {"done": mine[0]["done"], "cut": mine[0]["cut"]}
            continue
        cell.outputs.append(error_output(INCOMPLETE, f"test did not complete: {why}"))
        book.incomplete.append(f"{key} ({why})")
        incomplete.append(key)
    if incomplete:
        book.flags.append(Flag(name, incomplete[0], "kernel", f"{len(incomplete)} test cell(s) reported no "
                                      f"error but did not complete: {', '.join(incomplete)}"))
    nb.cells = cells


def _lines(keys: set[str]) -> str:
    lines = sorted({key.split(":")[0].lstrip("f") for key in keys}, key=lambda line: int(line) if line.isdigit() else 0)
    return ("line " if len(lines) == 1 else "lines ") + ", ".join(lines[:5]) + (" ..." if len(lines) > 5 else "")


def why_incomplete(mine: list[dict], expected: Record | None) -> str | None:
    """Why a test cell without an error output did not prove it ran to its end; None if it did.

    It did if every statement the trusted run completed completed here too, and no statement was cut short
    here that the trusted run did not cut short (the test's own ``try/except`` does so in both runs).
    """
    if not mine:
        return "its verdict never arrived (the cell did not run to its end)"
    if len(mine) > 1 or not all(isinstance(mine[0].get(k), list) for k in ("done", "cut")):
        return "its verdict was malformed"
    if expected is None:
        return None
    missing = set(expected["done"]) - set(mine[0]["done"])
    if missing:
        return f"{len(missing)} of its {len(expected['done'])} checks never completed ({_lines(missing)})"
    swallowed = set(mine[0]["cut"]) - set(expected["cut"])
    if swallowed:
        return f"a failure inside it was swallowed ({_lines(swallowed)})"
    return None


def _read_probe(cell: Any, key: str, secrets_of: dict[str, str], baseline: dict[str, str] | None, last_code: str,
                name: str, book: VerdictBook) -> dict[str, str] | None:
    """Compare one probe's fingerprint with the previous one; returns the new baseline."""
    payloads = [payload_of(o, PROBE_MIME) for o in cell.get("outputs", [])]
    mine = [p for p in payloads if p is not None and p.get("secret") == secrets_of.get(key)]
    if not mine or not isinstance(mine[0].get("found"), dict):
        silent = "the grader's check of the kernel did not report"
        if not _not_run(cell) and not any(f.notebook == name and silent in f.detail for f in book.flags):
            book.flags.append(Flag(name, last_code, "kernel",
                                          f"after this cell {silent} (cells are being blanked, altered or "
                                          "their output rewritten)"))
        return baseline
    found = {str(k): str(v) for k, v in mine[0]["found"].items()}
    if baseline is not None:
        changed = changes(baseline, found)
        if changed:
            book.flags.append(Flag(name, last_code, "kernel",
                                          "this cell changed how the kernel runs cells: " + "; ".join(changed[:4])))
    return found


def verdict_preprocessors(book: VerdictBook) -> tuple[type, type]:
    """nbgrader preprocessors (before and after ``Execute``) that seal the test cells and check their verdicts."""
    from nbgrader.preprocessors import NbGraderPreprocessor

    class SealTests(NbGraderPreprocessor):
        """Seal every autograded test cell and add the kernel probes (see :mod:`labs.grading.verdicts`)."""

        def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
            seal_notebook(nb, resources.get("unique_key", "notebook"), book)
            return nb, resources

    class CheckVerdicts(NbGraderPreprocessor):
        """Give 0 to test cells that did not prove they completed; restore sources, drop the probes."""

        def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
            check_notebook(nb, resources.get("unique_key", "notebook"), book)
            return nb, resources

    return SealTests, CheckVerdicts
