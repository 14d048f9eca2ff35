"""The signing benchmark runs end to end and reports what it promises (timings are never asserted)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # bench/ is not an installed package
    sys.path.insert(0, str(REPO))

from bench import signing_bench  # noqa: E402


def test_a_tiny_run_reports_every_operation_ratio_and_limit(tmp_path, capsys):
    out = tmp_path / "report" / "bench.json"

    assert signing_bench.main(["--seconds", "0.05", "--rounds", "2", "--warmup", "0.02", "--json", str(out)]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["operations"]) == {
        "bare_signxml_verify", "portal_verify", "raw_rsa_sign", "portal_sign",
        "bare_gost_verify", "portal_gost_verify", "portal_gost_verify_cold",
    }  # fmt: skip
    for stats in report["operations"].values():
        assert stats["iterations"] >= 1
        assert {"mean_us", "p50_us", "p99_us"} <= set(stats)
    assert set(report["ratios"]) == {
        "portal_verify / bare_signxml_verify",
        "portal_sign / raw_rsa_sign",
        "bare_gost_verify / bare_signxml_verify",
        "portal_gost_verify / bare_gost_verify",
        "portal_gost_verify_cold / bare_gost_verify",
        "portal_gost_verify / portal_verify",
    }
    for ratio in report["ratios"].values():
        assert ratio["result"] in (("PASS", "MISS") if ratio["target"] is not None else ("INFO",))
        assert ratio["value"] > 0
    assert set(report["limits"]) == {"bare_gost_verify"}
    assert report["limits"]["bare_gost_verify"]["target_us"] == 5000 and report["limits"]["bare_gost_verify"]["value_us"] > 0
    assert {"cpu_count", "python", "cryptography", "signxml", "lxml"} <= set(report["machine"])
    assert report["setup"]["pki_seconds"] > 0
    assert len(report["setup"]["checks"]) == 7  # every operation was checked once before timing

    printed = capsys.readouterr().out
    for name in [*report["operations"], *report["ratios"]]:
        assert name in printed


def test_a_tiny_history_run_reports_every_operation_and_every_ratio(tmp_path, capsys, monkeypatch):
    from bench import history_bench

    # The bench empties the database DATABASE_URL names: never the one this test run is using.
    monkeypatch.delenv("DATABASE_URL", raising=False)
    out = tmp_path / "report" / "history.json"

    assert history_bench.main(["--seconds", "0.05", "--rounds", "1", "--warmup", "0.01", "--json", str(out)]) == 0

    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report["operations"]) == {
        "bare_flask", "bare_flask_page", "history_5", "history_5000", "history_5000_later_page", "poll_304",
    }
    for stats in report["operations"].values():
        assert stats["iterations"] >= 1
        assert {"mean_us", "p50_us", "p99_us", "requests_per_second"} <= set(stats)
    assert set(report["ratios"]) == {
        "history_5000 / history_5",
        "poll_304 throughput / bare_flask",
        "history_5 / bare_flask_page",
        "history_5000_later_page / history_5000",
    }
    for ratio in report["ratios"].values():
        assert ratio["result"] in (("PASS", "MISS") if ratio["target"] is not None else ("INFO",))
        assert ratio["value"] > 0
    assert {"cpu_count", "python", "flask", "sqlalchemy", "database"} <= set(report["machine"])
    assert len(report["setup"]["checks"]) == 6  # every operation was checked once before timing

    printed = capsys.readouterr().out
    for name in [*report["operations"], *report["ratios"]]:
        assert name in printed
