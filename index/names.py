"""How names are matched: a name's words in one spelling (possessives dropped, "2,000" read as
"2000"), and the key each word is matched by ("Russian" ~ "Russia": its first five letters), so a
question's "Ukrainian" finds an article's "Ukraine" and "Bankman-Fried" its "Sam Bankman-Fried"."""

from __future__ import annotations

import re
from functools import lru_cache

from index.text import normalize_word

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'"})


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


def surname(text: str) -> str | None:
    """The key of a name's last word: "Sam Bankman-Fried" and "Bankman-Fried" share "fried"."""
    words = name_words(text)
    return word_key(words[-1]) if words else None


def clean_name(name: str) -> str:
    """"Sam Altman’s" -> "Sam Altman"; "the All Blacks" -> "All Blacks"; "Caesars Sportsbook: Caesars"
    (a heading read as one name) -> "Caesars Sportsbook"."""
    name = re.sub(r"['’]s?$", "", name.split(": ")[0].strip() or name.strip())
    return re.sub(r"^(the|The)\s+", "", name)


def initials_form(text: str) -> str | None:
    """An all-capitals short form ("SBF"), or None."""
    return text if re.fullmatch(r"[A-Z]{2,5}", text) else None


def is_short_form(text: str) -> bool:
    """One word ("Fed", "Vikings") or initials ("RA"): a form that may shorten a longer name."""
    return initials_form(text) is not None or len(name_words(text)) == 1


def expansion(short: str, forms: dict[str, int], *, last_words: bool = True) -> str | None:
    """The full form an article writes for a short one, by how the short one is made from it, never
    by a list of aliases: the initials of its words ("RA" of "Rugby Australia", "ITC" of
    "International Trade Commission", "SEC" of "Securities and Exchange Commission"), its first
    word cut to at most half ("Fed" of "Federal Reserve"; not "TikTok" of "TikToker Tube Girl": a
    word made from it), or its last words ("Vikings" of "Minnesota
    Vikings", "Altman" of "Sam Altman"). The most frequent such form, then the longest; ``None``
    when the articles write none. ``last_words=False``: by initials or a cut word only (what the
    words of the two forms cannot tell)."""
    words = name_words(short)
    if not words:
        return None
    found: dict[str, int] = {}
    for form, count in forms.items():
        theirs = name_words(clean_name(form))
        if len(theirs) <= len(words):
            continue
        capitals = [w for w in re.split(r"[\s-]+", clean_name(form)) if w[:1].isupper()]
        initials = "".join(w[0] for w in capitals)
        made = (initials_form(short) is not None and initials == short
                or len(words) == 1 and len(words[0]) >= 3 and theirs[0].startswith(words[0])
                and 2 * len(words[0]) <= len(theirs[0]) and short[:1].isupper()
                or last_words and theirs[-len(words):] == words)
        if made:
            found[clean_name(form)] = found.get(clean_name(form), 0) + count
    if not found:
        return None
    return max(found, key=lambda f: (found[f], len(f)))
