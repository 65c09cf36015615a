"""Lexical analysis shared by the BM25 index and answer scoring: words, stop words, spelling, stems.

Words are put in one spelling (``normalize_word``: defence/defense, Kiev/Kyiv) before
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



def words(text: str) -> list[str]:
    """Lower-cased word tokens, stop words included."""
    return _WORD.findall(text.lower())


def analyze(text: str) -> list[str]:
    """Stemmed content words in one spelling: what BM25 indexes and what lexical overlap compares."""
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
