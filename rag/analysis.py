"""Reading a question (``analyse``): its text, and the conversation before it, into a ``Question``
(``rag/question.py``). What it asks and the names it depends on come from ``rag.asked``, its claims
from ``rag.claims``, the outlets it names from ``rag.outlets``; the days it names are read here, and
a follow-up ("And over Ryazan?") is widened with the questions it follows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from index.dates import date_range
from index.language import parse
from index.text import analyze, end_mark
from rag.asked import answer_type_of, asked_noun, attribute_of, measure_words, names_in, several, wh_word
from rag.claims import claims_of
from rag.outlets import outlet_mentions
from rag.question import DATE, NUMBER, OPEN, Part, Question
from rag.tuning import Tuning
from rag.types import Turn

_TEMPORAL = frozenset({"when", "before", "after", "earlier", "later", "since", "until", "first", "last",
                       "latest", "previous", "subsequent", "then", "now", "change", "changed", "consistent",
                       "consistency", "inconsistency"})


_FOLLOWUP_START = re.compile(r"^\s*(and|but|also|what about|how about|then|so)\b", re.IGNORECASE)


_PRONOUNS = frozenset("it its they them their that those this these he she his her there".split())


def as_asked(question: str) -> str:
    """The question as it is read: typed without its closing mark, it reads as a question ("Who
    won the final" as "Who won the final?"), so a missing "?" changes neither the parse nor the
    encoder's vector, and so not the answer. (On the dev slice, the same questions without "?" had
    lost 2 of 84 inference answers and 2 answer lines.)"""
    question = question.strip()
    ended = end_mark(question) in {".", "?", "!"}  # "... as per 'TechCrunch'" is not
    return question if not question or ended else question + "?"


def is_followup(question: str, *, tuning: Tuning) -> bool:
    """Whether ``question`` reads as a follow-up ("And over Ryazan?"): it opens with "and", "what
    about" ..., or is short (``Tuning.followup_max_words``) and holds a pronoun, or is very short
    (``Tuning.followup_bare_words``)."""
    lowered = re.findall(r"\w+", question.lower())
    if _FOLLOWUP_START.match(question):
        return True
    return (len(lowered) <= tuning.followup_max_words and bool(_PRONOUNS & set(lowered))
            or len(lowered) <= tuning.followup_bare_words)


def _said(turn: Turn) -> list[str]:
    """The sentences a turn's answer quoted: its quotes when the turn carries them, else the
    sentences of its text without their markers."""
    if turn.quotes:
        return list(turn.quotes)
    from index.chunking import split_sentences

    text = re.sub(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]", "", turn.answer)
    return [text[s:e] for s, e in split_sentences(text)]


def analyse(question: str, *, history: Sequence[Turn] = (), outlets: Sequence[str] = (),
            newest: date | str | None = None, tuning: Tuning | None = None) -> Question:
    """Read ``question``. ``outlets`` are the outlets in the index; ``newest`` is the newest article's
    publication date (what "last week" counts back from). A follow-up ("And over Ryazan?") is widened
    with the questions it follows (back to the last one that was not itself a follow-up, at most two),
    keeps their answer type and names when it has none of its own, leans towards the articles the
    previous answer cited, and does not repeat what the conversation already quoted. ``tuning``
    (the defaults when not given) says what reads as a follow-up."""
    tuning = tuning or Tuning()
    asked = as_asked(question)
    if isinstance(newest, str):
        try:
            newest = datetime.fromisoformat(newest).date()
        except ValueError:
            newest = None
    current = _read(asked, outlets, newest)
    if not history or not is_followup(asked, tuning=tuning):
        return current
    earlier: list[str] = []
    for turn in reversed(history[-tuning.followup_turns:]):
        earlier.insert(0, turn.question.strip())
        if not is_followup(turn.question, tuning=tuning):
            break
    before = _read(" ".join(earlier), outlets, newest)
    widened = " ".join([*earlier, asked])
    # a follow-up that names what it asks for ("Which systems did it say ...?", "And over which
    # regions?") asks its own kind of question, and may find it in a sentence already quoted; one
    # that does not ("And over Moscow?") asks the question before again, about something new
    own = current.noun is not None
    said = () if own else tuple(s for turn in history[-len(earlier):] for s in _said(turn))
    answer_type, unit, noun = current.answer_type, current.unit, current.noun
    if not own and before.answer_type != OPEN and answer_type in {OPEN, before.answer_type}:
        answer_type, unit, noun = before.answer_type, before.unit, before.noun
    names = current.names or before.names
    return replace(current, text=widened, dated="", answer_type=answer_type, unit=unit, noun=noun, names=names,
                   outlets=current.outlets or before.outlets, days=current.days or before.days,
                   parts=(Part(text=widened, outlets=current.outlets or before.outlets,
                               days=current.days or before.days, names=tuple(range(len(names)))),),
                   terms=tuple(analyze(widened)), said=said, prior_articles=tuple(history[-1].articles),
                   about_time=current.about_time or before.about_time)


def _read(text: str, outlets: Sequence[str], newest: date | None) -> Question:
    doc = parse(text)
    day_spans, days = _day_spans(doc, newest)
    wh, wh_token = wh_word(doc)
    noun = asked_noun(doc, wh_token)
    answer_type = answer_type_of(doc, wh, wh_token, noun)
    outlet_spans = outlet_mentions(text, outlets)
    names = names_in(doc, outlet_spans, noun)
    unit = None
    if answer_type == NUMBER and noun is not None:
        unit_terms = analyze(noun.text)
        unit = unit_terms[0] if unit_terms else None
    asked_for = set(analyze(noun.text)) if noun is not None else set()
    parts = claims_of(doc, outlet_spans, day_spans, days, names, asked_for) or [Part(text=text)]
    lowered = {t.lower_ for t in doc}
    plural, asked_count = several(noun) if answer_type != NUMBER else (False, None)
    question = Question(text=text, asked=text, answer_type=answer_type, plural=plural, asked_count=asked_count,
                        measures=measure_words(doc) if answer_type in {NUMBER, DATE} else (),
                        noun=noun.lemma_.lower() if noun is not None else None, unit=unit, names=tuple(names),
                        outlets=tuple(dict.fromkeys(o for _, _, o in outlet_spans)), days=tuple(days),
                        parts=tuple(parts), terms=tuple(analyze(text)), focus=tuple(analyze(text)),
                        attribute=attribute_of(doc, wh_token),
                        about_time=bool(days) or answer_type == DATE or bool(lowered & _TEMPORAL))
    return _dates_as_indexed(question, day_spans, days)


def _dates_as_indexed(question: Question, spans: Sequence[tuple[int, int]],
                      days: Sequence[tuple[date, date]]) -> Question:
    """``question`` with the ``dated`` forms of its text and claims: each single day it names
    written as the index writes a report's date (``index.chunking.make_header``: "TechCrunch,
    2023-10-04"), so "on October 4, 2023" matches that report's chunks in BM25 and the scorer's
    word coverage. A range ("in September", "last week") stays as said. The encoder reads the words
    as typed: it reads "October 4, 2023" better than "2023-10-04" (dev slice MRR@10 0.720 vs
    0.717), and the run made while the question is parsed serves. (Dev slice, against no dated
    forms: temporal MRR@10 0.593 -> 0.642, evidence coverage 0.783 -> 0.825.)"""
    forms = {question.text[start:end]: lo.isoformat() for (start, end), (lo, hi) in zip(spans, days, strict=True)
             if lo == hi and question.text[start:end] != lo.isoformat()}
    if not forms:
        return question

    def redated(words: str) -> str:
        for said in sorted(forms, key=len, reverse=True):  # "Monday, October 2, 2023" before "October 2, 2023"
            words = words.replace(said, forms[said])
        return words

    text = redated(question.text)
    parts = tuple(replace(p, dated=dated) if (dated := redated(p.text)) != p.text else p for p in question.parts)
    return replace(question, dated=text, parts=parts, terms=tuple(analyze(text)), focus=tuple(analyze(text)))


def _day_spans(doc, reference: date | None) -> tuple[list[tuple[int, int]], list[tuple[date, date]]]:
    spans, days = [], []
    for ent in doc.ents:
        if ent.label_ != "DATE":
            continue
        found = date_range(ent.text, reference)
        if found is not None:
            spans.append((ent.start_char, ent.end_char))
            days.append(found)
    return spans, days
