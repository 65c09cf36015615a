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
