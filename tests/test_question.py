"""Question understanding as data, with the real spaCy model: answer types, names, outlets, dates,
claims, follow-ups, and the same reading for paraphrases and spelling variants of each sample
question."""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import SEEDS

from index.text import analyze
from rag.analysis import analyse, as_asked
from rag.outlets import outlet_mentions
from rag.types import Turn

OUTLETS = ["Miami News, KMIA", "The Verge", "TechCrunch", "Fortune", "The Age", "Sporting News", "CBSSports.com",
           "Cnbc | World Business News Leader", "The Roar | Sports Writers Blog", "Oka Valley Courier"]
NEWEST = "2023-12-20"


def read(question, **options):
    return analyse(question, outlets=OUTLETS, newest=NEWEST, **options)


def day(text):
    return date.fromisoformat(text)


# (question, answer type, unit of a "how many" question)
TYPES = [
    ("How many drones were intercepted?", "number", "drone"),
    ("What number of drones were intercepted?", "number", "drone"),
    ("How many UAVs were downed?", "number", "uav"),
    ("How many of the drones came down over Ryazan?", "number", "drone"),
    ("How many civilians were killed in the attack?", "number", "civilian"),
    ("Who won the World Cup?", "person", None),
    ("Who is the individual facing a criminal trial for fraud?", "person", None),
    ("Which player leads the league in receiving yards?", "person", None),
    ("Which company reported $394 million in operating income?", "organisation", None),
    ("What company is known for its ride-sharing services?", "organisation", None),
    ("Which online betting platform offers a welcome bonus?", "organisation", None),
    ("Which team did the All Blacks lose to?", "organisation", None),
    ("Where did the Ukrainian counter-attack fail?", "place", None),
    ("Which country faces a starvation risk?", "place", None),
    ("When were the drones intercepted?", "date", None),
    ("And over which regions?", "place", None),  # "which" parsed as the object of "over"
    ("In which city did the summit take place?", "place", None),
    ("Which outlet reported 55 drones?", "outlet", None),
    ("What news outlet reported that 55 drones were intercepted?", "outlet", None),
    ("Who reported that S-300 and S-400 batteries were deployed?", "outlet", None),
    ("Which newspaper said explosions were seen over Kursk and Belgorod?", "outlet", None),
    ("Were S-500 systems used against the drones?", "yes/no", None),
    ("Was the Ryazan region attacked?", "yes/no", None),
    ("Does the TechCrunch article suggest that Sam Altman is involved in a new venture?", "yes/no", None),
    ("Did the ministry say how many drones were intercepted?", "yes/no", None),
    ("Between the Fortune report and the The Age report, is there agreement on property values?", "yes/no", None),
    # the inverted clause after a long opening phrase, however the parser attaches it
    ("Between the Fortune report on Donald Trump's valuations published on September 26, 2023, and The Age report "
     "alleging he increased the value of his penthouse, is there agreement on inflating property values?",
     "yes/no", None),
    ("After The Independent reported on Britney Spears' lithium intake on October 18, 2023, did The Guardian's "
     "report on October 24, 2023 keep the same narrative of her struggles?", "yes/no", None),
    ("Between the Sporting News report on NBA betting sites published on October 2, 2023, and the one on point "
     "spread betting published on November 1, 2023, was the reporting on how sportsbooks adjust their betting "
     "lines consistent?", "yes/no", None),
    ("After The Roar reported on the All Blacks against Argentina on October 18, 2023, and on the final on "
     "October 28, 2023, was the reporting on their gameplay consistent?", "yes/no", None),
    ("After the ministry's statement on October 4, 2023, what did NATO say?", "open", None),
    ("What did NATO say about the escalation?", "open", None),
    ("How did the Russian defence ministry describe the counter-attack?", "open", None),
    ("What type of establishments modify betting odds?", "open", None),
    ("What is the name of the company that reported $394 million in operating income?", "organisation", None),
    ("What is the identity of the individual facing a criminal trial for fraud?", "person", None),
    ("What is the first letter of the city where the company is based?", "open", None),
]


@pytest.mark.parametrize("question, kind, unit", TYPES, ids=[q for q, _, _ in TYPES])
def test_answer_type_and_unit(question, kind, unit):
    found = read(question)
    assert (found.answer_type, found.unit) == (kind, unit)


# (question, the names it depends on, which of them the counted event must be tied to)
NAMES = [
    ("How many drones were shot down over Moscow?", ["Moscow"], ["Moscow"]),
    ("How many drones were intercepted over Kharkiv?", ["Kharkiv"], ["Kharkiv"]),
    ("How many drones were shot down over the Ryazan region?", ["Ryazan"], ["Ryazan"]),
    ("How many drones did Russian air defences intercept?", ["Russian"], []),
    ("Were S-500 systems used against the drones?", ["S-500"], []),
    ("Who reported that S-300 and S-400 batteries were deployed?", ["S-300", "S-400"], []),
    ("Which outlet reported 55 drones?", ["55"], []),
    ("What is the capital of France?", ["France"], []),
    ("Does the TechCrunch article suggest that Sam Altman is involved in a new venture, while the Fortune "
     "article discusses the roles of Matt Huang and Gary Wang?", ["Sam Altman", "Matt Huang", "Gary Wang"], []),
    ("How did the Russian defence ministry describe the Ukrainian counter-attack near Kupyansk?",
     ["Russian", "Ukrainian", "Kupyansk"], ["Kupyansk"]),
    ("What did Sam Bankman-Fried's lawyers argue?", ["Sam Bankman-Fried"], []),
]


@pytest.mark.parametrize("question, names, tied", NAMES, ids=[q[:60] for q, _, _ in NAMES])
def test_names_and_what_a_count_must_be_tied_to(question, names, tied):
    found = read(question)
    assert [n.text for n in found.names] == names
    assert [n.text for n in found.names if n.place] == tied


def test_outlets_are_not_names_and_match_whatever_their_case_article_or_quotes():
    text = "what did the verge and 'TechCrunch' say"
    assert [(text[s:e], o) for s, e, o in outlet_mentions(text, OUTLETS)] == [
        ("the verge", "The Verge"), ("TechCrunch", "TechCrunch")]
    found = read("What did the Verge report about Cnbc | World Business News Leader and 'The Age'?")
    assert found.outlets == ("The Verge", "Cnbc | World Business News Leader", "The Age")
    assert found.names == ()
    assert read("What did Reuters report about the drones?").outlets == ()  # not an indexed outlet: a name
    assert [n.text for n in read("What did Reuters report about the drones?").names] == ["Reuters"]


@pytest.mark.parametrize("question, days", [
    ("What happened in Kyiv on October 4, 2023?", [("2023-10-04", "2023-10-04")]),
    ("What did the Verge report on 2023-10-04?", [("2023-10-04", "2023-10-04")]),
    ("What did TechCrunch report in September?", [("2023-09-01", "2023-09-30")]),
    ("What did Fortune publish in September 2022?", [("2022-09-01", "2022-09-30")]),
    ("What happened in Kiev last week?", [("2023-12-13", "2023-12-20")]),
    ("What happened yesterday?", [("2023-12-19", "2023-12-19")]),
    ("Who was the mayor of Kyiv in 2023?", [("2023-01-01", "2023-12-31")]),
    ("How many drones were intercepted?", []),
])
def test_dates_named_and_relative_ones_counted_back_from_the_newest_article(question, days):
    found = read(question)
    assert [(a.isoformat(), b.isoformat()) for a, b in found.days] == days
    assert found.about_time == bool(days)


@pytest.mark.parametrize("question, parts", [
    ("Who is the individual associated with the cryptocurrency industry facing a criminal trial on fraud and "
     "conspiracy charges, as reported by both The Verge and TechCrunch, and is accused by prosecutors of "
     "committing fraud for personal gain?",
     [(("The Verge", "TechCrunch"), 0), ((), 0)]),  # a mid-question attribution: the claim before it
    ("Does the TechCrunch article suggest that Sam Altman is involved in a new venture, while the Fortune "
     "article discusses the roles of Matt Huang and Gary Wang?",
     [(("TechCrunch",), 0), (("Fortune",), 0)]),
    ("Was there inconsistency between the TechCrunch report published on October 1, 2023, and the TechCrunch "
     "report published on October 7, 2023?",
     [(("TechCrunch",), 1), (("TechCrunch",), 1)]),
    ("Which online betting platform provides a welcome bonus of up to $1000 in bonus bets for new customers' "
     "first losses, runs NBA betting promotions, and is anticipated to extend the same sign-up offer to new "
     "users in Vermont, as reported by both CBSSports.com and Sporting News?",
     [(("CBSSports.com", "Sporting News"), 0)] * 3),
    ("Which company, according to TechCrunch, reported $394 million in operating income in the third quarter?",
     [(("TechCrunch",), 0)]),
    ("How many drones were intercepted?", [((), 0)]),
])
def test_a_multi_part_question_is_split_into_claims_each_with_its_outlets_and_days(question, parts):
    found = read(question)
    assert [(p.outlets, len(p.days)) for p in found.parts] == parts
    assert " ".join(p.text for p in found.parts).replace(",", "").split() == \
        found.text.rstrip("?").replace(",", "").split()  # the claims cover the question, in order
    # each claim knows where it is said: its vector is pooled from the question's word pieces there
    assert [said_at(found.text, p.spans) for p in found.parts] == [said_at(p.said) for p in found.parts]
    assert all(p.spans for p in found.parts)


@pytest.mark.parametrize("question, text", [
    # a single day is read as the index writes a report's date ("TechCrunch, 2023-10-01")
    ("Was there inconsistency between the TechCrunch report published on October 1, 2023, and the one "
     "published on Saturday, October 7, 2023?",
     "Was there inconsistency between the TechCrunch report published on 2023-10-01, and the one "
     "published on 2023-10-07?"),
    ("What did The Verge report yesterday about Uber?", "What did The Verge report 2023-12-19 about Uber?"),
    # one day said twice, once with its weekday: each claim reads it so
    ("Did the TechCrunch report of October 2, 2023 on Uber differ from the Fortune one, also of Monday, "
     "October 2, 2023, and was the coverage consistent?",
     "Did the TechCrunch report of 2023-10-02 on Uber differ from the Fortune one, also of 2023-10-02, "
     "and was the coverage consistent?"),
    # already so, or a range of days: as asked
    ("What did Fortune report on 2023-10-02 about FTX?", "What did Fortune report on 2023-10-02 about FTX?"),
    ("What did Fortune report in September 2023 about FTX?", "What did Fortune report in September 2023 about FTX?"),
    ("What did Fortune report last week about FTX?", "What did Fortune report last week about FTX?"),
])
def test_the_days_a_question_names_are_read_as_the_index_writes_them(question, text):
    # the word searches read the dated form; the encoder reads the words as typed
    found, typed = read(question), read(text)
    assert (found.asked, found.text, found.dated or found.text) == (question, question, text)
    assert found.days == typed.days and found.days  # the same days, read either way
    assert found.terms == tuple(analyze(text))
    # the claims' dated forms cover the dated question, their words the question as typed, in order
    assert " ".join(p.dated or p.text for p in found.parts).replace(",", "").split() == \
        text.rstrip("?").replace(",", "").split()
    assert " ".join(p.text for p in found.parts).replace(",", "").split() == \
        question.rstrip("?").replace(",", "").split()
    assert [said_at(found.text, p.spans) for p in found.parts] == [said_at(p.said) for p in found.parts]
    assert [p.search for p in found.parts] == [f"{p.dated or p.text} {p.about}".strip() for p in found.parts]


@pytest.mark.parametrize("typed, read_as", [
    ("Who won the final", "Who won the final?"),
    ("  Who won the final?  ", "Who won the final?"),
    ("Tell me about the strike.", "Tell me about the strike."),
    ("Who was not candid with the board as per 'TechCrunch'", "Who was not candid with the board as per 'TechCrunch'?"),
    ("Which team has a player with the initials 'K.A.'", "Which team has a player with the initials 'K.A.'"),
    ("", ""),
])
def test_a_question_typed_without_its_mark_reads_as_a_question(typed, read_as):
    assert as_asked(typed) == read_as
    if typed:
        assert read(typed) == read(read_as)


def said_at(text: str, spans=None) -> str:
    """The words of ``text`` (at ``spans``, when given), without the commas and spaces between them."""
    return " ".join(re.sub(r"[\s,;?]+", " ", " ".join(text[a:b] for a, b in spans) if spans else text).split())


@pytest.mark.parametrize("question, abouts", [
    # a report pinned only by its outlet or day is searched with what the other claims say
    ("Between the article published by TechCrunch on 2023-10-02 and the one on 2023-11-06, has the "
     "explanation of what bettors can place prop bets on remained consistent?",
     ["has the explanation of what bettors can place prop bets on remained consistent"] * 2 + [""]),
    ("Was there inconsistency between the TechCrunch report published on October 1, 2023, and the TechCrunch "
     "report published on October 7, 2023?",
     ["", "Was there inconsistency between report published on"]),
    # ... with what the claims pinning no report say, when there are some: not with what the other
    # report is about (the teen's AI startup)
    ("After the TechCrunch report on Sam Altman backing a teen's AI startup published on October 7, 2023, and the "
     "Fortune report published on November 18, 2023, was the portrayal of Sam Altman's conduct consistent?",
     ["", "was the portrayal of Sam Altman's conduct consistent", ""]),
    # every claim says something of its own: each is searched with its own words only
    ("Does the TechCrunch article suggest that Sam Altman is involved in a new venture, while the Fortune "
     "article discusses the roles of Matt Huang and Gary Wang?", ["", ""]),
])
def test_a_claim_with_no_words_of_its_own_is_about_what_the_others_say(question, abouts):
    found = read(question)
    parts = found.parts
    assert [p.about for p in parts] == abouts
    assert [p.said for p in parts] == [f"{p.text} {p.about}" if p.about else p.text for p in parts]
    # where the claim is said, and where what the others say is: its search's words, in order
    assert [said_at(found.text, p.spans) for p in parts] == [said_at(p.said) for p in parts]


@pytest.mark.parametrize("question, reports", [
    # a claim that only names a report, by its outlet or day, states nothing of its own
    ("Between the Sporting News report on NBA betting sites and apps published on October 2, 2023, and the "
     "Sporting News report on point spread betting published on November 1, 2023, was the reporting on how "
     "sportsbooks adjust their betting lines consistent?", [True, True, False]),
    # the auxiliary opening a yes/no question is no statement of the claim it opens
    ("Was the report by TechCrunch on October 7, 2023, regarding an intelligence failure, and the later report "
     "by Fortune on November 5, 2023, concerning Israel's reliance on technology, inconsistent?",
     [True, True, False]),
    # a claim with a verb of its own says something, whether it names a report or not
    ("Did the Sporting News change its explanation of prop bets after November 6, 2023, as compared to its "
     "earlier report on November 1, 2023?", [False, True]),
    ("Does the TechCrunch article suggest that Sam Altman is involved in a new venture, while the Fortune "
     "article discusses the roles of Matt Huang and Gary Wang?", [False, False]),
    # claims saying something of the person asked for, even when they name an outlet
    ("Who became a prominent figure in generative AI, is associated with a departure from OpenAI mentioned "
     "in Fortune, and is at the center of a theory reported by TechCrunch?", [False, False, False]),
])
def test_a_claim_that_only_names_a_report_is_told_from_one_that_states_something(question, reports):
    assert [p.names_report for p in read(question).parts] == reports


# Each sample question with paraphrases and spelling variants: the same reading.
SAMPLES = [
    ("number", "drone", [], [
        "How many drones were intercepted?",
        "How many drones did Russian air defences intercept?",
        "How many drones did Russian air defenses intercept?",
        "What number of drones were intercepted?",
        "How many Ukrainian drones were downed by Russian air defence?",
    ]),
    ("number", "drone", ["Ryazan"], [
        "How many drones were shot down over the Ryazan region?",
        "How many drones came down over Ryazan?",
        "Over the Ryazan region, how many drones were shot down?",
        "How many of the drones were destroyed over Ryazan?",
    ]),
    ("number", "drone", ["Kharkiv"], [
        "How many drones were intercepted over Kharkiv?",
        "How many drones were intercepted over Kharkov?",
    ]),
    ("outlet", None, [], [
        "Which outlet reported 55 drones?",
        "Which news outlet reported that 55 drones were intercepted?",
        "What newspaper reported the 55 drones?",
    ]),
    ("yes/no", None, [], [
        "Were S-500 systems used against the drones?",
        "Did Russia use S-500 systems against the drones?",
    ]),
    ("person", None, [], [
        "Who is the mayor of Ryazan?",
        "Who was the mayor of Ryazan?",
    ]),
]


@pytest.mark.parametrize("kind, unit, tied, question",
                         [(k, u, t, q) for k, u, t, qs in SAMPLES for q in qs], ids=lambda v: str(v)[:50])
def test_paraphrases_and_spelling_variants_read_the_same(kind, unit, tied, question):
    found = read(question)
    assert (found.answer_type, found.unit) == (kind, unit)
    tied_keys = [sorted(n.keys) for n in found.names if n.place]
    expected = [sorted(read(f"How many drones over {t}?").names[0].keys) for t in tied]
    assert tied_keys == expected


def test_spelling_variants_give_the_same_words_and_name_keys():
    assert read("Russian air defence in Kiev").terms == read("Russian air defense in Kyiv").terms
    assert read("How many drones over Kiev?").names[0].keys == read("How many drones over Kyiv?").names[0].keys
    assert read("What did the ministry organise?").terms == read("What did the ministry organize?").terms


def test_the_attribute_asked_about_must_be_mentioned():
    assert read("Who is the mayor of Ryazan?").attribute == "mayor"
    assert read("What is the capital of France?").attribute == "capital"  # the user's word, matched by its stem
    assert read("Who won the World Cup?").attribute is None
    assert read("What is the first letter of the city where the company is based?").attribute == "letter"
    # the name of a thing is how the articles mention it: not an attribute to find
    assert read("What is the name of the organization promoting an app store for AI?").attribute is None
    assert read("What is the name of the mayor of Ryazan?").attribute == "mayor"


def test_a_follow_up_keeps_the_frame_of_the_question_before_and_adds_its_own_names():
    first = "How many drones were intercepted?"
    history = [Turn(question=first, answer="55 drones [1]", articles=("a1",), quotes=("55 drones were hit.",))]
    found = read("And over Moscow?", history=history)
    assert (found.answer_type, found.unit) == ("number", "drone")
    assert [(n.text, n.place) for n in found.names] == [("Moscow", True)]
    assert found.text == f"{first} And over Moscow?" and found.asked == "And over Moscow?"
    assert found.said == ("55 drones were hit.",) and found.prior_articles == ("a1",)
    # a turn without quotes (an API client sending text): its sentences, markers removed
    plain = read("And over Moscow?", history=[Turn(question=first, answer="Fifty. [1] Then more. [2]")])
    assert plain.said == ("Fifty.", "Then more.")
    # "how many" with nothing counted counts what the question before counted
    other = read("And how many in the other report?", history=history)
    assert (other.answer_type, other.unit) == ("number", "drone")
    # a follow-up with a question word of its own asks its own kind of thing
    outlet = [Turn(question="Which outlet reported 55 drones?", answer="Miami News [1]", articles=("a1",))]
    assert read("And over which regions?", history=outlet).answer_type == "place"
    # not a follow-up: read on its own
    assert read("Who won the World Cup?", history=history).text == "Who won the World Cup?"


def test_ingest_annotation_runs_the_recognizer_alone_and_finds_what_the_whole_pipeline_finds():
    """The recognizer of en_core_web_sm embeds its own tok2vec: annotating at ingest skips the shared
    one (half the cost) and loses no entity."""
    from index import language

    nlp = language.pipeline()
    assert language._not_needed_for_entities(nlp) == ["tok2vec", "tagger", "parser", "attribute_ruler",
                                                      "lemmatizer"]
    sentences = [line.strip() for path in sorted(SEEDS.glob("*.txt")) for line in path.read_text().splitlines()
                 if len(line.split()) > 6][:12]
    assert len(sentences) == 12
    whole = [[(e.text, e.start_char, e.end_char) for e in nlp(s).ents] for s in sentences]
    alone = [[(m.text, m.start, m.end) for m in facts.entities] for facts in language.annotate(sentences)]
    assert alone == whole and sum(map(len, alone)) > 12


def test_the_language_pipeline_multiplies_on_numpy_with_one_blas_thread_and_parses_as_with_blis():
    """spaCy's products run on numpy's BLAS (thinc's BLIS runs a generic kernel on some CPUs, 3-6x
    slower), held to one thread; the parses are those of the pipeline as shipped."""
    import spacy
    from threadpoolctl import threadpool_info

    from index.language import MODEL_PACKAGE, pipeline

    nlp = pipeline()
    ops = {(type(node.ops).__name__, node.ops.use_blis) for _, component in nlp.pipeline
           if getattr(component, "model", None) is not None for node in component.model.walk()}
    assert ops == {("NumpyOps", False)}
    # numpy's own BLAS (a BLAS loaded later, scipy's, is not what spaCy multiplies on)
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas" and "numpy" in i["filepath"]] == [1]
    shipped = spacy.load(MODEL_PACKAGE)
    assert shipped.get_pipe("tok2vec").model.ops.use_blis
    for text in [SAMPLES[0][3][0], "Who is the individual associated with the cryptocurrency industry facing a "
                 "criminal trial on fraud and conspiracy charges, as reported by both The Verge and TechCrunch?"]:
        ours, theirs = nlp(text), shipped(text)
        assert [(t.tag_, t.dep_, t.head.i, t.lemma_, t.ent_type_) for t in ours] == \
            [(t.tag_, t.dep_, t.head.i, t.lemma_, t.ent_type_) for t in theirs]


@pytest.mark.parametrize(("question", "kind", "plural", "count"), [
    ("Which outlets reported that Sam Altman was fired?", "outlet", True, None),
    ("Which outlet reported 55 drones?", "outlet", False, None),
    ("Which two individuals were charged?", "person", True, 2),  # "two" between "Which" and its noun
    ("Which two startups is Palo Alto Networks in talks to buy?", "organisation", True, 2),
    ("Which bank CEOs did Menendez question?", "person", True, None),
    ("Which companies signed NASCAR's new media rights deal?", "organisation", True, None),
    ("Who is Binance's new CEO?", "person", False, None),
    ("How many drones were intercepted?", "number", False, None),  # a count, not several things
])
def test_a_question_asking_for_several_things_says_so_and_how_many(question, kind, plural, count):
    info = analyse(question)
    assert (info.answer_type, info.plural, info.asked_count) == (kind, plural, count)
