"""What a question asks, read from its parse (``index.language``): the question word, the noun it
asks about ("Which *company* ...", "How many *drones*"), the answer type that follows, the
attribute it asks about ("Who is the *mayor* of Ryazan?"), and the names it depends on (and whether
each is where the asked event happened).
"""

from __future__ import annotations

import re

from index.figures import figures
from index.language import NAME_LABELS, PLACE_NOUNS
from index.names import name_words, word_key
from index.text import STOPWORDS, analyze
from rag.question import (
    DATE,
    NUMBER,
    OPEN,
    ORGANISATION,
    OUTLET,
    PERSON,
    PLACE,
    VERB_POS,
    YES_NO,
    YES_NO_STARTS,
    Name,
)

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


_SUBORDINATE = frozenset({"relcl", "acl", "advcl", "ccomp", "pcomp", "xcomp", "csubj"})


def wh_word(doc) -> tuple[str | None, object | None]:
    """The question word ("who", "which", "how many", ...) and its token; a relative pronoun or a
    question word inside a subordinate clause ("compared to what OpenAI announced") is not one."""
    first = next((t for t in doc if not t.is_punct), None)
    if first is not None and first.lower_ in YES_NO_STARTS:
        return None, None  # "Does the article ...", "Is there ...": a yes/no question
    for token in doc:
        lower = token.lower_
        if lower == "how" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ in {"many", "much"}:
            return "how many", token
        if token.tag_ in {"WDT", "WP", "WP$", "WRB"} and lower != "that":
            clause = next((t for t in (token, *token.ancestors) if t.pos_ in VERB_POS), None)
            if clause is not None and clause.dep_ in _SUBORDINATE and token.i > 0:
                continue
            return lower, token
    return None, None


_OF_NOUNS = frozenset({"type", "kind", "sort", "group", "category", "number", "amount", "total", "count"})


_COUNT_NOUNS = frozenset({"number", "amount", "total", "count"})
_KIND_NOUNS = frozenset({"type", "kind", "sort", "group", "category"})


# "What is the name of the organization ...?" asks for the organization: its name is how it is mentioned
_NAME_NOUNS = frozenset({"name", "identity"})


def asked_noun(doc, wh_token) -> object | None:
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


def answer_type_of(doc, wh: str | None, wh_token, noun) -> str:
    if wh is None:
        first = next((t for t in doc if not t.is_punct), None)
        if first is not None and first.lower_ in YES_NO_STARTS:
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
    question word in its bare form (``YES_NO_STARTS``) right after a comma, followed by what begins
    its subject."""
    return (token.lower_ in YES_NO_STARTS and token.i > 0 and doc[token.i - 1].text == ","
            and token.i + 1 < len(doc) and doc[token.i + 1].pos_ in _SUBJECT_STARTS)


def attribute_of(doc, wh_token) -> str | None:
    """"mayor" in "Who is the mayor of Ryazan?": the role a copular who/what question asks about,
    when it is tied to something by a preposition. The articles must mention it; not so "the name
    of the organization", which any mention of the organization gives."""
    if wh_token is None or wh_token.lower_ not in {"who", "what"} or wh_token.head.lemma_ != "be":
        return None
    for child in wh_token.head.children:
        # a role: a noun, or a title the tagger reads as a name ("the *CEO* of Temu"), never an entity
        role = child.pos_ == "NOUN" or child.pos_ == "PROPN" and not child.ent_type_ and child.text.isupper()
        if child is wh_token or not role or child.dep_ not in {"nsubj", "attr"}:
            continue
        if child.lemma_.lower() in _NAME_NOUNS:  # "the name of the mayor of Ryazan": the mayor
            of = next((c for c in child.children if c.dep_ == "prep" and c.lower_ == "of"), None)
            child = next((c for c in of.children if c.dep_ == "pobj" and c.pos_ == "NOUN"), None) if of else None
            if child is None:
                continue
        if any(c.dep_ == "prep" and c.lower_ in {"of", "for", "at", "in"} for c in child.children):
            return child.text.lower() if analyze(child.text) else None  # as the user wrote it
    return None


def names_in(doc, outlet_spans: list[tuple[int, int, str]], noun) -> list[Name]:
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
        verbless = not any(t.pos_ in VERB_POS for t in root.sent)
        on_event = label != "NUMBER" and attached and (preposition.head.pos_ in VERB_POS or verbless)
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
            if token.lower_ not in STOPWORDS and not (i == 0 and j == 1 and token.lower_ in YES_NO_STARTS):
                add(span, "CODE" if is_code else "PROPN")
            i = j
            continue
        if token.like_num and any(ch.isdigit() for ch in token.text) and token.ent_type_ not in {"DATE", "TIME",
                                                                                               "ORDINAL"}:
            add(doc[i:i + 1], "NUMBER")
        i += 1
    return names


def measure_words(doc) -> tuple[str, ...]:
    """What a "how much / how many" question asks the amount of, as word keys: its content words
    ("pay" in "How much did Microsoft pay for Activision?"; "worth", "deal"; "raise", "money"), the
    question's words, auxiliaries and names aside (a name is matched whole, by the gate: "Cider
    Security" is not any "security"). A figure tied to one of them by a sentence's
    grammar measures it (``rag.measures``); the parse of a question is too often wrong (a "raise"
    read as a noun) to pick its predicate alone."""
    words = [t for t in doc if t.pos_ in {"VERB", "NOUN", "ADJ"} and t.lower_ not in STOPWORDS
             and t.lower_ not in {"much", "many", "how"} and t.lemma_.lower() not in {"be", "do", "have"}
             and t.lemma_.lower() not in _COUNT_NOUNS]
    return tuple(dict.fromkeys(word_key(t.lemma_) for t in words))


def several(noun) -> tuple[bool, int | None]:
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
