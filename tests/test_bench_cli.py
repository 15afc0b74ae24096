"""`python -m bench --help` explains instead of running every benchmark."""

import subprocess
import sys
from pathlib import Path

from bench.__main__ import available, split_arguments

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"})


def test_help_lists_every_benchmark_and_runs_none():
    # when: with a database that cannot be reached, so running anything would fail
    run = _bench("--help")
    # then
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: python -m bench")
    assert [line.split()[0] for line in run.stdout.split("benchmarks:\n")[1].splitlines()] == available()


def test_a_benchmarks_help_lists_its_flags_without_a_database():
    run = _bench("jobs", "--help")
    assert run.returncode == 0, run.stderr
    assert "usage: bench jobs" in run.stdout and "--n N" in run.stdout


def test_flags_after_the_names_keep_their_values():
    assert split_arguments(["analytics", "ingest", "--events", "20000", "--quick"]) == (
        ["analytics", "ingest"], ["--events", "20000", "--quick"])
    assert split_arguments([]) == ([], [])
