"""Editorial brackets (``rag/clarify.py``): a quoted sentence's short name gets the full form its own
article introduces. Tables of articles (annotated by the real spaCy model, name index as built at
ingest) and the quote that must come out."""

from __future__ import annotations

import json

import pytest
from helpers import sentence

from index.language import annotate, name_index
from rag.clarify import clarified
from rag.direct import name_mentions

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


@pytest.mark.parametrize(("what", "article", "quoted", "written", "shown"), CASES, ids=[c[0] for c in CASES])
def test_a_quote_names_who_its_short_form_stands_for(what, article, quoted, written, shown):
    index = json.loads(name_index(annotate(article)))
    names_of = {"art": index}.get
    cand = sentence(article[quoted], article="art")
    assert clarified(cand, name_mentions(cand, lambda a: names_of(a) or {}), lambda a: names_of(a) or {},
                     written) == shown


def test_a_name_is_clarified_once_per_answer_and_by_its_own_article():
    index = json.loads(name_index(annotate(ALTMAN)))
    names = {"art": index, "other": json.loads(name_index(annotate(["Altman spoke to staff on Sunday."])))}
    names_of = lambda a: names.get(a, {})  # noqa: E731
    first = sentence(ALTMAN[1], article="art")
    shown = clarified(first, name_mentions(first, names_of), names_of, "")
    again = sentence("Altman returned to the company on Wednesday.", article="art")
    assert clarified(again, name_mentions(again, names_of), names_of, shown) == again.text
    # an article that never introduces the full name gets no bracket, whatever another article says
    alone = sentence("Altman spoke to staff on Sunday.", article="other")
    assert clarified(alone, name_mentions(alone, names_of), names_of, "") == alone.text


def test_the_answer_quotes_the_short_name_clarified_and_cites_the_sentence_verbatim(tmp_path, embedder):
    from conftest import make_library

    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    library = make_library(tmp_path / "home", embedder)
    article = tmp_path / "openai.md"
    article.write_text("# OpenAI's board fires its chief executive\n\n"
                       "OpenAI's board fired chief executive Sam Altman on Friday. "
                       "The board said it had lost confidence in his leadership. "
                       "Altman had been telling investors about a new chip venture in the Middle East.\n",
                       encoding="utf-8")
    assert library.ingest([article]).added == 1
    answer = Pipeline(RagSettings(index=library.settings), library=library).ask(
        "What had been told to investors about a chip venture in the Middle East?")
    quote = "Altman had been telling investors about a new chip venture in the Middle East."
    assert "[Sam] " + quote in answer.answer
    assert quote in [c.quote for c in answer.citations]
    assert "[Sam] " + quote in [s.text for s in answer.sentences]


META = ["Beyond Meta’s own apps, the company sells headsets.", "Meta said revenue rose.",
        "Meta reported strong earnings on Tuesday.", "Meta is cutting jobs.", "Meta shares rose 3%.",
        "Meta reported higher profits."]


def test_a_misread_word_before_a_name_is_no_first_name():
    # the recognizer read "Beyond Meta’s" as a person once: "Beyond" is a function word, no given name
    index = json.loads(name_index(annotate(META)))
    names_of = {"art": index}.get
    cand = sentence(META[-1], article="art")
    assert index["meta"]["p"] == "Beyond Meta"
    assert clarified(cand, name_mentions(cand, lambda a: names_of(a) or {}), lambda a: names_of(a) or {}, "") \
        == "Meta reported higher profits."


def test_initials_and_lower_case_words_are_no_person_s_names():
    # "Sam AI" read as a person (initials are no surname); "hashtags Meta" read as a person
    for article, quoted in ((["Sam AI launched a chatbot.", "AI said so."], 1),
                            (["Use hashtags Meta recommends.", "Meta said reach grew."], 1)):
        index = json.loads(name_index(annotate(article)))
        names = {"art": index}
        cand = sentence(article[quoted], article="art")
        shown = clarified(cand, name_mentions(cand, lambda a, n=names: n.get(a, {})), lambda a, n=names: n.get(a, {}), "")
        assert shown == article[quoted], index
