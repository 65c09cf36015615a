"""The encoder backends: ONNX (fp32, int8) against torch, one export reused, the question path
without torch, and an index that refuses vectors of another precision."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import MODEL_DIR, ROOT, SEED_64, SEEDS

from index import onnx_runner
from index.chunking import split_sentences
from index.embedding import OnnxEmbedder, SentenceTransformerEmbedder, make_embedder, resolve_backend
from index.errors import ConfigError, NewsragError
from index.onnx_export import cpu_has_fast_int8, ensure_onnx, pooling_of
from index.settings import IndexSettings
from index.store import Store

QUERY = "How many drones were intercepted over the Ryazan region?"


def _texts() -> list[str]:
    body = (SEEDS / SEED_64).read_text()
    sentences = [body[s:e] for s, e in split_sentences(body) if len(body[s:e].split()) > 3][:6]
    assert len(sentences) == 6 and any("Ryazan" in s for s in sentences)
    # a short text, and one far over the model's 256 word pieces (truncated the same way by both)
    return [*sentences, "Drones.", " ".join([body] * 3)]


@pytest.fixture(scope="module")
def torch_vectors():
    return SentenceTransformerEmbedder(model="all-MiniLM-L6-v2").embed(_texts())


@pytest.mark.slow
def test_onnx_fp32_gives_the_torch_vectors_in_one_padded_batch(embedder, torch_vectors, monkeypatch):
    assert embedder.backend == "onnx-fp32"
    fp32 = make_embedder(model="all-MiniLM-L6-v2", backend="onnx-fp32", cache_dir=MODEL_DIR)
    monkeypatch.setattr(onnx_runner, "PADDING", float("inf"))  # every text in one batch, padded
    ours = fp32.embed(_texts())
    monkeypatch.undo()  # and in batches of similar length
    assert np.allclose(fp32.embed(_texts()), ours, atol=1e-5)
    assert ours.shape == torch_vectors.shape == (8, 384) and ours.dtype == np.float32
    cosines = np.sum(ours * torch_vectors, axis=1)
    assert cosines.min() > 0.9999, cosines
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # one at a time (no padding) gives the same vectors as the batch
    assert np.allclose(fp32.embed(_texts()[-2:-1])[0], ours[-2], atol=1e-5)


@pytest.mark.slow
def test_onnx_int8_is_close_to_fp32_and_ranks_the_same(torch_vectors):
    int8 = make_embedder(model="all-MiniLM-L6-v2", backend="onnx-int8", cache_dir=MODEL_DIR)
    assert (int8.backend, int8.precision) == ("onnx-int8", "int8")
    ours = int8.embed(_texts())
    assert np.sum(ours * torch_vectors, axis=1).min() > 0.97
    query_int8 = int8.embed([QUERY])[0]
    query_fp32 = SentenceTransformerEmbedder(model="all-MiniLM-L6-v2").embed([QUERY])[0]
    assert np.argmax(ours[:6] @ query_int8) == np.argmax(torch_vectors[:6] @ query_fp32)
    assert "Ryazan" in _texts()[int(np.argmax(ours[:6] @ query_int8))]


@pytest.mark.parametrize(("lengths", "size", "batches"), [
    ([], 32, []),
    ([60, 12, 14, 13], 32, [[1, 3, 2], [0]]),  # a question and its claims: the question alone
    ([12, 13, 14, 60], 2, [[0, 1], [2], [3]]),  # at most ``size`` texts
    ([256] * 5, 2, [[0, 1], [2, 3], [4]]),
    ([10, 17], 32, [[0], [1]]),  # 2 x 17 = 34 positions for 27 tokens: over a quarter more
    ([10, 16], 32, [[0, 1]]),  # 32 for 26
])
def test_texts_are_batched_by_length_with_little_padding(lengths, size, batches):
    assert onnx_runner.length_batches(lengths, size) == batches


@pytest.mark.slow
def test_the_export_runs_in_a_child_process_and_a_failed_one_says_why_in_one_line(embedder, tmp_path):
    """torch and transformers, which the export loads, never enter the process that asked for it
    (a server would hold them until it stops)."""
    code = ("import sys; from pathlib import Path; from index.onnx_export import ensure_onnx; "
            "path = ensure_onnx(Path(sys.argv[1]), Path(sys.argv[2]), 'fp32'); "
            "print(path.stat().st_size > 1_000_000, 'torch' in sys.modules, 'transformers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(embedder.path), str(tmp_path / "models")],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.stdout.split() == ["True", "False", "False"], done.stderr[-2000:]
    assert [p.name for p in (tmp_path / "models").rglob("*.onnx")] == ["fp32.onnx"]
    (tmp_path / "no-model").mkdir()
    with pytest.raises(NewsragError) as failed:  # a folder without a model: the child's one line
        ensure_onnx(tmp_path / "no-model", tmp_path / "models-2", "fp32")
    assert "\n" not in str(failed.value) and "no-model" in str(failed.value)
    assert not list((tmp_path / "models-2").rglob("*.onnx"))


def test_the_export_is_made_once_and_reused(embedder):
    path = embedder.onnx_path
    stamp = path.stat().st_mtime_ns
    assert path.parent.parent == MODEL_DIR and path.name == f"{embedder.precision}.onnx"
    assert ensure_onnx(embedder.path, MODEL_DIR, embedder.precision) == path
    assert path.stat().st_mtime_ns == stamp
    again = make_embedder(model="all-MiniLM-L6-v2", backend=embedder.backend, cache_dir=MODEL_DIR)
    assert again.onnx_path == path
    record = json.loads((path.parent / "export.json").read_text())
    assert record["recipe"] == 1 and embedder.precision in record


def test_embedding_a_question_imports_neither_torch_nor_sentence_transformers(embedder):
    _ = embedder.onnx_path  # exported by this process (with torch), so the child only loads it
    code = ("import sys; from pathlib import Path; from index.embedding import make_embedder; "
            f"e = make_embedder(model='all-MiniLM-L6-v2', backend={embedder.backend!r}, "
            f"cache_dir=Path({str(MODEL_DIR)!r})); v = e.embed_cached([{QUERY!r}]); "
            "print(v.shape, sorted(m for m in ('torch', 'sentence_transformers', 'transformers') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 384) []"


EPYC_AVX2 = "processor\t: 0\nflags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 avx f16c avx2 bmi2 sha_ni vaes\n"


@pytest.mark.parametrize(("cpuinfo", "machine", "fast"), [
    (EPYC_AVX2, "x86_64", False),
    (EPYC_AVX2.replace("avx2", "avx2 avx512f avx512bw avx512_vnni"), "x86_64", True),
    (EPYC_AVX2.replace("avx2", "avx2 avx_vnni"), "x86_64", True),
    ("processor\t: 0\nFeatures\t: fp asimd aes crc32 atomics asimddp\n", "aarch64", True),
    ("processor\t: 0\nFeatures\t: fp asimd aes crc32\n", "aarch64", False),
])
def test_int8_only_where_the_cpu_has_int8_dot_products(cpuinfo, machine, fast):
    assert cpu_has_fast_int8(cpuinfo, machine) is fast


def test_auto_picks_by_cpu_and_falls_back_to_torch_for_models_onnx_does_not_reproduce(tmp_path, monkeypatch,
                                                                                     embedder):
    import index.onnx_export as onnx_export

    # int8 on every CPU: measured faster than fp32 with VNNI (1.99x) and without (1.62x), answers within noise
    for fast in (False, True):
        monkeypatch.setattr(onnx_export, "cpu_has_fast_int8", lambda fast=fast: fast)
        assert resolve_backend("auto", embedder.path) == "onnx-int8"
    assert resolve_backend("onnx-fp32", embedder.path) == "onnx-fp32"
    dense = tmp_path / "dense-model"
    dense.mkdir()
    (dense / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]))
    assert pooling_of(dense) is None and pooling_of(embedder.path) == ("mean", True)
    assert resolve_backend("auto", dense) == "torch"
    with pytest.raises(ConfigError, match="has layers the ONNX backend does not reproduce: set "
                                          "NEWSRAG_EMBED_BACKEND=torch."):
        OnnxEmbedder(model=str(dense), precision="fp32", cache_dir=tmp_path)


def test_an_unknown_backend_is_refused_with_the_known_names():
    with pytest.raises(ConfigError) as caught:
        IndexSettings.from_env({"NEWSRAG_EMBED_BACKEND": "gpu"})
    assert str(caught.value) == ("NEWSRAG_EMBED_BACKEND='gpu' is unknown: use one of auto, onnx-fp32, "
                                 "onnx-int8, torch.")
    assert IndexSettings.from_env({"NEWSRAG_EMBED_BACKEND": "torch"}).embed_backend == "torch"
    assert IndexSettings(home=ROOT / "x").model_path == ROOT / "x" / "models"


def test_an_index_refuses_vectors_of_another_precision(seed_library):
    settings = seed_library.settings
    assert Store(settings=settings, embed_model=seed_library.embedder.name,
                 embed_precision=seed_library.embedder.precision).counts()["articles"] == 2
    other = "int8" if seed_library.embedder.precision == "fp32" else "fp32"
    with pytest.raises(ConfigError) as caught:
        Store(settings=settings, embed_model=seed_library.embedder.name, embed_precision=other)
    assert str(caught.value) == (
        f"The index 'newsrag' at {settings.chroma_path} holds {seed_library.embedder.precision} vectors of "
        f"all-MiniLM-L6-v2, and this embedder makes {other} ones, which would not match: set "
        f"NEWSRAG_EMBED_BACKEND=onnx-{seed_library.embedder.precision} or use a new collection and ingest again.")



def test_chunk_vectors_derived_from_stored_sentence_vectors_are_those_derived_from_scratch(tmp_path, embedder):
    """Ingest with NEWSRAG_CHUNK_VECTORS=sentences reuses the sentence vectors it stores for the
    answerer: the chunk vectors equal a fresh derivation, and stay close to encoding each chunk."""
    from conftest import make_library

    from index.store import ChunkRecord, chunk_id
    from index.vectors import chunk_vectors

    lib = make_library(tmp_path / "home", embedder, chunk_vectors="sentences", chunk_tokens=64)
    lib.ingest([SEEDS])
    for listed in lib.articles():
        record = lib.article(listed.id)
        ids = [chunk_id(record.version, i) for i in range(record.n_chunks)]
        header = lib.chunker.header(record.title or "", record.source, record.published_at)
        chunks = [ChunkRecord(id=cid, article_id=record.id, version=record.version, index=c.index, text=c.text,
                              header_len=c.header_len, start=c.start, end=c.end, sentences=c.sentences)
                  for cid, c in zip(ids, lib.chunker.chunk(record.body, header), strict=True)]
        page = lib.store.chunks.get(ids=ids, include=["embeddings"])
        stored = np.array([page["embeddings"][page["ids"].index(cid)] for cid in ids])
        fresh = chunk_vectors(embedder, [(record.body, chunks)], how="sentences")
        encoded = chunk_vectors(embedder, [(record.body, chunks)], how="encode")
        assert len(chunks) > 1
        np.testing.assert_allclose(stored, fresh, atol=1e-5)
        assert float(np.min(np.sum(fresh * encoded, axis=1))) > 0.8


# ------------------------------------------------------------------------------ late pooling

SHOT = "Drones were shot down over Ryazan, the ministry said."
# word pieces: 0 [CLS], 1 drones, 2 were, 3 shot, 4 down, 5 over, 6-8 ry ##az ##an, 9 ",", 10 the,
# 11 ministry, 12 said, 13 ".", 14 [SEP]


@pytest.mark.parametrize(("spans", "rows"), [
    ([(0, 6)], [1]),  # "Drones"
    ([(7, 11), (17, 21)], [2, 4]),  # "were" + "down": spans apart
    ([(27, 33)], [6, 7, 8]),  # "Ryazan", three word pieces
    ([(22, 33)], [5, 6, 7, 8]),  # "over Ryazan"
    ([(28, 30)], [6, 7]),  # a span cutting word pieces takes every piece it touches
    ([(0, 53)], list(range(1, 14))),  # the whole text: every piece but [CLS] and [SEP]
])
def test_a_group_vector_is_the_mean_state_of_the_word_pieces_in_its_spans(embedder, spans, rows):
    hidden, offsets, vector = embedder._token_states(SHOT)
    assert len(offsets) == 15 and offsets[6] == (27, 29)
    found = embedder.embed_spans(SHOT, [(" ".join(SHOT[a:b] for a, b in spans), spans)])
    expected = hidden[rows].mean(axis=0)
    assert found.shape == (2, 384) and found.dtype == np.float32
    np.testing.assert_allclose(found[1], expected / np.linalg.norm(expected), atol=1e-6)
    # the first row is the text's own vector, the one ``embed`` gives
    np.testing.assert_allclose(found[0], embedder.embed([SHOT])[0], atol=1e-5)


def test_a_group_the_encoder_did_not_read_whole_is_embedded_on_its_own(encoder):
    long = " ".join([SHOT] * 40) + " Kyiv reported 64 drones."  # far past 256 word pieces
    tail, head = (len(long) - 25, len(long)), (0, 6)
    found = encoder.embed_spans(long, [("Kyiv reported 64 drones.", [tail]), ("Drones", [head]),
                                       ("nothing", [])])
    alone = encoder.embed(["Kyiv reported 64 drones.", "nothing", "Drones"])
    # fp32: the same vector whatever else is in the batch. int8 quantizes each batch's activations
    # with one scale, so a text's vector moves a little with its batch: "nothing" alone against the
    # three together measured cosine 0.974 (onnx-int8 on an AVX-512 VNNI EPYC, 2026-12-07)
    same = {"fp32": 0.99999, "int8": 0.96}[encoder.precision]
    assert float(found[1] @ alone[0]) > same  # past the limit: on its own
    assert float(found[3] @ alone[1]) > same  # no span: on its own
    assert float(found[2] @ alone[2]) < 0.99  # within the limit: pooled, not the text alone (0.721 / 0.724)


def test_a_model_that_does_not_mean_pool_embeds_every_group_on_its_own(embedder, monkeypatch):
    monkeypatch.setitem(embedder.__dict__, "_mean_pooled", False)
    monkeypatch.setattr(embedder, "_states", type(embedder._states)())
    found = embedder.embed_spans(SHOT, [("over Ryazan", [(22, 33)])])
    np.testing.assert_allclose(found, embedder.embed([SHOT, "over Ryazan"]), atol=1e-5)


def test_a_claim_pooled_in_its_question_finds_what_the_claim_says(embedder):
    """The claim's vector carries its own meaning, not only the question's: each of two claims is
    closest to the sentence that answers it."""
    question = ("Which city was hit by drones according to the ministry, and which company announced "
                "layoffs in its hardware division?")
    first, second = question.index("Which city"), question.index("and which company")
    found = embedder.embed_spans(question, [("a", [(first, second - 2)]), ("b", [(second, len(question) - 1)])])
    answers = embedder.embed(["Drones struck Ryazan overnight, the defence ministry said.",
                              "The company is cutting jobs in the team that builds its devices."])
    assert np.argmax(answers @ found[1]) == 0 and np.argmax(answers @ found[2]) == 1


@pytest.mark.slow
def test_torch_pools_the_same_claim_and_sentence_vectors_as_onnx(encoder):
    # fp32 reproduces torch; int8 measured cosine 0.9915 for spans, 0.9928 for texts and 0.9920 for
    # pooled spans (onnx-int8 on an AVX-512 VNNI EPYC, 2026-12-07)
    close = {"fp32": 0.9999, "int8": 0.985}[encoder.precision]
    groups = [("over Ryazan", [(22, 33)]), ("were down", [(7, 11), (17, 21)])]
    torch = SentenceTransformerEmbedder(model="all-MiniLM-L6-v2")
    assert np.sum(torch.embed_spans(SHOT, groups) * encoder.embed_spans(SHOT, groups), axis=1).min() > close
    texts, spans = [SHOT, "Drones were seen."], [[(0, 6), (22, 33)], [(0, 6)]]  # two lengths: padded in torch
    (ours, pooled), (theirs, reference) = encoder.embed_pooled(texts, spans), torch.embed_pooled(texts, spans)
    assert np.sum(ours * theirs, axis=1).min() > close
    assert min(float(a @ b) for own, ref in zip(pooled, reference, strict=True)
               for a, b in zip(own, ref, strict=True)) > close


def test_a_batch_pools_each_texts_spans_as_the_text_alone_does(encoder):
    """``embed_pooled`` (ingest: chunks in length batches, padded) gives each span the vector
    ``embed_spans`` gives it from the text run alone, and the texts their ``embed`` vectors."""
    other = "The bank raised its key rate to 15 percent, the highest in two decades."
    texts = [SHOT, other, "Drones."]
    spans = [[(0, 6), (22, 33)], [(0, 8), (27, 35)], [(0, 7), (10, 20)]]  # the last one past the text
    vectors, pooled = encoder.embed_pooled(texts, spans)
    np.testing.assert_allclose(vectors, encoder.embed(texts), atol=1e-5)  # the same batches: the same vectors
    # a span pooled in a batch against the text run alone: int8's one scale per batch measured
    # cosine 0.9897 (onnx-int8 on an AVX-512 VNNI EPYC, 2026-12-07); fp32 gives the same vector
    same = {"fp32": 0.99999, "int8": 0.975}[encoder.precision]
    for text, own, found in zip(texts[:2], spans[:2], pooled[:2], strict=True):
        alone = encoder.embed_spans(text, [(text[a:b], [(a, b)]) for a, b in own])[1:]
        assert np.sum(np.stack(found) * alone, axis=1).min() > same
    assert pooled[2][0] is not None and pooled[2][1] is None
    assert encoder.embed_pooled([], [])[1] == []


def test_a_stored_sentence_vector_is_its_own_plus_its_vector_in_the_chunk():
    from index.vectors import in_chunk

    alone = np.array([[3.0, 4.0], [1.0, 0.0]], dtype=np.float32)  # not yet unit length: made so
    found = in_chunk(alone, [np.array([0.0, 1.0]), None])
    np.testing.assert_allclose(found, [[0.6 / np.sqrt(0.36 + 1.8 ** 2), 1.8 / np.sqrt(0.36 + 1.8 ** 2)], [1.0, 0.0]],
                               atol=1e-6)
    assert alone[0, 0] == 3.0  # the input is left as it was


@pytest.mark.slow
@pytest.mark.parametrize("built_in", ["fp32", "int8"])
def test_auto_keeps_answering_in_the_precision_of_the_index_it_opens(tmp_path, caplog, built_in, embedder,
                                                                      embedder_int8):
    """An index built in fp32 (before int8 became the default, or with NEWSRAG_EMBED_BACKEND=onnx-fp32)
    is read in fp32 by ``auto``, with one log line saying so; an int8 index, in int8, silently."""
    import logging

    from conftest import make_library

    from index.library import Library
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    home = tmp_path / "home"
    make_library(home, embedder if built_in == "fp32" else embedder_int8).ingest([SEEDS])
    assert resolve_backend("auto", embedder.path) == "onnx-int8"
    settings = IndexSettings(home=home, model_dir=MODEL_DIR)  # embed_backend="auto"
    library = Library(settings, check_every=0.0)
    with caplog.at_level(logging.WARNING, logger="newsrag.index"):
        assert (library.embedder.backend, library.embedder.precision) == (f"onnx-{built_in}", built_in)
    assert [r.getMessage() for r in caplog.records] == ([
        f"The index 'newsrag' at {settings.chroma_path} holds fp32 vectors; auto would embed in int8: "
        f"embedding in fp32 (NEWSRAG_EMBED_BACKEND=onnx-int8 and a new collection to change)."]
        if built_in == "fp32" else [])
    answer = Pipeline(RagSettings(index=settings), library=library).ask("How many drones were intercepted?")
    assert answer.status == "answered"
    assert sorted(value for value, _ in answer.direct.values) == ["55 Ukrainian drones", "64 Ukrainian drones"]
    assert library.stats()["embed_precision"] == built_in
    # a new index takes auto's own choice, without a word
    caplog.clear()
    fresh = Library(IndexSettings(home=tmp_path / "fresh", model_dir=MODEL_DIR), check_every=0.0)
    assert fresh.embedder.precision == "int8" and not caplog.records
