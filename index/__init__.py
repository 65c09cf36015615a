"""Ingestion: articles -> sentence-aligned chunks -> embeddings -> Chroma (+ the BM25 index)."""
