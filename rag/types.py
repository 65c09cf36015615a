"""The data an answer is made of. Citations are data, never string formatting: the CLI, the HTTP
API and the chat all render these same objects (``to_dict`` is the JSON contract)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass(frozen=True, kw_only=True)
class Filters:
    """Restrict retrieval to some outlets and a publication-date range (inclusive days)."""

    sources: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.sources or self.since or self.until)

    def to_dict(self) -> dict:
        return {"source": list(self.sources), "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


NO_FILTERS = Filters()


@dataclass(frozen=True, kw_only=True)
class Location:
    """Where a text sits: an article and character offsets in its body."""

    article_id: str
    title: str
    source: str | None
    published_at: str | None
    url: str | None
    chunk_id: str
    start: int
    end: int


@dataclass(frozen=True, kw_only=True)
class Passage:
    """A retrieved chunk. ``also`` lists other articles holding the very same passage text."""

    location: Location
    text: str  # the chunk text as indexed: title header + body slice
    header_len: int
    sentences: tuple[tuple[int, int], ...]  # offsets in the article body
    score: float  # fused score
    dense: float | None = None  # cosine similarity, when the dense retriever found it
    lexical: float | None = None  # BM25 score, when the lexical retriever found it
    also: tuple[Location, ...] = ()

    @property
    def body(self) -> str:
        return self.text[self.header_len:]

    def sentence_texts(self) -> list[tuple[int, int, str]]:
        """``(start, end, text)`` of each sentence, offsets in the article body."""
        base = self.location.start
        return [(s, e, self.body[s - base:e - base]) for s, e in self.sentences]

    def to_dict(self) -> dict:
        loc = self.location
        return {"article_id": loc.article_id, "title": loc.title, "source": loc.source,
                "published_at": loc.published_at, "url": loc.url, "chunk_id": loc.chunk_id,
                "start": loc.start, "end": loc.end, "text": self.body, "score": round(self.score, 6),
                "also": [asdict(a) for a in self.also]}


@dataclass(frozen=True, kw_only=True)
class Citation:
    """One cited sentence ``[n]``: where it is (``location``: its article and its offsets in the
    body) and what it says; ``quote == article.body[location.start:location.end]`` always holds."""

    n: int
    location: Location
    quote: str
    also: tuple[Location, ...] = ()  # the same sentence in other articles
    # the other articles of its story (syndicated copies, index/stories.py): every outlet and date
    # that carried it ("also in: ..."); their offsets are 0, they were not quoted
    story: tuple[Location, ...] = ()

    def to_dict(self) -> dict:
        """The JSON contract: the location's fields beside ``n`` and ``quote``, flat."""
        loc = self.location
        return {"n": self.n, "article_id": loc.article_id, "title": loc.title, "source": loc.source,
                "published_at": loc.published_at, "url": loc.url, "chunk_id": loc.chunk_id, "quote": self.quote,
                "start": loc.start, "end": loc.end, "also": [asdict(a) for a in self.also],
                "story": [{k: getattr(a, k) for k in ("article_id", "title", "source", "published_at", "url")}
                          for a in self.story]}


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One side of a conflict: the figure or name as one source gives it, and its citation."""

    n: int
    text: str


DISAGREE = "disagree"  # the sources describe the same event (same date) and give different values
DIFFER = "differ"  # different values, and nothing shows the reports are about the same event
UPDATED = "updated"  # a later report of the same outlet, or of the same story, gives a new value


@dataclass(frozen=True, kw_only=True)
class Conflict:
    claims: tuple[Claim, ...]
    note: str  # one line for text-only clients, naming each value with its outlet, date and [n]
    kind: str = DISAGREE

    def to_dict(self) -> dict:
        return {"claims": [asdict(c) for c in self.claims], "note": self.note, "kind": self.kind}


# How an answer sentence relates to its sources.
QUOTED = "quoted"  # copied verbatim from the cited sentence (extractive mode)
CITED = "cited"  # written by a model with a valid [n] whose passage supports it
ATTRIBUTED = "attributed"  # written by a model; its citation was found by matching it to the passages
UNSUPPORTED = "unsupported"  # nothing in the passages supports it


@dataclass(frozen=True, kw_only=True)
class AnswerSentence:
    """A sentence of the answer, the citations it rests on, and whether they support it.
    ``claim`` is the index of the question's claim it answers (``Answer.claims``), when known."""

    text: str
    citations: tuple[int, ...]
    supported: bool = True
    reason: str | None = None  # why a sentence is flagged unsupported
    kind: str = QUOTED
    claim: int | None = None

    def to_dict(self) -> dict:
        return {"text": self.text, "citations": list(self.citations), "supported": self.supported,
                "reason": self.reason, "kind": self.kind, "claim": self.claim}


@dataclass(frozen=True, kw_only=True)
class Direct:
    """The direct answer line: the entity or figure asked for, and the citations naming it.
    ``values`` holds more than one entry when sources differ (each with its own citations)."""

    kind: str  # person, organisation, place, number, date
    values: tuple[tuple[str, tuple[int, ...]], ...]  # (value as written, citation numbers)
    detail: str = ""  # "named in 3 cited sentences from Fortune and TechCrunch"
    several: bool = False  # the values are several answers to one question ("Which two startups ...?")
    short: str | None = None  # the short form the evidence also names the one value by ("RA", "Fed")

    @property
    def text(self) -> str:
        values = [v for v, _ in self.values]
        if self.several and len(values) > 1:
            return ", ".join(values[:-1]) + " and " + values[-1]
        return " / ".join(values)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "detail": self.detail, "several": self.several,
                "short": self.short,
                "values": [{"text": v, "citations": list(ns)} for v, ns in self.values]}


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """Why an answer was refused, for people: the reason, and in LLM modes what the model said."""

    reason: str
    reply: str | None = None  # the model's own reply, kept for inspection
    verdicts: tuple[AnswerSentence, ...] = ()  # per-sentence verdicts on that reply

    def to_dict(self) -> dict:
        return {"reason": self.reason, "reply": self.reply, "verdicts": [v.to_dict() for v in self.verdicts]}


ANSWERED = "answered"
REFUSED = "refused"
# The stages of an answer (``rag/pipeline.py``), as ``Answer.timings_ms`` names them; a refused
# answer has no "select" and "answer", and every answer has a "total".
STAGES = ("understand", "retrieve", "score", "gate", "select", "answer")
TIMINGS = (*STAGES, "total")
REFUSAL_TEXT = "The indexed articles do not answer this."


@dataclass(frozen=True, kw_only=True)
class Answer:
    question: str
    answer: str
    status: str  # "answered" | "refused"
    mode: str
    citations: tuple[Citation, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    closest: tuple[Passage, ...] = ()
    sentences: tuple[AnswerSentence, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)  # milliseconds per stage (``TIMINGS``)
    filters: Filters = NO_FILTERS
    direct: Direct | None = None
    claims: tuple[str, ...] = ()  # the parts of a multi-part question, as AnswerSentence.claim indexes
    refusal: Refusal | None = None

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "status": self.status,
            "mode": self.mode,
            "direct": self.direct.to_dict() if self.direct else None,
            "claims": list(self.claims),
            "refusal": self.refusal.to_dict() if self.refusal else None,
            "citations": [c.to_dict() for c in self.citations],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "closest": [p.to_dict() for p in self.closest],
            "sentences": [s.to_dict() for s in self.sentences],
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "filters": self.filters.to_dict(),
        }


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One earlier exchange of the conversation, as data: the question, the answer text, the ids of
    the articles it cited (a follow-up leans towards them) and the sentences it quoted."""

    question: str
    answer: str = ""
    articles: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()  # the sentences the answer quoted (a follow-up says something new)

    @classmethod
    def of(cls, answer: Answer | dict) -> Turn:
        """The turn an answer (object or its JSON) leaves in the conversation."""
        data = answer.to_dict() if isinstance(answer, Answer) else answer
        citations = data.get("citations") or []
        cited = tuple(dict.fromkeys(c["article_id"] for c in citations))
        quotes = tuple(dict.fromkeys(c["quote"] for c in citations if c.get("quote")))
        return cls(question=data.get("question", ""), answer=data.get("answer", ""), articles=cited,
                   quotes=quotes)
