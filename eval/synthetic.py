"""A synthetic news library of any size, recombined from a real corpus, for scale benchmarks.

Each synthetic article takes runs of consecutive sentences from three articles of the corpus,
in paragraphs, under the first one's title, with an outlet of the corpus and a date in 2023; no two
texts are the same, and every sentence is a real news sentence. ``CorpusEmbedder`` embeds each
distinct corpus sentence once; as the embedder of a library with ``chunk_vectors="sentences"`` it
lets a 100,000-chunk index be filled without encoding 100,000 chunks (its chunk vectors are the
word-piece-weighted means of real sentence vectors, as ``index.vectors`` makes them), while the
encoder's own speed is measured separately on new articles.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from index.chunking import split_sentences

if TYPE_CHECKING:
    import numpy as np

RUNS_PER_ARTICLE = 3
SENTENCES_PER_RUN = (10, 18)
SENTENCES_PER_PARAGRAPH = 4


def corpus_sentences(articles: Sequence[dict]) -> list[list[str]]:
    """The sentences of each article (those of four words or more)."""
    out = []
    for article in articles:
        body = article["body"]
        out.append([body[s:e] for s, e in split_sentences(body) if len(body[s:e].split()) >= 4])
    return out


def synthetic_articles(articles: Sequence[dict], count: int, *, seed: int, start: int = 0) -> Iterator[dict]:
    """``count`` recombined articles, numbered from ``start`` (same seed and number, same article)."""
    sentences = corpus_sentences(articles)
    usable = [i for i, s in enumerate(sentences) if len(s) >= SENTENCES_PER_RUN[0]]
    outlets = sorted({a["source"] for a in articles if a.get("source")})
    for number in range(start, start + count):
        rng = random.Random(f"{seed}:{number}")
        picked = rng.sample(usable, RUNS_PER_ARTICLE)
        chosen: list[str] = []
        for i in picked:
            length = min(rng.randint(*SENTENCES_PER_RUN), len(sentences[i]))
            first = rng.randrange(0, len(sentences[i]) - length + 1)
            chosen += sentences[i][first:first + length]
        paragraphs = [_join(chosen[p:p + SENTENCES_PER_PARAGRAPH])
                      for p in range(0, len(chosen), SENTENCES_PER_PARAGRAPH)]
        lead = articles[picked[0]]
        yield {"title": f"{lead['title']} (digest {number})", "source": rng.choice(outlets),
               "published_at": f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T12:00:00+00:00",
               "author": lead.get("author") or None, "category": lead.get("category") or None,
               "url": f"https://synthetic.example/{seed}/{number}", "body": "\n\n".join(paragraphs)}


def _join(sentences: Sequence[str]) -> str:
    """Sentences as a paragraph; one without end punctuation (a heading) keeps its line break, so
    the paragraph splits into the same sentences again."""
    text = ""
    for sentence in sentences:
        if text:
            text += " " if text.rstrip("\"'”’)]")[-1:] in ".!?…" else "\n"
        text += sentence
    return text


def write_jsonl(articles: Iterator[dict], folder: Path, *, per_file: int = 300) -> list[Path]:
    """Articles as JSONL files of ``per_file`` articles (each well under the file size limit)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    handle = None
    for i, article in enumerate(articles):
        if i % per_file == 0:
            if handle:
                handle.close()
            paths.append(folder / f"part-{len(paths):05d}.jsonl")
            handle = open(paths[-1], "w")  # noqa: SIM115 (closed when the next file opens, or below)
        handle.write(json.dumps(article, ensure_ascii=False) + "\n")
    if handle:
        handle.close()
    return paths


class FactTable:
    """An annotator that finds each distinct sentence's facts once: recombined articles repeat the
    corpus sentences, and the benchmark measures the real annotator in its ``ingest`` step."""

    def __init__(self, annotate):
        self.real = annotate
        self.table: dict = {}
        self.misses = 0

    def __call__(self, sentences: Sequence[str]) -> list:
        missing = list(dict.fromkeys(s for s in sentences if s not in self.table))
        if missing:
            self.misses += len(missing)
            self.table.update(zip(missing, self.real(missing), strict=True))
        return [self.table[s] for s in sentences]


class CorpusEmbedder:
    """An embedder whose vectors of the corpus sentences are computed once (and kept in a file);
    any other text (a title header) goes to the real embedder."""

    def __init__(self, real, texts: Sequence[str], *, cache: Path | None = None):
        import numpy as np

        self.real = real
        self.name, self.backend, self.precision = real.name, real.backend, real.precision
        self.max_tokens = real.max_tokens
        unique = sorted(set(texts))
        vectors = None
        if cache is not None and cache.is_file():
            with np.load(cache, allow_pickle=False) as data:
                if data["texts"].tolist() == unique:
                    vectors = data["vectors"]
        if vectors is None:
            vectors = real.embed(unique)
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cache, texts=np.array(unique, dtype=str), vectors=vectors)
        self.table = dict(zip(unique, vectors, strict=True))
        self.misses = 0

    @property
    def dimension(self) -> int:
        return self.real.dimension

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def token_starts(self, text: str) -> list[int]:
        return self.real.token_starts(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        missing = list(dict.fromkeys(t for t in texts if t not in self.table))
        if missing:
            self.misses += len(missing)
            self.table.update(zip(missing, self.real.embed(missing), strict=True))
        return np.stack([self.table[t] for t in texts]) if texts else self.real.embed([])

    def embed_cached(self, texts: Sequence[str]) -> np.ndarray:
        return self.real.embed_cached(texts)

    def embed_spans(self, text: str, groups) -> np.ndarray:
        return self.real.embed_spans(text, groups)

    def embed_pooled(self, texts: Sequence[str], spans) -> tuple[np.ndarray, list]:
        """The remembered vectors, and no sentence read in its chunk: the scale library stores each
        sentence's own vector (running the encoder over every chunk is what this class avoids)."""
        return self.embed(texts), [[None] * len(own) for own in spans]
