"""Questions about the library itself, answered from its catalog, not from article text.

"Which outlets are in the library?", "How many articles are there from The Verge?", "What is the
newest article about drones?", "What period do the articles cover?": the articles do not say what
the library holds, its catalog does. ``about_library`` decides whether a question is one of these
(a closed set of phrasings: a question that reports on something, "Which outlet reported 55
drones?", never is); ``catalog_answer`` builds the answer from the catalog, honouring the filters,
as the same ``Answer`` objects as any other answer: an article it names is cited by the sentence
that matched the topic (or its first sentence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.browse import MAX_LIMIT, ArticleQuery, OutletSummary, overview, record_filter
from index.library import Library
from index.store import ArticleRecord, chunk_id
from rag.types import (
    ANSWERED,
    NO_FILTERS,
    REFUSED,
    Answer,
    AnswerSentence,
    Citation,
    Filters,
    Location,
    Refusal,
)

MODE = "catalog"  # Answer.mode of an answer read from the catalog
CATALOG = "catalog"  # AnswerSentence.kind: a statement about the library, not a quote
OUTLETS, COUNT, NEWEST, OLDEST, SPAN = "outlets", "count", "newest", "oldest", "span"
LISTED = 5  # articles named in an answer about the newest or oldest ones

_LIB = r"(?:the |this |your |our )?(?:library|index|collection|corpus|database|archive)"
_HOLD = r"(?:have|hold|contain|cover|include|index)"
_OUTLETS = r"(?:news )?(?:outlets|sources|publications|publishers|newspapers|papers|news sites|websites|media)"
_ARTICLES = r"(?:news )?(?:articles|stories|reports|pieces|items|documents)"
_ARTICLE = r"(?:news )?(?:article|story|report|piece|item|document)"
_THERE = rf"(?:there|in {_LIB}|indexed|available|included|stored)"
_FROM = r"(?: (?:from|by|of) (?P<outlet>.+?))?"
_TOPIC = r"(?: (?:about|on|regarding|concerning|mentioning|covering|that mentions) (?P<topic>.+?))?"
_WHERE = rf"(?: (?:in {_LIB}|you have|we have|indexed))?"
_FIRST = {"newest": NEWEST, "latest": NEWEST, "most recent": NEWEST, "last": NEWEST, "oldest": OLDEST,
          "earliest": OLDEST, "first": OLDEST}
_WHICH_FIRST = "(?P<which>newest|latest|most recent|last|oldest|earliest|first)"

_PATTERNS = [
    (OUTLETS, rf"(?:which|what) {_OUTLETS}(?: (?:are|is))?(?: there)?(?: (?:in|within|covered by|included in|"
              rf"indexed in|represented in) {_LIB})?"),
    (OUTLETS, rf"(?:which|what) {_OUTLETS} (?:are|is) (?:there|indexed|available|included|covered|represented)"
              rf"(?: in {_LIB})?"),
    (OUTLETS, rf"(?:which|what) {_OUTLETS} (?:do|does) (?:you|we|it|{_LIB}) {_HOLD}(?: in {_LIB})?"),
    (OUTLETS, rf"(?:list|show|name)(?: me)?(?: all)? (?:the |your )?{_OUTLETS}{_WHERE}"),
    (OUTLETS, rf"how many {_OUTLETS} (?:are|is) (?:there|{_THERE})(?: in {_LIB})?"),
    (OUTLETS, rf"how many {_OUTLETS} (?:do|does) (?:you|we|it|{_LIB}) {_HOLD}"),
    (OUTLETS, rf"what (?:is|'s) in {_LIB}"),
    (OUTLETS, rf"what (?:do|does) (?:you|{_LIB}) {_HOLD}"),
    (COUNT, rf"how many {_ARTICLES}(?: (?:are|is) (?:there )?{_THERE}| (?:do|does) (?:you|we|it|{_LIB}) {_HOLD})"
            rf"{_FROM}(?: (?:are|is) there)?"),
    (COUNT, rf"how many {_ARTICLES} (?:from|by) (?P<outlet>.+?) (?:are|is) (?:there|{_THERE})"),
    (COUNT, rf"how many {_ARTICLES} (?:are|is) there (?:from|by) (?P<outlet>.+?)"),
    (COUNT, rf"how many {_ARTICLES}{_FROM}(?: (?:are there|do you have|(?:are|is) (?:there )?{_THERE}))? "
            rf"(?:are |is )?(?:about|on|mention|mentioning|that mention|covering) (?P<topic>.+?)"),
    (COUNT, rf"how many {_ARTICLES} did (?P<outlet>.+?) (?:publish|run|write|have)(?: (?:about|on) (?P<topic>.+?))?"),
    (NEWEST, rf"(?:what|which)(?: is| was| are| were|'s) the {_WHICH_FIRST} (?:{_ARTICLE}|{_ARTICLES}){_TOPIC}"
             rf"(?: (?:in {_LIB}|from (?P<outlet>.+?)))?"),
    (NEWEST, rf"(?:which|what) {_ARTICLE} (?:is|was) (?:the )?{_WHICH_FIRST}(?: one)?{_TOPIC}{_WHERE}"),
    (NEWEST, rf"when was the {_WHICH_FIRST} {_ARTICLE}{_TOPIC} published"),
    (SPAN, rf"(?:what|which) (?:period|dates|date range|time span|time period|span of time|days|time frame) "
           rf"(?:do|does) (?:the {_ARTICLES}|{_LIB}) (?:cover|span|come from)"),
    (SPAN, rf"what (?:is|'s) the (?:date range|time span|period|time frame) (?:of|covered by) "
           rf"(?:the {_ARTICLES}|{_LIB})"),
    (SPAN, rf"how (?:old|recent|new) are the {_ARTICLES}(?: in {_LIB})?"),
    (SPAN, rf"(?:from )?when (?:are|were) the {_ARTICLES}(?: in {_LIB})? (?:from|published|dated)"),
]
_COMPILED = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _PATTERNS]


@dataclass(frozen=True)
class LibraryQuestion:
    kind: str  # outlets, count, newest, oldest, span
    topic: str | None = None  # "the newest article about <topic>"
    outlet: str | None = None  # "how many articles from <outlet>"


def about_library(question: str) -> LibraryQuestion | None:
    """The question as one about the library itself, or None for a question about the news."""
    text = " ".join(question.replace("’", "'").split()).rstrip(" ?.!")
    for kind, pattern in _COMPILED:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        groups = match.groupdict()
        which = _FIRST.get((groups.get("which") or "").lower())
        outlet = (groups.get("outlet") or "").strip() or None
        topic = (groups.get("topic") or "").strip() or None
        return LibraryQuestion(which if kind == NEWEST else kind, topic=topic, outlet=outlet)
    return None


# ------------------------------------------------------------------------------------ answers


def _records(library: Library, filters: Filters) -> list[ArticleRecord]:
    """The catalog's articles that pass ``filters`` (undated ones never pass a date range)."""
    passes = record_filter(filters.sources, filters.since, filters.until)
    return [r for r in library.catalog().articles.values() if passes is None or passes(r)]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _span(first: str | None, last: str | None) -> str:
    if first is None:
        return "undated"
    return first if first == last else f"{first} to {last}"


def _dated(held) -> str:
    """", dated 2023-09-26 to 2023-12-22 (2 undated)" for an ``Overview``."""
    if held.first is None:
        return ", none of them dated" if held.articles > 1 else ", undated"
    undated = f" ({held.undated:,} undated)" if held.undated else ""
    return f", dated {_span(held.first, held.last)}{undated}"


def _outlet_line(o: OutletSummary) -> str:
    dates = _span(o.first, o.last)
    if o.undated and o.first:
        dates += f", {o.undated} undated"
    return f"{o.name}: {_plural(o.articles, 'article')}, {dates}."


def _scope(filters: Filters) -> str:
    parts = []
    if filters.sources:
        parts.append("from " + ", ".join(filters.sources))
    if filters.since or filters.until:
        parts.append(f"published {_span(str(filters.since or '…'), str(filters.until or '…'))}")
    return f" ({'; '.join(parts)})" if parts else ""


def _match_outlet(name: str, records: list[ArticleRecord]) -> str | None:
    wanted = " ".join(name.split()).casefold()
    wanted = wanted[4:] if wanted.startswith("the ") and not any(
        s.casefold() == wanted for r in records for s in r.sources) else wanted
    for record in records:
        for source in record.sources:
            folded = source.casefold()
            if folded == wanted or folded == f"the {wanted}":
                return source
    return None


class _Builder:
    def __init__(self, library: Library, question: str, filters: Filters):
        self.library, self.question, self.filters = library, question, filters
        self.sentences: list[AnswerSentence] = []
        self.citations: list[Citation] = []
        self.refused: str | None = None  # why the catalog cannot answer, when it cannot

    def refuse(self, text: str, reason: str) -> None:
        self.say(text)
        self.refused = reason

    def say(self, text: str, cites: tuple[int, ...] = ()) -> None:
        self.sentences.append(AnswerSentence(text=text, citations=cites, kind=CATALOG))

    def cite(self, record: ArticleRecord, sentence) -> int:
        """Cite an article by ``sentence`` (a ``index.browse.Match`` with its quote), or else by the
        first sentence of its first passage."""
        if sentence is not None and sentence.quote is not None:
            quote, start, end, chunk = sentence.quote, sentence.start, sentence.end, sentence.chunk_id
        else:
            chunk = chunk_id(record.version, 0)
            found = self.library.store.get_chunks([chunk]).get(chunk)
            if found is None or not found.sentences:
                return 0
            start, end = found.sentences[0]
            quote = found.body_text[start - found.start:end - found.start]
        n = len(self.citations) + 1
        location = Location(article_id=record.id, title=record.display_title, source=record.source,
                            published_at=record.published_at, url=record.url, chunk_id=chunk, start=start, end=end)
        self.citations.append(Citation(n=n, location=location, quote=quote))
        return n

    def answer(self) -> Answer:
        text = " ".join(s.text + "".join(f" [{n}]" for n in s.citations) for s in self.sentences)
        if self.refused:
            return Answer(question=self.question, answer=text, status=REFUSED, mode=MODE, filters=self.filters,
                          refusal=Refusal(reason=self.refused), sentences=tuple(self.sentences))
        return Answer(question=self.question, answer=text, status=ANSWERED, mode=MODE, filters=self.filters,
                      sentences=tuple(self.sentences), citations=tuple(self.citations))


def catalog_answer(asked: LibraryQuestion, library: Library, *, question: str,
                   filters: Filters = NO_FILTERS) -> Answer:
    """The answer to a question about the library, from its catalog (within ``filters``)."""
    out = _Builder(library, question, filters)
    records = _records(library, filters)
    scope, name = _scope(filters), None
    if asked.outlet is not None:
        name = _match_outlet(asked.outlet, records)
        if name is None:
            out.refuse(f"The library holds no article from {asked.outlet}{scope}.",
                       f"no article from {asked.outlet!r} is indexed")
            return out.answer()
        records = [r for r in records if name.casefold() in {s.casefold() for s in r.sources}]
        scope = f" from {name}{scope}"
    total, about, matches = len(records), "", {}
    if asked.topic and records:  # the articles that mention it, by the Library's full-text search
        page = library.browse(ArticleQuery(q=asked.topic, sources=(name,) if name else filters.sources,
                                           since=filters.since, until=filters.until, limit=MAX_LIMIT,
                                           sort="oldest" if asked.kind == OLDEST else "newest"))
        records, total, matches = page.articles, page.total, page.matches
        about = f" about “{asked.topic}”"
        if not total:
            out.refuse(f"No article{scope} mentions “{asked.topic}”.", f"no article mentions {asked.topic!r}")
            return out.answer()
    if not records:
        out.refuse(f"The library holds no article{scope}.", "no article passes the filters")
        return out.answer()
    held = overview(records, newest=LISTED)
    if asked.kind == OUTLETS:
        without = f", and {_plural(held.without_outlet, 'article')} without one" if held.without_outlet else ""
        out.say(f"The library holds {_plural(held.articles, 'article')}{scope} from "
                f"{_plural(len(held.outlets), 'outlet')}{without}{_dated(held)}:")
        for o in held.outlets:
            out.say(_outlet_line(o))
    elif asked.kind == COUNT:
        out.say(f"The library holds {_plural(total, 'article')}{about}{scope}{_dated(held)}.")
    elif asked.kind == SPAN:
        if held.first is None:
            out.say(f"None of the {_plural(held.articles, 'article')}{scope} is dated.")
        else:
            undated = f"; {_plural(held.undated, 'article')} undated" if held.undated else ""
            out.say(f"The {_plural(held.articles, 'article')}{scope} are dated {_span(held.first, held.last)}"
                    f"{undated}.")
    else:
        _first_articles(out, asked, records, matches, f"{about}{scope}")
    return out.answer()


def _first_articles(out: _Builder, asked: LibraryQuestion, records: list[ArticleRecord], matches: dict,
                    scope: str) -> None:
    """The newest (or oldest) of ``records``, each cited by the sentence that matched the topic
    (``matches``), or by its first sentence."""
    dated = sorted((r for r in records if r.published_ts is not None), key=lambda r: r.published_ts,
                   reverse=asked.kind == NEWEST)
    word = "newest" if asked.kind == NEWEST else "oldest"
    if not dated:
        listed = records[:LISTED]
        out.say(f"None of the {_plural(len(records), 'article')}{scope} is dated, so none is the {word}; "
                f"{'they are' if len(records) <= LISTED else f'the first {LISTED} are'}:")
    else:
        first, listed = dated[0], dated[1:LISTED]
        n = out.cite(first, matches.get(first.id))
        out.say(f"The {word} article{scope} is “{first.display_title}” ({_source(first)}, "
                f"{first.published_at[:10]}).", (n,) if n else ())
        if listed:
            out.say("Then:")
    for record in listed:
        n = out.cite(record, matches.get(record.id))
        out.say(f"“{record.display_title}” ({_source(record)}, {(record.published_at or 'undated')[:10]}).",
                (n,) if n else ())


def _source(record: ArticleRecord) -> str:
    return ", ".join(record.sources) or "outlet unknown"
