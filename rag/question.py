"""What a question asks, read with the language layer (``index/language.py``), as data.

``analyse`` turns the text of a question (and the conversation before it) into a ``Question``: the
type of answer it wants (a person, an organisation, a place, a number of something, a date, yes or
no, an outlet, or anything), the names it depends on, the outlets and dates it names, and its
*parts*: a multi-hop question ("Who ... according to Fortune, and is also ... as reported by The
Age?") split into the claims it combines, each with its own outlet and date, so that evidence can be
found for every one of them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from index.language import (
    NAME_LABELS,
    PLACE_NOUNS,
    date_range,
    figures,
    name_words,
    parse,
    word_key,
    word_keys,
)
from index.text import STOPWORDS, analyze, end_mark
from rag.tuning import Tuning
from rag.types import Turn

# The answer types, and the nouns that name them in "Which <noun> ...?" (a general lexicon of
# English role nouns, not a list for any one question).
PERSON, ORGANISATION, PLACE, NUMBER, DATE, YES_NO, OUTLET, OPEN = (
    "person", "organisation", "place", "number", "date", "yes/no", "outlet", "open")
_NOUN_TYPES = {
    PERSON: """individual person people man woman men women player players figure leader minister
        president candidate coach athlete author journalist executive founder cofounder ceo chief
        director manager official officer spokesperson spokesman spokeswoman prodigy entrepreneur
        investor billionaire actor actress singer artist star quarterback receiver pitcher striker
        captain politician lawmaker senator governor mayor judge prosecutor lawyer defendant suspect
        victim founder chairman chairwoman economist analyst scientist researcher employee worker
        child children student teacher doctor king queen prince princess""",
    ORGANISATION: """company companies firm firms organization organisation entity entities team teams
        platform platforms startup start-up business businesses brand brands agency bank exchange
        club party group network corporation conglomerate manufacturer maker retailer airline
        operator provider service app website site sportsbook sportsbooks studio publisher
        university institution union league government""",
    PLACE: " ".join(sorted(PLACE_NOUNS | {"place", "location"})),
    DATE: "year date day month time week",
    OUTLET: """outlet outlets source sources newspaper newspapers publication publications paper
        station channel media broadcaster magazine""",
}
NOUN_TYPES = {w: kind for kind, nouns in _NOUN_TYPES.items() for w in nouns.split()}
_REPORTING = frozenset({"report", "publish", "break", "cover"})
_YES_NO_STARTS = frozenset({"do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "can",
                            "could", "will", "would", "should", "may", "might", "must"})
_TEMPORAL = frozenset({"when", "before", "after", "earlier", "later", "since", "until", "first", "last",
                       "latest", "previous", "subsequent", "then", "now", "change", "changed", "consistent",
                       "consistency", "inconsistency"})
_FOLLOWUP_START = re.compile(r"^\s*(and|but|also|what about|how about|then|so)\b", re.IGNORECASE)
_PRONOUNS = frozenset("it its they them their that those this these he she his her there".split())
_CLAUSE_WORDS = frozenset({"and", "while", "whereas", "but", "although", "though", "yet", ";"})
_VERB_POS = frozenset({"VERB", "AUX"})


@dataclass(frozen=True)
class Name:
    """A named thing the question depends on: its text, its entity type, the word keys that must
    all be found (``index.language.word_key``), and whether it is a circumstance of the asked event
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
    # what a number question asks the amount of, as word keys: its main predicate ("pay" in "How
    # much did Microsoft pay for Activision?"), read by ``rag.measures``
    measures: tuple[str, ...] = ()

    @property
    def asks_outlet(self) -> bool:
        return self.answer_type == OUTLET

    @property
    def asks_entity(self) -> bool:
        return self.answer_type in {PERSON, ORGANISATION, PLACE} or (
            self.answer_type == OPEN and self.noun is not None and self.noun in {"entity", "entities"})


# ----------------------------------------------------------------------------------- outlets


def plain_outlet(text: str) -> str:
    """Outlet names as compared: case, quotes, punctuation and a leading "the" ignored."""
    words = re.findall(r"\w+", text.casefold().replace("’", "'"))
    if words and words[0] == "the":
        words = words[1:]
    return " ".join(words)


def outlet_mentions(text: str, outlets: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(start, end, outlet)`` of every indexed outlet named in ``text`` ("the Verge" and
    "'The Verge'" name "The Verge"), longest names first, never overlapping."""
    found: list[tuple[int, int, str]] = []
    for outlet in sorted(outlets, key=lambda o: -len(plain_outlet(o))):
        words = plain_outlet(outlet).split()
        if not words:
            continue
        pattern = r"(?<!\w)(?:the\s+)?" + r"\W+".join(re.escape(w) for w in words) + r"(?!\w)"
        for match in re.finditer(pattern, text, re.IGNORECASE):
            if all(match.end() <= s or match.start() >= e for s, e, _ in found):
                found.append((match.start(), match.end(), outlet))
    return sorted(found)


# ------------------------------------------------------------------------------------ analysis


_SUBORDINATE = frozenset({"relcl", "acl", "advcl", "ccomp", "pcomp", "xcomp", "csubj"})


def _wh(doc) -> tuple[str | None, object | None]:
    """The question word ("who", "which", "how many", ...) and its token; a relative pronoun or a
    question word inside a subordinate clause ("compared to what OpenAI announced") is not one."""
    first = next((t for t in doc if not t.is_punct), None)
    if first is not None and first.lower_ in _YES_NO_STARTS:
        return None, None  # "Does the article ...", "Is there ...": a yes/no question
    for token in doc:
        lower = token.lower_
        if lower == "how" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ in {"many", "much"}:
            return "how many", token
        if token.tag_ in {"WDT", "WP", "WP$", "WRB"} and lower != "that":
            clause = next((t for t in (token, *token.ancestors) if t.pos_ in _VERB_POS), None)
            if clause is not None and clause.dep_ in _SUBORDINATE and token.i > 0:
                continue
            return lower, token
    return None, None


_OF_NOUNS = frozenset({"type", "kind", "sort", "group", "category", "number", "amount", "total", "count"})
_COUNT_NOUNS = frozenset({"number", "amount", "total", "count"})
_KIND_NOUNS = frozenset({"type", "kind", "sort", "group", "category"})
# "What is the name of the organization ...?" asks for the organization: its name is how it is mentioned
_NAME_NOUNS = frozenset({"name", "identity"})


def _wh_noun(doc, wh_token) -> object | None:
    """The noun a question word asks about: "company" in "Which company ...", "drones" in "How many
    drones", "systems" in "Which air defence systems", "establishments" in "What type of
    establishments", "drones" in "What number of drones"."""
    if wh_token is None:
        return None
    noun = None
    if wh_token.lower_ == "how":
        many = doc[wh_token.i + 1]
        noun = many.head if many.head.pos_ in {"NOUN", "PROPN"} and many.head.i > many.i else None
        if noun is None and many.i + 1 < len(doc) and doc[many.i + 1].lower_ == "of":
            # "How many of the drones ...": the noun after "of" (not "How many in the other report?",
            # which counts what the question before counted)
            noun = next((t for t in doc[many.i + 2:many.i + 6] if t.pos_ in {"NOUN", "PROPN"}), None)
    elif wh_token.dep_ == "det" and wh_token.head.pos_ in {"NOUN", "PROPN"}:
        noun = wh_token.head
    elif wh_token.tag_ == "WDT" and wh_token.i + 1 < len(doc):
        # a determiner the parser attached elsewhere ("And over which regions?" parses "which" as
        # the object of "over"): the noun it precedes, over adjectives and compounds
        after = doc[wh_token.i + 1:wh_token.i + 5]
        stop = next((t.i for t in after if t.pos_ not in {"NOUN", "PROPN", "ADJ", "NUM"}), after.end)
        noun = next((t for t in reversed(doc[wh_token.i + 1:stop]) if t.pos_ in {"NOUN", "PROPN"}), None)
    if noun is None and wh_token.head.lemma_ == "be":  # "Who is the individual ...": the subject
        noun = next((c for c in wh_token.head.children
                     if c.dep_ in {"nsubj", "attr"} and c.i != wh_token.i and c.pos_ == "NOUN"), None)
    if noun is not None and noun.lemma_.lower() in _OF_NOUNS | _NAME_NOUNS:
        of = next((c for c in noun.children if c.dep_ == "prep" and c.lower_ == "of"), None)
        inner = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
        if inner is not None and inner.pos_ in {"NOUN", "PROPN"}:
            return inner
    return noun


def _answer_type(doc, wh: str | None, wh_token, noun) -> str:
    if wh is None:
        first = next((t for t in doc if not t.is_punct), None)
        if first is not None and first.lower_ in _YES_NO_STARTS:
            return YES_NO
        if any(t.pos_ == "AUX" and t.dep_ in {"ROOT", "aux", "auxpass"} and t.head.i >= t.i
               and any(c.dep_ in {"expl", "nsubj", "nsubjpass"} and c.i > t.i for c in t.head.children)
               for t in doc):
            return YES_NO  # "Between A and B, was there agreement ...?"
        if any(_inverted(doc, t) for t in doc):
            return YES_NO  # the same, when a long opening phrase misleads the parser
        return OPEN
    counted = noun is not None and noun.head.lower_ == "of" and noun.head.head.lemma_.lower() in _COUNT_NOUNS
    if wh == "how many" or counted and wh in {"what", "which"}:  # "What number of drones ...?"
        return NUMBER
    if wh in {"when"}:
        return DATE
    if wh == "where":
        return PLACE
    if noun is not None and noun.lemma_.lower() in NOUN_TYPES:
        return NOUN_TYPES[noun.lemma_.lower()] if noun.lower_ not in NOUN_TYPES else NOUN_TYPES[noun.lower_]
    if wh in {"who", "whom", "whose"}:
        verb = wh_token.head
        if verb.lemma_ in _REPORTING:
            return OUTLET
        return PERSON
    return OPEN


_SUBJECT_STARTS = frozenset({"DET", "PRON", "PROPN", "NOUN", "ADJ", "NUM"})


def _inverted(doc, token) -> bool:
    """Whether ``token`` opens an inverted main clause after an opening phrase ("After the report of
    October 18, *did The Guardian's* report ...?", "..., *was the* reporting consistent?"): a
    question word in its bare form (``_YES_NO_STARTS``) right after a comma, followed by what begins
    its subject."""
    return (token.lower_ in _YES_NO_STARTS and token.i > 0 and doc[token.i - 1].text == ","
            and token.i + 1 < len(doc) and doc[token.i + 1].pos_ in _SUBJECT_STARTS)


def _names(doc, outlet_spans: list[tuple[int, int, str]], noun) -> list[Name]:
    """Named things of the question: entities (not outlets, not dates), proper nouns the recognizer
    missed, codes such as "S-500", and numbers that are not dates."""
    def in_outlet(start: int, end: int) -> bool:
        return any(start < e and end > s for s, e, _ in outlet_spans)

    names: list[Name] = []
    covered: set[int] = set()

    def add(span, label: str) -> None:
        text = re.sub(r"['’]s$", "", span.text.strip(" '\"‘’“”"))
        keys = frozenset(word_key(w) for w in name_words(text) if w not in STOPWORDS or w.isdigit())
        if not keys or any(n.keys == keys for n in names):
            return
        # the object of a preposition on the asked event ("shot down *over Moscow*", "scored *against
        # Brazil*", or a fragment "And over Moscow?"): a count must be tied to it, not just near it
        root = span.root
        attached = root.dep_ == "pobj" or (root.dep_ == "compound" and root.head.dep_ == "pobj")
        preposition = root.head if root.dep_ == "pobj" else root.head.head
        verbless = not any(t.pos_ in _VERB_POS for t in root.sent)
        on_event = label != "NUMBER" and attached and (preposition.head.pos_ in _VERB_POS or verbless)
        names.append(Name(text, label, keys, on_event))

    for ent in doc.ents:
        if in_outlet(ent.start_char, ent.end_char) or noun is not None and ent.start <= noun.i < ent.end:
            covered.update(range(ent.start, ent.end))  # outlets, and the thing asked for, are not names
            continue
        if ent.label_ in NAME_LABELS:
            add(ent, ent.label_)
            covered.update(range(ent.start, ent.end))
        elif ent.label_ in {"DATE", "TIME", "ORDINAL"}:
            covered.update(range(ent.start, ent.end))
    i = 0
    while i < len(doc):
        token = doc[i]
        if i in covered or in_outlet(token.idx, token.idx + len(token.text)):
            i += 1
            continue
        is_code = bool(re.search(r"[A-Za-z]", token.text)) and bool(re.search(r"\d", token.text))
        is_noun = noun is not None and token.i == noun.i
        if token.pos_ == "PROPN" and token.text[:1].isupper() and not is_noun or is_code:
            j = i + 1
            while j < len(doc) and j not in covered and doc[j].pos_ == "PROPN" and doc[j].text[:1].isupper():
                j += 1
            span = doc[i:j]
            if token.lower_ not in STOPWORDS and not (i == 0 and j == 1 and token.lower_ in _YES_NO_STARTS):
                add(span, "CODE" if is_code else "PROPN")
            i = j
            continue
        if token.like_num and any(ch.isdigit() for ch in token.text) and token.ent_type_ not in {"DATE", "TIME",
                                                                                               "ORDINAL"}:
            add(doc[i:i + 1], "NUMBER")
        i += 1
    return names


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
        predicate = following.pos_ in _VERB_POS or following.lower_ in _AUX_WORDS
        if predicate and (not starts or starts[-1] != token.i - 1):  # ", and": one cut, at the comma
            starts.append(token.i)
    return starts


def _anchor_cuts(doc, a: int, b: int, anchors: list[tuple[int, str]]) -> list[int]:
    """Cuts inside tokens ``a..b`` between two anchors (outlet or date mentions: token index, kind)
    where a second report begins: before an outlet ("... published on October 2, 2023, *and* the
    TechCrunch report ...") or between two dates ("on October 18, *and* again ... on October 28")."""
    inside = sorted((i, kind) for i, kind in anchors if a <= i < b)
    cuts = []
    for (left, left_kind), (right, right_kind) in zip(inside, inside[1:], strict=False):
        if right_kind != "outlet" and left_kind != "date":
            continue
        joiners = [t.i for t in doc[left + 1:right] if t.lower_ in {"and", ",", "while", "whereas", "but", "or"}]
        if joiners:
            cut = joiners[-1]
            if doc[cut].lower_ == "and" and doc[cut - 1].lower_ == ",":
                cut -= 1
            cuts.append(cut)
    return cuts


def _parts(doc, outlet_spans, day_spans, days, names: list[Name], asked_for: set[str]) -> list[Part]:
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
    opener = first.i if first is not None and first.lower_ in _YES_NO_STARTS else None
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


def _attribute(doc, wh_token) -> str | None:
    """"mayor" in "Who is the mayor of Ryazan?": the role a copular who/what question asks about,
    when it is tied to something by a preposition. The articles must mention it; not so "the name
    of the organization", which any mention of the organization gives."""
    if wh_token is None or wh_token.lower_ not in {"who", "what"} or wh_token.head.lemma_ != "be":
        return None
    for child in wh_token.head.children:
        if child is wh_token or child.pos_ != "NOUN" or child.dep_ not in {"nsubj", "attr"}:
            continue
        if child.lemma_.lower() in _NAME_NOUNS:  # "the name of the mayor of Ryazan": the mayor
            of = next((c for c in child.children if c.dep_ == "prep" and c.lower_ == "of"), None)
            child = next((c for c in of.children if c.dep_ == "pobj" and c.pos_ == "NOUN"), None) if of else None
            if child is None:
                continue
        if any(c.dep_ == "prep" and c.lower_ in {"of", "for", "at", "in"} for c in child.children):
            return child.text.lower() if analyze(child.text) else None  # as the user wrote it
    return None


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
    wh, wh_token = _wh(doc)
    noun = _wh_noun(doc, wh_token)
    answer_type = _answer_type(doc, wh, wh_token, noun)
    outlet_spans = outlet_mentions(text, outlets)
    names = _names(doc, outlet_spans, noun)
    unit = None
    if answer_type == NUMBER and noun is not None:
        unit_terms = analyze(noun.text)
        unit = unit_terms[0] if unit_terms else None
    asked_for = set(analyze(noun.text)) if noun is not None else set()
    parts = _parts(doc, outlet_spans, day_spans, days, names, asked_for) or [Part(text=text)]
    lowered = {t.lower_ for t in doc}
    plural, asked_count = _several(noun) if answer_type != NUMBER else (False, None)
    measures = _measure_words(doc) if answer_type == NUMBER else ()
    question = Question(text=text, asked=text, answer_type=answer_type, plural=plural, asked_count=asked_count,
                        measures=measures,
                        noun=noun.lemma_.lower() if noun is not None else None, unit=unit, names=tuple(names),
                        outlets=tuple(dict.fromkeys(o for _, _, o in outlet_spans)), days=tuple(days),
                        parts=tuple(parts), terms=tuple(analyze(text)), focus=tuple(analyze(text)),
                        attribute=_attribute(doc, wh_token),
                        about_time=bool(days) or answer_type == DATE or bool(lowered & _TEMPORAL))
    return _dates_as_indexed(question, day_spans, days)


def _measure_words(doc) -> tuple[str, ...]:
    """What a "how much / how many" question asks the amount of, as word keys: its content words
    ("pay", "Activision" in "How much did Microsoft pay for Activision?"; "worth", "deal"; "raise",
    "money"), the question's and auxiliary words aside. A figure tied to one of them by a sentence's
    grammar measures it (``rag.measures``); the parse of a question is too often wrong (a "raise"
    read as a noun) to pick its predicate alone."""
    words = [t for t in doc if t.pos_ in {"VERB", "NOUN", "ADJ", "PROPN"} and t.lower_ not in STOPWORDS
             and t.lower_ not in {"much", "many", "how"} and t.lemma_.lower() not in {"be", "do", "have"}
             and t.lemma_.lower() not in _COUNT_NOUNS]
    return tuple(dict.fromkeys(word_key(t.lemma_) for t in words))


def _several(noun) -> tuple[bool, int | None]:
    """Whether the noun asked about is plural ("Which *outlets*", "Which two *individuals*"), and the
    number the question gives it ("two": 2), if any."""
    if noun is None:
        return False, None
    if noun.head.lower_ == "of" and noun.head.head.lemma_.lower() in _KIND_NOUNS:
        return False, None  # "What type of establishments ...?" asks for one kind
    count = next((c for c in noun.children if c.dep_ == "nummod"), None)
    value = None
    if count is not None:
        found = figures(count.text)
        value = int(found[0].value) if found and found[0].value.is_integer() else None
    plural = noun.tag_ in {"NNS", "NNPS"} or (value is not None and value > 1)
    return plural, value if plural else None


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

