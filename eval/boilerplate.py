"""What boilerplate removal (``index.boilerplate``) takes out of a MultiHop-RAG corpus, and the
check that it never takes a gold evidence fact.

    python -m eval.boilerplate [--data ../shared/datasets/multihop-rag-train] [--json]

The corpus is cleaned twice: at once (one ingest of the whole file) and one article at a time in
the corpus' order, earlier articles cleaned again when a line becomes frequent (what ingesting
the articles one by one does). Both must end with the same texts. Every ``fact`` of every
question's ``evidence_list`` must still be in its article's cleaned text (whitespace normalized).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from index.articles import Article, load_file, normalize_text
from index.boilerplate import LineCounts, clean, clean_all, line_keys, outlet_of

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "multihop-rag-train"


def _flat(text: str) -> str:
    """Whitespace normalized, as a loaded body is (``normalize_text`` drops byte-order marks)."""
    return " ".join(normalize_text(text).split())


def _lines(text: str) -> int:
    return sum(1 for line in text.split("\n") if line.strip())


def load_corpus(data: Path) -> list[Article]:
    corpus = data / "corpus.json"
    if not corpus.is_file():
        raise SystemExit(f"error: {corpus} is missing: pass --data with a MultiHop-RAG folder")
    articles = []
    for item in load_file(corpus, max_bytes=200_000_000):
        if not isinstance(item, Article):
            raise SystemExit(f"error: {item}")
        articles.append(item)
    return articles


def one_at_a_time(articles: list[Article]) -> tuple[list[str], int]:
    """Bodies after ingesting the articles one by one, and how many times an earlier article was
    cleaned again."""
    counts = LineCounts()
    keys = [line_keys(a.body) for a in articles]
    bodies: list[str] = []
    removed: list[set[str]] = []
    again = 0
    for i, article in enumerate(articles):
        counts.add(article.source, keys[i])
        result = clean(article.body, counts.frequent(article.source))
        bodies.append(result.body)
        removed.append(set(result.removed))
        outlet = outlet_of(article.source)
        for j in range(i):
            if outlet is None or outlet_of(articles[j].source) != outlet:
                continue
            due = (counts.frequent(articles[j].source) & set(keys[j])) - removed[j]
            if due:
                result = clean(bodies[j], due)
                if result.removed:
                    bodies[j] = result.body
                    removed[j] |= set(result.removed)
                    again += 1
    return bodies, again


def measure(data: Path) -> dict:
    articles = load_corpus(data)
    cleaned = clean_all((a.source, a.body) for a in articles)
    stepwise, again = one_at_a_time(articles)
    by_url = {a.url: c.body for a, c in zip(articles, cleaned, strict=True)}
    lines = sum(_lines(a.body) for a in articles)
    per_outlet: Counter = Counter()
    for a, c in zip(articles, cleaned, strict=True):
        if c.removed:
            per_outlet[a.source or "(no outlet)"] += _lines(a.body) - _lines(c.body)
    removed_lines = sum(per_outlet.values())
    questions = json.loads((data / "MultiHopRAG.json").read_text())
    facts, lost = 0, []
    for q in questions:
        for evidence in q.get("evidence_list") or ():
            facts += 1
            body = by_url.get(evidence["url"])
            if body is None or _flat(evidence["fact"]) not in _flat(body):
                lost.append({"query_id": q.get("query_id"), "url": evidence["url"], "fact": evidence["fact"]})
    distinct = {(e["url"], e["fact"]) for q in questions for e in q.get("evidence_list") or ()}
    return {"data": str(data), "articles": len(articles), "lines": lines, "removed_lines": removed_lines,
            "distinct_lines_removed": len({(outlet_of(a.source), k) for a, c in zip(articles, cleaned, strict=True)
                                           for k in c.removed}),
            "articles_cleaned": sum(1 for c in cleaned if c.removed), "per_outlet": dict(per_outlet.most_common()),
            "characters": sum(len(a.body) for a in articles),
            "characters_removed": sum(len(a.body) - len(c.body) for a, c in zip(articles, cleaned, strict=True)),
            "one_at_a_time_same": stepwise == [c.body for c in cleaned], "cleaned_again": again,
            "evidence_facts": facts, "distinct_facts": len(distinct), "facts_lost": lost}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.boilerplate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="a MultiHop-RAG folder "
                        "(corpus.json, MultiHopRAG.json)")
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    found = measure(args.data)
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
    else:
        print(f"{found['data']}: {found['articles']} articles, {found['lines']:,} non-blank lines")
        print(f"removed: {found['removed_lines']:,} lines ({found['distinct_lines_removed']} distinct per outlet) "
              f"from {found['articles_cleaned']} articles, {found['characters_removed']:,} of "
              f"{found['characters']:,} characters")
        for outlet, n in found["per_outlet"].items():
            print(f"  {n:5d}  {outlet}")
        print(f"one article at a time: {'the same texts' if found['one_at_a_time_same'] else 'DIFFERENT texts'}, "
              f"{found['cleaned_again']} earlier articles cleaned again")
        print(f"evidence facts kept: {found['evidence_facts'] - len(found['facts_lost'])} of "
              f"{found['evidence_facts']} ({found['distinct_facts']} distinct)")
        for item in found["facts_lost"][:10]:
            print(f"  LOST {item['query_id']}: {item['fact'][:100]}")
    return 0 if not found["facts_lost"] and found["one_at_a_time_same"] else 1


if __name__ == "__main__":
    sys.exit(main())
