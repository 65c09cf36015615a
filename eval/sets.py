"""Evaluation data: the hand-written gold set (``eval/sets/*.jsonl``) and the MultiHop-RAG files.

A gold item is one JSON object per line::

    {"id": "conflict-count", "kind": "conflict", "question": "How many drones were intercepted?",
     "facts": ["64", "55"], "expect_conflict": true,
     "gold_sentences": [{"text": "The Russian Ministry ... 64 Ukrainian drones ...",
                         "articles": ["000_720a81e2262be498.txt"]}, ...]}

or, for a conversation, ``"turns": [{"question": ..., <expectations>}, ...]`` (each turn is asked
with the earlier turns as history and checked on its own). Expectations, all optional:

``facts``              phrases the answer text must contain (case, punctuation and spacing ignored)
``forbidden``          phrases the answer text must not contain (e.g. "BANANA")
``gold_articles``      article files the answer must cite (as a citation's article or in its ``also``)
``forbidden_articles`` article files no citation may name
``gold_sentences``     sentences that must be cited exactly once, each ``{"text", "articles"}``: the
                       citation must name exactly those articles (a syndicated sentence: all copies)
``expect_refusal``     true: the answer must be a refusal; false: it must not; omitted: either
``expect_conflict``    true: a conflict must be reported; false: none may be; omitted: either
``filters``            ``{"source": [...], "since": "YYYY-MM-DD", "until": ...}`` applied to the turn

Articles are named by file name. ``validate`` checks every name and every gold sentence against the
article files, so a typo fails in review, not as a mysterious failing item.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from index.articles import load_file
from index.errors import ConfigError

KINDS = ("fact", "conflict", "header", "syndicated", "unanswerable", "followup", "injection", "filter", "paraphrase")
_TURN_KEYS = {"question", "facts", "forbidden", "gold_articles", "forbidden_articles", "gold_sentences",
              "expect_refusal", "expect_conflict", "filters", "note"}
_ITEM_KEYS = {"id", "kind", "turns", "note"} | _TURN_KEYS


@dataclass(frozen=True, kw_only=True)
class GoldSentence:
    text: str
    articles: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class GoldTurn:
    question: str
    facts: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    gold_articles: tuple[str, ...] = ()
    forbidden_articles: tuple[str, ...] = ()
    gold_sentences: tuple[GoldSentence, ...] = ()
    expect_refusal: bool | None = None
    expect_conflict: bool | None = None
    filters: Mapping[str, object] = field(default_factory=dict)

    def article_names(self) -> set[str]:
        return {*self.gold_articles, *self.forbidden_articles,
                *(a for s in self.gold_sentences for a in s.articles)}


@dataclass(frozen=True, kw_only=True)
class GoldItem:
    id: str
    kind: str
    turns: tuple[GoldTurn, ...]
    note: str = ""


def _strings(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: {key!r} must be a list of non-empty strings, not {value!r}.")
    return tuple(value)


def _flag(where: str, key: str, value: object) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise ConfigError(f"{where}: {key!r} must be true, false or absent, not {value!r}.")
    return value


def _filters(where: str, value: object) -> dict[str, object]:
    if not isinstance(value, dict) or set(value) - {"source", "since", "until"}:
        raise ConfigError(f"{where}: 'filters' must be an object with 'source', 'since' and/or "
                          f"'until', not {value!r}.")
    for key in ("since", "until"):
        if key in value:
            try:
                date.fromisoformat(value[key])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: filters.{key}={value[key]!r} is not a YYYY-MM-DD date.") from None
    if "source" in value:
        _strings(where, "filters.source", value["source"])
    return dict(value)


def _turn(where: str, data: Mapping) -> GoldTurn:
    unknown = set(data) - _TURN_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}: use one of {', '.join(sorted(_TURN_KEYS))}.")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ConfigError(f"{where}: 'question' must be a non-empty string.")
    sentences = []
    for s in data.get("gold_sentences", []):
        if not isinstance(s, dict) or set(s) != {"text", "articles"} or not isinstance(s["text"], str):
            raise ConfigError(f"{where}: each gold sentence must be {{\"text\": ..., \"articles\": [...]}}, "
                              f"not {s!r}.")
        sentences.append(GoldSentence(text=s["text"], articles=_strings(where, "articles", s["articles"])))
    turn = GoldTurn(
        question=question.strip(),
        facts=_strings(where, "facts", data.get("facts", [])),
        forbidden=_strings(where, "forbidden", data.get("forbidden", [])),
        gold_articles=_strings(where, "gold_articles", data.get("gold_articles", [])),
        forbidden_articles=_strings(where, "forbidden_articles", data.get("forbidden_articles", [])),
        gold_sentences=tuple(sentences),
        expect_refusal=_flag(where, "expect_refusal", data.get("expect_refusal")),
        expect_conflict=_flag(where, "expect_conflict", data.get("expect_conflict")),
        filters=_filters(where, data.get("filters", {})),
    )
    if turn.expect_refusal and (turn.facts or turn.gold_articles or turn.gold_sentences or turn.expect_conflict):
        raise ConfigError(f"{where}: a turn expecting a refusal cannot also expect facts, citations or a conflict.")
    if not (turn.facts or turn.forbidden or turn.gold_articles or turn.forbidden_articles or turn.gold_sentences
            or turn.expect_refusal is not None or turn.expect_conflict is not None):
        raise ConfigError(f"{where}: the turn expects nothing: add facts, gold_sentences, expect_refusal, ...")
    return turn


def parse_item(where: str, data: object) -> GoldItem:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a JSON object, not {type(data).__name__}.")
    item_id = data.get("id")
    if not isinstance(item_id, str) or not item_id.strip():
        raise ConfigError(f"{where}: every item needs a non-empty string 'id'.")
    where = f"{where} ({item_id})"
    unknown = set(data) - _ITEM_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}: use one of {', '.join(sorted(_ITEM_KEYS))}.")
    if data.get("kind") not in KINDS:
        raise ConfigError(f"{where}: kind={data.get('kind')!r} is unknown: use one of {', '.join(KINDS)}.")
    if "turns" in data:
        if set(data) - {"id", "kind", "turns", "note"}:
            raise ConfigError(f"{where}: with 'turns', expectations go inside each turn, not beside 'turns'.")
        if not isinstance(data["turns"], list) or not 2 <= len(data["turns"]) <= 5:
            raise ConfigError(f"{where}: 'turns' must be a list of 2 to 5 turns (one question: use 'question').")
        turns = tuple(_turn(f"{where} turn {i + 1}", t if isinstance(t, dict) else {})
                      for i, t in enumerate(data["turns"]))
    else:
        turns = (_turn(where, {k: v for k, v in data.items() if k not in {"id", "kind"}}),)
    return GoldItem(id=item_id, kind=data["kind"], turns=turns, note=str(data.get("note", "")))


def load_gold_set(path: Path) -> list[GoldItem]:
    """Parse a gold JSONL file; the first problem raises ``ConfigError`` naming file, line and fix."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such gold set file.")
    items: list[GoldItem] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        item = parse_item(where, data)
        if item.id in seen:
            raise ConfigError(f"{where}: duplicate id {item.id!r}: ids must be unique.")
        seen.add(item.id)
        items.append(item)
    if not items:
        raise ConfigError(f"{path}: the gold set is empty.")
    return items


def article_bodies(folders: Iterable[Path]) -> dict[str, str]:
    """File name -> article body (as indexed: the header split off) of every article file."""
    bodies: dict[str, str] = {}
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            for article in load_file(path, max_bytes=10_000_000):
                if isinstance(article, Exception):
                    raise ConfigError(f"gold set article {article}") from article
                if path.name in bodies:
                    raise ConfigError(f"{path}: two article files are named {path.name!r}; names must be unique.")
                bodies[path.name] = article.body
    return bodies


def validate(items: Iterable[GoldItem], bodies: Mapping[str, str]) -> None:
    """Every article a gold item names exists, and every gold sentence occurs verbatim in exactly
    the articles it lists (no more, no fewer)."""
    for item in items:
        for n, turn in enumerate(item.turns, start=1):
            where = f"{item.id}" + (f" turn {n}" if len(item.turns) > 1 else "")
            for name in sorted(turn.article_names()):
                if name not in bodies:
                    raise ConfigError(f"{where}: unknown article {name!r}: use one of {', '.join(sorted(bodies))}.")
            for sentence in turn.gold_sentences:
                holders = sorted(name for name, body in bodies.items() if sentence.text in body)
                if holders != sorted(sentence.articles):
                    raise ConfigError(f"{where}: the sentence {sentence.text[:60]!r}... occurs in "
                                      f"{holders or 'no article'}, but the item lists {sorted(sentence.articles)}.")


# --------------------------------------------------------------------------------- MultiHop-RAG


@dataclass(frozen=True, kw_only=True)
class MultihopQuestion:
    id: str
    query: str
    answer: str
    type: str
    facts: tuple[str, ...]
    urls: tuple[str, ...]  # gold articles, by URL (the key of a MultiHop-RAG article)

    @property
    def answerable(self) -> bool:
        return bool(self.facts)


@dataclass(frozen=True, kw_only=True)
class MultihopData:
    folder: Path
    corpus: Path
    urls: frozenset[str]
    questions: tuple[MultihopQuestion, ...]
    n_articles: int
    n_questions_total: int
    sha256: Mapping[str, str]


def _read_json(path: Path, what: str) -> object:
    if not path.is_file():
        raise ConfigError(f"{path} is missing: --data must be a folder with corpus.json and MultiHopRAG.json "
                          f"(the MultiHop-RAG format); {what}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}).") from None


def load_multihop(folder: Path, *, limit: int | None = None) -> MultihopData:
    """Read ``corpus.json`` and ``MultiHopRAG.json`` (the first ``limit`` questions, in file order)."""
    folder = Path(folder)
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit {limit} must be at least 1.")
    corpus_path, questions_path = folder / "corpus.json", folder / "MultiHopRAG.json"
    corpus = _read_json(corpus_path, "corpus.json lists the articles")
    raw = _read_json(questions_path, "MultiHopRAG.json lists the questions")
    if not isinstance(corpus, list) or not all(isinstance(a, dict) and a.get("url") for a in corpus):
        raise ConfigError(f"{corpus_path}: expected a list of articles, each with a 'url'.")
    if not isinstance(raw, list):
        raise ConfigError(f"{questions_path}: expected a list of questions.")
    urls = frozenset(a["url"] for a in corpus)
    questions = []
    for i, q in enumerate(raw[:limit] if limit else raw):
        try:
            evidence = q["evidence_list"]
            question = MultihopQuestion(
                id=str(q.get("query_id") or f"q{i:04d}"), query=q["query"], answer=str(q["answer"]),
                type=q["question_type"], facts=tuple(e["fact"] for e in evidence),
                urls=tuple(dict.fromkeys(e["url"] for e in evidence)))
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{questions_path}: question #{i} lacks {exc} (expected query, answer, "
                              "question_type and evidence_list with fact and url).") from None
        missing = [u for u in question.urls if u not in urls]
        if missing:
            raise ConfigError(f"{questions_path}: {question.id} cites {missing[0]}, which is not in "
                              f"{corpus_path}: use the corpus the questions were written for.")
        questions.append(question)
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (corpus_path, questions_path)}
    return MultihopData(folder=folder, corpus=corpus_path, urls=urls, questions=tuple(questions),
                        n_articles=len(corpus), n_questions_total=len(raw), sha256=digest)
