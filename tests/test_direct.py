"""The answer line and the conflicts, each on its own: tables of evidence sentences (annotated by
the real spaCy model) and what must come out of them."""

from __future__ import annotations

import json

import pytest
from helpers import numbered, sentence

from index.language import annotate, name_index
from rag.analysis import analyse
from rag.conflicts import find_conflicts
from rag.direct import choose_name, direct_answer
from rag.tuning import Tuning

TUNING = Tuning()

OUTLETS = ["Fortune", "TechCrunch", "Miami News", "The Age", "Kyiv Post"]


# ------------------------------------------------------------------------------- answer line

FIGURES = [
    ("How many drones were shot down over the Ryazan region?",
     ["According to the statement, 25 of these drones were shot down over the Ryazan region."],
     [("25 drones", (1,))]),
    ("How many drones did Russian air defences intercept?",
     ["The ministry said 64 Ukrainian drones were intercepted during the night.",
      "Air defences intercepted 55 Ukrainian drones, the ministry said."],
     [("64 Ukrainian drones", (1,)), ("55 Ukrainian drones", (2,))]),
    ("How many drones were intercepted?",  # two outlets agreeing: one value, both citations
     ["Officials said 64 drones were intercepted.", "In all, 64 drones were intercepted overnight."],
     [("64 drones", (1, 2))]),
    ("How many UAVs were downed?",  # a total before a part of it; the part is never the answer
     ["Russia downed 40 UAVs, and 12 of them fell near Kursk."], [("40 UAVs", (1,))]),
    ("How many drones were intercepted?", ["The ministry did not say how many were intercepted."], None),
]


@pytest.mark.parametrize("question, texts, values", FIGURES, ids=[f"{q[:40]}-{len(t)}" for q, t, _ in FIGURES])
def test_a_number_question_gets_each_figure_with_its_citations(question, texts, values):
    found = direct_answer(analyse(question), numbered(*(sentence(t) for t in texts)))
    assert (found.kind, list(found.values)) == ("number", values) if values else found is None


def test_an_outlet_question_is_answered_by_the_first_citation_outlet():
    cited = numbered(sentence("Air defences intercepted 55 drones.", source="Miami News, KMIA"),
                     sentence("Others said 64 drones.", source="Kyiv Post"))
    found = direct_answer(analyse("Which outlet reported 55 drones?", outlets=OUTLETS), cited)
    assert (found.kind, found.values) == ("outlet", (("Miami News, KMIA", (1,)),))


@pytest.mark.parametrize(("question", "values"), [
    # "which outlets": every outlet the cited sentences come from, in citation order, each cited
    ("Which outlets reported that Sam Altman was fired?",
     (("TechCrunch", (1, 3)), ("Engadget", (2,)), ("Fortune", (4,)))),
    ("What publications covered the firing of Sam Altman?",
     (("TechCrunch", (1, 3)), ("Engadget", (2,)), ("Fortune", (4,)))),
    # "which outlet": the best sentence's
    ("Which outlet first reported that Sam Altman was fired?", (("TechCrunch", (1,)),)),
])
def test_which_outlets_lists_every_outlet_the_evidence_comes_from(question, values):
    cited = numbered(sentence("OpenAI fired Sam Altman on Friday.", source="TechCrunch"),
                     sentence("Sam Altman was ousted as CEO of OpenAI.", source="Engadget"),
                     sentence("The board said Altman was not consistently candid.", source="TechCrunch"),
                     sentence("Altman's firing stunned investors.", source="Fortune"))
    info = analyse(question, outlets=OUTLETS)
    assert info.answer_type == "outlet"
    assert direct_answer(info, cited).values == values


def test_an_outlet_line_reads_as_a_sentence():
    from rag.extractive import outlets_text
    from rag.types import Direct

    assert outlets_text(Direct(kind="outlet", values=(("Miami News, KMIA", (1,)),))) == "Miami News, KMIA [1]"
    assert outlets_text(Direct(kind="outlet", values=(("TechCrunch", (1, 3)), ("Engadget", (2,)),
                                                      ("Fortune", (4,))))) == \
        "TechCrunch [1][3], Engadget [2] and Fortune [4]"


SBF = [sentence("Sam Bankman-Fried founded FTX in 2019 with a group of friends.", source="Fortune", score=0.8),
       sentence("Bankman-Fried was arrested in the Bahamas in December.", source="TechCrunch", score=0.7),
       sentence("Caroline Ellison testified that she committed fraud with him.", source="Fortune", score=0.5)]


def test_a_person_named_in_several_forms_is_one_name_shown_in_full():
    question = analyse("Who founded FTX?")
    choice = choose_name(question, SBF[:2], SBF, tuning=TUNING)
    assert (choice.name, choice.kind) == ("Sam Bankman-Fried", "person")
    assert choice.sentences == SBF[:2]  # strongest first
    found = direct_answer(question, numbered(*SBF[:2]), choice)
    assert found.values == (("Sam Bankman-Fried", (1, 2)),)
    assert found.detail == "named in 2 cited sentences from Fortune and TechCrunch"


def test_initials_join_the_name_they_abbreviate():
    # the recognizer misses "SBF" here; the article's own name index (built at ingest) knows it
    sbf = sentence("SBF told reporters he had made mistakes running FTX.", source="The Age", score=0.75,
                   article="age")
    index = {"age": json.loads(name_index(annotate(["SBF, as Sam Bankman-Fried is known, spoke.",
                                                    "SBF said he was sorry."])))}
    choice = choose_name(analyse("Who founded FTX?"), [SBF[0], sbf], [*SBF, sbf],
                         names_of=lambda article: index.get(article, {}), tuning=TUNING)
    assert choice.name == "Sam Bankman-Fried" and sbf in choice.sentences


TRUMP_ARTICLE = ["Former President Donald Trump testified on Monday in New York.",
                 "His son Eric Trump testified on Wednesday.",
                 "Eric Trump told the court he did not recall the numbers.", "Trump said the case was a sham."]


def test_the_name_index_keeps_the_full_form_an_article_introduces_a_name_by():
    index = json.loads(name_index(annotate([*TRUMP_ARTICLE, "Alameda Research lost billions of dollars last year.",
                                            "Alameda was run by Caroline Ellison."])))
    # "Eric Trump" is more frequent; "Donald Trump" comes first
    assert index["trump"]["f"] == {"Eric Trump": 2, "Donald Trump": 1, "Trump": 1}
    assert index["trump"]["p"] == "Donald Trump"
    assert (index["alame"]["o"], index["alame"]["ot"]) == ("Alameda Research", "ORG")  # it begins with its short form
    assert index["ellis"]["p"] == "Caroline Ellison"
    assert "o" not in index["trump"] and "p" not in index["alame"]


@pytest.mark.parametrize(("text", "names"), [
    # the recognizer reads "Donald Trump’s Mar" as one person: the possessive ends the owner's name
    ("New York’s valuation of Donald Trump’s Mar-a-Lago estate has raised eyebrows.",
     [("New York’s", "GPE"), ("Donald Trump", "PERSON")]),
    ("McDonald's Corp said profits rose.", [("McDonald's Corp", "ORG")]),  # an organisation's is its own
    ("Sam Altman’s OpenAI grew fast.", [("Sam Altman’s", "PERSON")]),  # a possessive at its end stays
])
def test_a_possessive_inside_a_persons_name_ends_it(text, names):
    (facts,) = annotate([text])
    assert [(m.text, m.label) for m in facts.entities] == names
    assert all(text[m.start:m.end] == m.text for m in facts.entities)


def test_an_article_introducing_a_person_by_a_possessive_keeps_that_introduction():
    index = json.loads(name_index(annotate(["The judge questioned Donald Trump’s Mar-a-Lago valuation.",
                                            "Trump said the estate was worth more.",
                                            "His daughter, Ivanka Trump, did not testify."])))
    assert index["trump"]["p"] == "Donald Trump"


def test_a_surname_alone_is_shown_by_the_full_name_its_articles_introduce():
    cands = [sentence("Trump inflated the value of the apartment, the judge found.", source="Fortune", article="a"),
             sentence("Trump said the valuation was fair.", source="The Age", article="b", score=0.7)]
    index = json.loads(name_index(annotate(TRUMP_ARTICLE)))
    choice = choose_name(analyse("Which individual inflated the value of the apartment?"), cands, cands,
                         names_of=lambda article: index, tuning=TUNING)
    assert choice.name == "Donald Trump"


def test_an_organisation_is_shown_by_the_full_name_its_articles_introduce():
    cands = [sentence("Caesars offers a cash-out option.", article="a"),
             sentence("Caesars will launch in Vermont.", article="b", score=0.7)]
    index = json.loads(name_index(annotate(["Caesars Sportsbook offers new users a $1,000 bonus bet.",
                                            "Caesars also runs NBA promotions."])))
    choice = choose_name(analyse("Which company offers a cash-out option?"), cands, cands,
                         names_of=lambda article: index, tuning=TUNING)
    assert (choice.name, choice.kind) == ("Caesars Sportsbook", "organisation")


def test_a_short_form_has_the_type_of_the_name_it_shortens():
    # the recognizer reads "Alameda" alone as a place (a city in California) in every sentence here
    cands = [sentence("The losses at Alameda were hidden by FTX.", article="a"),
             sentence("Alameda, the trading firm, lost money.", article="b", score=0.7)]
    assert all(m.label == "GPE" for c in cands for m in c.facts.names() if m.text == "Alameda")
    index = json.loads(name_index(annotate(["Alameda Research lost billions of dollars last year.",
                                            "Alameda was run by Caroline Ellison."])))
    choice = choose_name(analyse("Which company hid the losses?"), cands, cands, names_of=lambda article: index, tuning=TUNING)
    assert (choice.name, choice.kind) == ("Alameda Research", "organisation")
    # without the article's introduction it stays a place, and no company is named
    assert choose_name(analyse("Which company hid the losses?"), cands, cands, tuning=TUNING) is None


@pytest.mark.parametrize("sources, articles, shown", [
    # 1.5 times its rival, named by both outlets the question names, in two articles: shown
    (("Fortune", "TechCrunch"), ("a", "b"), "Caroline Ellison"),
    # the same weights, one outlet: not corroborated, and 1.5 is under AHEAD
    (("Fortune", "Fortune"), ("a", "b"), None),
    # the same weights, one article: not corroborated either
    (("Fortune", "TechCrunch"), ("a", "a"), None),
])
def test_a_name_corroborated_across_the_named_outlets_needs_a_smaller_lead(sources, articles, shown):
    cands = [sentence("Caroline Ellison ran the trading firm for two years.", source=sources[0], article=articles[0],
                      score=0.5),
             sentence("Caroline Ellison testified that she had committed fraud.", source=sources[1],
                      article=articles[1], score=0.4),
             sentence("Gary Wang wrote the code that hid the losses.", source="Fortune", article="c", score=0.6)]
    question = analyse("Who, according to Fortune and TechCrunch, ran the firm and testified?", outlets=OUTLETS)
    choice = choose_name(question, [], cands, outlets=OUTLETS, tuning=TUNING)
    assert (choice.name if choice else None) == shown


def test_a_word_of_an_outlet_tagline_can_be_the_answer():
    outlet = "Globes English | Israel Business Arena"
    cands = [sentence("Israel controls the supplies that go into Gaza, officials said.", source=outlet),
             sentence("Israel reached a ceasefire with Hamas in 2021.", source="Fortune", score=0.7)]
    question = analyse(f"Which country, often in headlines from '{outlet}' and Fortune, controls supplies into a "
                       "blockaded region?", outlets=[*OUTLETS, outlet])
    choice = choose_name(question, cands, cands, outlets=[*OUTLETS, outlet], tuning=TUNING)
    assert (choice.name, choice.kind) == ("Israel", "place")
    # the outlet's own name still is no answer
    globes = [sentence("Globes English reported the figures on Monday.", source=outlet, score=0.9),
              sentence("Globes English said the figures were revised.", source=outlet, score=0.8)]
    assert choose_name(analyse(f"Which company did '{outlet}' report on?", outlets=[outlet]), globes, globes,
                       outlets=[outlet], tuning=TUNING) is None


@pytest.mark.parametrize("question, texts, why", [
    # two people with one sentence each: no name is ahead of the other
    ("Who won the election?", ["Alice Smith won the election, the Star said.", "Bob Jones won the election."],
     "tie"),
    # the only person named is the one the question names
    ("Who did Sam Altman meet?", ["Sam Altman met investors on Tuesday.", "Sam Altman left the meeting early."],
     "asked"),
    # no entity asked for: no verdict is guessed for yes/no or open questions
    ("Was Sam Altman fired by the board?", ["Sam Altman was fired by the board.", "Sam Altman was fired."], "yes/no"),
    ("How did the board explain the decision?", ["The board said Sam Altman was not candid.",
                                                 "Sam Altman was not candid, the board said."], "open"),
])
def test_no_name_rather_than_a_guess(question, texts, why):
    cands = [sentence(t, score=0.8 - i * 0.01) for i, t in enumerate(texts)]
    assert choose_name(analyse(question), cands, cands, tuning=TUNING) is None, why


def test_a_company_question_does_not_take_a_person():
    cands = [sentence("Sam Altman returned to OpenAI as chief executive.", score=0.8),
             sentence("OpenAI said Sam Altman would lead the company again.", score=0.7),
             sentence("Investors in OpenAI welcomed the decision.", score=0.6)]
    choice = choose_name(analyse("Which company did Sam Altman return to?"), cands[:2], cands, tuning=TUNING)
    assert (choice.name, choice.kind) == ("OpenAI", "organisation")


# ------------------------------------------------------------------------------- conflicts

@pytest.mark.parametrize("question, sides, expected", [
    # the same day, different outlets, different totals: a disagreement, each side with its outlet
    ("How many drones were intercepted?",
     [("Air defences intercepted 64 drones overnight.", "Kyiv Post", "2023-10-05"),
      ("Air defences intercepted 55 drones overnight.", "Miami News", "2023-10-05")],
     ("disagree", "Sources disagree: 64 drones overnight — Kyiv Post, 2023-10-05 [1]; "
                  "55 drones overnight — Miami News, 2023-10-05 [2].")),
    # different days: the reports may be of different nights
    ("How many drones were intercepted?",
     [("Air defences intercepted 64 drones overnight.", "Kyiv Post", "2023-10-05"),
      ("Air defences intercepted 55 drones overnight.", None, None)],
     ("differ", "Reports differ: 64 drones overnight — Kyiv Post, 2023-10-05 [1]; "
                "55 drones overnight — outlet unknown, undated [2].")),
    # a part of the total is not a rival figure
    ("How many drones were intercepted?",
     [("Air defences intercepted 64 drones overnight.", "Kyiv Post", "2023-10-05"),
      ("Of these, 25 of the drones were downed over Ryazan.", "Miami News", "2023-10-05")], None),
    # the same figure twice is agreement
    ("How many drones were intercepted?",
     [("Air defences intercepted 64 drones overnight.", "Kyiv Post", "2023-10-05"),
      ("The ministry said 64 drones were intercepted.", "Miami News", "2023-10-05")], None),
    # figures of another thing than the one asked about
    ("How many drones were intercepted?",
     [("Air defences intercepted 64 drones and 3 missiles.", "Kyiv Post", "2023-10-05"),
      ("Air defences intercepted 64 drones and 5 missiles.", "Miami News", "2023-10-05")], None),
])
def test_conflicts_between_figures(question, sides, expected):
    cited = numbered(*(sentence(t, source=s, day=d) for t, s, d in sides))
    found = find_conflicts(analyse(question), cited, tuning=TUNING)
    assert [(c.kind, c.note) for c in found] == ([expected] if expected else [])


def test_one_article_never_conflicts_with_itself():
    cited = numbered(sentence("At first 64 drones were reported intercepted.", source="Kyiv Post", article="a"),
                     sentence("Later the count was 55 drones intercepted.", source="Kyiv Post", article="a"))
    assert find_conflicts(analyse("How many drones were intercepted?"), cited, tuning=TUNING) == []


PALO_ALTO = [sentence("Palo Alto Networks is in talks to buy Talon Cyber Security and Dig Security, two Israeli startups.",
                      source="TechCrunch", score=0.8),
             sentence("Talon Cyber Security was founded in 2021 by Ofer Ben-Noon.", source="Globes", score=0.6),
             sentence("Dig Security raised $34 million last year.", source="Globes", score=0.6),
             sentence("Palo Alto Networks bought Cider Security last year.", source="Globes", score=0.5)]


@pytest.mark.parametrize(("question", "values"), [
    # several asked for: the names one sentence lists together, each with every sentence naming it
    ("Which two startups is Palo Alto Networks in talks to buy?",
     (("Talon Cyber Security", (1, 2)), ("Dig Security", (1, 3)))),
    ("Which companies is Palo Alto Networks in talks to buy?",
     (("Talon Cyber Security", (1, 2)), ("Dig Security", (1, 3)))),
    # three asked for, two listed: no line rather than a short one
    ("Which three startups is Palo Alto Networks in talks to buy?", None),
])
def test_a_question_asking_for_several_names_gets_each_of_them(question, values):
    cited = numbered(*PALO_ALTO)
    info = analyse(question)
    choice = choose_name(info, PALO_ALTO, PALO_ALTO, ["TechCrunch", "Globes"], tuning=TUNING)
    found = direct_answer(info, cited, choice)
    assert (found.values if found else None) == values
    if values:
        assert found.several and found.text == "Talon Cyber Security and Dig Security"


def test_names_from_different_sentences_are_no_list():
    """Each sentence names one startup: they may answer different questions, so no list is made."""
    apart = [sentence("Palo Alto Networks is in talks to buy Talon Cyber Security.", source="TechCrunch", score=0.8),
             sentence("Palo Alto Networks is also said to be buying Dig Security.", source="TechCrunch", score=0.7)]
    info = analyse("Which companies is Palo Alto Networks in talks to buy?")
    choice = choose_name(info, apart, apart, ["TechCrunch"], tuning=TUNING)
    found = direct_answer(info, numbered(*apart), choice)
    assert found is None or not found.several


@pytest.mark.parametrize(("short", "forms", "full"), [
    ("RA", {"Rugby Australia": 3, "Super Rugby": 2}, "Rugby Australia"),  # initials
    ("ITC", {"International Trade Commission": 1, "Apple": 4}, "International Trade Commission"),
    ("SEC", {"Securities and Exchange Commission": 2}, "Securities and Exchange Commission"),  # "and" skipped
    ("Fed", {"Federal Reserve": 2, "Fed": 5}, "Federal Reserve"),  # the first word cut short
    ("Vikings", {"Minnesota Vikings": 1, "Vikings": 6}, "Minnesota Vikings"),  # the last words
    ("Altman", {"Sam Altman": 2}, "Sam Altman"),
    ("Kelce", {"Travis Kelce": 1, "Jason Kelce": 3}, "Jason Kelce"),  # the most frequent full form
    ("RA", {"Royal Academy of Arts": 1}, None),  # initials of other words
    ("Meta", {"Metallica": 1}, None),  # a word is not the start of another one
    ("Apple", {"Apple": 3}, None),  # no longer form: nothing to expand
    ("TikTok", {"TikToker Tube Girl": 1}, None),  # a word made from it, not one cut short to it
    ("Twitch", {"TwitchCon Europe": 1}, None),
])
def test_a_short_form_expands_to_the_full_form_its_articles_write(short, forms, full):
    from rag.direct import expansion

    assert expansion(short, forms) == full


def test_the_answer_line_names_an_organisation_in_full_with_its_short_form():
    cited = numbered(sentence("Rugby Australia withdrew the funding during the pandemic.", source="The Roar", score=0.6),
                     sentence("RA is trying to centralise the high-performance programs.", source="The Roar", score=0.8),
                     sentence("Should RA move on him, the franchises would back Schmidt.", source="The Roar", score=0.7))
    names = {c.location.article_id: json.loads(name_index(c.facts for _, c in cited)) for _, c in cited}
    question = analyse("Which organization is trying to centralise the high-performance programs?")
    choice = choose_name(question, [c for _, c in cited], [c for _, c in cited], ["The Roar"],
                         lambda article: names[article], tuning=TUNING)
    found = direct_answer(question, cited, choice)
    assert (found.values, found.short) == ((("Rugby Australia", (1, 2, 3)),), "RA")


# ------------------------------------------------------------------- short forms linked at ingest

@pytest.mark.parametrize(("article", "links"), [
    (["The Federal Reserve held interest rates steady on Wednesday.", "The Fed said inflation was easing."],
     {"Fed": "Federal Reserve"}),  # the first word cut short
    (["Rugby Australia withdrew the funding during the pandemic.", "RA is trying to centralise the programs."],
     {"RA": "Rugby Australia"}),  # initials
    (["The Securities and Exchange Commission sued Binance.", "The SEC said Binance misled investors."],
     {"SEC": "Securities and Exchange Commission"}),
    (["The Minnesota Vikings beat the Green Bay Packers on Sunday.", "The Vikings scored twice in the fourth quarter."],
     {}),  # place and nickname: the nickname shares its word with the full form, the answer groups them
    (["The European Commission opened an inquiry into Amazon.", "The Commission said it would decide by March.",
      "The EU has fined Google before."], {}),  # "EU" abbreviates nothing here; "Commission" shares its word
    (["Sam Altman returned to OpenAI on Tuesday.", "Altman said the board would change."], {}),  # a person: by "p"
    (["The Fed said inflation was easing."], {}),  # no full form in the article
    (["The Fed said inflation was easing.", "The Federal Reserve held interest rates steady on Wednesday."],
     {}),  # a full form written after the short one does not define it
    (["TikTok said it would appeal the ban.", "TikToker Tube Girl went viral last month."], {}),  # made from it
    (["Meta launched its assistant on Wednesday.", "Owners say “Hey Meta” to wake the glasses."], {}),  # a title
    (["The Federal Trade Commission sued Amazon.", "The FTC, joined by 17 states, said Amazon abused its power."],
     {"FTC": "Federal Trade Commission"}),
])
def test_an_article_links_its_short_forms_to_the_full_forms_it_writes(article, links):
    index = json.loads(name_index(annotate(article)))
    assert {s: f for entry in index.values() for s, f in entry.get("a", {}).items()} == links


def test_the_library_links_a_short_form_to_the_full_form_most_of_its_articles_write():
    from index.catalog import Catalog
    from index.store import ArticleRecord

    def record(i: int, links: dict) -> ArticleRecord:
        return ArticleRecord(id=f"a{i}", version=f"v{i}", names=json.dumps({"x": {"l": {}, "f": {}, "a": links}}))

    catalog = Catalog("f", {r.id: r for r in [
        record(1, {"Fed": "Federal Reserve", "RA": "Rugby Australia"}), record(2, {"Fed": "Federal Reserve"}),
        record(3, {"Fed": "Federal Emergency"}), record(4, {"RA": "Royal Artillery"}),
        ArticleRecord(id="a5", version="v5")]})
    assert catalog.name_links == {"Fed": "Federal Reserve"}  # "RA": one article each way, no majority


FED = ["The Federal Reserve kept its benchmark rate at a 22-year high.",
       "The Fed signalled that rates would stay high for longer.", "The Fed is watching the labour market closely.",
       "Goldman Sachs expects rates to stay high for longer."]


class _Names:
    """A library's name indexes and its short-form links, as ``rag.pipeline`` gives them."""

    def __init__(self, indexes: dict, links: dict):
        self.indexes, self.links = indexes, links

    def __call__(self, article: str) -> dict:
        return self.indexes.get(article, {})


@pytest.mark.parametrize(("links", "shown"), [
    ({"Fed": "Federal Reserve"}, ("Federal Reserve", "Fed", 3)),  # every form counted, the full one shown
    ({}, ("Fed", None, 2)),  # without the library's link, two articles' "Fed" is another name
])
def test_a_short_form_in_an_article_without_the_full_one_is_read_by_the_librarys_link(links, shown):
    cands = [sentence(text, source=source, article=article, score=score) for text, source, article, score in
             zip(FED, ["Fortune", "CNBC", "The Age", "Fortune"], "abcd", [0.6, 0.7, 0.6, 0.7], strict=True)]
    names = _Names({"a": json.loads(name_index(annotate(
        ["The Federal Reserve held interest rates steady on Wednesday.", "The Fed said inflation was easing.",
         FED[0]])))}, links)
    question = analyse("Which institution signalled that interest rates would stay high?")
    choice = choose_name(question, cands, cands, names_of=names, tuning=TUNING)
    assert (choice.name, choice.short, len(choice.sentences)) == shown
    if links:
        found = direct_answer(question, numbered(*cands[:3]), choice)
        assert (found.values, found.short) == ((("Federal Reserve", (1, 2, 3)),), "Fed")
        assert found.detail == "named in 3 cited sentences from CNBC, Fortune and The Age"


@pytest.mark.parametrize(("links", "conflict"), [
    ({}, True),  # "Fed" and "Federal Reserve" read as two names: the same statement about different ones
    ({"Fed": "Federal Reserve"}, False),  # linked at ingest: one name, no conflict
])
def test_a_short_form_and_its_full_form_are_no_conflict_of_names(links, conflict):
    cited = numbered(sentence("The Fed raised interest rates on Wednesday, officials said.", source="CNBC",
                              day="2023-11-01", article="a"),
                     sentence("The Federal Reserve raised interest rates on Wednesday, officials said.",
                              source="Fortune", day="2023-11-01", article="b"))
    found = find_conflicts(analyse("Which institution raised interest rates on Wednesday?"), cited, tuning=TUNING,
                           names_of=_Names({}, links))
    assert bool(found) is conflict
