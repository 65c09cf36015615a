"""Sentences with offsets, and chunks that never exceed the model's 256 word pieces."""

from __future__ import annotations

import pytest
from conftest import MULTIHOP, SEED_55, SEEDS

from index.articles import Article, load_paths
from index.chunking import Chunker, split_sentences
from index.errors import ConfigError


def sentences(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_sentences_respect_abbreviations_initials_decimals_and_quotes():
    text = ('Mr. Smith met Dr. J. Doe in the U.S. on Monday. Prices rose 3.5 percent. "We won!" '
            "she said. Then it rained.\nNew paragraph here")
    assert sentences(text) == [
        "Mr. Smith met Dr. J. Doe in the U.S. on Monday.",
        "Prices rose 3.5 percent.",
        '"We won!" she said.',
        "Then it rained.",
        "New paragraph here",
    ]


def test_line_breaks_end_sentences_unless_the_text_is_hard_wrapped():
    text = "Headline Without A Stop\n\nFirst line of a long\nsentence wrapped here. Next one.\nLast"
    assert sentences(text) == ["Headline Without A Stop", "First line of a long\nsentence wrapped here.",
                               "Next one.", "Last"]


def test_offsets_point_into_the_text():
    text = "  One sentence here.   Two here!\n\n Three?  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["One sentence here.", "Two here!", "Three?"]
    assert spans[0] == (2, 20)


def test_every_multihop_chunk_fits_the_model_with_header_and_special_tokens(embedder):
    chunker = Chunker(counter=embedder, overlap=1)
    articles = [a for a in load_paths([MULTIHOP / "corpus.json"], max_bytes=10**7)]
    lengths = []
    for article in articles:
        header = chunker.header(article.title, article.source, article.published_at)
        chunks = chunker.chunk(article.body, header)
        for chunk in chunks:
            assert chunk.text == header + article.body[chunk.start:chunk.end]
            full = embedder._tokenizer.encode(chunk.text, add_special_tokens=True)
            assert len(full.ids) == chunk.n_tokens <= 256
            assert chunk.sentences[0][0] == chunk.start and chunk.sentences[-1][1] == chunk.end
            lengths.append(chunk.n_tokens)
        for before, after in zip(chunks, chunks[1:], strict=False):
            assert after.sentences[0] == before.sentences[-1]  # one sentence of overlap
        covered = {s for c in chunks for s in c.sentences}
        assert [s for s in split_sentences(article.body)] == sorted(covered)  # nothing dropped
    assert max(lengths) <= 256 and len(lengths) > 600


def test_a_sentence_longer_than_the_budget_is_cut_at_word_boundaries(embedder):
    chunker = Chunker(counter=embedder, max_tokens=80, overlap=0)
    body = " ".join(f"word{i}" for i in range(300)) + "."
    chunks = chunker.chunk(body, "Long\n\n")
    assert len(chunks) > 3
    for chunk in chunks:
        assert chunk.n_tokens <= 80
        assert len(embedder._tokenizer.encode(chunk.text).ids) <= 80
        piece = body[chunk.start:chunk.end]
        assert not piece.startswith(" ") and not piece.endswith(" ")
    assert " ".join(body[c.start:c.end] for c in chunks) == body


def test_seed_chunks_start_after_the_header_with_exact_offsets(embedder):
    (article,) = [a for a in load_paths([SEEDS / SEED_55], max_bytes=10**7) if isinstance(a, Article)]
    chunker = Chunker(counter=embedder)
    header = chunker.header(article.title, article.source, article.published_at)
    assert header == ("Urgent Update: Russia Intercepts 55 Ukrainian Drones in Largest Nighttime "
                      "Operation, Fueling Fears of Escalation\nMiami News, KMIA\n\n")
    first = chunker.chunk(article.body, header)[0]
    assert first.start == 0
    s, e = first.sentences[0]
    assert article.body[s:e] == ("The Russian Air Defense Forces have intercepted 55 Ukrainian drones over "
                                 "Russian territory during the night, according to a late-breaking report "
                                 "from the Ministry of Defense of the Russian Federation.")


def test_bad_chunk_settings_are_rejected_before_any_work(embedder):
    with pytest.raises(ConfigError, match=r"chunk_tokens=300 is over the embedding model's limit of 256 "
                                          r"word pieces.*Use 256 or less"):
        Chunker(counter=embedder, max_tokens=300)
    with pytest.raises(ConfigError, match="chunk_overlap=-1 must be 0 or more sentences"):
        Chunker(counter=embedder, overlap=-1)


class CountingTokenizer:
    """The real tokenizer, counting how many characters it is asked to read."""

    def __init__(self, embedder):
        self.embedder, self.max_tokens, self.chars_read = embedder, embedder.max_tokens, 0

    def count_tokens(self, text):
        self.chars_read += len(text)
        return self.embedder.count_tokens(text)

    def token_starts(self, text):
        self.chars_read += len(text)
        return self.embedder.token_starts(text)


@pytest.mark.parametrize("text", [
    " ".join(f"drone{i % 97} region ministry" for i in range(12_000)),  # 290 kB, no sentence end
    "x" * 120_000,  # one "word": a single [UNK] token to the model
    ("statement " * 30 + "\n") * 800,  # hard-wrapped lines that never end a sentence
], ids=["unpunctuated", "one-word", "wrapped"])
def test_chunking_reads_any_text_a_bounded_number_of_times(embedder, text):
    counter = CountingTokenizer(embedder)
    chunker = Chunker(counter=counter, overlap=0)
    chunks = chunker.chunk(text, "Long\n\n")
    # linear: each character is tokenized at most three times (the old cut re-read the whole
    # remainder of the sentence for every piece: quadratic, hours for 9 MB)
    assert counter.chars_read <= 3 * len(text)
    assert len(chunks) >= len(text) // (254 * 12)
    for chunk in chunks:
        assert chunk.n_tokens <= 256 and len(embedder._tokenizer.encode(chunk.text).ids) <= 256
        assert len(chunk.text) <= 254 * 12 + len("Long\n\n")
    # nothing lost, nothing repeated: the pieces tile the text up to whitespace
    assert "".join("".join(text[s:e] for c in chunks for s, e in c.sentences).split()) == "".join(text.split())
