"""The short form of ``make soak`` (eval/soak/), run by CI: kill -9 mid-ingest and a re-run;
a Chroma server behind ``newsrag serve``, asked by one client, then by eight, then stopped and
restarted under them. Real processes, real HTTP; a few minutes (each process loads the model)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import MULTIHOP, ROOT


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.multihop
def test_the_short_soak_passes_every_check(tmp_path):
    result = subprocess.run([sys.executable, "-m", "eval.soak", "all", "--short", "--data", str(MULTIHOP),
                             "--work", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["scenario"] for r in lines] == ["kill", "chroma"], result.stdout + result.stderr[-3000:]
    kill, chroma = lines
    assert kill["kills_mid_write"] == 1, kill  # the kill landed while the ingest was writing
    assert kill["rounds_repaired_from_journal"] == 1, kill  # and the re-run repaired first
    assert kill["final_invariants"] == {"orphan_chunks": 0, "missing_chunks": 0, "chunks_without_sentences": 0,
                                        "duplicate_keys": 0, "duplicate_chunks": 0}
    assert kill["identical_to_uninterrupted"] == {"articles": True, "versions": True, "chunks": True,
                                                  "sentences": True}
    assert chroma["one_client_ms"]["requests"] > 0 and chroma["up_ms"]["requests"] > 0
    assert chroma["one_client_ms"]["errors"] == chroma["up_ms"]["errors"] == chroma["other_statuses"] == 0
    assert chroma["recovery_s_after_restart"] is not None
    assert chroma["health_before"] == chroma["health_after"] == {"status": "ok", "articles": 6,
                                                                 "chunks": chroma["health_before"]["chunks"]}
    assert chroma["same_answer_after"] and "503 StoreUnavailableError" in chroma["statuses_by_phase"]["down"]
    assert chroma["messages_503"] and all("unreachable" in m for m in chroma["messages_503"]), chroma
    outage = chroma["upload_during_outage"]  # an upload while Chroma is down waits, then is indexed
    assert outage["accepted"] == 202 and outage["while_down"]["status"] == "queued"
    assert "unreachable" in outage["while_down"]["error"], outage
    assert (outage["status"], outage["added"], outage["articles_with_it"]) == ("done", ["added"], 7)
    assert result.returncode == 0, result.stdout
