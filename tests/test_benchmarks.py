"""The grading benchmark (benchmarks/autograde_throughput.py) still runs: a two-notebook table, and a catalogue
run that covers every catalogued submission (bugs and correct variants). About 30 s on 2 cores."""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def throughput():  # noqa: ANN201 - the benchmark module
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("autograde_throughput")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_the_catalogue_run_covers_bugs_and_correct_variants(throughput) -> None:
    cases = importlib.import_module("cases.ps01")
    assert throughput.catalogue_size("ps01") == 2 + len(cases.BUGS) + len(cases.VARIANTS)


def test_the_host_speed_probe_times_a_fixed_loop(throughput) -> None:
    assert 0 < throughput.probe_seconds() < 10


@pytest.mark.slow
def test_the_benchmark_prints_its_table(throughput, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["autograde_throughput.py", "--assignments", "ps01", "--submissions", "2", "--modes", "warm"]
    monkeypatch.setattr(sys, "argv", argv)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert throughput.main() == 0
    table = printed.getvalue()
    assert "labs autograde --workers 2 (warm kernels)" in table and "stolen" in table, table
    assert "s/notebook" in table and "probe ms" in table, table
    assert "per-cell scores identical: True; submissions not graded: none" in table, table
