"""Sentences with character offsets, and sentence-aligned chunks that fit the embedding model.

A chunk is ``header + body[start:end]``: a short title header, then whole sentences of the body.
Its word-piece count, header and the model's two special tokens included, never exceeds the
budget, so the model never silently truncates a chunk. A single sentence too long for the budget
is cut at word boundaries into pieces that each fit; the pieces are then the "sentences" of that
stretch. Every chunk records the offsets of its sentences, so a citation can name one exactly.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import Protocol

from index.errors import ConfigError

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st mt gen gov sen rep col lt sgt capt cmdr adm maj inc ltd co corp "
    "jan feb mar apr jun jul aug sep sept oct nov dec vs etc no nos vol approx est dept univ ft "
    "fig al u.s u.k u.n e.g i.e a.m p.m d.c".split())
# A sentence ends at . ! ? or … (plus closing quotes/brackets) followed by whitespace.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n\s*\n|\n")
_HEADER_MAX_TOKENS = 48
# A piece of an over-long sentence holds at most this many characters per word piece of the budget:
# a "word" of thousands of letters is one [UNK] token to the model, but not to the chunk store.
MAX_CHARS_PER_TOKEN = 12


class TokenCounter(Protocol):
    """What chunking needs from the embedding model's tokenizer."""

    max_tokens: int  # the model's input limit, special tokens included

    def count_tokens(self, text: str) -> int: ...

    def token_starts(self, text: str) -> list[int]: ...


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``, trailing whitespace excluded.

    Ends at sentence punctuation followed by space (not after a known abbreviation, an initial
    such as "J.", or when the next word starts in lower case), at blank lines, and at single line
    breaks unless the next line continues in lower case (hard-wrapped text).
    """
    spans: list[tuple[int, int]] = []
    start = _skip_space(text, 0)
    for match in _END.finditer(text):
        end = match.end()
        if end <= start:
            continue
        nxt = _skip_space(text, end)
        if nxt >= len(text):
            break
        following = text[nxt]
        if "\n" in match.group():
            if match.group() == "\n" and following.islower():
                continue
            stop = match.start()
        else:
            if following.islower() or following in ",;:":
                continue
            if match.group().startswith(".") and _is_abbreviation(text, match.start()):
                continue
            stop = end
        stop = _trim_end(text, start, stop)
        if stop > start:
            spans.append((start, stop))
        start = nxt
    stop = _trim_end(text, start, len(text))
    if stop > start:
        spans.append((start, stop))
    return spans


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _trim_end(text: str, start: int, stop: int) -> int:
    while stop > start and text[stop - 1].isspace():
        stop -= 1
    return stop


def _is_abbreviation(text: str, dot: int) -> bool:
    begin = dot
    while begin > 0 and not text[begin - 1].isspace():
        begin -= 1
    word = text[begin:dot].lstrip("(\"'“‘").lower()
    if len(word) == 1 and word.isalpha():
        return True  # an initial: "J. Smith"
    return word in _ABBREVIATIONS


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str  # header + body[start:end]
    header_len: int
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]  # offsets in the article body
    n_tokens: int  # word pieces, header and special tokens included
    # per sentence: True for a window, a piece cut out of a sentence too long for a chunk (text
    # with no sentence end in reach); a window is no sentence to embed or annotate on its own
    windows: tuple[bool, ...] = ()


def make_header(title: str | None, source: str | None, published_at: str | None) -> str:
    """``title / outlet, date`` above the text; an untitled article gets no invented title (its
    file name would only add noise words to retrieval), and one with no metadata no header."""
    details = ", ".join(p for p in (source, (published_at or "")[:10]) if p)
    lines = [line for line in (title, details) if line]
    return "\n".join(lines) + "\n\n" if lines else ""


class Chunker:
    """Packs whole sentences into chunks of at most ``max_tokens`` word pieces."""

    def __init__(self, *, counter: TokenCounter, max_tokens: int | None = None, overlap: int = 1):
        limit = counter.max_tokens
        max_tokens = limit if max_tokens is None else max_tokens
        if max_tokens > limit:
            raise ConfigError(f"chunk_tokens={max_tokens} is over the embedding model's limit of "
                              f"{limit} word pieces: the model would cut every longer chunk. "
                              f"Use {limit} or less.")
        if max_tokens < _HEADER_MAX_TOKENS + 16:
            raise ConfigError(f"chunk_tokens={max_tokens} leaves no room for text after a title "
                              f"header: use at least {_HEADER_MAX_TOKENS + 16}.")
        if overlap < 0:
            raise ConfigError(f"chunk_overlap={overlap} must be 0 or more sentences.")
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap = overlap

    @property
    def signature(self) -> str:
        """Changes whenever the same article would be cut differently."""
        return f"sent-v1/t{self.max_tokens}/o{self.overlap}"

    def header(self, title: str | None, source: str | None, published_at: str | None) -> str:
        header = make_header(title, source, published_at)
        words = (title or "").split()
        while self.counter.count_tokens(header) > _HEADER_MAX_TOKENS and len(words) > 1:
            words = words[:-1]
            header = make_header(" ".join(words) + " …", source, published_at)
        return header

    def chunk(self, body: str, header: str) -> list[Chunk]:
        header_tokens = self.counter.count_tokens(header)
        budget = self.max_tokens - 2 - header_tokens
        pieces: list[tuple[int, int]] = []
        counts: list[int] = []
        cut: list[bool] = []
        for start, end in split_sentences(body):
            fitted = self._fit(body, start, end, budget)
            for piece, n in fitted:
                pieces.append(piece)
                counts.append(n)
                cut.append(len(fitted) > 1)
        chunks: list[Chunk] = []
        i = 0
        while i < len(pieces):
            j, used = i, 0
            while (j < len(pieces) and used + counts[j] <= budget
                   and pieces[j][1] - pieces[i][0] <= budget * MAX_CHARS_PER_TOKEN or j == i):
                used += counts[j]
                j += 1
            start, end = pieces[i][0], pieces[j - 1][1]
            chunks.append(Chunk(index=len(chunks), text=header + body[start:end], header_len=len(header),
                                start=start, end=end, sentences=tuple(pieces[i:j]),
                                n_tokens=used + header_tokens + 2, windows=tuple(cut[i:j])))
            if j >= len(pieces):
                break
            i = max(j - self.overlap, i + 1)
        return chunks

    def _fit(self, body: str, start: int, end: int, budget: int) -> list[tuple[tuple[int, int], int]]:
        """Cut ``body[start:end]`` into pieces of at most ``budget`` word pieces (and at most
        ``budget * MAX_CHARS_PER_TOKEN`` characters), each with its word-piece count.

        One window at a time: the tokenizer reads at most ``budget * MAX_CHARS_PER_TOKEN``
        characters from where the next piece begins, the piece ends at its ``budget``-th word
        piece, moved back to the last space before it when there is one. So the cost is linear in
        the length of the text however long a sentence without punctuation is (a 9 MB file of one
        "sentence"), and no call holds the interpreter for long (the tokenizer keeps the GIL)."""
        max_chars = budget * MAX_CHARS_PER_TOKEN
        n = self.counter.count_tokens(body[start:end]) if end - start <= max_chars else None
        if n is not None and n <= budget:
            return [((start, end), n)]
        pieces: list[tuple[tuple[int, int], int]] = []
        position = start  # where the next piece begins
        while position < end:
            # a window of text usually holds ``budget`` word pieces in 6 characters each; else all of it
            reach = min(end, position + min(max_chars, budget * 6))
            starts = self.counter.token_starts(body[position:reach])
            if len(starts) <= budget and reach < min(end, position + max_chars):
                reach = min(end, position + max_chars)
                starts = self.counter.token_starts(body[position:reach])
            cut = position + starts[budget] if len(starts) > budget else reach
            at_space = cut == end
            if cut < end:
                space = max(body.rfind(" ", position + 1, cut + 1), body.rfind("\n", position + 1, cut + 1))
                if space > position:
                    cut, at_space = space, True
            stop = _trim_end(body, position, cut)
            # cut between two words, the piece holds the word pieces that start before the cut
            count = (bisect.bisect_left(starts, stop - position) if at_space and stop < reach
                     else self.counter.count_tokens(body[position:stop]))
            while count > budget and stop - position > 1:  # a word cut in two may tokenize longer
                stop = position + max(1, (stop - position) * budget // (count + 1))
                count = self.counter.count_tokens(body[position:stop])
            pieces.append(((position, stop), count))
            position = _skip_space(body, stop)
        return pieces
