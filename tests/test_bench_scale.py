"""The scale benchmark's smoke form (``make bench-scale-smoke``): every measure at two sizes, and
the plot. Speed is reported, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import MULTIHOP, ROOT


@pytest.mark.slow
@pytest.mark.multihop
def test_the_smoke_form_measures_every_goal_at_two_sizes_and_plots_them(tmp_path):
    assert (MULTIHOP / "corpus.json").is_file()
    out = tmp_path / "scale"
    result = subprocess.run([sys.executable, "-m", "eval.bench_scale", "--smoke", "--out", str(out),
                             "--cache", str(tmp_path / "cache")], cwd=ROOT, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "scale.json").read_text())
    rows = report["sizes"]
    assert [r["target"] for r in rows] == [300, 600] and report["backend"].startswith("onnx")
    for row in rows:
        assert row["chunks"] >= row["target"] and row["disk"]["chunks"] == row["chunks"]
        assert row["ingest"]["chunks"] > 0 and row["ingest"]["chunks_per_s"] > 0
        bm25 = row["bm25"]
        assert len(bm25["updates_s"]) == 3 and bm25["full_rebuild_s"] > 0 and bm25["segments"] >= 1
        assert row["questions_ms"]["n"] == 6 and 0 < row["questions_ms"]["p50"] <= row["questions_ms"]["p95"]
        assert 100 < row["server"]["rss_mb"] <= row["server"]["peak_rss_mb"]
        assert row["server"]["library_list_ms"] > 0 and row["disk"]["mb_per_1000_chunks"] > 0
    assert rows[1]["chunks"] > rows[0]["chunks"]
    assert (out / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"report: {out / 'scale.json'}" in result.stdout
