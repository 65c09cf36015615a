"""The outlets a question leans on, read from its grammar, and those the library does not hold.

"Considering a Bloomberg article ... and a report by The Wall Street Journal ..." pins its claims to
two outlets. Whether a name is an outlet is read from how the question uses it, never from a list
of outlet names: it modifies a noun naming a piece of journalism ("a *Bloomberg* article", "The
*Verge*'s coverage"), or follows one after "by", "from" or "in" ("a review in *Rolling Stone*",
"another by *Forbes*"), or is the source of what is said ("as reported by *Reuters*", "described in *The New York
Times*"). "According to *CNET*" and the subject of "reported" quote a company or a government as
often as an outlet: the library's own usage of the name decides (``missing_outlets``). A name the recognizer calls a person, a place, a date or an event, or one inside
quotation marks (a title), is no outlet.

A referenced outlet is held when it is one of the library's outlets, or the first part of one
("BBC News" of "BBC News - Technology", "Business Today" of "Business Today | Latest Stock Market
And Economy News India"). The others are what ``missing_outlets`` returns: a claim pinned to an
outlet the library lacks cannot be answered from it, and the answer says so. The subject of a
saying verb ("What did *Bloomberg* report about ...?") is an outlet only when the library's own
articles use the name as one, or never mention it: "What did Apple report?" asks about a company.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from index.language import parse


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


# nouns naming a piece of journalism: with an outlet before them ("a Bloomberg report") ...
REPORT_NOUNS = frozenset("""article piece story column op-ed editorial coverage podcast newsletter broadcast
    blog headline interview segment reporting report""".split())
# ... of which these are owned ("The Verge's coverage"; "the EU's report" is a report by no outlet)
OWNED_NOUNS = frozenset("article piece story column op-ed editorial coverage podcast newsletter blog reporting".split())
# ... and with an outlet after "by", "from" or "in" ("a review in Rolling Stone", "another by Forbes")
SOURCED_NOUNS = REPORT_NOUNS | frozenset("review analysis another one update feature interview".split())
# verbs of saying something in writing: "as reported by Reuters", "described in The New York Times"
SAYING_VERBS = frozenset("""report publish cover discuss describe detail mention highlight note feature outline
    write reveal state claim say tell""".split())
# what introduces the topic of a piece right after the name it appeared on
_TOPIC_WORDS = frozenset("about regarding concerning discussing detailing covering".split())
_NOT_OUTLETS = frozenset({"PERSON", "GPE", "LOC", "NORP", "DATE", "TIME", "CARDINAL", "ORDINAL", "EVENT", "MONEY", "PERCENT", "QUANTITY"})
_JOINERS = frozenset({"&", "-", "|", "of", ":"})
_QUOTES = '"“”'


def _capital(token) -> bool:
    """A word of a name: capitalised (or a number, "&", "|"), and no verb ("*Did* The Washington Post ...")."""
    return (token.text[:1].isupper() or token.text[:1].isdigit() or token.text in {"&", "|"}) \
        and token.pos_ not in {"VERB", "AUX"}


def _name_at(doc, i: int, stop: int | None = None) -> tuple[int, int]:
    """The character span of the run of capitalised words around token ``i`` ("The Wall Street
    Journal"), joined by "&", "-", "|", "of" or ":" between two of them; never past ``stop``."""
    lo = hi = i
    while lo - 1 >= 0 and lo - 1 != stop and (_capital(doc[lo - 1]) or doc[lo - 1].text in _JOINERS
                                              and lo - 2 >= 0 and _capital(doc[lo - 2])):
        lo -= 1
    while hi + 1 < len(doc) and hi + 1 != stop and (_capital(doc[hi + 1]) or doc[hi + 1].text in _JOINERS
                                                   and hi + 2 < len(doc) and _capital(doc[hi + 2])):
        hi += 1
    if doc[lo].text in _JOINERS:
        lo += 1
    return doc[lo].idx, doc[hi].idx + len(doc[hi].text)


def _quoted(token) -> bool:
    """Whether the token stands inside quotation marks (a title: "'Spider-Man: Across the Spider-Verse'")."""
    before = token.doc.text[:token.idx]
    singles = len(re.findall(r"(?<!\w)['‘]|(?<![sS])['’](?!\w)", before))  # "Platforms'" is a possessive
    return sum(before.count(q) for q in _QUOTES) % 2 == 1 or singles % 2 == 1


def _with_conjuncts(token):
    yield token
    for child in token.children:
        if child.dep_ == "conj":
            yield from _with_conjuncts(child)


def _objects(preposition):
    for child in preposition.children:
        if child.dep_ == "pobj":
            yield from _with_conjuncts(child)


def _names_after(doc, i: int):
    """The capitalised names that begin right after token ``i`` (a preposition), over "the" or
    "both", and those joined to them by a comma, "and" or "or": "from both *Fortune* and *TechCrunch*"."""
    j = i + 1
    while True:
        while j < len(doc) and doc[j].lower_ in {"the", "both", "either"}:
            j += 1
        if j >= len(doc) or not doc[j].text[:1].isupper():
            return
        yield doc[j]
        end = _name_at(doc, j)[1]
        j = next((t.i for t in doc[j:] if t.idx >= end), len(doc))
        while j < len(doc) and doc[j].lower_ in {",", "and", "or"}:
            j += 1


def outlet_references(text: str, *, subjects: bool = False, journalism: bool = False) -> list[tuple[int, int]]:
    """Character spans of the names ``text`` uses as outlets (see the module docstring), in order;
    with ``subjects``, also the subjects of saying verbs ("What did *Bloomberg* report about
    ...?"), which only the library's own usage can tell from a company's or a government's words
    (``missing_outlets``). With ``journalism`` (reading an article's sentence for that usage), only
    what names a piece of journalism or its publisher ("a *Bloomberg* report", "reported by
    *Bloomberg*"), whatever the recognizer calls the name: "according to" introduces people too."""
    doc = parse(text)
    found: set[tuple[int, int]] = set()

    # an article's "reported by Bloomberg" reads Bloomberg as a person's name: in journalism, that
    # label is no reason to doubt it; a date or an event ("Black Friday coverage") still is
    excluded = _NOT_OUTLETS - {"PERSON"} if journalism else _NOT_OUTLETS

    def name(token, stop: int | None = None, *, labelled: bool = True) -> None:
        if token.pos_ not in {"PROPN", "NOUN"} or not token.text[:1].isupper() or _quoted(token) \
                or labelled and token.ent_type_ in excluded:
            return
        found.add(_name_at(doc, token.i, stop))

    for token in doc:
        lemma = token.lemma_.lower()
        # a noun phrase ("a Bloomberg report", "TechCrunch articles"), not a misparsed verb ("did
        # Apple report")
        phrase = token.tag_ == "NNS" or any(c.dep_ in {"det", "poss"} for c in token.children)
        if token.pos_ in {"NOUN", "PROPN"} and lemma in REPORT_NOUNS and phrase:
            for child in token.children:
                if child.i < token.i and (child.dep_ in {"compound", "nmod", "amod"}
                                          or child.dep_ == "poss" and lemma in OWNED_NOUNS):
                    name(child, stop=token.i)
        if journalism:
            # (not "The Wall Street Journal reported that ...": a ministry reports that too)
            if token.pos_ == "VERB" and lemma in {"report", "publish", "write", "quote"}:
                for child in token.children:
                    if child.dep_ == "agent":  # "reported by Bloomberg", "experts quoted by Reuters"
                        for outlet in _objects(child):
                            name(outlet)
            elif token.pos_ == "VERB" and lemma == "tell":  # "he told The Associated Press"
                for child in (c for c in token.children if c.dep_ in {"dobj", "dative"} and c.ent_type_ == "ORG"):
                    name(child)
            continue
        if (token.pos_ in {"NOUN", "PROPN", "PRON", "NUM"} and lemma in SOURCED_NOUNS and token.i + 1 < len(doc)
                and doc[token.i + 1].lower_ in {"by", "from", "in"}):
            for outlet in _names_after(doc, token.i + 1):  # read off the words: the parse often errs here
                name(outlet)
        if (token.pos_ in {"NOUN", "PROPN"} and lemma in SOURCED_NOUNS and token.i + 1 < len(doc)
                and doc[token.i + 1].lower_ == "on"):
            # "an article on Forbes about the tools": a piece on X *about* Y appeared on X; without the
            # topic after it, "a report on Sudan" is about Sudan
            for outlet in _names_after(doc, token.i + 1):
                end = _name_at(doc, outlet.i)[1]
                after = next((t for t in doc[outlet.i:] if t.idx >= end), None)
                if after is not None and after.lower_ in _TOPIC_WORDS:
                    name(outlet)
        if subjects and token.lower_ == "according" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ == "to":
            # "according to Adobe" quotes a company as often as an outlet: the library's usage decides
            for outlet in _objects(doc[token.i + 1]):
                name(outlet, labelled=False)  # the recognizer calls "Axios" a nationality
        # "What did Sky Sports report ...?": the parser often reads "report" as a noun; a noun that
        # "did" helps is the verb, and the name run before it its subject
        misparsed = token.pos_ == "NOUN" and lemma in SAYING_VERBS and any(
            c.dep_ == "aux" and c.i < token.i for c in token.children)
        if subjects and misparsed:
            for child in token.children:
                if child.i < token.i and child.dep_ in {"nsubj", "compound"}:
                    name(child, stop=token.i, labelled=False)
        if token.pos_ == "VERB" and lemma in SAYING_VERBS:
            passive = any(c.dep_ == "auxpass" for c in token.children)
            # "as reported by Reuters", "described in The New York Times" (not the subject: "Apple
            # reported revenue", "Moscow reported" are a company's and a government's words)
            for child in token.children:
                if child.dep_ == "agent" or child.dep_ == "prep" and child.lower_ == "in" and token.tag_ == "VBN":
                    for outlet in _objects(child):
                        name(outlet)
                elif subjects and child.dep_ == "nsubj" and not passive:
                    # the recognizer's label aside: "Bloomberg" reads as a person; "was Microsoft told"
                    # names who was told
                    for outlet in _with_conjuncts(child):
                        name(outlet, labelled=False)
    return sorted(found)


def held(name: str, outlets: Sequence[str]) -> bool:
    """Whether ``name`` is one of ``outlets``, or a part of one, or the beginning of either ("BBC
    News" of "BBC News - Technology", "World Business News Leader" of "Cnbc | World Business News
    Leader"; "The Guardian" and "Guardian" alike)."""
    wanted = plain_outlet(name)
    if not wanted:
        return True
    for outlet in outlets:
        parts = [plain_outlet(outlet), *(plain_outlet(p) for p in re.split(r"\s+[|:–-]\s+|:\s+", outlet))]
        if any(wanted == part or part.startswith(wanted + " ") for part in parts if part):
            return True
    return False


def missing_outlets(text: str, outlets: Sequence[str], *,
                    cited_as_outlet: Callable[[str], bool | None] | None = None) -> tuple[str, ...]:
    """The outlets ``text`` leans on that are not among ``outlets`` (the library's), as written in
    the question, each once, in order. The subject of a saying verb ("What did Bloomberg report
    ...?", "What did Apple report ...?") counts when ``cited_as_outlet`` says the library's own
    articles use that name as an outlet ("according to Bloomberg", "a Bloomberg report"), or when
    they never mention it (``None``) and the question does not name a person by it ("What did Elon
    Musk say ...?"): then nothing in the library is from it, or about it."""
    known = outlet_mentions(text, outlets)
    strong = set(outlet_references(text))
    people = [(e.start_char, e.end_char) for e in parse(text).ents if e.label_ == "PERSON"]
    out: list[str] = []
    for start, end in outlet_references(text, subjects=cited_as_outlet is not None):
        if any(start < e and end > s for s, e, _ in known):
            continue  # an outlet the library holds, named in full
        name = text[start:end].strip(" '\"‘’“”,.")
        if not name or held(name, outlets) or plain_outlet(name) in {plain_outlet(n) for n in out}:
            continue
        if (start, end) in strong:
            out.append(name)
            continue
        cited = cited_as_outlet(name)
        person = any(start < e and end > s for s, e in people)
        if cited or cited is None and not person:
            out.append(name)
    return tuple(out)


def cited_as_outlet(name: str, sentences: Sequence[str]) -> bool | None:
    """Whether the library's ``sentences`` that mention ``name`` use it as an outlet ("reported by
    Bloomberg", "according to Bloomberg", "a Bloomberg report"): a name the articles only write
    about ("Apple reported revenue of ...") is no outlet. ``None`` when none mentions it."""
    wanted = plain_outlet(name)
    mentioning = [s for s in sentences if wanted and f" {wanted} " in f" {plain_outlet(s)} "]
    if not mentioning:
        return None
    return any(plain_outlet(s[a:b]) == wanted or plain_outlet(s[a:b]).startswith(wanted + " ")
               for s in mentioning for a, b in outlet_references(s, journalism=True))


def missing_text(names: Sequence[str]) -> str:
    """"The library holds no article from Bloomberg or The Wall Street Journal."."""
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"The library holds no article from {listed}."
