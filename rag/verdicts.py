"""Yes/no verdicts, only where the evidence decides them.

"Did Engadget report the MacBook discount *before* The Verge reported the Galaxy Buds deal?" pins
two reports and an order. The answer quotes each report's sentence; their publication dates are
evidence of the order. A sentence speaks for a report only when it comes from the outlet the
question pins that report to. When the dates contradict the order the question states, the answer
is **No**, whatever the reports say. When they agree, the answer is **Yes** only if each report's
sentence also says what the question claims of it (its score against that claim,
``Tuning.verdict_support``); otherwise no verdict: no verdict rather than a wrong one. Nothing here
reads the question's wording for a verdict: change the articles' dates and the verdict changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.language import parse
from rag.claims import ORDER_WORDS
from rag.direct import DEFAULT_TUNING
from rag.outlets import REPORT_NOUNS, outlet_mentions
from rag.question import YES_NO, Question
from rag.tuning import Tuning
from rag.types import Direct

VERDICT = "verdict"


def order_of(question: Question) -> tuple[int, str, int] | None:
    """``(earlier claim, "before"|"after", later claim)`` as the question states it, for a yes/no
    question of two claims each pinned to a report, joined by "before" or "after" between them."""
    parts = question.parts
    if question.answer_type != YES_NO or len(parts) != 2 or not all(p.outlets and p.spans for p in parts):
        return None
    left_end = max(e for _, e in parts[0].spans)
    right_start = min(s for s, _ in parts[1].spans)
    doc = parse(question.asked)
    words = [t for t in doc if t.lower_ in ORDER_WORDS and t.pos_ in {"SCONJ", "ADP"}
             and left_end - 1 <= t.idx <= right_start + len(t.text)]
    if len(words) != 1:
        return None
    # the second report is what "before"/"after" introduces: the subject of its clause ("before
    # *The Verge* reported ..."), or its object ("before *the TechCrunch report* ..."); not "after an
    # injury similar to how Sporting News reports ..."
    word = words[0]
    starts = [s for s, _, _ in outlet_mentions(question.asked, parts[1].outlets)]
    if word.dep_ == "mark":
        heads = [c for c in word.head.children if c.dep_ in {"nsubj", "nsubjpass"}]
    else:
        heads = [c for c in word.children if c.dep_ == "pobj"]
    introduced = any(h.left_edge.idx <= s <= h.idx + len(h.text) for h in heads for s in starts) or any(
        h.lemma_.lower() in REPORT_NOUNS for h in heads)
    return (0, word.lower_, 1) if introduced else None


def verdict(question: Question, cited: Sequence[tuple[int, object, int | None]], *,
            tuning: Tuning = DEFAULT_TUNING) -> Direct | None:
    """A verdict on the order of the two reports a question orders, by their publication dates;
    ``cited``: ``(citation number, candidate, claim index)`` of the answer's sentences."""
    order = order_of(question)
    if order is None:
        return None
    left, relation, right = order
    firsts = {}
    for n, candidate, claim in cited:
        if claim in (left, right) and claim not in firsts and candidate.day is not None \
                and any(candidate.from_outlet(o) for o in question.parts[claim].outlets):
            firsts[claim] = (n, candidate)
    if len(firsts) < 2:
        return None
    (n_left, a), (n_right, b) = firsts[left], firsts[right]
    if a.day == b.day:
        return None
    holds = a.day < b.day if relation == "before" else a.day > b.day
    came = "before" if a.day < b.day else "after"
    detail = (f"{_outlet(a)}'s report [{n_left}] is dated {a.day.isoformat()}, {_outlet(b)}'s [{n_right}] "
              f"{b.day.isoformat()}: the first came {came} the second")
    if not holds:
        return Direct(kind=VERDICT, values=(("No", (n_left, n_right)),), detail=detail)
    if min(_support(a, left), _support(b, right)) < tuning.verdict_support:
        return None
    return Direct(kind=VERDICT, values=(("Yes", (n_left, n_right)),), detail=detail)


def _support(candidate, claim: int) -> float:
    """How well a sentence says a claim (its score against it), 0 when unscored."""
    return candidate.parts[claim] if claim < len(candidate.parts) else 0.0


def _outlet(candidate) -> str:
    return candidate.sources[0] if candidate.sources else "an undated outlet"
