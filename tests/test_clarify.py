"""Editorial brackets (``rag/clarify.py``): a quoted sentence's short name gets the full form its own
article introduces. Tables of articles (annotated by the real spaCy model, name index as built at
ingest) and the quote that must come out."""

from __future__ import annotations

import json

import pytest
from helpers import one_article_pipeline, sentence

from index.language import annotate, name_index
from rag.clarify import clarified


def names(**articles: list[str]):
    """Article id -> its name index, as ingest builds it from the article's sentences."""
    indexes = {a: json.loads(name_index(annotate(text))) for a, text in articles.items()}
    return lambda article: indexes.get(article, {})


def quoted(article: list[str], n: int, written: str = "") -> str:
    """Sentence ``n`` of ``article`` as the answer quotes it, after ``written``."""
    return clarified(sentence(article[n], article="art"), names(art=article), written)

ALTMAN = ["OpenAI's board fired chief executive Sam Altman on Friday.",
          "Altman has been telling investors about a new chip venture."]
KELCE = ["Travis Kelce caught two passes on Sunday.", "His brother Jason Kelce played center for the Eagles.",
         "Kelce said the crowd was loud."]
FED = ["The Federal Reserve held interest rates steady on Wednesday.",
       "The Fed said inflation was still too high."]
TRUMP = ["Former President Donald Trump testified on Monday in New York.", "Trump said the case was a sham."]
TRUMP_ORGANIZATION = ["Former President Donald Trump testified on Monday in New York.",
                      "Executives of Trump Organization inflated the value of its properties.",
                      "Trump said the case was a sham."]

CASES = [
    # (article, the sentence quoted, the answer written before it, the quote shown)
    ("a person's surname alone: the given names the article introduces, in brackets",
     ALTMAN, 1, "", "[Sam] Altman has been telling investors about a new chip venture."),
    ("the answer already wrote the full name (the answer line): nothing added",
     ALTMAN, 1, "**Sam Altman** [1].", "Altman has been telling investors about a new chip venture."),
    ("the quote itself holds the full form: nothing added",
     ALTMAN, 0, "", "OpenAI's board fired chief executive Sam Altman on Friday."),
    ("two full names share the surname: which Kelce is not the article's to say here",
     KELCE, 2, "", "Kelce said the crowd was loud."),
    ("an organisation's short form made from its full one: the full form after it",
     FED, 1, "", "The Fed [Federal Reserve] said inflation was still too high."),
    ("the recognizer read a full form with the word before it ('Could Altman'): still one person",
     ["OpenAI's board fired chief executive Sam Altman on Friday.", "Could Altman return to OpenAI?",
      "Altman has been telling investors about a new chip venture."], 2, "",
     "[Sam] Altman has been telling investors about a new chip venture."),
    ("a surname whose full name the article gives (the recognizer types this 'Trump' an organisation)",
     TRUMP, 1, "", "[Donald] Trump said the case was a sham."),
    ("the word also starts another full name of the article: which one is not for the quote to say",
     TRUMP_ORGANIZATION, 2, "", "Trump said the case was a sham."),
]


@pytest.mark.parametrize(("what", "article", "n", "written", "shown"), CASES, ids=[c[0] for c in CASES])
def test_a_quote_names_who_its_short_form_stands_for(what, article, n, written, shown):
    assert quoted(article, n, written) == shown


def test_a_name_is_clarified_once_per_answer_and_by_its_own_article():
    names_of = names(art=ALTMAN, other=["Altman spoke to staff on Sunday."])
    shown = clarified(sentence(ALTMAN[1], article="art"), names_of, "")
    again = sentence("Altman returned to the company on Wednesday.", article="art")
    assert clarified(again, names_of, shown) == again.text
    # an article that never introduces the full name gets no bracket, whatever another article says
    alone = sentence("Altman spoke to staff on Sunday.", article="other")
    assert clarified(alone, names_of, "") == alone.text


def test_the_answer_quotes_the_short_name_clarified_and_cites_the_sentence_verbatim(tmp_path, embedder):
    pipeline = one_article_pipeline(tmp_path, embedder, "# OpenAI's board fires its chief executive\n\n"
                                    "OpenAI's board fired chief executive Sam Altman on Friday. "
                                    "The board said it had lost confidence in his leadership. "
                                    "Altman had been telling investors about a new chip venture in the Middle East.\n")
    answer = pipeline.ask("What had been told to investors about a chip venture in the Middle East?")
    quote = "Altman had been telling investors about a new chip venture in the Middle East."
    assert "[Sam] " + quote in answer.answer
    assert quote in [c.quote for c in answer.citations]
    assert "[Sam] " + quote in [s.text for s in answer.sentences]


META = ["Beyond Meta’s own apps, the company sells headsets.", "Meta said revenue rose.",
        "Meta reported strong earnings on Tuesday.", "Meta is cutting jobs.", "Meta shares rose 3%.",
        "Meta reported higher profits."]


def test_a_misread_word_before_a_name_is_no_first_name():
    # the recognizer read "Beyond Meta’s" as a person once: "Beyond" is a function word, no given name
    assert names(art=META)("art")["meta"]["p"] == "Beyond Meta"
    assert quoted(META, 5) == "Meta reported higher profits."


@pytest.mark.parametrize("article", [["Sam AI launched a chatbot.", "AI said so."],  # initials are no surname
                                     ["Use hashtags Meta recommends.", "Meta said reach grew."]])  # no given name
def test_initials_and_lower_case_words_are_no_person_s_names(article):
    assert quoted(article, 1) == article[1]
