"""Process-tree helpers of the grader: become a subreaper, measure and kill the descendants of a process."""

from __future__ import annotations

import contextlib
import ctypes


def become_subreaper() -> None:
    """Make orphaned descendants (daemons a submission starts) children of this process (Linux only)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def kill_descendants(pid: int | None = None) -> int:
    """Kill every descendant of ``pid`` (default: this process); returns how many were alive."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return 0
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=5)
    return len(children)


def tree_rss(pid: int) -> tuple[int, int]:
    """(resident bytes of ``pid`` itself, resident bytes of all its descendants)."""
    import psutil

    try:
        process = psutil.Process(pid)
        own = process.memory_info().rss
        children = process.children(recursive=True)
    except psutil.Error:
        return 0, 0
    total = 0
    for child in children:
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return own, total


def descendants(pid: int) -> dict[int, float]:
    """pid -> start time of every process below ``pid`` (to kill them later even if they were orphaned)."""
    import psutil

    found = {}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                found[child.pid] = child.create_time()
    return found


def kill_known(known: dict[int, float]) -> None:
    """Kill the processes of ``known`` that still run (checked by start time, so a reused pid is spared)."""
    import psutil

    for pid, started in known.items():
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if process.create_time() == started:
                process.kill()
