"""Lexical analysis shared by the BM25 index and answer scoring: words, stop words, spelling, stems.

Words are put in one spelling (``index.language.normalize_word``: defence/defense, Kiev/Kyiv) before
stemming, so a spelling variant in a question finds the same passages. ``ANALYZER`` names this
analysis: an index built with another one is rebuilt.
"""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can could did didn't do does doesn't doing don't down during each
few for from further had has have having he her here hers herself him himself his how i if in into
is isn't it it's its itself just let me more most my myself no nor not now of off on once only or
other our ours ourselves out over own said same say says she should so some such than that the
their theirs them themselves then there these they this those through to too under until up upon
us very was wasn't we were weren't what when where which while who whom whose why will with would
you your yours yourself yourselves according per via yet many much
""".split())

_WORD = re.compile(r"\w+")
ANALYZER = "snowball-en/normalized-v1"


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased word tokens, stop words included."""
    return _WORD.findall(text.lower())


def analyze(text: str) -> list[str]:
    """Stemmed content words in one spelling: what BM25 indexes and what lexical overlap compares."""
    from index.language import normalize_word

    kept = [normalize_word(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return _stemmer().stemWords(kept)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of one lower-cased word, as ``analyze`` computes it."""
    return _stemmer().stemWord(word.lower())


_CLOSERS = " \"'”’)]»"


def end_mark(text: str) -> str:
    """The character a sentence ends with, before any closing quote or bracket ("?" for 'He asked:
    “Who is responsible?”'); "" for an empty text."""
    return text.rstrip(_CLOSERS)[-1:]
