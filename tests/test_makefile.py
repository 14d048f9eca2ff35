"""The Makefile's own promises: what `make run` serves on."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from webapp.config import REPO_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _run_command(*variables: str) -> str:
    """The `flask run` line `make run` would execute (a dry run: nothing is started or installed)."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "-C", str(REPO_ROOT), "run", *variables],
        check=True, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},  # no PORT or HOST from the caller's shell
    ).stdout
    return next(line for line in printed.splitlines() if " run --host " in line)


def test_make_run_serves_on_127_0_0_1_port_5000_by_default():
    assert _run_command().endswith("run --host 127.0.0.1 --port 5000")


def test_make_run_takes_port_and_host():
    assert _run_command("PORT=8123", "HOST=0.0.0.0").endswith("run --host 0.0.0.0 --port 8123")
    assert _run_command("PORT=8123").endswith("run --host 127.0.0.1 --port 8123")
