"""The HTTP benchmark runs end to end under gunicorn with wrk and reports what it promises (timings are never
asserted). About 40 s: set-up (migrations, sandbox CA, 5,000 applications) and one second of wrk per case."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(REPO))

from bench import http_bench  # noqa: E402

CASES = {
    "anon_home", "anon_catalogue", "anon_passport", "anon_verify", "history_5", "catalogue", "passport", "wizard_step", "wizard_post_valid", "wizard_post_invalid", "check", "history_5000",
    "poll_304",
}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make wrk)")
def test_a_tiny_http_run_reports_every_case_the_bytes_and_the_memory(tmp_path, capsys):
    out = tmp_path / "report" / "http.json"
    argv = ["--quick", "--seconds", "1", "--rounds", "1", "--warmup", "0", "--soak-seconds", "3",
            "--port", "8110", "--bare-port", "8111", "--json", str(out)]

    assert http_bench.main(argv) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["cases"]) == CASES
    for name, case in report["cases"].items():
        for side in ("portal", "bare"):
            assert case[side]["requests"] >= 1, (name, side)
            assert {"requests_per_second", "p50_ms", "p99_ms"} <= set(case[side])
        assert case["ratio"] > 0 and case["ratio_result"] in ("PASS", "MISS")
        assert case["p99_result"] in ("PASS", "MISS")
        assert case["clean"], (name, case)  # every answer had the captured status
    statuses = {name: case["status"] for name, case in report["cases"].items()}
    assert statuses["poll_304"] == 304 and statuses["wizard_post_valid"] == 302
    assert set(report["wire"]["pages"]) == {"catalogue", "passport", "wizard_step", "check", "history_5", "history_5000"}
    for page in report["wire"]["pages"].values():
        assert page["assets"] and page["first_visit_gzip6_bytes"] > page["html_gzip6_bytes"] > 0
    assert set(report["wire"]["fragments"]) == {
        "poll_fragment", "wizard_step_fragment", "check_fragment", "wizard_error_fragment",
    }
    assert len(report["rss_after_load_mb"]) == 2 and report["rss_result"] in ("PASS", "MISS")
    assert report["soak"]["samples"] and report["soak"]["result"] in ("PASS", "MISS")
    assert len(report["setup"]["checks"]) == len(CASES)

    printed = capsys.readouterr().out
    for name in CASES:
        assert name in printed
