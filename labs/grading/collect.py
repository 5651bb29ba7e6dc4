"""Collect stage: place the notebooks of an LMS export (Moodle, Canvas zip) under ``submitted/``.

File names are matched with nbgrader's :class:`~nbgrader.plugins.zipcollect.FileNameCollectorPlugin` (the
plugin ``nbgrader zip_collect`` uses), with ready-made patterns for Moodle and Canvas exports or your own
``named_regexp`` (groups ``student_id`` and ``file_id``). Each student's notebook is renamed to the
release notebook it answers (``Copy of ps01 (2).ipynb`` -> ``ps01.ipynb``) and repaired against the release
(:mod:`labs.grading.repair`): Colab downloads that lost their nbgrader metadata grade like any other.
Nothing is dropped silently: every file that was not collected is listed with the reason.
"""

from __future__ import annotations

import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

from labs.grading.repair import repair_notebook

#: named_regexp patterns of common LMS exports (matched against the path inside the zip).
PRESETS = {
    # Moodle "Download all submissions": "Ada Lovelace_123456_assignsubmission_file_/ps01.ipynb"
    "moodle": r"(?P<student_id>[^/]+?)_(?P<lms_id>\d+)_assignsubmission_(?:file|onlinetext)_/"
              r"(?:.*/)?(?P<file_id>[^/]+)$",
    # Canvas "Download submissions": "lovelaceada_late_123456_7890123_ps01-1.ipynb"
    "canvas": r"(?:.*/)?(?P<student_id>[A-Za-z0-9]+?)(?:_late|_LATE)?_(?P<lms_id>\d+)_\d+_(?P<file_id>[^/]+)$",
    # already sorted: "<student>/<anything>.ipynb"
    "folders": r"(?P<student_id>[^/]+)/(?:.*/)?(?P<file_id>[^/]+)$",
}
IGNORED = re.compile(r"(^|/)(__MACOSX|\.DS_Store|\.ipynb_checkpoints|Thumbs\.db)(/|$)")


@dataclass
class CollectReport:
    """What :func:`collect` did: collected notebooks, repairs, and every file it did not collect."""

    collected: dict[str, list[str]] = field(default_factory=dict)  # student -> written paths
    repaired: dict[str, list[str]] = field(default_factory=dict)  # student -> repair actions
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path in the zip, reason)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (student, reason): collected as they are

    def format(self) -> str:
        """A text summary for the terminal."""
        lines = [f"collected {sum(map(len, self.collected.values()))} notebook(s) from {len(self.collected)} "
                 "student(s)"]
        for student, actions in sorted(self.repaired.items()):
            lines.append(f"  repaired {student}: " + "; ".join(actions))
        for student, reason in self.invalid:
            lines.append(f"  invalid notebook from {student} (collected as is, autograde records it): {reason}")
        if self.skipped:
            lines.append(f"not collected ({len(self.skipped)}):")
            lines.extend(f"  {path}: {reason}" for path, reason in self.skipped)
        return "\n".join(lines)


def slug(name: str) -> str:
    """A student id usable as a folder name: lower case, letters, digits and underscores."""
    text = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")
    return text or "student"


def _collector(regexp: str) -> object:
    from nbgrader.plugins import FileNameCollectorPlugin

    plugin = FileNameCollectorPlugin(named_regexp=regexp, valid_ext=[".ipynb"])
    plugin.log.setLevel(logging.ERROR)
    return plugin


def _choose_regexp(names: list[str], lms: str, regexp: str | None) -> str:
    """The pattern to use: the given one, a preset, or (``auto``) the preset that matches most files."""
    if regexp:
        return regexp
    if lms != "auto":
        return PRESETS[lms]
    counts = {key: sum(bool(re.match(pattern, n)) for n in names if n.endswith(".ipynb"))
              for key, pattern in PRESETS.items()}
    return PRESETS[max(counts, key=lambda key: (counts[key], key != "folders"))]


def _release_name(file_id: str, releases: list[str]) -> str | None:
    """The release notebook a submitted file answers (exact stem, else one the name contains, else the only one)."""
    stem = PurePosixPath(file_id).stem
    if stem in releases:
        return stem
    cleaned = re.sub(r"^(copy of |kopie von |copie de )", "", stem.lower())
    cleaned = re.sub(r"(\s*\(\d+\)|[-_ ]\d+|[-_ ]?(final|v\d+|submission|solution))+$", "", cleaned)
    for name in releases:
        if cleaned == name.lower() or name.lower() in cleaned:
            return name
    return releases[0] if len(releases) == 1 else None


def collect(
    root: Path,
    assignment: str,
    archive: Path,
    *,
    lms: str = "auto",
    regexp: str | None = None,
    force: bool = False,
    repair: bool = True,
) -> CollectReport:
    """Copy the notebooks of ``archive`` (an LMS zip export) to ``submitted/<student>/<assignment>/``."""
    report = CollectReport()
    release_dir = root / "release" / assignment
    releases = sorted(p.stem for p in release_dir.glob("*.ipynb"))
    if not releases:
        raise FileNotFoundError(f"no release notebook in {release_dir}: run `labs release {assignment}` first")
    release_nbs = {name: nbformat.read(release_dir / f"{name}.ipynb", as_version=4) for name in releases}
    with zipfile.ZipFile(archive) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        names = [i.filename for i in infos if not IGNORED.search(i.filename)]
        pattern = _choose_regexp(names, lms, regexp)
        plugin = _collector(pattern)
        chosen: dict[tuple[str, str], tuple[zipfile.ZipInfo, str]] = {}
        ids: dict[str, str] = {}
        for info in infos:
            path = info.filename
            if IGNORED.search(path):
                continue
            if path.lower().endswith((".zip", ".tar", ".gz", ".7z", ".rar")):
                report.skipped.append((path, "an archive inside the export: unpack it and collect it by hand"))
                continue
            if not path.lower().endswith(".ipynb"):
                report.skipped.append((path, "not a notebook"))
                continue
            match = plugin.collect(path)
            if not match:
                report.skipped.append((path, "file name does not match the export pattern"))
                continue
            student = slug(match["student_id"])
            lms_id = match.get("lms_id") or ""
            if ids.setdefault(student, lms_id) != lms_id:  # two people with the same name
                student = f"{student}_{lms_id}"
            target = _release_name(match["file_id"], releases)
            if target is None:
                report.skipped.append((path, f"not one of the release notebooks ({', '.join(releases)})"))
                continue
            key = (student, target)
            if key in chosen:
                older, newer = sorted([chosen[key], (info, path)], key=lambda item: (item[0].date_time, item[1]))
                report.skipped.append((older[1], f"superseded by {newer[1]}"))
                chosen[key] = newer
            else:
                chosen[key] = (info, path)
        for (student, target), (info, path) in sorted(chosen.items()):
            _place(root, assignment, student, target, zf.read(info), path, release_nbs[target], force, repair,
                   report)
    return report


def _place(root: Path, assignment: str, student: str, target: str, content: bytes, path: str,
           release: nbformat.NotebookNode, force: bool, repair: bool, report: CollectReport) -> None:
    """Write one student's notebook (repaired if it parses and needs it)."""
    dest = root / "submitted" / student / assignment / f"{target}.ipynb"
    if dest.exists() and not force:
        report.skipped.append((path, f"{dest.relative_to(root)} exists (use --force to replace it)"))
        return
    try:
        nb = nbformat.reads(content.decode("utf-8"), as_version=4)
    except Exception as error:  # noqa: BLE001 - kept as is; autograde records it as invalid
        report.invalid.append((student, f"{path}: {type(error).__name__}: {str(error)[:120]}"))
    else:
        if repair:
            fixed, repair_report = repair_notebook(nb, release)
            if repair_report.changed:
                report.repaired[student] = repair_report.actions
                content = nbformat.writes(fixed).encode("utf-8")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(content)
    report.collected.setdefault(student, []).append(str(dest.relative_to(root)))
