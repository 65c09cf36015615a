"""The short form of ``make soak`` (eval/soak.py), run by CI: kill -9 with re-runs, concurrent
clients, a Chroma server stopped and restarted under load. Real processes, real HTTP."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import MULTIHOP, ROOT


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.multihop
def test_the_short_soak_passes_every_check():
    result = subprocess.run([sys.executable, "-m", "eval.soak", "all", "--short", "--data", str(MULTIHOP)],
                            cwd=ROOT, capture_output=True, text=True, timeout=1200)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["scenario"] for r in lines] == ["kill", "load", "chroma"], result.stdout + result.stderr[-3000:]
    kill, load, chroma = lines
    assert kill["final_invariants"] == {"orphan_chunks": 0, "missing_chunks": 0, "duplicate_keys": 0,
                                        "duplicate_chunks": 0}
    assert kill["identical_to_uninterrupted"] == {"articles": True, "versions": True, "chunks": True}
    assert load["errors"] == 0 and load["requests"] > 0 and load["sigterm_exit_s"] < 10
    assert chroma["other_statuses"] == 0 and chroma["recovery_s_after_restart"] is not None
    assert chroma["health_before"] == chroma["health_after"] and chroma["same_answer_after"]
    assert all("unreachable" in m for m in chroma["messages_503"]), chroma["messages_503"]
    assert result.returncode == 0, result.stdout
