"""Evaluation metrics: pure functions of plain data (strings, lists, sets), no I/O, no models.

Retrieval metrics follow the MultiHop-RAG benchmark (Tang & Yang, COLM 2024) exactly, as its
``retrieval_evaluate.py`` computes them: a retrieved chunk is *relevant* when some gold fact, with
spaces and newlines removed, is a substring of the chunk text (title header included) with spaces
and newlines removed, case-sensitive. Over the first 10 chunks: Hits@K is 1 when a relevant chunk
ranks within K; MRR@10 is 1/rank of the first relevant chunk (0 when none); MAP@10 adds, at each
relevant rank, (number of gold facts found there for the first time) / rank, and divides the sum
by min(number of gold facts, 10). Null questions (no gold facts) are skipped by the callers.

Answer metrics are ours (see ``eval/README.md``): citation precision, evidence coverage, answer
containment, refusal precision/recall, and the benchmark's lenient QA score for comparability.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence

TOP = 10  # the benchmark looks at the first 10 retrieved chunks


# ------------------------------------------------------------------------------------ retrieval


def squash(text: str) -> str:
    """``text`` without spaces and newlines, as the benchmark compares facts and chunks."""
    return text.replace(" ", "").replace("\n", "")


def relevant(chunk: str, facts: Iterable[str]) -> bool:
    """Whether a retrieved chunk holds a gold fact (the benchmark's relevance)."""
    body = squash(chunk)
    return any(squash(fact) in body for fact in facts)


def first_relevant_rank(chunks: Sequence[str], facts: Sequence[str], *, k: int = TOP) -> int | None:
    """1-based rank of the first relevant chunk among the first ``k``, or ``None``."""
    for rank, chunk in enumerate(chunks[:k], start=1):
        if relevant(chunk, facts):
            return rank
    return None


def retrieval_scores(chunks: Sequence[str], facts: Sequence[str]) -> dict[str, float]:
    """Hits@4, Hits@10, MRR@10 and MAP@10 of one answerable question (``facts`` non-empty)."""
    if not facts:
        raise ValueError("retrieval_scores needs at least one gold fact: skip null questions.")
    gold = [squash(f) for f in facts]
    found: list[str] = []
    precision_sum = 0.0
    first: int | None = None
    for rank, chunk in enumerate(chunks[:TOP], start=1):
        text = squash(chunk)
        if not any(g in text for g in gold):
            continue
        first = first or rank
        new = 0
        for g in gold:
            if g in text and g not in found:
                new += 1
                found.append(g)
        precision_sum += new / rank
    return {"hits@4": float(first is not None and first <= 4),
            "hits@10": float(first is not None),
            "mrr@10": 1.0 / first if first else 0.0,
            "map@10": precision_sum / min(len(gold), TOP)}


def hits_at_k(first_rank: int | None, k: int) -> float:
    """1.0 when the first relevant chunk ranks within ``k``."""
    return float(first_rank is not None and first_rank <= k)


def reciprocal_rank_at_k(first_rank: int | None, k: int) -> float:
    """1/rank of the first relevant chunk when it ranks within ``k``, else 0 (MRR@k per question)."""
    return 1.0 / first_rank if first_rank is not None and first_rank <= k else 0.0


def evidence_recall(chunk_articles: Sequence[Iterable[str]], gold_articles: Iterable[str], *,
                    k: int = TOP) -> float:
    """Share of the gold articles that some chunk among the first ``k`` comes from (a chunk merged
    from identical copies counts for each of its articles)."""
    gold = set(gold_articles)
    if not gold:
        raise ValueError("evidence_recall needs at least one gold article: skip null questions.")
    seen = set().union(*(set(a) for a in chunk_articles[:k])) if chunk_articles else set()
    return len(gold & seen) / len(gold)


# -------------------------------------------------------------------------------------- answers


def is_gold_fact(quote: str, facts: Iterable[str]) -> bool:
    """A cited sentence is gold evidence when it (spaces removed) lies inside a gold fact, or a
    gold fact lies inside it (our sentence splitter and the benchmark's facts need not agree)."""
    text = squash(quote)
    return bool(text) and any((g := squash(f)) and (text in g or g in text) for f in facts)


def citation_precision(quotes: Sequence[str], facts: Iterable[str]) -> float | None:
    """Share of cited sentences that are gold evidence facts; ``None`` when nothing is cited."""
    if not quotes:
        return None
    facts = list(facts)
    return sum(is_gold_fact(q, facts) for q in quotes) / len(quotes)


def citation_article_precision(cited: Sequence[Iterable[str]], gold_articles: Iterable[str]) -> float | None:
    """Share of citations lying in a gold article (any of the articles a citation names)."""
    if not cited:
        return None
    gold = set(gold_articles)
    return sum(bool(set(c) & gold) for c in cited) / len(cited)


def evidence_coverage(cited: Sequence[Iterable[str]], gold_articles: Iterable[str]) -> float:
    """Share of the gold articles that the answer cites (0 for a refusal)."""
    gold = set(gold_articles)
    if not gold:
        raise ValueError("evidence_coverage needs at least one gold article: skip null questions.")
    seen = set().union(*(set(c) for c in cited)) if cited else set()
    return len(gold & seen) / len(gold)


def normalize(text: str) -> str:
    """Case-folded words: accents kept, punctuation and dashes read as spaces, curly quotes
    straightened ("Bankman-Fried’s" -> "bankman fried s")."""
    text = unicodedata.normalize("NFKC", text).casefold().replace("’", "'").replace("‘", "'")
    return " ".join(re.findall(r"\w+", text))


def contains(answer: str, phrase: str) -> bool:
    """Whether the normalized ``phrase`` occurs in the normalized ``answer`` as whole words."""
    needle = normalize(phrase)
    return bool(needle) and f" {needle} " in f" {normalize(answer)} "


def plain(text: str) -> str:
    """Markdown emphasis and citation markers removed: "**Yes** — both say so [1][2]." -> "Yes —
    both say so." (what a reader sees, and what the benchmark's models answered in)."""
    text = re.sub(r"\[\d+\]", "", text)
    return re.sub(r"(\*\*|__|(?<!\w)[*_]|[*_](?!\w))", "", text)


def lenient_match(prediction: str, gold: str) -> bool:
    """The benchmark's QA score (``qa_evaluate.py``): lower-cased prediction and gold answer share
    at least one whitespace-separated token. Very lenient; reported for comparability only. The
    prediction is read as plain text (``plain``): a Markdown "**Yes**" is the word "Yes"."""
    return bool(set(plain(prediction).lower().split()) & set(gold.lower().split()))


YES, NO = "yes", "no"


def is_verdict_gold(gold: str) -> bool:
    """Whether a gold answer is a yes/no verdict ("Yes", "no")."""
    return normalize(gold) in {YES, NO}


def verdict_matches(verdict: str | None, gold: str) -> bool:
    """Whether a verdict line's value ("Yes", "No") is the gold verdict."""
    return bool(verdict) and normalize(verdict) == normalize(gold)


def refusal_scores(refused: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float | int | None]:
    """Precision (share of refusals that were unanswerable questions) and recall (share of
    unanswerable questions refused); ``None`` where the denominator is 0."""
    if len(refused) != len(unanswerable):
        raise ValueError(f"{len(refused)} refusal flags for {len(unanswerable)} questions.")
    both = sum(r and u for r, u in zip(refused, unanswerable, strict=True))
    n_refused, n_null = sum(map(bool, refused)), sum(map(bool, unanswerable))
    return {"precision": both / n_refused if n_refused else None,
            "recall": both / n_null if n_null else None,
            "refused": n_refused, "unanswerable": n_null,
            "false_refusals": n_refused - both}


# ---------------------------------------------------------------------------------- aggregates


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not ``None``; ``None`` when there are none."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (``q`` a whole number, 1 to 100), by ``statistics.quantiles``: linear
    between the two closest ranks, the lowest value at 0 and the highest at 100 % (p50 of [1, 2, 3,
    4] is 2.5; p95 of 1..20 is 19.05). ``None`` for no values. Every latency of the evaluation, the
    benchmarks and the soak is read so."""
    if not (isinstance(q, int) and 1 <= q <= 100):
        raise ValueError(f"percentile q={q} must be a whole number from 1 to 100.")
    if not values:
        return None
    if q == 100 or len(values) == 1:
        return max(values)
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
