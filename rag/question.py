"""What a question asks, read without an LLM: content terms, named entities (with the preposition
that ties a place to the question, "over Moscow"), the unit of a "how many" question, whether it
asks for an outlet, and how a short follow-up widens with the previous turn."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from index.text import STOPWORDS, analyze, words
from rag.types import Turn

_TOKEN = re.compile(r"[A-Za-z0-9][\w'’.-]*[\w]|[A-Za-z0-9]")
_QUESTION_WORDS = frozenset("how what which who whom whose when where why did does do is are was were "
                            "can could will would should has have had according and but or".split())
_CONNECTORS = frozenset({"of", "de", "&", "for"})
_PLACE_PREPOSITIONS = frozenset({"over", "in", "near", "inside", "above", "across", "into"})
_OUTLET_QUESTION = re.compile(
    r"\b(which|what)\s+(news\s+)?(outlet|source|newspaper|publication|paper|site|website|station|"
    r"network|channel|media|agency|broadcaster)s?\b|\bwho\s+(reported|published|wrote|broke)\b",
    re.IGNORECASE)
_FOLLOWUP_START = re.compile(r"^\s*(and|but|also|what about|how about|and what|and how|then|so)\b",
                             re.IGNORECASE)
_PRONOUNS = frozenset("it its they them their that those this these he she his her there".split())
_HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\s+(?:more\s+|of\s+the\s+)?([A-Za-z-]+)", re.IGNORECASE)


_POSSESSIVE = re.compile(r"['’]s\b")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_MONTHS = frozenset("january february march april may june july august september october november "
                    "december jan feb mar apr jun jul aug sep sept oct nov dec".split())
_DATE_NUMBER = re.compile(r"^\d{1,2}(st|nd|rd|th)?$|^\d{4}-\d{2}-\d{2}$")


def _prefix(token: str) -> str:
    token = token.lower()
    return token[:5] if len(token) > 5 else token


def _words(text: str) -> list[str]:
    """Words as entity matching sees them: possessives dropped, "2,000" read as "2000"."""
    return re.findall(r"\w+", _THOUSANDS.sub("", _POSSESSIVE.sub("", text)))


def token_prefixes(text: str) -> set[str]:
    """Lower-cased 5-letter prefixes of the words of ``text`` ("Russian" ~ "Russia")."""
    return {_prefix(t) for t in _words(text)}


@dataclass(frozen=True)
class Entity:
    text: str
    parts: tuple[str, ...]  # prefixes that must all occur
    preposition: str | None = None  # "over" in "shot down over Moscow"

    def found_in(self, prefixes: set[str]) -> bool:
        return all(p in prefixes for p in self.parts)

    def found_in_sentence(self, sentence: str) -> bool:
        """Present, and, when the question ties it to a place preposition, tied the same way."""
        if not self.found_in(token_prefixes(sentence)):
            return False
        if self.preposition is None:
            return True
        tokens = [_prefix(t) for t in _words(sentence)]
        first = self.parts[0]
        for i, token in enumerate(tokens):
            if token == first and self.preposition in {t for t in tokens[max(0, i - 4):i]}:
                return True
        return False


@dataclass(frozen=True)
class QuestionInfo:
    text: str  # the question as retrieval and scoring see it (widened for a follow-up)
    asked: str  # the question as the user typed it
    terms: tuple[str, ...]
    entities: tuple[Entity, ...]
    unit: str | None = None  # stem of X in "how many X"
    asks_outlet: bool = False
    outlets: tuple[str, ...] = field(default=())  # indexed outlets the question names
    focus: tuple[str, ...] = ()  # terms of the question as typed (the rest of ``terms`` is context)
    attribute: str | None = None  # "mayor" in "Who is the mayor of Ryazan?": must be mentioned
    said: str = ""  # the main answers the conversation already gave, for a follow-up (not to repeat)
    prior_articles: tuple[str, ...] = ()  # articles the previous answer of a follow-up cited


def extract_entities(question: str) -> list[Entity]:
    """Capitalised names (joined across "of", "and"...) and numbers of the question."""
    question = _THOUSANDS.sub("", _POSSESSIVE.sub("", question))
    tokens = list(_TOKEN.finditer(question))
    entities: list[Entity] = []

    def adjacent(a: int, b: int) -> bool:  # only spaces between two tokens: one name
        return question[tokens[a].end():tokens[b].start()].strip() == ""

    i = 0
    while i < len(tokens):
        word = tokens[i].group()
        lower = word.lower()
        if lower in _MONTHS or _is_date_number(tokens, i):
            i += 1  # dates constrain publication, they are not words to find in the text
            continue
        is_number = any(c.isdigit() for c in word)
        is_name = word[0].isupper() and lower not in _QUESTION_WORDS and lower not in STOPWORDS
        if is_name and _sentence_initial(question, tokens[i].start()):
            # "Considering the ...": a capital that only marks the start of a sentence
            nxt = tokens[i + 1].group() if i + 1 < len(tokens) else ""
            is_name = word.isupper() or bool(nxt) and nxt[0].isupper()
        if not (is_name or is_number):
            i += 1
            continue
        j = i + 1
        if is_name:
            while j < len(tokens) and adjacent(j - 1, j):
                nxt = tokens[j].group()
                if nxt[0].isupper() and nxt.lower() not in _QUESTION_WORDS and nxt.lower() not in _MONTHS:
                    j += 1
                elif (nxt.lower() in _CONNECTORS and j + 1 < len(tokens) and adjacent(j, j + 1)
                      and tokens[j + 1].group()[0].isupper()):
                    j += 2
                else:
                    break
        span = [t.group() for t in tokens[i:j]]
        parts = tuple(_prefix(w) for p in span if p.lower() not in _CONNECTORS
                      and p.lower() not in STOPWORDS for w in _words(p))
        before = [t.group().lower() for t in tokens[max(0, i - 2):i]]
        preposition = next((w for w in reversed(before) if w in _PLACE_PREPOSITIONS), None)
        if preposition and before and before[-1] not in {preposition, "the"}:
            preposition = None
        if parts and all(e.parts != parts for e in entities):
            entities.append(Entity(" ".join(span), parts, preposition))
        i = j
    return entities


def _is_date_number(tokens: list[re.Match], i: int) -> bool:
    """A day or year next to a month name ("October 4, 2023"), or an ISO date."""
    word = tokens[i].group()
    if re.match(r"^\d{4}-\d{2}-\d{2}$", word):
        return True
    if not (_DATE_NUMBER.match(word) or re.match(r"^\d{4}$", word)):
        return False
    near = [tokens[k].group().lower() for k in range(max(0, i - 2), min(len(tokens), i + 2)) if k != i]
    return any(w in _MONTHS for w in near)


def _sentence_initial(text: str, position: int) -> bool:
    before = text[:position].rstrip()
    return not before or before[-1] in ".?!:;\"“(—-"


def is_followup(question: str) -> bool:
    lowered = words(question)
    if _FOLLOWUP_START.match(question):
        return True
    return len(lowered) <= 8 and bool(_PRONOUNS & set(lowered)) or len(lowered) <= 3


_ATTRIBUTE = re.compile(r"^\s*(?:who|what)\s+(?:is|was|are|were)\s+(?:the\s+)?(?:current\s+|new\s+)?"
                        r"([a-z][a-z-]+)\s+(?:of|for|at|in)\s", re.IGNORECASE)


def analyse(question: str, *, history: Sequence[Turn] = (), outlets: Sequence[str] = ()) -> QuestionInfo:
    """Read ``question``. A follow-up ("And over Ryazan?") is widened with the questions it follows
    (back to the last one that was not itself a follow-up, at most two), leans towards the articles
    the previous answer cited, and does not repeat that answer's sentences."""
    text = question.strip()
    entities = extract_entities(text)
    said, prior = "", ()
    if history and is_followup(text):
        earlier = []
        for turn in reversed(history[-2:]):
            earlier.insert(0, turn.question.strip())
            if not is_followup(turn.question):
                break
        for previous in reversed(earlier):
            entities = entities or extract_entities(previous)
        text = " ".join([*earlier, text])
        # the main answer of each of those turns: the text before its first citation
        said = " ".join(t.answer.split(" [", 1)[0] for t in history[-len(earlier):])
        prior = history[-1].articles
    unit = None
    for source in (question, text):  # "And how many in the other report?": the unit comes before
        unit_match = _HOW_MANY.search(source)
        unit_terms = analyze(unit_match.group(1)) if unit_match else []
        if unit_terms:
            unit = unit_terms[0]
            break
    lowered = text.casefold()
    named = tuple(o for o in outlets if re.search(r"(?<!\w)" + re.escape(o.casefold()) + r"(?!\w)", lowered))
    attribute = _ATTRIBUTE.match(question)
    attribute_terms = analyze(attribute.group(1)) if attribute else []
    return QuestionInfo(text=text, asked=question.strip(), terms=tuple(analyze(text)),
                        entities=tuple(entities), unit=unit,
                        asks_outlet=bool(_OUTLET_QUESTION.search(question)), outlets=named,
                        focus=tuple(analyze(question)), attribute=attribute_terms[0] if attribute_terms else None,
                        said=said, prior_articles=tuple(prior))


def metadata_text(title: str, source: str | None, published_at: str | None) -> str:
    """What a question may match in an article's metadata (dates also spelt out: "October 5 2023")."""
    parts = [title, source or ""]
    if published_at:
        try:
            day = datetime.fromisoformat(published_at)
            parts.append(f"{day:%B} {day.day} {day.year} {published_at[:10]}")
        except ValueError:
            parts.append(published_at)
    return " ".join(parts)
