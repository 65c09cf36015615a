"""A question as data (``Question``): the type of answer it wants (a person, an organisation, a
place, a number of something, a date, yes or no, an outlet, or anything), the names it depends on,
the outlets and dates it names, and its *parts*: the claims a multi-hop question ("Who ...
according to Fortune, and is also ... as reported by The Age?") combines, each with its own outlet
and date. ``rag.analysis.analyse`` reads one from text, with ``rag.asked`` (what it asks, the names
it depends on), ``rag.claims`` (its claims) and ``rag.outlets`` (the outlets it names).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from index.text import analyze

# The answer types, and the nouns that name them in "Which <noun> ...?" (a general lexicon of
# English role nouns, not a list for any one question).
PERSON, ORGANISATION, PLACE, NUMBER, DATE, YES_NO, OUTLET, OPEN = (
    "person", "organisation", "place", "number", "date", "yes/no", "outlet", "open")


YES_NO_STARTS = frozenset({"do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "can",
                            "could", "will", "would", "should", "may", "might", "must"})


VERB_POS = frozenset({"VERB", "AUX"})


@dataclass(frozen=True)
class Name:
    """A named thing the question depends on: its text, its entity type, the word keys that must
    all be found (``index.names.word_key``), and whether it is a circumstance of the asked event
    (the place in "shot down *over Moscow*"), which a figure must then be tied to."""

    text: str
    label: str
    keys: frozenset[str]
    place: bool = False

    def found_in(self, keys: set[str] | frozenset[str]) -> bool:
        return self.keys <= keys


@dataclass(frozen=True)
class Part:
    """One claim of the question: its words, and the outlets and days it names."""

    text: str
    outlets: tuple[str, ...] = ()
    days: tuple[tuple[date, date], ...] = ()
    names: tuple[int, ...] = ()  # indexes into Question.names
    # what evidence for it is searched with, when not its own words: a report pinned only by its
    # outlet or day ("and the one on 2023-11-06") is about what the other claims say
    about: str = ""
    # where ``said`` is in the question's text, as character spans: its vector is pooled from the
    # question's (``Embedder.embed_spans``); empty when it is not (a follow-up)
    spans: tuple[tuple[int, int], ...] = ()
    # ``text`` with the days it names as the index writes them ("2023-10-04"), when it names one:
    # what the word searches read (``Question.dated``)
    dated: str = ""
    # it only names a report, by its outlet or day, and states nothing of its own ("Between the
    # Sporting News report on NBA betting sites published on October 2, 2023"): what to quote from
    # that report is what the question asks
    names_report: bool = False

    @property
    def said(self) -> str:
        """Its words and what it is about: what the encoder reads (pooled at ``spans``)."""
        return f"{self.text} {self.about}" if self.about else self.text

    @property
    def search(self) -> str:
        """What BM25 and the scorer's word coverage read: ``said``, with days as the index writes them."""
        text = self.dated or self.text
        return f"{text} {self.about}" if self.about else text

    @property
    def terms(self) -> list[str]:
        return analyze(self.search)


@dataclass(frozen=True)
class Question:
    text: str  # what retrieval and scoring see (a follow-up is widened with the turns before it)
    asked: str  # the question as the user typed it
    # ``text`` with the days it names as the index writes them ("2023-10-04"), when it names one:
    # what BM25 and the scorer's word coverage read (``terms``); the encoder reads ``text``
    dated: str = ""
    answer_type: str = OPEN
    noun: str | None = None  # "company" in "Which company ...?"
    unit: str | None = None  # stem of X in "how many X"
    names: tuple[Name, ...] = ()
    outlets: tuple[str, ...] = ()  # indexed outlets the question names
    days: tuple[tuple[date, date], ...] = ()  # the days it names
    parts: tuple[Part, ...] = ()
    terms: tuple[str, ...] = ()
    focus: tuple[str, ...] = ()  # terms of the question as typed (the rest of ``terms`` is context)
    attribute: str | None = None  # "mayor" in "Who is the mayor of Ryazan?": must be mentioned (in any form)
    about_time: bool = False  # evidence is shown in order of publication
    said: tuple[str, ...] = ()  # sentences the conversation already quoted (a follow-up says something new)
    prior_articles: tuple[str, ...] = ()  # articles the previous answer of a follow-up cited
    # outlets the question leans on ("a Bloomberg article") that the library holds no article of,
    # as the question writes them (``rag.outlets.missing_outlets``)
    missing_outlets: tuple[str, ...] = ()
    # the thing asked for is several ("Which outlets ...", "Which companies ...", "Which two
    # individuals ...": ``plural``), and how many when the question says (``asked_count``: 2)
    plural: bool = False
    asked_count: int | None = None
    # what a number question asks the amount of, as word keys: its content words ("pay" in "How
    # much did Microsoft pay for Activision?"), read by ``rag.measures``
    measures: tuple[str, ...] = ()

    @property
    def asks_outlet(self) -> bool:
        return self.answer_type == OUTLET

    @property
    def asks_entity(self) -> bool:
        return self.answer_type in {PERSON, ORGANISATION, PLACE} or (
            self.answer_type == OPEN and self.noun is not None and self.noun in {"entity", "entities"})


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
