"""Repair a submitted notebook against its release notebook so nbgrader can grade it.

Notebooks that went through Google Colab (or an editor that ignores nbgrader) may come back with their
``metadata.nbgrader`` stripped, with new cell ids, with cells duplicated or moved. nbgrader then skips
the answer and test cells it cannot recognise. :func:`repair_notebook` matches every cell of the release
to a cell of the submission - by nbgrader ``grade_id``, by cell id, by identical source (locked cells and
untouched stubs), and for answered cells by position between matched neighbours and similarity to the
stub - then restores the release's nbgrader metadata, the release order, and locked cells that were
deleted. A notebook that needs nothing is returned unchanged (``report.changed`` is False).
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field

from nbformat import NotebookNode

from labs.authoring import nbgrader_meta

#: nbgrader metadata keys that define how a cell is graded (others, like checksum, nbgrader rewrites).
GRADING_KEYS = ("grade", "solution", "locked", "task", "grade_id", "points")


@dataclass
class RepairReport:
    """What :func:`repair_notebook` changed; ``actions`` is the human-readable list."""

    actions: list[str] = field(default_factory=list)
    restored_metadata: list[str] = field(default_factory=list)  # cells that had no nbgrader metadata
    changed_metadata: list[str] = field(default_factory=list)  # cells whose grading metadata was altered
    reinserted: list[str] = field(default_factory=list)  # release cells missing from the submission
    removed_duplicates: list[str] = field(default_factory=list)
    detached_duplicates: list[str] = field(default_factory=list)  # extra copies kept as plain cells
    missing_answers: list[str] = field(default_factory=list)  # answer cells that could not be found
    reordered: bool = False
    matches: dict[str, int] = field(default_factory=dict)  # grade_id -> index in the submitted notebook

    @property
    def changed(self) -> bool:
        """Whether the repaired notebook differs from the submitted one."""
        return bool(self.actions)


def normal_source(source: str) -> str:
    """Source text without trailing spaces or surrounding blank lines (what editors tend to change)."""
    return "\n".join(line.rstrip() for line in source.strip("\n").splitlines()).strip()


_normal = normal_source


def _tracked(release: NotebookNode) -> list[tuple[str, NotebookNode]]:
    """(grade_id, cell) of every release cell nbgrader knows (locked, answer or graded cells)."""
    return [(nbgrader_meta(c)["grade_id"], c) for c in release.cells if nbgrader_meta(c).get("grade_id")]


def _first_pass(nb: NotebookNode, tracked: list[tuple[str, NotebookNode]]) -> dict[int, str]:
    """Match submission cells to release cells by grade_id, then cell id, then identical source."""
    release = dict(tracked)
    by_cell_id = {c.get("id"): gid for gid, c in tracked if c.get("id")}
    by_source: dict[tuple[str, str], list[str]] = {}
    for gid, cell in tracked:
        if nbgrader_meta(cell).get("locked") or nbgrader_meta(cell).get("solution"):
            by_source.setdefault((cell.cell_type, _normal(cell.source)), []).append(gid)
    claimed: dict[int, str] = {}
    for index, cell in enumerate(nb.cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in release:
            claimed[index] = gid
    taken = set(claimed.values())
    for index, cell in enumerate(nb.cells):
        if index in claimed or nbgrader_meta(cell).get("grade_id"):
            continue
        gid = by_cell_id.get(cell.get("id"))
        if gid and gid not in taken and release[gid].cell_type == cell.cell_type:
            claimed[index] = gid
            taken.add(gid)
            continue
        for gid in by_source.get((cell.cell_type, _normal(cell.source)), []):
            if gid not in taken:
                claimed[index] = gid
                taken.add(gid)
                break
        else:
            # an identical copy of an already matched locked cell (Colab "duplicate cell")
            for gid in by_source.get((cell.cell_type, _normal(cell.source)), []):
                if nbgrader_meta(release[gid]).get("locked"):
                    claimed[index] = gid
                    break
    return claimed


def _resolve_duplicates(nb: NotebookNode, claimed: dict[int, str], release: dict[str, NotebookNode],
                        report: RepairReport) -> tuple[dict[str, int], set[int], set[int]]:
    """Pick one submission cell per grade_id. Returns (grade_id -> index, indices to drop, to detach)."""
    by_gid: dict[str, list[int]] = {}
    for index, gid in sorted(claimed.items()):
        by_gid.setdefault(gid, []).append(index)
    chosen: dict[str, int] = {}
    drop: set[int] = set()
    detach: set[int] = set()
    for gid, indices in by_gid.items():
        if len(indices) == 1:
            chosen[gid] = indices[0]
            continue
        ref = release[gid]
        same = [i for i in indices if _normal(nb.cells[i].source) == _normal(ref.source)]
        if nbgrader_meta(ref).get("locked"):
            keep = same[0] if same else indices[0]
        else:
            answered = [i for i in indices if i not in same]
            keep = answered[-1] if answered else indices[-1]  # nbgrader keeps the last copy
        chosen[gid] = keep
        for index in indices:
            if index == keep:
                continue
            if index in same:
                drop.add(index)
                report.removed_duplicates.append(gid)
            else:
                detach.add(index)
                report.detached_duplicates.append(gid)
    return chosen, drop, detach


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False).ratio()


def _match_answers(nb: NotebookNode, tracked: list[tuple[str, NotebookNode]], chosen: dict[str, int],
                   busy: set[int]) -> None:
    """Match answered cells that lost their metadata: same type, between the matched neighbours, most similar."""
    order = [gid for gid, _ in tracked]
    for position, (gid, ref) in enumerate(tracked):
        if gid in chosen or nbgrader_meta(ref).get("locked"):
            continue
        before = max((chosen[g] for g in order[:position] if g in chosen), default=-1)
        after = min((chosen[g] for g in order[position + 1:] if g in chosen), default=len(nb.cells))
        candidates = [i for i in range(before + 1, after)
                      if i not in busy and not nbgrader_meta(nb.cells[i]).get("grade_id")
                      and nb.cells[i].cell_type == ref.cell_type]
        if not candidates:
            continue
        scored = sorted(((_similarity(nb.cells[i].source, ref.source), -i, i) for i in candidates), reverse=True)
        best_score, _, best = scored[0]
        if best_score >= 0.2 or len(candidates) == 1:
            chosen[gid] = best
            busy.add(best)


def _restore_metadata(cell: NotebookNode, ref: NotebookNode, gid: str, report: RepairReport) -> None:
    """Give ``cell`` the release's nbgrader metadata when it is missing or its grading keys differ."""
    mine = nbgrader_meta(cell)
    theirs = nbgrader_meta(ref)
    if not mine:
        report.restored_metadata.append(gid)
    elif any(mine.get(key) != theirs.get(key) for key in GRADING_KEYS if key in theirs or key in mine):
        report.changed_metadata.append(gid)
    else:
        return
    cell.setdefault("metadata", NotebookNode())
    cell.metadata["nbgrader"] = copy.deepcopy(theirs)
    for key in ("deletable", "editable"):
        if key in ref.get("metadata", {}):
            cell.metadata[key] = ref.metadata[key]


def repair_notebook(nb: NotebookNode, release: NotebookNode) -> tuple[NotebookNode, RepairReport]:
    """Return a repaired copy of ``nb`` (matched against ``release``) and a report of what changed."""
    report = RepairReport()
    tracked = _tracked(release)
    if not tracked:
        return nb, report
    release_by_gid = dict(tracked)
    fixed = copy.deepcopy(nb)
    claimed = _first_pass(fixed, tracked)
    chosen, drop, detach = _resolve_duplicates(fixed, claimed, release_by_gid, report)
    busy = set(chosen.values()) | drop | detach
    _match_answers(fixed, tracked, chosen, busy)

    for index in sorted(detach):
        fixed.cells[index].metadata.pop("nbgrader", None)
    for gid, index in chosen.items():
        _restore_metadata(fixed.cells[index], release_by_gid[gid], gid, report)

    # rebuild: release order for matched cells, each followed by the free cells that followed it
    owner: dict[int, str] = {index: gid for gid, index in chosen.items()}
    leading: list[int] = []
    trailing: dict[str, list[int]] = {}
    current: str | None = None
    for index in range(len(fixed.cells)):
        if index in drop:
            continue
        if index in owner:
            current = owner[index]
            trailing.setdefault(current, [])
        elif current is None:
            leading.append(index)
        else:
            trailing[current].append(index)
    cells = [fixed.cells[i] for i in leading]
    for gid, ref in tracked:
        if gid in chosen:
            cells.append(fixed.cells[chosen[gid]])
            cells.extend(fixed.cells[i] for i in trailing.get(gid, []))
        elif nbgrader_meta(ref).get("locked") or nbgrader_meta(ref).get("grade"):
            cells.append(copy.deepcopy(ref))
            report.reinserted.append(gid)
        else:
            report.missing_answers.append(gid)
    old_order = [i for i in range(len(fixed.cells)) if i not in drop]
    new_order = leading + [i for gid, _ in tracked if gid in chosen for i in [chosen[gid], *trailing.get(gid, [])]]
    report.reordered = new_order != old_order
    fixed.cells = cells
    _unique_ids(fixed)
    report.matches = {gid: index for gid, index in chosen.items()}
    _describe(report)
    if not report.actions:
        return nb, report
    return fixed, report


def _unique_ids(nb: NotebookNode) -> None:
    """Make cell ids unique again (duplicated cells share them), keeping the first occurrence."""
    seen: set[str] = set()
    for number, cell in enumerate(nb.cells):
        cell_id = cell.get("id")
        if cell_id is None:
            continue
        if cell_id in seen:
            cell["id"] = f"{cell_id[:50]}-copy{number}"
        seen.add(cell["id"])


def _describe(report: RepairReport) -> None:
    """Fill ``report.actions`` from the other fields."""
    parts = [
        ("restored nbgrader metadata of", report.restored_metadata),
        ("reset altered nbgrader metadata of", report.changed_metadata),
        ("re-inserted missing cells", report.reinserted),
        ("removed identical duplicates of", report.removed_duplicates),
        ("kept extra copies as ungraded cells of", report.detached_duplicates),
    ]
    for text, names in parts:
        if names:
            report.actions.append(f"{text}: {', '.join(names)}")
    if report.reordered:
        report.actions.append("put the cells back in the release order")
