"""Editorial brackets: a quoted sentence that names someone by a short form is given the full form
its own article introduces, the way an editor clarifies a quotation ("[Sam] Altman said ...",
"the Fed [Federal Reserve] raised ...").

A sentence quoted out of its article loses the introduction that told the reader who "Altman" or
"the Fed" is. The full form comes from the article's name index, made at ingest
(``index.language.name_index``): for a person's surname alone, the first full name the article
writes with that surname (``p``), and only when the article writes no other full name with it
("Travis Kelce" and "Jason Kelce" leave "Kelce" alone); for an organisation's short form, the
link made at ingest from how the short form is made from the full one (``a``: "Fed" -> "Federal
Reserve"). Never a list of aliases, and never the library's links: a bracket says what this
article means. A name is clarified once per answer: not where the answer already wrote its full
form (the answer line, an earlier quote, or the sentence itself).

The citation keeps the sentence verbatim (``Citation.quote``); only the quote in the answer text
carries the brackets, which the reader knows as an editor's words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from index.language import Mention
from index.names import clean_name, initials_form, is_short_form, surname
from index.text import STOPWORDS
from rag.direct import name_mentions
from rag.evidence import Candidate

PERSON = "PERSON"
_GIVEN = re.compile(r"[A-Z][^\W\d_]*(?:[-'’.][^\W\d_]*)*\.?")  # "Sam", "Jean-Luc", "J.", "O'Neil"


def clarified(candidate: Candidate, names_of: Callable[[str], dict], written: str) -> str:
    """The candidate's sentence with each short name it writes (``rag.direct.name_mentions``, as the
    answer line reads them) followed or preceded by its bracketed full form, unless ``written`` (the
    answer so far) or the sentence already holds that full form."""
    text = candidate.text
    inserts: list[tuple[int, str]] = []
    seen = (written + " " + text).replace("[", "").replace("]", "")  # "[Sam] Altman" wrote "Sam Altman"
    for mention in sorted(name_mentions(candidate, names_of), key=lambda m: m.start):
        found = full_form(mention, candidate, names_of)
        if found is None or found[0] in seen:
            continue
        full, person = found
        seen += " " + full
        short = clean_name(mention.text)
        at = mention.start + mention.text.index(short)
        if person:  # "[Sam] Altman": the given names before the surname
            inserts.append((at, f"[{full[: -len(short)].strip()}] "))
        else:  # "the Fed [Federal Reserve]"
            inserts.append((at + len(short), f" [{full}]"))
    for at, bracket in sorted(inserts, reverse=True):
        text = text[:at] + bracket + text[at:]
    return text


def full_form(mention: Mention, candidate: Candidate, names_of: Callable[[str], dict]) -> tuple[str, bool] | None:
    """The full form the mention's own article introduces for it, and whether it is a person's; or
    ``None`` (a full form already, a short form its article does not introduce, a surname two full
    names share). A word the article introduces as a person's surname, and as the start of no other
    full name, is read as that person, whatever the recognizer made of it here or elsewhere
    ("Trump said ..." typed ORG; "Altman" typed a person 4 times, a place 4 and an organisation 5
    in one article); "Trump" beside "Trump Organization" is left alone."""
    short = clean_name(mention.text)
    if not short or short not in mention.text or not is_short_form(short) and " " in short:
        return None
    key = surname(short) or ""
    for article in candidate.articles:
        entry = names_of(article).get(key)
        if not entry:
            continue
        if " " not in short and entry.get("p") and not entry.get("o") and not initials_form(short):
            full = _person(short, entry)
            return (full, True) if full else None
        full = entry.get("a", {}).get(short) if is_short_form(short) else None
        return (full, False) if full else None
    return None


def _person(short: str, entry: dict) -> str | None:
    """"Sam Altman" for "Altman" where the article introduces Sam Altman and writes no other full
    name ending in "Altman" ("Jason Kelce" beside "Travis Kelce"). Forms the recognizer read with a
    dash or a word of the sentence before them ("— Sam Altman", "Could Altman", "Starring Sam Altman")
    are the same name."""
    full = _bare_form(entry.get("p") or "")
    if len(full) < 2 or full[-1] != short:
        return None
    if not all(_GIVEN.fullmatch(w) for w in full[:-1]):
        return None  # "hashtags Meta", "GPT-4 Turbo API": no given names
    for form in entry.get("f", {}):
        words = _bare_form(form)
        if len(words) > 1 and words[-1] == short and words[-len(full):] != full and full[-len(words):] != words:
            return None
    return " ".join(full)


def _bare_form(form: str) -> list[str]:
    """A name's words without what the recognizer took in before it: leading punctuation and
    function words, ours and spaCy's ("— Sam Altman"; "Could Altman", "Beyond Meta" -> "Altman",
    "Meta")."""
    # the language's list, beside ours (spaCy is loaded to answer anyway)
    from spacy.lang.en.stop_words import STOP_WORDS

    words = re.sub(r"^[^\w]+", "", form).split()
    while len(words) > 1 and (words[0].lower() in STOPWORDS or words[0].lower() in STOP_WORDS):
        words = words[1:]
    return words
