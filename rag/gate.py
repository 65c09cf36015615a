"""Stage 4, gate: whether the evidence can answer the question at all, or why not.

Refusing is a decision of its own, made before any answerer runs: "not in the articles" is a real
state of an answer, with its reason, not a line in a prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.figures import counts
from index.language import bound, parse
from index.names import word_key
from index.text import analyze
from rag.evidence import Candidate
from rag.measures import measured, role_of
from rag.outlets import missing_text
from rag.question import NUMBER, Name, Question
from rag.tuning import Tuning


def refusal_reason(question: Question, candidates: Sequence[Candidate], *, tuning: Tuning) -> str | None:
    """Why the evidence cannot answer the question, or ``None`` when it may.

    Refuse when the question leans on an outlet the library holds no article of ("a Bloomberg
    article ...": the reason says so, in the question's words); when the best sentence scores under ``Tuning.refusal_threshold``; when a name the
    question depends on appears nowhere in the evidence (sentences, or their articles' titles,
    outlets and dates); when the attribute asked for ("Who is the *mayor* of Ryazan?") is never
    mentioned; when a "how many X" question finds no number of X; or when that question names the
    place of the event ("shot down *over Moscow*") and no number of X is tied to that place by the
    grammar of its sentence ("25 drones were shot down over the Ryazan region, ... 400 km southeast
    of Moscow" is not).
    """
    if question.missing_outlets:  # a claim pinned to a report the library cannot hold
        return missing_text(question.missing_outlets)
    if not candidates:
        return "nothing relevant was retrieved"
    best = max(c.score for c in candidates)
    threshold = tuning.refusal_threshold
    if best < threshold:
        return f"the best evidence scores {best:.3f}, under the threshold {threshold:.3f}"
    covered = set().union(*(c.names for c in candidates))
    missing = [n.text for i, n in enumerate(question.names) if i not in covered]
    if missing:
        return "the articles never mention " + ", ".join(repr(m) for m in missing)
    if question.attribute:
        attribute = set(analyze(question.attribute))
        mentioning = [c for c in candidates if attribute <= set(analyze(c.text))]
        if not mentioning:
            return f"the articles never mention the {question.attribute!r} asked about"
        # "Who is the CEO of Temu?": a CEO of something else is no answer; the grammar must tie the
        # role to what the question names ("Temu's CEO", "the CEO of Temu")
        named = [n for n in question.names if not n.place and not n.keys & set(map(word_key, analyze(question.attribute)))
                 and not n.keys <= {word_key(w) for w in question.attribute.split()}]
        if named:
            both = sorted((c for c in mentioning if any(n.found_in(c.keys) for n in named)), key=lambda c: -c.score)
            if not any(role_of(c.text, question.attribute, n, max_path=tuning.measure_path)
                       for c in both[:tuning.measure_pool] for n in named):
                return f"no article names the {question.attribute!r} of {named[0].text!r}"
    if question.answer_type == NUMBER and question.unit:
        asked = question.noun or question.unit  # the user's word, not its stem
        counting = [c for c in candidates if _counts(c, question.unit)]
        if not counting:  # a figure the grammar ties to what is asked ("revenue of $12.94 billion")
            with_figures = sorted((c for c in candidates if c.facts.figures), key=lambda c: -c.score)
            counting = [c for c in with_figures[:tuning.measure_pool] if measured(c.text, question, max_path=tuning.measure_path)]
        if not counting:
            return f"no article gives a number of {asked!r}"
        for name in (n for n in question.names if n.place):
            if not any(_tied(c, question, name, tuning) for c in counting):
                return f"no article gives a number of {asked!r} for {name.text!r}"
    elif question.answer_type == NUMBER and question.measures:  # "How much did X pay for Y?"
        with_figures = sorted((c for c in candidates if c.facts.figures), key=lambda c: -c.score)
        if not any(measured(c.text, question, max_path=tuning.measure_path) for c in with_figures[:tuning.measure_pool]):
            about = f" about {question.names[0].text!r}" if question.names else ""
            return f"no article gives the amount asked{about}"
    return None


def _counts(candidate: Candidate, unit: str) -> bool:
    facts = candidate.facts.figures or ()
    return any(unit in f.units for f in facts) or bool(counts(candidate.text, unit))


def _tied(candidate: Candidate, question: Question, name: Name, tuning: Tuning) -> bool:
    """Whether a figure of what is asked in the sentence is tied to ``name`` (parsed only when the
    sentence holds both)."""
    if not name.found_in(candidate.keys):
        return False
    doc = parse(candidate.text)
    found = counts(candidate.text, question.unit) or measured(candidate.text, question, max_path=tuning.measure_path)
    return any(bound(doc, f.start, name.text) for f in found)
