"""The default answerer: no LLM, every answer sentence is a sentence quoted from an article.

It quotes the sentences ``rag.selection.select`` chose, claim by claim. A question asking for a
name or a figure gets a direct answer line first (``rag/direct.py``; the name asked for is cited
in at least ``Tuning.naming_cited`` sentences); a question about time gets its evidence in order of
publication (``rag.selection.ordered``); figures and names that differ between reports are noted
after the quotes (``rag/conflicts.py``). A quote that names someone by a short form gets the full
form its article introduces, in an editor's brackets, once per answer (``rag/clarify.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rag import line_model
from rag.answering import AnswerContext, Capabilities, Draft, Event
from rag.clarify import clarified
from rag.conflicts import find_conflicts
from rag.direct import choose_name, direct_answer
from rag.question import OUTLET, YES_NO
from rag.selection import Pick, claim_of, ordered
from rag.settings import RagSettings
from rag.types import ANSWERED, AnswerSentence, Direct, Turn
from rag.verdicts import verdict


def direct_text(direct: Direct) -> str:
    """The direct line as text: "**25 drones** [1] / **55 drones** [2]" (sources differ), "**Talon Cyber
    Security** [1] and **Dig Security** [2]" (several asked for) or "**Name** — detail [1][2]"."""
    short = f" ({direct.short})" if direct.short and len(direct.values) == 1 else ""
    items = [f"**{v}**{short} " + "".join(f"[{n}]" for n in ns) for v, ns in direct.values]
    values = (", ".join(items[:-1]) + " and " + items[-1]) if direct.several and len(items) > 1 else " / ".join(items)
    if direct.detail:
        return f"{values} — {direct.detail}."
    return values + "."


def outlets_text(direct: Direct) -> str:
    """The outlets of an outlet answer line: "Miami News, KMIA [1]", "TechCrunch [1][3] and
    Engadget [2]", "A [1], B [2] and C [3]"."""
    items = [f"{v} " + "".join(f"[{n}]" for n in ns) for v, ns in direct.values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class ExtractiveAnswerer:
    name = "extractive"
    capabilities = Capabilities()

    def __init__(self, *, settings: RagSettings):
        self.settings = settings
        self.tuning = settings.tuning

    def condense(self, question: str, history: Sequence[Turn]) -> str | None:
        return None  # not a capability of this answerer: its follow-ups are widened

    def stream(self, context: AnswerContext) -> Iterator[Event]:
        question = context.info
        picks = list(context.picks)
        outlets = sorted({s for c in context.candidates for s in c.sources})
        choice = choose_name(question, [p.candidate for p in picks], context.candidates, outlets, context.names_of,
                             tuning=self.tuning, model=line_model.load() if self.tuning.line_model else None)
        for named in (choice, *choice.more) if choice is not None else ():  # each name asked for is
            # cited where the evidence names it
            naming = [c for c in named.sentences if not any(p.candidate is c for p in picks)]
            have = sum(1 for p in picks if any(p.candidate is c for c in named.sentences))
            picks += [Pick(c, claim_of(c)) for c in naming[:max(0, self.tuning.naming_cited - have)]]
        picks = ordered(question, picks)
        numbered = [(n, p.candidate) for n, p in enumerate(picks, start=1)]
        citations = [c.citation(n) for n, c in numbered]
        conflicts = find_conflicts(question, numbered, tuning=self.tuning, names_of=context.names_of)
        direct = direct_answer(question, numbered, choice, tuning=self.tuning)
        if direct is None and question.answer_type == YES_NO:  # only where the evidence decides it
            direct = verdict(question, [(n, p.candidate, p.claim) for n, p in enumerate(picks, start=1)],
                             tuning=self.tuning)
        sentences = []
        written = direct_text(direct) if direct is not None and direct.kind != OUTLET else ""
        for n, p in enumerate(picks, start=1):  # short names clarified in brackets, once per answer
            text = p.candidate.text
            if context.names_of is not None:
                text = clarified(p.candidate, context.names_of, written)
            written += " " + text
            sentences.append(AnswerSentence(text=text, citations=(n,), claim=p.claim))
        deltas = [f"{s.text} [{s.citations[0]}]" if i == 0 else f" {s.text} [{s.citations[0]}]"
                  for i, s in enumerate(sentences)]
        if direct is not None and direct.kind == OUTLET:
            deltas.insert(0, f"Reported by {outlets_text(direct)}. ")
        elif direct is not None:
            deltas.insert(0, direct_text(direct) + "\n\n")
        text = ""
        for delta in deltas:
            text += delta
            yield Event.delta(delta)
        if conflicts:
            delta = "\n\n" + " ".join(c.note for c in conflicts)
            text += delta
            yield Event.delta(delta)
        claims = tuple(p.text for p in question.parts) if len(question.parts) > 1 else ()
        yield Event.final(Draft(status=ANSWERED, text=text, citations=tuple(citations), conflicts=tuple(conflicts),
                                sentences=tuple(sentences), direct=direct, claims=claims))
