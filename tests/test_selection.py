"""Stage 5, select (``rag.selection.select``): tables of scored evidence sentences (annotated by
the real spaCy model) and which of them are quoted, in order."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import sentence

from rag.analysis import analyse
from rag.selection import select
from rag.tuning import Tuning

TUNING = Tuning()

# two sentences of one report, then one of each of two other reports; all above the relative floor
EVIDENCE = [("Air defences intercepted 20 drones over Moscow overnight.", "a", 0.80),
            ("The ministry said the drones were launched from Ukraine.", "a", 0.78),
            ("Officials confirmed that drones were intercepted near Moscow.", "b", 0.70),
            ("Residents of Moscow heard the drones being shot down.", "c", 0.68)]


@pytest.mark.parametrize("question, kind, quoted", [
    # a yes/no question reads one sentence from each report
    ("Did the ministry say that drones were intercepted?", "yes/no", [0, 2, 3]),
    # a question asking for a name may take the sentence beside the best one, from the same report
    ("Who launched the drones that were intercepted?", "person", [0, 1, 2, 3]),
    ("Which country launched the drones that were intercepted?", "place", [0, 1, 2, 3]),
])
def test_a_yes_no_question_reads_one_sentence_per_report(question, kind, quoted):
    cands = [sentence(text, article=article, score=score) for text, article, score in EVIDENCE]
    info = analyse(question)
    assert (info.answer_type, len(info.parts)) == (kind, 1)
    picks = select(info, cands, tuning=TUNING, max_sentences=4)
    assert [cands.index(p.candidate) for p in picks] == quoted


def test_one_report_alone_gives_as_many_sentences_as_it_has():
    cands = [sentence(text, article="a", score=score) for text, _, score in EVIDENCE]
    picks = select(analyse("Did the ministry say that drones were intercepted?"), cands, tuning=TUNING, max_sentences=4)
    assert [cands.index(p.candidate) for p in picks] == [0, 1, 2, 3]


# the best report of each outlet, then a further sentence of each
OUTLETS = [("Air defences intercepted 20 drones over Moscow overnight.", "TechCrunch", "a", 0.80),
           ("Drones were intercepted over Moscow, officials confirmed.", "The Verge", "b", 0.78),
           ("The drones over Moscow were intercepted by air defences.", "TechCrunch", "c", 0.70)]


@pytest.mark.parametrize("question, outlets, quoted", [
    # a question naming an outlet reads further sentences from it only
    ("Did TechCrunch report that drones were intercepted over Moscow?", ("TechCrunch",), [0, 2]),
    ("Did The Verge report that drones were intercepted over Moscow?", ("The Verge",), [0, 1]),
    # (its best sentence comes from anywhere: an outlet's report may be carried by another)
    ("Did the Verge say that drones were intercepted over Moscow?", ("The Verge",), [0, 1]),
    # naming none, it reads every report
    ("Were drones intercepted over Moscow?", (), [0, 1, 2]),
])
def test_further_sentences_come_from_the_outlets_the_question_names(question, outlets, quoted):
    cands = [sentence(text, source=source, article=article, score=score) for text, source, article, score in OUTLETS]
    info = analyse(question, outlets=["TechCrunch", "The Verge"])
    assert info.outlets == outlets
    picks = select(info, cands, tuning=TUNING, max_sentences=4)
    assert [cands.index(p.candidate) for p in picks] == quoted


def test_a_sentence_answering_one_claim_well_outranks_one_matching_the_question_loosely():
    info = analyse("Did TechCrunch report that drones were intercepted over Moscow, while The Verge reported "
                   "that the ministry blamed Ukraine?", outlets=["TechCrunch", "The Verge"])
    assert len(info.parts) == 2
    loose = replace(sentence("Drones and air defences were in the news in Moscow.", source="TechCrunch",
                             score=0.80), parts=(0.30, 0.30))  # weighs (0.80 + 0.30) / 2 = 0.55
    claim = replace(sentence("The ministry blamed Ukraine for the attack on Moscow.", source="The Verge",
                             score=0.60), parts=(0.20, 0.90))  # weighs (0.60 + 0.90) / 2 = 0.75
    picks = select(info, [loose, claim], tuning=TUNING, max_sentences=4)
    assert [(p.candidate.text, p.claim) for p in picks] == [(claim.text, 1), (loose.text, 0)]


BETWEEN = ("Between the TechCrunch report published on October 6, 2023, and The Verge report published on "
           "October 7, 2023, was the reporting on the drones over Moscow consistent?")


def test_a_yes_no_question_comparing_pinned_reports_quotes_those_reports_only():
    info = analyse(BETWEEN, outlets=["TechCrunch", "The Verge"])
    assert [(p.outlets, len(p.days)) for p in info.parts] == [(("TechCrunch",), 1), (("The Verge",), 1), ((), 0)]
    techcrunch = replace(sentence("Air defences intercepted 20 drones over Moscow.", source="TechCrunch", article="a",
                                  day="2023-10-06", score=0.70), parts=(0.80, 0.20, 0.40))  # weighs 0.75
    verge = replace(sentence("The Verge said drones were shot down near Moscow.", source="The Verge", article="b",
                             day="2023-10-07", score=0.60), parts=(0.20, 0.75, 0.40))  # weighs 0.675
    # the best sentence for "was the reporting ... consistent": it weighs 0.575, under the relative
    # floor (0.8 * 0.75 = 0.6) but over the claims' (0.3); the claim it matches pins no report
    consistent = replace(sentence("Reports on the drones over Moscow were consistent.", article="c", score=0.35),
                         parts=(0.20, 0.20, 0.80))
    picks = select(info, [techcrunch, verge, consistent], tuning=TUNING, max_sentences=4)
    assert [(p.candidate.location.article_id, p.claim) for p in picks] == [("a", 0), ("b", 1)]


@pytest.mark.parametrize("question, quoted", [
    # "TechCrunch" and no day: any of its reports, so its two best are quoted (the second scores
    # 0.80 >= 0.85 * 0.90 for the claim; the third, 0.70, is not)
    ("Did TechCrunch report that drones were intercepted over Moscow, while The Verge reported that the ministry "
     "blamed Ukraine?", ["a", "b", "d"]),
    # a day pins one report
    ("Did TechCrunch report on October 6, 2023 that drones were intercepted over Moscow, while The Verge reported "
     "that the ministry blamed Ukraine?", ["a", "d"]),
])
def test_a_claim_naming_an_outlet_and_no_day_quotes_its_two_best_reports(question, quoted):
    info = analyse(question, outlets=["TechCrunch", "The Verge"])
    assert [p.outlets for p in info.parts] == [("TechCrunch",), ("The Verge",)]
    # weights 0.75, 0.5, 0.45 and 0.75: "b" and "c" are under the relative floor (0.6) for further
    # sentences, over the claims' (0.3)
    cands = [replace(sentence(f"TechCrunch report {article} on the drones over Moscow.", source="TechCrunch",
                              article=article, day="2023-10-06", score=score), parts=(claim, 0.20))
             for article, score, claim in (("a", 0.6, 0.90), ("b", 0.2, 0.80), ("c", 0.2, 0.70))]
    cands.append(replace(sentence("The ministry blamed Ukraine for the attack.", source="The Verge", article="d",
                                  score=0.6), parts=(0.20, 0.90)))
    picks = select(info, cands, tuning=TUNING, max_sentences=4)
    assert [p.candidate.location.article_id for p in picks] == quoted


def test_a_further_sentence_needs_less_from_a_new_report_than_from_a_quoted_one():
    # shares of the best: a new report's 0.77 reaches its floor (0.75); the quoted report's 0.82
    # does not reach its own (0.85), nor does a new report's 0.72
    cands = [sentence(text, article=article, score=score) for text, article, score in [
        ("Air defences intercepted 20 drones over Moscow overnight, the ministry said.", "a", 1.0),
        ("The ministry said the drones over Moscow were launched from Ukraine.", "a", 0.82),
        ("Officials confirmed that drones were intercepted near Moscow.", "b", 0.77),
        ("Residents of Moscow heard the drones being shot down.", "c", 0.72)]]
    info = analyse("What happened to the drones over Moscow?")
    assert (info.answer_type, len(info.parts)) == ("open", 1)
    floors = replace(TUNING, relative_floor=0.8, new_report_floor=0.75, quoted_report_floor=0.85)
    picks = select(info, cands, tuning=floors, max_sentences=4)
    assert [cands.index(p.candidate) for p in picks] == [0, 2]


def test_a_question_of_several_claims_adds_only_reports_not_quoted_yet():
    info = analyse("Which drones did TechCrunch say were shot down over Moscow, while The Verge reported that the "
                   "ministry blamed Ukraine?", outlets=["TechCrunch", "The Verge"])
    assert (info.answer_type, [p.outlets for p in info.parts]) == ("open", [("TechCrunch",), ("The Verge",)])

    def report(text, article, source, score, parts):  # weighs (score + max(parts)) / 2
        return replace(sentence(text, source=source, article=article, score=score), parts=parts)

    cands = [report("Air defences shot down 20 drones over Moscow.", "a", "TechCrunch", 1.0, (1.0, 0.2)),
             report("The ministry blamed Ukraine for the drones.", "b", "The Verge", 0.6, (0.2, 0.9)),
             # weighs 0.95: the report is quoted already, so no
             report("The drones over Moscow were shot down overnight.", "a", "TechCrunch", 1.1, (0.8, 0.2)),
             # 0.9 of the best from a report not quoted yet: yes (multi_claim_floor 0.85) ...
             report("TechCrunch confirmed that drones were downed over Moscow.", "c", "TechCrunch", 1.0, (0.8, 0.2)),
             # ... 0.8: no, though a question of one claim would take it (new_report_floor 0.75)
             report("Drones flew towards Moscow, TechCrunch reported.", "d", "TechCrunch", 1.0, (0.6, 0.2))]
    floors = replace(TUNING, relative_floor=0.8, new_report_floor=0.75, quoted_report_floor=0.85,
                     multi_claim_floor=0.85, claim_share=0.5)
    picks = select(info, cands, tuning=floors, max_sentences=6)
    assert [(p.candidate.location.article_id, p.claim) for p in picks] == [("a", 0), ("b", 1), ("c", 0)]


def test_a_name_gets_a_sentence_of_its_own_only_in_a_question_of_one_claim():
    several = analyse("Did TechCrunch report that Sam Bankman-Fried was convicted, while The Verge reported that "
                      "the jury deliberated for hours?", outlets=["TechCrunch", "The Verge"])
    one = analyse("Did TechCrunch report that Sam Bankman-Fried was convicted after the jury deliberated for hours?",
                  outlets=["TechCrunch", "The Verge"])
    assert (len(several.parts), len(one.parts)) == (2, 1)
    assert [n.text for n in several.names] == [n.text for n in one.names] == ["Sam Bankman-Fried"]

    def cands(claims: bool):
        rows = [("The jury found him guilty on all counts.", "a", "TechCrunch", 1.0, (1.0, 0.2), ()),
                ("The jury deliberated for hours.", "b", "The Verge", 0.6, (0.2, 0.9), ()),
                # the only sentence naming him: 0.5 of the best with the claims, 0.7 without; over
                # half the floor (0.4), under a further sentence's share (0.75)
                ("Sam Bankman-Fried founded FTX.", "c", "TechCrunch", 0.7, (0.3, 0.3), (0,))]
        return [replace(sentence(text, source=source, article=article, score=score),
                        parts=parts if claims else (), names=frozenset(names))
                for text, article, source, score, parts, names in rows]

    assert [p.candidate.location.article_id for p in select(several, cands(True), tuning=TUNING, max_sentences=4)] \
        == ["a", "b"]  # each claim's sentence; the name alone gets none
    assert [p.candidate.location.article_id for p in select(one, cands(False), tuning=TUNING, max_sentences=4)] \
        == ["a", "c"]  # the best sentence, then one naming him


def test_a_claims_sentence_comes_from_a_report_not_quoted_yet_when_one_is_close():
    info = analyse("Which drones did TechCrunch say were shot down over Moscow, while The Verge reported that the "
                   "ministry blamed Ukraine?", outlets=["TechCrunch", "The Verge"])

    def report(text, article, source, parts):
        return replace(sentence(text, source=source, article=article, score=1.0), parts=parts)

    def claim_two(new_report_share: float):
        return [report("Air defences shot down 20 drones over Moscow.", "a", "TechCrunch", (1.0, 0.2)),
                # the second claim's best, from the report quoted for the first claim ...
                report("The Verge said the ministry blamed Ukraine for the drones over Moscow.", "a", "TechCrunch",
                       (0.2, 1.0)),
                # ... and one from a report not quoted yet, at this share of it
                report("The ministry blamed Ukraine, officials told The Verge.", "b", "The Verge",
                       (0.2, new_report_share))]

    def quoted_for_claim_two(cands):
        picks = select(info, cands, tuning=TUNING, max_sentences=2)
        return [cands.index(p.candidate) for p in picks if p.claim == 1]

    assert quoted_for_claim_two(claim_two(0.9))[0] == 2  # 0.9 >= claim_new_report (0.85): the new report
    assert quoted_for_claim_two(claim_two(0.8))[0] == 1  # 0.8: the claim's best, from the quoted report


def test_sentences_of_nearly_the_same_weight_are_taken_in_the_rankings_order():
    info = analyse("What happened to the drones over Moscow?")
    prior = replace(TUNING, rank_prior=0.02)  # the weights in the comments below
    lower = replace(sentence("Air defences intercepted 20 drones over Moscow overnight.", article="a", score=0.80),
                    rank=5)  # weighs 0.80 * (1 - 5 * 0.02) = 0.72 in the order
    higher = replace(sentence("Officials confirmed that drones were intercepted near Moscow.", article="b",
                              score=0.78), rank=0)
    picks = select(info, [lower, higher], tuning=prior, max_sentences=4)
    assert [p.candidate.location.article_id for p in picks] == ["b", "a"]
    far = replace(higher, score=0.70)  # 0.70 < 0.72: weight still leads
    picks = select(info, [lower, far], tuning=prior, max_sentences=4)
    assert [p.candidate.location.article_id for p in picks] == ["a", "b"]


def test_a_claim_that_only_names_a_report_quotes_from_it_what_the_question_asks():
    question = ("Between the TechCrunch report on air defences published on October 6, 2023, and The Verge report "
                "on drone attacks published on October 7, 2023, was the reporting on the drones over Moscow "
                "consistent?")
    info = analyse(question, outlets=["TechCrunch", "The Verge"])
    assert [p.names_report for p in info.parts] == [True, True, False]

    def report(text, article, source, day, score, parts):
        return replace(sentence(text, source=source, article=article, day=day, score=score), parts=parts)

    cands = [  # in each report: the sentence matching its description, then the one about the drones over Moscow
        report("Air defences are being upgraded across the country.", "a", "TechCrunch", "2023-10-06", 0.50,
               (0.90, 0.20, 0.30)),
        report("The drones over Moscow were all shot down, TechCrunch said.", "a", "TechCrunch", "2023-10-06", 0.80,
               (0.70, 0.20, 0.60)),
        report("Drone attacks have grown more frequent this year.", "b", "The Verge", "2023-10-07", 0.50,
               (0.20, 0.90, 0.30)),
        report("Some drones over Moscow got through, The Verge reported.", "b", "The Verge", "2023-10-07", 0.75,
               (0.20, 0.70, 0.60))]
    picks = select(info, cands, tuning=TUNING, max_sentences=4)
    # each claim chose its report; from each, the sentence about the drones over Moscow
    assert [(cands.index(p.candidate), p.claim) for p in picks] == [(1, 0), (3, 1)]
    # a claim that states something is quoted by its own words
    stating = analyse("Did TechCrunch report on October 6, 2023 that air defences are being upgraded, while The "
                      "Verge reported on October 7, 2023 that drone attacks have grown?",
                      outlets=["TechCrunch", "The Verge"])
    assert [p.names_report for p in stating.parts] == [False, False]
    two = [replace(c, parts=c.parts[:2]) for c in cands]
    picks = select(stating, two, tuning=TUNING, max_sentences=4)
    # (the best sentence, 1, is the first claim's; the second claim's is its best match, 2, not 3)
    assert [(two.index(p.candidate), p.claim) for p in picks] == [(1, 0), (2, 1)]
