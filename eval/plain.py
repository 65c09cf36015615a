"""The plain-question gold set (``eval/sets/plain.jsonl``): questions a reader types into the chat about
articles of the MultiHop-RAG train split, with the answers the articles give. It measures the answer
a user meets — the name, the figure, the outlets, a verdict, a refusal — not retrieval.

One item per line::

    {"id": "who-binance-ceo", "question": "Who is Binance's new CEO?", "kind": "who",
     "answers": ["Richard Teng"], "refuse": false, "missing_source": null,
     "articles": ["https://techcrunch.com/..."], "history": [], "note": "TechCrunch: “Richard Teng, ...”"}

``answers``         accepted answers, any one suffices; each is a string or a list of strings that must
                    all appear (several entities: ``[["Talon Cyber Security", "Dig Security"]]``). Give
                    the full name and the other complete forms, never a bare surname or acronym the
                    article uses after the full name (that is what a "who" item tests). ``yesno``
                    items answer ``["yes"]`` or ``["no"]``; refusals answer ``[]``.
``refuse``          the articles do not answer: the answer must be refused.
``missing_source``  the outlet the question leans on, which the library holds no article from.
``articles``        URLs (the corpus key) of the articles holding the answer.
``history``         earlier questions of the same conversation, asked first, in order (a follow-up).
``note``            why: at most one quoted sentence of the article that holds the answer (never more
                    of an article: the bodies stay out of this repository).

``problems`` checks a set against the corpus: every URL exists, every accepted answer occurs in one of
its articles (title, body or outlet; whole words, case and punctuation ignored; number words read as
figures, "six" = "6"; an answer with digits also passes when each of its figures occurs, "10 points"
by "10-point"; a ``when`` answer also as the publication date of one of its articles), and every
``missing_source`` outlet is absent from the index. Each problem is one line naming the line and the fix.

The index (``eval-plain``, in its own folder) holds the set's articles plus ``FILLERS`` further train
articles, the first by SHA-256 of their URL among those the set does not use: distractors, so a
refusal is decided against plausible sentences, not an almost empty library.

Scoring (``score``), for the last question of an item (its ``history`` asked before it, each answer
passed on as a turn of the conversation, as the chat does):

- answerable: right when the answer is not refused and its text contains an accepted answer, and, if it
  shows a direct answer line (``answer.direct``), that line contains one too; ``yesno``: right when
  the answer's first word (or its direct line's) is the verdict;
- refuse: right when the answer is refused; ``missing_source``: right when a sentence of the answer or
  of its refusal reason names the outlet and says the library has nothing from it (``says_missing``);
- a *wrong answer line* is a direct line shown that contains no accepted answer (on a refusal item:
  any direct line).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from eval.metrics import normalize, percentile
from eval.report import encoder_of
from index.errors import ConfigError
from index.library import Library
from rag.types import REFUSED, TIMINGS, Answer, Turn

EVAL_DIR = Path(__file__).resolve().parent
PLAIN_SET = EVAL_DIR / "sets" / "plain.jsonl"
TRAIN_DATA = Path("../shared/datasets/multihop-rag-train")
COLLECTION = "eval-plain"
FILLERS = 20
KINDS = ("who", "what", "how_much", "how_many", "when", "outlets", "several", "yesno", "missing_source",
         "unanswerable", "followup")
KEYS = ("id", "question", "kind", "answers", "refuse", "missing_source", "articles", "history", "note")
NOTE_CHARS = 400  # one quoted sentence and a few words of context
YES_NO = ("yes", "no")

NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")
# "no article", "no Bloomberg article", "no reports", "nothing from", "not in the library", "does not hold"
ABSENT = re.compile(r"\bno(?: \w+){0,3} (?:article|articles|report|reports|story|stories|coverage)\b"
                    r"|\bnothing from\b|\bnot in the library\b|\bdoes not hold\b|\bdoesn t hold\b")


@dataclass(frozen=True, kw_only=True)
class PlainItem:
    id: str
    question: str
    kind: str
    answers: tuple[tuple[str, ...], ...]  # alternatives; each a conjunction of phrases
    refuse: bool
    missing_source: str | None
    articles: tuple[str, ...]
    history: tuple[str, ...]
    note: str
    line: int


# ----------------------------------------------------------------------------------- reading


def _item(data: object, line: int) -> PlainItem:
    """One parsed line; ``ValueError`` with the problem and its fix."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, not {type(data).__name__}")
    missing = [k for k in KEYS if k not in data]
    unknown = sorted(set(data) - set(KEYS))
    if missing or unknown:
        what = f"missing key {missing[0]!r}" if missing else f"unknown key {unknown[0]!r}"
        raise ValueError(f"{what}: every line has exactly {', '.join(KEYS)}")
    for key in ("id", "question", "note"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise ValueError(f"{key!r} must be a non-empty string")
    if data["kind"] not in KINDS:
        raise ValueError(f"kind={data['kind']!r} is unknown: use one of {', '.join(KINDS)}")
    if not isinstance(data["refuse"], bool):
        raise ValueError(f"'refuse' must be true or false, not {data['refuse']!r}")
    source = data["missing_source"]
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise ValueError(f"'missing_source' must be an outlet name or null, not {source!r}")
    for key in ("articles", "history"):
        if not isinstance(data[key], list) or not all(isinstance(v, str) and v.strip() for v in data[key]):
            raise ValueError(f"{key!r} must be a list of non-empty strings, not {data[key]!r}")
    answers = data["answers"]
    if not isinstance(answers, list) or not all(
            (isinstance(a, str) and a.strip()) or (isinstance(a, list) and a and all(
                isinstance(p, str) and p.strip() for p in a)) for a in answers):
        raise ValueError(f"'answers' must be a list of strings or of lists of strings (all required), "
                         f"not {answers!r}")
    return PlainItem(id=data["id"], question=data["question"].strip(), kind=data["kind"],
                     answers=tuple((a,) if isinstance(a, str) else tuple(a) for a in answers),
                     refuse=data["refuse"], missing_source=source, articles=tuple(data["articles"]),
                     history=tuple(data["history"]), note=data["note"], line=line)


def _rules(item: PlainItem) -> str | None:
    """What is inconsistent within one item, with the fix (``None``: nothing)."""
    if item.refuse and item.answers:
        return "a refusal item has no answers: set 'answers' to []"
    if not item.refuse and not (item.answers and item.articles):
        return "an answerable item needs 'answers' and the 'articles' that hold them (or set 'refuse': true)"
    if item.missing_source and not item.refuse:
        return "a question leaning on a source the library lacks must be refused: set 'refuse': true"
    if (item.kind == "missing_source") != bool(item.missing_source):
        return "kind 'missing_source' and a 'missing_source' outlet go together"
    if (item.kind == "unanswerable") and not item.refuse:
        return "an 'unanswerable' item must set 'refuse': true"
    if (item.kind == "followup") != bool(item.history):
        return "a follow-up (kind 'followup') has the earlier questions in 'history', and only a follow-up does"
    if item.kind == "yesno" and [[p.lower() for p in a] for a in item.answers] not in ([["yes"]], [["no"]]):
        return "a yes/no item answers [\"yes\"] or [\"no\"]"
    if len(item.note) > NOTE_CHARS:
        return (f"the note has {len(item.note)} characters: quote one sentence at most ({NOTE_CHARS}), "
                "article bodies stay out of the repository")
    if len(set(item.articles)) != len(item.articles):
        return "an article is listed twice in 'articles'"
    return None


def read_set(path: Path) -> tuple[list[PlainItem], list[str]]:
    """The items of a set file and one line per problem of form (bad JSON, types, rules, duplicate id)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such gold set file (the plain set is eval/sets/plain.jsonl).")
    items: list[PlainItem] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            item = _item(json.loads(text), number)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).")
            continue
        except ValueError as exc:
            errors.append(f"{where}: {exc}.")
            continue
        rule = _rules(item)
        if rule:
            errors.append(f"{where} ({item.id}): {rule}.")
        if item.id in seen:
            errors.append(f"{where} ({item.id}): duplicate id: ids must be unique.")
        seen.add(item.id)
        items.append(item)
    if not items and not errors:
        errors.append(f"{path.name}: the gold set is empty.")
    return items, errors


def load_corpus(folder: Path) -> dict[str, dict]:
    """URL -> article of ``corpus.json`` in ``folder`` (the MultiHop-RAG format)."""
    path = Path(folder) / "corpus.json"
    if not path.is_file():
        raise ConfigError(f"{path} is missing: --data must be the MultiHop-RAG train folder "
                          f"(default {TRAIN_DATA}).")
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}).") from None
    if not isinstance(articles, list) or not all(isinstance(a, dict) and a.get("url") and a.get("body")
                                                 for a in articles):
        raise ConfigError(f"{path}: expected a list of articles, each with a 'url' and a 'body'.")
    return {a["url"]: a for a in articles}


def fillers(corpus: Mapping[str, dict], used: Iterable[str], n: int = FILLERS) -> list[str]:
    """The ``n`` URLs of ``corpus`` not in ``used`` that come first by SHA-256 of the URL."""
    taken = set(used)
    rest = sorted((u for u in corpus if u not in taken), key=lambda u: hashlib.sha256(u.encode()).hexdigest())
    return rest[:n]


def set_urls(items: Iterable[PlainItem]) -> list[str]:
    return list(dict.fromkeys(u for item in items for u in item.articles))


# ---------------------------------------------------------------------------------- matching


def figured(text: str) -> str:
    """``normalize(text)`` with number words as digits ("six goals" -> "6 goals")."""
    return " ".join(NUMBER_WORDS.get(w, w) for w in normalize(text).split())


def has(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` as whole words (case, punctuation, number words ignored)."""
    needle = figured(phrase)
    return bool(needle) and f" {needle} " in f" {figured(text)} "


def numbers(text: str) -> set[str]:
    return {m.group(0).replace(",", "") for m in FIGURE.finditer(text)}


def matches(text: str, answers: Sequence[Sequence[str]]) -> bool:
    """Whether ``text`` holds every phrase of at least one accepted answer."""
    return any(all(has(text, phrase) for phrase in answer) for answer in answers)


def verdict(text: str) -> str | None:
    """"yes" or "no" when ``text`` opens with it ("**Yes** — ..."), else ``None``."""
    words = normalize(text).split()
    return words[0] if words and words[0] in YES_NO else None


def _bare(outlet: str) -> str:
    name = normalize(outlet)
    return name[4:] if name.startswith("the ") else name


def says_missing(outlet: str, text: str) -> bool:
    """Whether one sentence of ``text`` names ``outlet`` and says the library has no article from it
    ("The library holds no article from Bloomberg or The Wall Street Journal.", "No CNN article is in
    the library."): the outlet's words (a leading "The" optional) and one of ``ABSENT``."""
    name = _bare(outlet)
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        words = f" {normalize(sentence)} "
        if f" {name} " in words and ABSENT.search(words):
            return True
    return False


def publication_dates(article: Mapping) -> set[str]:
    """The forms a reader may give an article's publication day in: 2023-11-21, November 21, 2023,
    November 21, 21 November 2023."""
    raw = str(article.get("published_at") or "")[:10]
    try:
        day = datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        return set()
    month = day.strftime("%B")
    return {raw, f"{month} {day.day}, {day.year}", f"{month} {day.day}", f"{day.day} {month} {day.year}"}


def _occurs(phrase: str, kind: str, articles: Sequence[Mapping]) -> bool:
    for a in articles:
        text = " ".join(str(a.get(k) or "") for k in ("title", "body", "source"))
        if has(text, phrase):
            return True
        figures = numbers(phrase)
        if figures and figures <= numbers(text):
            return True
        if kind in ("when", "followup") and normalize(phrase) in {normalize(d) for d in publication_dates(a)}:
            return True
    return False


def problems(items: Sequence[PlainItem], corpus: Mapping[str, dict], *, name: str = "plain.jsonl",
             indexed: Iterable[str] | None = None) -> list[str]:
    """Every problem of ``items`` against ``corpus``, one line each with the fix: unknown URLs,
    answers that occur in none of their articles, a ``missing_source`` outlet that the index holds
    (``indexed``: the URLs of the index; default the set's articles and its fillers)."""
    out: list[str] = []
    urls = set_urls(items)
    indexed = list(indexed) if indexed is not None else urls + fillers(corpus, urls)
    outlets = {_bare(corpus[u].get("source") or "") for u in indexed if u in corpus}
    for item in items:
        where = f"{name}:{item.line} ({item.id})"
        unknown = [u for u in item.articles if u not in corpus]
        if unknown:
            out.append(f"{where}: {unknown[0]} is not in the corpus: copy the article's 'url' from corpus.json.")
            continue
        articles = [corpus[u] for u in item.articles]
        if item.kind != "yesno" and articles:  # no articles: read_set reported it
            for answer in item.answers:
                for phrase in answer:
                    if not _occurs(phrase, item.kind, articles):
                        out.append(f"{where}: the answer {phrase!r} occurs in none of its articles: write it as "
                                   "the article does, or list the article that holds it.")
        if item.missing_source:
            source = _bare(item.missing_source)
            holders = sorted(o for o in outlets if f" {source} " in f" {o} ")
            if holders:
                out.append(f"{where}: the index holds articles from {holders[0]!r}, so {item.missing_source!r} "
                           "is not a source it lacks: pick an outlet none of its articles comes from.")
    return out


# ----------------------------------------------------------------------------------- scoring


def score(item: PlainItem, answer: Answer) -> dict:
    """Whether ``answer`` is right for ``item``, whether it shows a wrong answer line, and why."""
    refused = answer.status == REFUSED
    line = answer.direct.text if answer.direct else None
    if item.refuse:
        if item.missing_source:
            text = answer.answer + "\n" + (answer.refusal.reason if answer.refusal else "")
            right = says_missing(item.missing_source, text)
            why = "" if right else f"does not say the library holds no article from {item.missing_source}"
        else:
            right = refused
            why = "" if right else "answered; the articles do not answer this"
        wrong_line = line is not None
        if wrong_line:
            why = (why + "; " if why else "") + f"answer line {line!r} shown on a question to refuse"
        return {"right": right and not wrong_line, "wrong_line": wrong_line, "why": why}
    if item.kind == "yesno":
        expected = item.answers[0][0].lower()
        said = verdict(line) if line is not None else verdict(answer.answer)
        wrong_line = line is not None and verdict(line) != expected
        right = not refused and said == expected and not wrong_line
        why = "" if right else ("refused" if refused else f"verdict {said or 'none'}, expected {expected}")
        return {"right": right, "wrong_line": wrong_line, "why": why}
    wrong_line = line is not None and not matches(line, item.answers)
    contains = matches(answer.answer, item.answers)
    right = not refused and contains and not wrong_line
    if refused:
        why = "refused"
    elif wrong_line:
        why = f"answer line {line!r} holds no accepted answer"
    else:
        why = "" if contains else "no accepted answer in the text"
    return {"right": right, "wrong_line": wrong_line, "why": why}


def expected(item: PlainItem) -> str:
    if item.missing_source:
        return f"no article from {item.missing_source}"
    if item.refuse:
        return "refusal"
    return " | ".join(" + ".join(a) for a in item.answers)


# ------------------------------------------------------------------------------------ running


def prepare_library(library: Library, articles: Sequence[Mapping], *, progress=None) -> dict[str, str]:
    """Index ``articles`` (written to one corpus file in the index folder; incremental) and remove any
    other article; URL -> article id."""
    wanted = {a["url"] for a in articles}
    path = Path(library.settings.home) / "plain-articles.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(list(articles), ensure_ascii=False)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    report = library.ingest([path], progress=progress)
    if report.failures:
        raise ConfigError(f"the plain set's articles failed to load: {report.failures[0]}")
    by_url: dict[str, str] = {}
    for record in library.articles():
        keys = [k for k in record.keys if k in wanted]
        if not keys:
            library.remove(record.id)
        for key in keys:
            by_url[key] = record.id
    missing = sorted(wanted - by_url.keys())
    if missing:
        raise ConfigError(f"{missing[0]} is not in the index after ingestion.")
    return by_url


def _turn(answer: Answer) -> dict:
    return {"question": answer.question, "status": answer.status, "answer": answer.answer,
            "direct": answer.direct.text if answer.direct else None,
            "refusal": answer.refusal.reason if answer.refusal else None,
            "outlets": sorted({c.location.source or "" for c in answer.citations}),
            "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()}}


def run_items(items: Sequence[PlainItem], *, pipeline, mode: str | None = None, progress: bool = False) -> list[dict]:
    """Ask every item (its history first, each answer a turn of the conversation); one result each."""
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=sum(1 + len(i.history) for i in items), unit="question", desc="Plain set",
                   file=sys.stderr, dynamic_ncols=True)
    results = []
    for item in items:
        history: list[Turn] = []
        turns = []
        for question in (*item.history, item.question):
            answer = pipeline.ask(question, history=list(history), mode=mode)
            turns.append(_turn(answer))
            history.append(Turn.of(answer))
            if bar is not None:
                bar.update(1)
        verdict_ = score(item, answer)
        results.append({"id": item.id, "kind": item.kind, "question": item.question, "expected": expected(item),
                        "passed": verdict_["right"], "wrong_line": verdict_["wrong_line"], "why": verdict_["why"],
                        "turns": turns})
    if bar is not None:
        bar.close()
    return results


def summarize(results: Sequence[dict]) -> dict:
    """Right answers and wrong answer lines, overall and per kind; latency of the scored questions."""
    kinds: dict[str, dict[str, int]] = {}
    for r in results:
        k = kinds.setdefault(r["kind"], {"items": 0, "right": 0, "wrong_lines": 0})
        k["items"] += 1
        k["right"] += r["passed"]
        k["wrong_lines"] += r["wrong_line"]
    for k in kinds.values():
        k["right_rate"] = k["right"] / k["items"]
    stages = {}
    for stage in TIMINGS:
        values = [r["turns"][-1]["timings_ms"][stage] for r in results if stage in r["turns"][-1]["timings_ms"]]
        stages[stage] = {"p50": percentile(values, 50), "p95": percentile(values, 95), "n": len(values)}
    right = sum(r["passed"] for r in results)
    return {"items": len(results), "right": right, "right_rate": right / len(results) if results else None,
            "wrong_lines": sum(r["wrong_line"] for r in results),
            "by_kind": {k: kinds[k] for k in KINDS if k in kinds}, "latency_ms": stages,
            "failed": [r["id"] for r in results if not r["passed"]]}


def run_plain(*, pipeline, data: Path = TRAIN_DATA, set_path: Path = PLAIN_SET, mode: str | None = None,
              progress: bool = False, ingest_progress=None) -> dict:
    """Validate the set against the train corpus, index its articles and the fillers, ask every item;
    the results of the run (JSON-ready)."""
    items, errors = read_set(set_path)
    corpus = load_corpus(data)
    errors += problems(items, corpus, name=Path(set_path).name)
    if errors:
        more = f" (+{len(errors) - 1} more: `newsrag eval plain --check` lists them)" if len(errors) > 1 else ""
        raise ConfigError(errors[0] + more)
    urls = set_urls(items)
    extra = fillers(corpus, urls)
    started = time.perf_counter()
    prepare_library(pipeline.library, [corpus[u] for u in urls + extra], progress=ingest_progress)
    indexed = time.perf_counter()
    results = run_items(items, pipeline=pipeline, mode=mode, progress=progress)
    corpus_file = Path(data) / "corpus.json"
    return {"kind": "plain", "set": str(set_path), "custom_set": Path(set_path).resolve() != PLAIN_SET,
            "mode": mode or pipeline.settings.mode,
            "encoder": encoder_of(pipeline.library),
            "data": {"folder": str(data), "sha256": hashlib.sha256(corpus_file.read_bytes()).hexdigest(),
                     "articles": len(urls), "fillers": extra},
            "summary": summarize(results),
            "seconds": {"index": round(indexed - started, 2), "questions": round(time.perf_counter() - indexed, 2)},
            "items": results}


def check(*, data: Path = TRAIN_DATA, set_path: Path = PLAIN_SET) -> list[str]:
    """Every problem of the set file against the train corpus (empty: it is valid)."""
    items, errors = read_set(set_path)
    return errors + problems(items, load_corpus(data), name=Path(set_path).name)
