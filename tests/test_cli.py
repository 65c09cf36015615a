"""The command line starts instantly: parsing never imports torch, chromadb, gradio or llama-index."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

HEAVY = ("torch", "sentence_transformers", "chromadb", "gradio", "llama_index", "transformers", "bm25s")


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom ui.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "ingest" in result.stdout and "serve" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_usage_errors_exit_2_and_our_errors_exit_1_in_one_line(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "ui.cli", "frobnicate"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'frobnicate'" in bad.stderr
    env = {"NEWSRAG_HOME": str(tmp_path), "NEWSRAG_CHUNK_OVERLAP": "-1", "PATH": ""}
    ours = subprocess.run([sys.executable, "-m", "ui.cli", "articles", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert ours.returncode == 1
    assert ours.stderr == "error: chunk_overlap=-1 must be 0 or more sentences.\n"


def test_the_english_pipeline_loads_without_torch_and_torch_still_loads_after_or_beside_it():
    """spaCy's thinc would import torch (5 s of a cold question); the pipeline runs on numpy without
    it, and the ONNX export, which needs torch, still gets it in the same process, even while the
    pipeline loads in another thread."""
    code = """
import sys, threading
from index import imports, language
language.parse("Who won?")
print("after spacy:", "torch" in sys.modules)
import thinc.compat
print("thinc has torch:", thinc.compat.has_torch)
print("torch loads:", imports.torch().__name__)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["after spacy: False", "thinc has torch: False", "torch loads: torch"]

    race = """
import sys, threading
from index import imports, language
errors = []
def run(target):
    try:
        target()
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=run, args=(t,)) for t in (imports.torch, lambda: language.parse("Who won?"))]
for t in threads: t.start()
for t in threads: t.join()
print(errors, type(sys.modules["torch"]).__name__, [t.text for t in language.parse("Who won?")])
"""
    result = subprocess.run([sys.executable, "-c", race], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] module ['Who', 'won', '?']"
