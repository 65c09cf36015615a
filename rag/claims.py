"""A question cut into its claims (``claims_of``), each with the outlets and days it names: a
multi-hop question ("Who ... according to Fortune, and is also ... as reported by The Age?")
combines several, and evidence is found for every one of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from index.names import word_keys
from index.text import analyze
from rag.question import VERB_POS, YES_NO_STARTS, Name, Part

_CLAUSE_WORDS = frozenset({"and", "while", "whereas", "but", "although", "though", "yet", ";"})


_AUX_WORDS = frozenset({"is", "was", "are", "were", "has", "have", "had", "does", "did", "do"})


_SKIP = frozenset({"and", "also", "then", "not", ","}) | _AUX_WORDS


def _clause_starts(doc) -> list[int]:
    """Token indexes where a new claim of the question begins: "while", "whereas", "but", ";", or a
    comma or "and" followed by a predicate ("..., runs NBA promotions, and is anticipated to ...");
    never inside a noun phrase ("fraud and conspiracy charges", "Matt Huang and Gary Wang")."""
    starts = []
    for token in doc[1:-1]:
        word = token.lower_
        if word not in _CLAUSE_WORDS and word != ",":
            continue
        if word in {"while", "whereas", "although", "though", ";"}:
            starts.append(token.i)
            continue
        if word == "," and doc[token.i + 1].lower_ in {"as", "according", "per", "reported", "featured"}:
            starts.append(token.i)  # ", as reported by ...": an attribution of its own
            continue
        nxt = token.i + 1
        while nxt < len(doc) - 1 and doc[nxt].lower_ in _SKIP:
            if doc[nxt].lower_ in _AUX_WORDS:
                break
            nxt += 1
        following = doc[nxt]
        predicate = following.pos_ in VERB_POS or following.lower_ in _AUX_WORDS
        if predicate and (not starts or starts[-1] != token.i - 1):  # ", and": one cut, at the comma
            starts.append(token.i)
    return starts


ORDER_WORDS = frozenset({"before", "after"})


def _anchor_cuts(doc, a: int, b: int, anchors: list[tuple[int, str]]) -> list[int]:
    """Cuts inside tokens ``a..b`` between two anchors (outlet or date mentions: token index, kind)
    where a second report begins: before an outlet ("... published on October 2, 2023, *and* the
    TechCrunch report ...") or between two dates ("on October 18, *and* again ... on October 28")."""
    inside = sorted((i, kind) for i, kind in anchors if a <= i < b)
    cuts = []
    for (left, left_kind), (right, right_kind) in zip(inside, inside[1:], strict=False):
        if right_kind != "outlet" and left_kind != "date":
            continue
        # "... Engadget report ... *before* The Verge reported ...": two reports in an order
        joiners = [t.i for t in doc[left + 1:right] if t.lower_ in {"and", ",", "while", "whereas", "but", "or"}
                   or t.lower_ in ORDER_WORDS and t.pos_ in {"SCONJ", "ADP"}]
        if joiners:
            cut = joiners[-1]
            if doc[cut].lower_ == "and" and doc[cut - 1].lower_ == ",":
                cut -= 1
            cuts.append(cut)
    return cuts


def claims_of(doc, outlet_spans, day_spans, days, names: list[Name], asked_for: set[str]) -> list[Part]:
    """The question cut into its claims, each with the outlets and days it names. A piece that says
    nothing but an attribution ("as reported by both The Verge and TechCrunch") belongs to the claim
    before it, or, at the end of the question, to every claim that names no outlet."""
    def token_at(char: int) -> int:
        return next((t.i for t in doc if t.idx <= char < t.idx + len(t.text)), len(doc) - 1)

    anchors = [(token_at(s), "outlet") for s, _, _ in outlet_spans] + [(token_at(s), "date") for s, _ in day_spans]
    clause = [0, *_clause_starts(doc), len(doc)]
    cuts = set(clause)
    for a, b in zip(clause, clause[1:], strict=False):
        cuts.update(_anchor_cuts(doc, a, b, anchors))
    # never inside a date or an outlet ("October 2, 2023" has a comma)
    inside = {i for s, e in [*((s, e) for s, e, _ in outlet_spans), *day_spans]
              for i in range(token_at(s) + 1, token_at(e - 1) + 1)}
    ordered = sorted(cuts - inside)
    first = next((t for t in doc if not t.is_punct), None)
    opener = first.i if first is not None and first.lower_ in YES_NO_STARTS else None
    pieces = []
    for a, b in zip(ordered, ordered[1:], strict=False):
        span = doc[a:b]
        text = span.text.strip(" ,;?")
        if not text:
            continue
        lo, hi = span.start_char, span.end_char
        own = _trimmed(doc.text, [(lo, hi)])
        outlets = tuple(dict.fromkeys(o for s, e, o in outlet_spans if lo <= s < hi))
        part_days = tuple(d for (s, _), d in zip(day_spans, days, strict=True) if lo <= s < hi)
        rest, kept = span.text, [(lo, hi)]  # kept: where ``rest``'s words are
        for s, e in sorted([(s, e) for s, e, _ in outlet_spans if lo <= s < hi]
                           + [(s, e) for s, e in day_spans if lo <= s < hi], reverse=True):
            rest = rest[:s - lo] + " " + rest[e - lo:]
            kept = [(x, y) for k_lo, k_hi in kept for x, y in ((k_lo, min(k_hi, s)), (max(k_lo, e), k_hi)) if x < y]
        content = [w for w in analyze(rest) if w not in _ATTRIBUTION and w not in asked_for]
        # a report pinned by its day ("and the TechCrunch report published on October 7") is a
        # claim of its own even with no other words; a bare attribution is not
        pieces.append(_Piece(text, outlets, part_days, claim=bool(content) or bool(part_days),
                             content=bool(content), words=" ".join(rest.split()).strip(" ,;?"),
                             spans=own, word_spans=_trimmed(doc.text, kept), states=_states(span, opener)))
    # runs of attribution-only pieces ("as reported by The Verge" + "and TechCrunch") act as one
    runs: list[_Piece] = []
    for piece in pieces:
        if runs and not piece.claim and not runs[-1].claim:
            runs[-1] = runs[-1].then(piece)
        else:
            runs.append(piece)
    merged: list[_Piece] = []
    for i, piece in enumerate(runs):
        if piece.claim or not merged:
            merged.append(piece)
            continue
        last = i == len(runs) - 1
        targets = ([m for m in merged if not m.outlets] or merged) if last else [merged[-1]]
        for m in targets:
            m.outlets = tuple(dict.fromkeys(m.outlets + piece.outlets))
            m.days = tuple(dict.fromkeys(m.days + piece.days))
        merged[-1].text += " " + piece.text
        merged[-1].words += " " + piece.words
        merged[-1].spans += piece.spans
        merged[-1].word_spans += piece.word_spans
        merged[-1].states = merged[-1].states or piece.states
    # a claim with no content of its own ("Which company", "Who, according to Sporting News") is the
    # beginning of the next one
    while len(merged) > 1 and not merged[0].claim:
        first = merged.pop(0)
        merged[0] = first.then(merged[0])
    # what a report pinned by nothing but its outlet or day is about: what the claims pinning no
    # report say ("Between the TechCrunch report on X on October 6 and the one on October 7, was the
    # reporting on Y consistent?": Y, not X, which the other report is about); else what every claim
    # with words of its own says
    about = [m for m in merged if m.content and not (m.outlets or m.days)] or [m for m in merged if m.content]
    topic = " ".join(m.words for m in about)
    topic_spans = tuple(span for m in about for span in m.word_spans)
    return [Part(text=m.text, outlets=m.outlets, days=m.days,
                 names=tuple(i for i, n in enumerate(names) if n.keys <= word_keys(m.text)),
                 about="" if m.content or len(merged) < 2 else topic,
                 spans=m.spans if m.content or len(merged) < 2 else m.spans + topic_spans,
                 names_report=bool(m.outlets or m.days) and not m.states) for m in merged]


def _trimmed(text: str, spans: Sequence[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """``spans`` of ``text`` without the spaces and separating punctuation at their ends; empty ones dropped."""
    out = []
    for lo, hi in spans:
        piece = text[lo:hi]
        lo, hi = lo + len(piece) - len(piece.lstrip(" ,;?")), lo + len(piece.rstrip(" ,;?"))
        if lo < hi:
            out.append((lo, hi))
    return tuple(out)


@dataclass
class _Piece:
    """A piece of the question while it is cut into claims."""

    text: str
    outlets: tuple[str, ...]
    days: tuple[tuple[date, date], ...]
    claim: bool  # a claim of its own: words of its own, or a day pinning a report
    content: bool  # words of its own, beyond attribution and the outlets and days it names
    words: str  # its text without the outlets and days it names
    spans: tuple[tuple[int, int], ...] = ()  # where ``text`` is in the question
    word_spans: tuple[tuple[int, int], ...] = ()  # where ``words`` is
    states: bool = False  # a verb of its own: it says something ("suggests that ...", "did ... change")

    def then(self, other: _Piece) -> _Piece:
        """This piece and ``other`` after it, as one."""
        return _Piece(f"{self.text} {other.text}", tuple(dict.fromkeys(self.outlets + other.outlets)),
                      tuple(dict.fromkeys(self.days + other.days)), self.claim or other.claim,
                      self.content or other.content, f"{self.words} {other.words}",
                      self.spans + other.spans, self.word_spans + other.word_spans, self.states or other.states)


# The verb forms that say something: base and finite ones, not the participles that describe a
# report ("published on October 2", "regarding ...")
_STATING_TAGS = frozenset({"VB", "VBD", "VBP", "VBZ", "MD"})


def _states(span, opener: int | None) -> bool:
    """Whether a piece of the question has a verb of its own, besides the auxiliary opening a
    yes/no question ("Was the report by Business Today on October 7 ..." states nothing)."""
    return any(t.tag_ in _STATING_TAGS and t.i != opener for t in span)


_ATTRIBUTION = frozenset(analyze("as reported by according to article articles report reports reported "
                                 "published publication piece story both second first another other news "
                                 "suggest suggests said says claim claims featured covered coverage "
                                 "mentioned noted stated detailed per outlet outlets source sources including "
                                 "includes one ones subsequent later earlier previous prior following latest"))
