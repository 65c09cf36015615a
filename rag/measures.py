"""Figures read with what they measure: which numbers of a sentence answer "how much / how many".

A "how many drones" question counts drones: a figure whose own words are "drones" answers it
("55 Ukrainian drones"). Money, percentages, rates and most counts are not written that way: "Nike
reported revenue of $12.94 billion", "Scalable Capital raised $65 million", "he lost 25 Republican
colleagues", "a seasonally adjusted annual rate of 3.96 million transactions". Such a figure answers
the question when the sentence's grammar ties it to what the question measures: the thing it counts
("revenue", "Republicans") or the action it asks the amount of ("raise", "pay", "spend"), within
``Tuning.measure_path`` grammatical steps and with no descriptive clause between them (``index.language.DESCRIPTIVE``, as for places). The sentences are
parsed only when they hold a figure and only for a question asking for a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from index.dates import date_range
from index.language import DESCRIPTIVE, Figure, figures, parse, word_key
from index.text import analyze
from rag.question import DATE, NUMBER, Question

# the relations that put a figure in another clause than what it would measure ("... , which cost
# $5 million"); an amount's own relation to its verb ("rose *60%*": npadvmod) is not one of them
_ACROSS = DESCRIPTIVE - {"npadvmod"}
_AMOUNTS = frozenset({"$", "%", "€", "£"})
_MODIFIERS = frozenset({"compound", "amod", "nmod", "nummod", "poss"})  # a date naming which thing it modifies  # a figure's "units" that say how it measures, not what


def asks_figure(question: Question) -> bool:
    """Whether the question asks for a number (how many, how much, what share of ...)."""
    return question.answer_type == NUMBER


def measured(text: str, question: Question, *, max_path: int) -> list[Figure]:
    """The figures of ``text`` that measure what ``question`` asks: counting its unit in their own
    words, or tied by the grammar to its unit or to the action it asks the amount of. Parts ("25 of
    these drones") are kept, marked."""
    if not asks_figure(question):
        return []
    found = figures(text)
    if not found:
        return []
    if question.unit:
        own = [f for f in found if question.unit in f.units]
        if own and question.measures:
            # "four points" (a standing) and "a 10-point deduction" (what "docked" asks): the one the
            # grammar ties to the question's other words comes first
            doc = parse(text)
            others = set(question.measures) - {word_key(question.unit)}
            own.sort(key=lambda f: not _tied(doc, f, others, max_path))
        if own:
            return own
    # a figure counting something of its own ("500 employees", "seven years") measures that, not
    # what the question asks; amounts, money and percentages are what is measured
    found = [f for f in found if not (f.units - _AMOUNTS)]
    targets = _targets(question)
    if not found or not targets:
        return [] if question.unit else found  # "How much ...?" with no thing or action: any amount
    doc = parse(text)
    return [f for f in found if _tied(doc, f, targets, max_path)]


def _targets(question: Question) -> set[str]:
    """The word keys a figure must be tied to: the unit and the measured action's words."""
    return {word_key(t) for t in ((question.unit,) if question.unit else ())} | set(question.measures)


def _tied(doc, figure: Figure, targets: set[str], max_path: int) -> bool:
    number = next((t for t in doc if t.idx <= figure.start < t.idx + max(len(t.text), 1)), None)
    if number is None:
        return False
    for token in doc:
        if not _matches(token, targets):
            continue
        path = _path(number, token)
        if len(path) <= max_path and not any(t.dep_ in _ACROSS for t in path[1:]):
            return True
    return False


def _matches(token, targets: set[str]) -> bool:
    return word_key(token.lemma_) in targets or word_key(token.text) in targets or any(
        word_key(stem) in targets for stem in analyze(token.text))


def _path(a, b) -> list:
    """The tokens whose relation to their head lies between ``a`` and ``b`` in the parse."""
    up_a, up_b = [a, *a.ancestors], [b, *b.ancestors]
    ids_b = [t.i for t in up_b]
    common = next((t for t in up_a if t.i in ids_b), None)
    if common is None:
        return up_a + up_b
    return up_a[:up_a.index(common)] + up_b[:ids_b.index(common.i)]


def first_measured(cited: Iterable[tuple[int, object]], question: Question, *, max_path: int
                   ) -> list[tuple[int, Figure]]:
    """``(citation number, figure)`` of each cited sentence's first figure measuring what the
    question asks (its first total, if it gives one besides parts)."""
    out = []
    for n, candidate in cited:
        found = measured(candidate.text, question, max_path=max_path)
        totals = [f for f in found if not f.part] or found
        if totals:
            out.append((n, totals[0]))
    return out


def when(cited: Iterable[tuple[int, object]], question: Question, *, max_path: int) -> list[tuple[int, str, str]]:
    """A "when" question's answers: each cited sentence's first date that the grammar ties to the
    question's words ("Ohtani *announced Saturday* that he has agreed ..."), read against the
    sentence's own report ("Saturday" in a report of 2023-12-11 is 2023-12-09): ``(citation number,
    the date as a reader writes it, the phrase when the sentence said it otherwise)``, in the order
    cited; empty when none is tied."""
    if question.answer_type != DATE or not question.measures:
        return []
    return [found for n, candidate in cited
            if (found := _tied_date(n, candidate, set(question.measures), max_path)) is not None]


def _tied_date(n: int, candidate, targets: set, max_path: int) -> tuple[int, str, str] | None:
    """The first date of one sentence tied to the question's words, as ``when`` gives it."""
    spans = [m for m in candidate.facts.entities if m.label == "DATE"]
    doc = None
    for mention in spans:
        found = date_range(mention.text, candidate.day, nearest=True)
        if found is None:
            continue
        doc = doc or parse(candidate.text)
        head = next((t for t in doc if t.idx <= mention.start < t.idx + max(len(t.text), 1)), None)
        if head is not None and head.dep_ in _MODIFIERS:
            continue  # "the 2023 Nobel prize": which prize, not when something happened
        if not _tied(doc, Figure(0.0, mention.text, mention.start, mention.end), targets, max_path):
            continue
        shown = _day_text(*found)
        plain = " ".join(mention.text.split())
        # the phrase is shown when the date was read from it ("Saturday", a month without its year)
        said = "" if set(re.findall(r"\d+", shown)) <= set(re.findall(r"\d+", plain)) else plain
        return n, shown, said
    return None


def _day_text(lo, hi) -> str:
    """"December 9, 2023", "May 2024", "2023", or "October 2 – 8, 2023" for a range of days."""
    import calendar

    if lo == hi:
        return f"{calendar.month_name[lo.month]} {lo.day}, {lo.year}"
    if lo.day == 1 and lo.year == hi.year and lo.month == hi.month and hi.day == calendar.monthrange(hi.year, hi.month)[1]:
        return f"{calendar.month_name[lo.month]} {lo.year}"
    if (lo.month, lo.day, hi.month, hi.day) == (1, 1, 12, 31) and lo.year == hi.year:
        return str(lo.year)
    return f"{lo.isoformat()} – {hi.isoformat()}"


def role_of(text: str, role: str, name, *, max_path: int) -> bool:
    """Whether the sentence ties a role ("CEO") to a name ("Temu") by its grammar: "Temu's CEO",
    "the CEO of Temu", "Temu named X its chief executive" (within ``max_path`` steps, no
    descriptive clause between)."""
    doc = parse(text)
    stems = set(analyze(role))
    roles = [t for t in doc if stems & set(analyze(t.text))]
    names = [t for t in doc if word_key(t.text) in name.keys]
    for a in roles:
        for b in names:
            path = _path(a, b)
            if len(path) <= max_path and not any(t.dep_ in _ACROSS for t in path):
                return True
    return False
