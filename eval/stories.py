"""How well syndicated copies are grouped as one story (``index.stories``), on a constructed set.

    python -m eval.stories --data ../shared/datasets/multihop-rag-dev [--seeds 1 2 3]
    python -m eval.stories --data ../shared/datasets/multihop-rag-dev --corpus ../shared/datasets/multihop-rag-train/corpus.json

The constructed set: every article of ``--data``'s corpus and three copies of it, each the way
outlets republish a wire story: 5-40 % of its sentences edited (one to three words replaced,
dropped or added per sentence), a new headline, and one of: boilerplate added before and after
(a dateline, a sign-up line, a copyright), a new first paragraph, or the story cut short (its
last fifth to third dropped). Every item is grouped in a shuffled order, as ingest would meet
them; precision and recall are over pairs of items (same story predicted / truly a copy).
``--corpus`` also groups a real corpus and reports how many stories it holds.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

from index.chunking import split_sentences
from index.stories import StoryIndex, shingles

BOILERPLATE_BEFORE = ["NEW YORK (Wire) —", "LONDON, Oct 5 (Wire) -", "(Wire) —", "By Staff Reporters |"]
BOILERPLATE_AFTER = [
    "Sign up for our daily newsletter to get the top stories delivered to your inbox every morning.",
    "Copyright 2023 The Wire. All rights reserved. This material may not be published, broadcast, rewritten "
    "or redistributed.",
    "Reporting by the newsroom; editing by the desk. Our standards: the trust principles.",
    "Follow us on social media for the latest updates and read more stories like this on our website.",
]
FILLERS = ["reportedly", "also", "on Tuesday", "according to officials", "now", "in a statement", "further"]
NEW_LEADS = ["In a development that drew wide attention this week, new details emerged about the matter.",
             "Here is what we know so far about the story that has been unfolding over the past days.",
             "Officials and observers weighed in on the latest turn of events on Wednesday."]


def _edit_sentence(sentence: str, rng: random.Random, vocabulary: list[str]) -> str:
    words = sentence.split()
    for _ in range(rng.randint(1, 3)):
        if not words:
            break
        at = rng.randrange(len(words))
        action = rng.choice(("replace", "drop", "insert"))
        if action == "replace":
            words[at] = rng.choice(vocabulary)
        elif action == "drop" and len(words) > 3:
            del words[at]
        else:
            words.insert(at, rng.choice(FILLERS))
    return " ".join(words)


def make_copy(body: str, rng: random.Random, *, kind: str) -> str:
    spans = split_sentences(body)
    sentences = [body[s:e] for s, e in spans] or [body]
    vocabulary = re.findall(r"[A-Za-z]{4,}", body) or ["news"]
    share = rng.uniform(0.05, 0.40)
    for i in rng.sample(range(len(sentences)), max(1, round(share * len(sentences)))):
        sentences[i] = _edit_sentence(sentences[i], rng, vocabulary)
    if kind == "lead":
        sentences[0] = rng.choice(NEW_LEADS)
    if kind == "cut":
        sentences = sentences[:max(3, round(len(sentences) * rng.uniform(0.67, 0.8)))]
    text = " ".join(sentences)
    if kind in ("boilerplate", "cut"):
        text = (f"{rng.choice(BOILERPLATE_BEFORE)} {text}\n\n"
                + " ".join(rng.sample(BOILERPLATE_AFTER, rng.randint(1, 3))))
    return text


def constructed_set(articles: list[dict], seed: int) -> list[tuple[str, str, str]]:
    """``(item id, true story, body)``: each article and three copies of it."""
    rng = random.Random(seed)
    items = []
    for n, article in enumerate(articles):
        items.append((f"o{n}", f"t{n}", article["body"]))
        for kind in ("boilerplate", "lead", "cut"):
            items.append((f"c{n}-{kind}", f"t{n}", make_copy(article["body"], rng, kind=kind)))
    rng.shuffle(items)
    return items


def group(items: list[tuple[str, str]]) -> dict[str, str]:
    """``(id, body)`` in ingest order -> the story each is put in."""
    index = StoryIndex()
    return {aid: index.assign("a" + aid, body)[0] for aid, body in items}


def pairwise(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float, int, int, int]:
    """Precision, recall, true pairs found, pairs predicted, true pairs."""
    def pairs(labels: dict[str, str]) -> set[tuple[str, str]]:
        by: dict[str, list[str]] = {}
        for item, label in labels.items():
            by.setdefault(label, []).append(item)
        return {(a, b) for members in by.values() for i, a in enumerate(sorted(members))
                for b in sorted(members)[i + 1:]}

    got, want = pairs(predicted), pairs(truth)
    hit = len(got & want)
    return (hit / len(got) if got else 1.0), (hit / len(want) if want else 1.0), hit, len(got), len(want)


def measure(articles: list[dict], seed: int) -> dict:
    items = constructed_set(articles, seed)
    predicted = group([(i, body) for i, _, body in items])
    precision, recall, hit, got, want = pairwise(predicted, {i: t for i, t, _ in items})
    sets = [(t, shingles(body)) for _, t, body in items]
    copies, others = [], []
    for n, (ta, sa) in enumerate(sets):
        for tb, sb in sets[n + 1:]:
            (copies if ta == tb else others).append(len(sa & sb) / max(1, min(len(sa), len(sb))))
    return {"seed": seed, "items": len(items), "precision": round(precision, 4), "recall": round(recall, 4),
            "pairs_found": hit, "pairs_predicted": got, "pairs_true": want,
            # the margin around CONTAINMENT: the least a copy shares, the most two different articles do
            "copies_min_containment": round(min(copies), 3), "others_max_containment": round(max(others), 3)}


def corpus_groups(articles: list[dict]) -> dict:
    labels = group([(str(n), a["body"]) for n, a in enumerate(articles)])
    sizes = Counter(labels.values())
    multi = [s for s in sizes.values() if s > 1]
    return {"articles": len(articles), "stories": len(sizes), "stories_of_several": len(multi),
            "articles_in_them": sum(multi), "largest": max(sizes.values(), default=0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.stories", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with corpus.json (the articles copied)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--corpus", action="append", default=[], help="also count the stories of this corpus.json")
    args = parser.parse_args(argv)
    articles = json.loads((Path(args.data) / "corpus.json").read_text())
    out = {"constructed": [measure(articles, seed) for seed in args.seeds]}
    out["corpora"] = {path: corpus_groups(json.loads(Path(path).read_text())) for path in args.corpus}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
