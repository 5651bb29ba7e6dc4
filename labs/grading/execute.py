"""Inside a sandbox process: nbgrader's ``Autograde`` with its ``Execute`` swapped for a resilient one.

:class:`ResilientExecute` (built by :func:`_make_resilient_execute`) behaves like nbgrader's ``Execute`` on
a well-behaved notebook and, on a bad one, records what happened in the cell instead of aborting.
:func:`autograde_in_sandbox` runs the converter on a private course and returns the result as a dict.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from labs.authoring import error_output, nbgrader_meta
from labs.grading.jobs import MIB, Limits
from labs.grading.processes import kill_descendants
from labs.grading.seal import PROBE_MIME, VERDICT_MIME
from labs.grading.verdicts import VerdictBook, verdict_preprocessors
from labs.grading.warm import release_spares


def _cell_name(cell: Any, index: int) -> str:
    return nbgrader_meta(cell).get("grade_id") or f"cell {index}"


def _make_resilient_execute() -> type:
    """Build :class:`ResilientExecute` (deferred so that importing this module stays light)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.preprocessors import Execute
    from traitlets import Enum, Float, Integer

    class ResilientExecute(Execute):
        """nbgrader's ``Execute`` that never aborts a notebook: what goes wrong is written into the cells.

        * the kernel dies (``os._exit``, a segfault, the memory watchdog): the cell gets a ``KernelDied``
          error and every later code cell a ``NotRun`` error, so later tests score 0, earlier ones keep
          their points and the graded notebook is kept (plain nbgrader deletes the folder);
        * a cell ignores the timeout's interrupt: same, with ``CellTimeoutError``;
        * the notebook runs past ``time_limit``: the running cell is interrupted and the rest not run;
        * a cell prints more than ``output_limit`` bytes: the excess is dropped (a marker is left on the
          same stream, so a test cell that wrote to stderr still scores 0).
        """

        time_limit = Float(0.0, help="Wall-clock seconds for the whole notebook (0: no limit).").tag(config=True)
        output_limit = Integer(MIB, help="Bytes of stream/display output kept per cell.").tag(config=True)
        shutdown_kernel = Enum(["graceful", "immediate"], "immediate", help=(
            "How the kernel is stopped once the notebook ran: 'immediate' kills it (nothing of a graded "
            "kernel is needed after its last cell; a graceful stop waits about a second for it to exit)."),
        ).tag(config=True)
        events: list[str] = []

        def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> tuple[Any, Any]:
            self._deadline = time.monotonic() + self.time_limit if self.time_limit else None
            self._stopped: str | None = None
            self._done: set[int] = set()
            self._sizes: dict[int, int] = {}
            self._dropped: set[tuple[int, str]] = set()
            try:
                return super().preprocess(nb, resources, km)
            except Exception as error:  # noqa: BLE001 - kernel failed to start or to shut down
                self._stop(f"kernel failure: {type(error).__name__}: {error}".strip())
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code" and index not in self._done:
                        cell.outputs = [error_output("NotRun", f"not run: {self._stopped}")]
                return nb, self.resources if hasattr(self, "resources") else resources

        def _stop(self, reason: str) -> None:
            if self._stopped is None:
                self._stopped = reason
                self.events.append(reason)
                self.shutdown_kernel = "immediate"

        def _get_timeout(self, cell: Any) -> int | None:
            timeout = super()._get_timeout(cell)
            if self._deadline is None:
                return timeout
            left = max(1, int(self._deadline - time.monotonic() + 0.999))
            return left if timeout is None else min(timeout, left)

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
            if cell.cell_type != "code":
                return cell, resources
            name = _cell_name(cell, index)
            if self._stopped is None and self._deadline is not None and time.monotonic() >= self._deadline:
                self._stop(f"notebook time limit of {self.time_limit:g} s reached before {name}")
            if self._stopped is not None:
                cell.outputs = [error_output("NotRun", f"not run: {self._stopped}")]
                self._done.add(index)
                return cell, resources
            try:
                cell, resources = super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                cell.outputs.append(error_output(
                    "KernelDied", "the kernel died while running this cell (it exited, crashed or ran out of "
                    "memory)"))
                self._stop(f"kernel died in {name}")
            except CellTimeoutError as error:
                cell.outputs.append(error_output("CellTimeoutError", f"the cell did not stop: {error}"))
                self._stop(f"{name} did not stop after its timeout (kernel unresponsive)")
            finally:
                self._done.add(index)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error" and (
                        output.get("ename") == "MemoryError" or "can't allocate memory" in output.get("evalue", "")):
                    self.events.append(f"{name}: ran out of memory ({output.get('ename')})")
                elif output.get("output_type") == "error" and output.get("ename") == "CellTimeoutError":
                    self.events.append(f"{name}: timed out")
            return cell, resources

        def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
            msg_type = msg["msg_type"]
            if msg_type not in ("stream", "display_data", "update_display_data") or _is_verdict(msg):
                return super().output(outs, msg, display_id, cell_index)  # errors, results, verdicts always count
            content = msg.get("content", {})
            size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
            used = self._sizes.get(cell_index, 0)
            if used + size <= self.output_limit:
                self._sizes[cell_index] = used + size
                return super().output(outs, msg, display_id, cell_index)
            stream = content.get("name", "stdout") if msg_type == "stream" else "stdout"
            if (cell_index, stream) not in self._dropped:
                self._dropped.add((cell_index, stream))
                self.events.append(f"{_cell_name(self.nb.cells[cell_index], cell_index)}: output over "
                                   f"{self.output_limit} bytes truncated")
                marker = {"msg_type": "stream", "parent_header": msg.get("parent_header", {}), "header": msg["header"],
                          "content": {"name": stream,
                                      "text": f"\n[labs: output truncated, more than {self.output_limit} bytes]\n"}}
                return super().output(outs, marker, None, cell_index)
            return None

    return ResilientExecute


def _is_verdict(msg: dict) -> bool:
    """A sealed test cell's verdict or a probe's fingerprint (kept whatever the output limit)."""
    data = msg.get("content", {}).get("data", {})
    return isinstance(data, dict) and (VERDICT_MIME in data or PROBE_MIME in data)


def _swap_execute(preprocessors: list, resilient: type, around: tuple[type, type] | None = None) -> list:
    """nbgrader's autograde preprocessors with ``Execute`` replaced by ``resilient`` (between ``around``)."""
    from nbgrader.preprocessors import Execute

    swapped = []
    for pp in preprocessors:
        is_execute = pp is Execute or pp in ("nbgrader.preprocessors.Execute", "nbgrader.preprocessors.execute.Execute")
        if is_execute and around is not None:
            swapped.extend([around[0], resilient, around[1]])
        else:
            swapped.append(resilient if is_execute else pp)
    return swapped


def autograde_in_sandbox(jobdir: Path, spec: dict) -> dict:
    """Run nbgrader's Autograde converter on the private course in ``jobdir``; return the result as a dict."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    limits = Limits(**spec["limits"])
    student, assignment = spec["student"], spec["assignment"]
    url = f"sqlite:///{jobdir / 'gradebook.db'}"
    resilient = _make_resilient_execute()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(jobdir)).load_config()
    config.CourseDirectory.root = str(jobdir)
    config.CourseDirectory.db_url = url
    if limits.cell_timeout:
        config.Execute.timeout = limits.cell_timeout
    config.ResilientExecute.time_limit = float(limits.time_limit)
    config.ResilientExecute.output_limit = int(limits.output_limit)
    default = Autograde.class_traits()["autograde_preprocessors"].default()
    current = config.Autograde.get("autograde_preprocessors", default)
    book = VerdictBook(expected=spec.get("expected_records"))
    around = verdict_preprocessors(book) if spec.get("verdicts", True) else None
    config.Autograde.autograde_preprocessors = _swap_execute(list(current), resilient, around)

    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = assignment, student
    converter = Autograde(coursedir=coursedir, config=config)
    converter.force, converter.create_student = True, True
    result: dict[str, Any] = {"status": "graded", "reason": "", "notes": []}
    try:
        converter.start()
    except Exception as error:  # noqa: BLE001 - recorded, the batch goes on
        result.update(status="failed", reason=f"nbgrader could not grade it: {type(error).__name__}: {error}")
    logging.info("notebook graded; cleaning up")
    release_spares()  # warm kernels no notebook used are the grader's, not the submission's
    leftovers = kill_descendants()
    logging.info("cleanup done")
    if leftovers:
        result["notes"].append(f"killed {leftovers} process(es) the submission left running")
    result["notes"].extend(resilient.events + book.notes)
    if book.incomplete:
        resilient.events.insert(0, "test did not complete: " + ", ".join(book.incomplete[:4]))
    if resilient.events and not result["reason"]:
        result["reason"] = "; ".join(resilient.events[:3])
    result["records"] = book.records
    result["flags"] = [asdict(flag) for flag in book.flags]

    scores: dict[str, dict] = {}
    comments: dict[str, dict] = {}
    penalty: dict[str, float | None] = {}
    with Gradebook(url, spec["course_id"]) as gradebook:
        try:
            submission = gradebook.find_submission(assignment, student)
        except Exception:  # noqa: BLE001 - nbgrader failed before creating it
            submission = None
        if submission is not None:
            result["timestamp"] = submission.timestamp.isoformat() if submission.timestamp else None
            for notebook in submission.notebooks:
                scores[notebook.name] = {g.name: g.auto_score for g in notebook.grades}
                comments[notebook.name] = {c.name: c.auto_comment for c in notebook.comments}
                penalty[notebook.name] = notebook.late_submission_penalty
    result.update(scores=scores, comments=comments, late_penalty=penalty)
    mismatch = _cross_check(jobdir / "autograded" / student / assignment, scores)
    if mismatch:
        result["notes"].append(f"gradebook scores differ from the graded notebook ({mismatch}): "
                               "the submission may have written to the gradebook")
        result["status"], result["reason"] = "failed", "gradebook tampering suspected"
    return result


def _cross_check(folder: Path, scores: dict[str, dict]) -> str:
    """Compare the saved scores with nbgrader's own grading of the written notebook; '' when they agree."""
    import nbformat
    from nbgrader.utils import determine_grade, is_grade

    for name, cells in scores.items():
        path = folder / f"{name}.ipynb"
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if is_grade(cell) and cell.cell_type == "code":
                grade_id = cell.metadata.nbgrader["grade_id"]
                expected, _ = determine_grade(cell)
                if grade_id in cells and cells[grade_id] != expected:
                    return f"{grade_id}: saved {cells[grade_id]}, notebook says {expected}"
    return ""
