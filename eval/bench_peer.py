"""newsrag beside the stock LlamaIndex pipeline, on the same corpus, in the same run.

The peer is what the LlamaIndex documentation builds: ``SentenceSplitter(chunk_size=256,
chunk_overlap=32)``, ``HuggingFaceEmbedding`` of the same packaged model (torch, its default batch
size), ``VectorStoreIndex`` over a Chroma collection on disk, ``as_retriever(similarity_top_k=k)``.
Both sides load their model before the clocks start. Each run builds both indexes afresh, ours
first then the peer's, so the machine's load hits both; ratios are per run, then the median.

Ingestion is compared as the time to index the whole corpus (the two split it into different
chunks, so chunks/s are shown but the corpus time is the ratio); retrieval as the latency of one
question, ours being the whole hybrid retrieval (question embedding, dense, BM25, fusion, chunk
reads) with the embedding cache cleared before each question.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from eval.metrics import percentile


class Peer:
    """The stock LlamaIndex pipeline, model loaded once."""

    def __init__(self, model_path: Path):
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        self.embed_model = HuggingFaceEmbedding(model_name=str(model_path), device="cpu")
        self.embed_model.get_text_embedding("warm up")

    def build(self, articles: list[dict], folder: Path):
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from llama_index.core import Document, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.vector_stores.chroma import ChromaVectorStore

        started = time.perf_counter()
        documents = [Document(text=a["body"], metadata={"title": a.get("title", ""), "source": a.get("source", ""),
                                                         "published_at": a.get("published_at", "")})
                     for a in articles]
        client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
        store = ChromaVectorStore(chroma_collection=client.get_or_create_collection("peer"))
        index = VectorStoreIndex.from_documents(
            documents, storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=self.embed_model, transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=32)])
        seconds = time.perf_counter() - started
        return index, seconds, store._collection.count()


def bench_peer(corpus: Path, runs: int, questions_path: Path, *, k: int = 8, questions: int | None = None) -> dict:
    from index.embedding import resolve_model_path
    from index.library import Library
    from index.settings import IndexSettings
    from rag.retrieval import HybridRetriever
    from rag.settings import RagSettings

    articles = json.loads(corpus.read_text())
    asked = [q["query"] for q in json.loads(questions_path.read_text())][:questions]
    peer = Peer(resolve_model_path("all-MiniLM-L6-v2"))
    per_run = []
    with tempfile.TemporaryDirectory() as models:
        embedder = None
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as home:
                settings = IndexSettings(home=Path(home) / "ours", model_dir=Path(models))
                library = Library(settings, embedder=embedder)
                embedder = library.embedder
                embedder.embed(["warm up"])  # export (first run) and load outside the clock
                started = time.perf_counter()
                report = library.ingest([corpus])
                ours_s = time.perf_counter() - started
                peer_index, peer_s, peer_chunks = peer.build(articles, Path(home) / "peer")
                retriever = HybridRetriever(library=library, settings=RagSettings(index=settings, top_k=k))
                peer_retriever = peer_index.as_retriever(similarity_top_k=k)
                retriever.retrieve(asked[0])
                peer_retriever.retrieve(asked[0])
                ours_ms, peer_ms = [], []
                for question in asked:
                    embedder._cache.clear()
                    t0 = time.perf_counter()
                    retriever.retrieve(question)
                    t1 = time.perf_counter()
                    peer_retriever.retrieve(question)
                    t2 = time.perf_counter()
                    ours_ms.append((t1 - t0) * 1000)
                    peer_ms.append((t2 - t1) * 1000)
                per_run.append({
                    "ours_ingest_s": ours_s, "peer_ingest_s": peer_s,
                    "ours_chunks": report.chunks_written, "peer_chunks": peer_chunks,
                    "ours_chunks_per_s": report.chunks_written / ours_s, "peer_chunks_per_s": peer_chunks / peer_s,
                    "ingest_speedup": peer_s / ours_s,
                    "ours_retrieve_p50_ms": percentile(ours_ms, 50), "peer_retrieve_p50_ms": percentile(peer_ms, 50),
                    "ours_retrieve_p95_ms": percentile(ours_ms, 95), "peer_retrieve_p95_ms": percentile(peer_ms, 95),
                    "retrieve_p50_ratio": percentile(ours_ms, 50) / percentile(peer_ms, 50),
                })
        backend = embedder.backend
    median = {key: round(statistics.median(r[key] for r in per_run), 3) for key in per_run[0]}
    return {"corpus": str(corpus), "articles": len(articles), "questions": len(asked), "runs": runs,
            "our_backend": backend, "median": median,
            "per_run": [{key: round(v, 3) for key, v in r.items()} for r in per_run],
            "summary": (f"ingestion: ours {median['ours_ingest_s']:.1f} s vs peer {median['peer_ingest_s']:.1f} s "
                        f"for the corpus = {median['ingest_speedup']:.2f}x faster; retrieval p50: ours "
                        f"{median['ours_retrieve_p50_ms']:.1f} ms vs peer {median['peer_retrieve_p50_ms']:.1f} ms "
                        f"= ratio {median['retrieve_p50_ratio']:.2f} (ours/peer)")}
