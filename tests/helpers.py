"""Builders the test modules share (imported as ``helpers``; no test module imports another)."""

from __future__ import annotations

from index.language import annotate
from rag.evidence import Candidate
from rag.types import Location


def sentence(text: str, *, source: str | None = None, day: str | None = None, score: float = 0.8,
             article: str | None = None, vector=None) -> Candidate:
    """An evidence sentence of its own article (``article`` names it when two share one), annotated
    by the real spaCy model."""
    article = article or f"{source or 'anon'}-{abs(hash(text)) % 10_000}"
    location = Location(article_id=article, title="t", source=source, published_at=day, url=None,
                        chunk_id=f"{article}-0", start=0, end=len(text))
    (facts,) = annotate([text])
    return Candidate(location=location, text=text, rank=0, facts=facts, score=score, vector=vector)


def numbered(*cands: Candidate) -> list[tuple[int, Candidate]]:
    return list(enumerate(cands, start=1))
