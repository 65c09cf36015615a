"""Yes/no verdicts only where the evidence decides them (rag/verdicts.py): the publication dates of
the two reports a question orders. The same question flips with the articles' dates alone."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers import sentence

from rag.analysis import analyse
from rag.tuning import Tuning
from rag.verdicts import order_of, verdict

TUNING = Tuning()
ABLE = replace(TUNING, verdict_support=0.6)  # "Yes" given (the shipped value may never give one)

OUTLETS = ["Engadget", "The Verge", "Fortune", "Sporting News", "Essentially Sports"]
BEFORE = "Did Engadget report a discount on the MacBook Air before The Verge reported a deal on the Galaxy Buds?"
AFTER = "Did Engadget report a discount on the MacBook Air after The Verge reported a deal on the Galaxy Buds?"


def _cited(engadget_day: str, verge_day: str, support: float = 0.9, verge: str = "The Verge") -> list:
    """The two reports' sentences, each scored ``support`` against its own claim."""
    return [(1, replace(sentence("The 13.6-inch MacBook Air is $200 off at Amazon.", source="Engadget",
                                 day=engadget_day), parts=(support, 0.1)), 0),
            (2, replace(sentence("Samsung's Galaxy Buds 2 are down to $70.", source=verge, day=verge_day),
                        parts=(0.1, support)), 1)]


@pytest.mark.parametrize(("question", "engadget", "verge", "found"), [
    # the dates contradict the order the question states: No, with both reports cited
    (BEFORE, "2023-11-20", "2023-11-02", ("No", (1, 2))),
    (AFTER, "2023-11-02", "2023-11-20", ("No", (1, 2))),
    # the dates agree, and each report says what the question claims of it: Yes
    (BEFORE, "2023-11-02", "2023-11-20", ("Yes", (1, 2))),
    (AFTER, "2023-11-20", "2023-11-02", ("Yes", (1, 2))),
    (BEFORE, "2023-11-02", "2023-11-02", None),  # the same day decides nothing
    (BEFORE, "2023-11-20", None, None),  # an undated report neither
])
def test_a_verdict_rests_on_the_reports_dates(question, engadget, verge, found):
    info = analyse(question, outlets=OUTLETS)
    assert order_of(info) == (0, "before" if question == BEFORE else "after", 1)
    direct = verdict(info, _cited(engadget, verge), tuning=ABLE)
    assert (direct.values[0] if direct else None) == found
    if found:
        assert direct.kind == "verdict" and direct.detail.startswith(
            "Engadget's report [1] is dated ")


def test_a_yes_needs_each_report_to_say_what_the_question_claims():
    info = analyse(BEFORE, outlets=OUTLETS)
    weak = ABLE.verdict_support - 0.05  # the dates agree, but a sentence barely says its claim
    assert verdict(info, _cited("2023-11-02", "2023-11-20", support=weak), tuning=ABLE) is None
    # the dates contradicting the order still decide: No
    assert verdict(info, _cited("2023-11-20", "2023-11-02", support=weak), tuning=ABLE).values[0] == ("No", (1, 2))
    # above 1, "Yes" is never given
    assert verdict(info, _cited("2023-11-02", "2023-11-20"), tuning=replace(TUNING, verdict_support=1.01)) is None


@pytest.mark.parametrize("days", [("2023-11-02", "2023-11-20"), ("2023-11-20", "2023-11-02")])
def test_a_sentence_speaks_for_a_report_only_from_the_outlet_the_question_pins(days):
    # the second sentence comes from Fortune, not The Verge: its date says nothing of The Verge's report
    assert verdict(analyse(BEFORE, outlets=OUTLETS), _cited(*days, verge="Fortune"), tuning=ABLE) is None


@pytest.mark.parametrize("question", [
    "Does the Sporting News article suggest the Seahawks are winning, in contrast to the Essentially Sports "
    "article?",  # no order between the reports
    "Did Engadget report a discount on the MacBook Air?",  # one report
    "Does the Sporting News article mention Cardoso's call-up after an injury, as The Verge reports on "
    "Cavallini?",  # "after" introduces an injury, not the second report
    "Which outlet reported the MacBook Air discount before The Verge did?",  # not a yes/no question
])
def test_no_order_no_verdict(question):
    info = analyse(question, outlets=OUTLETS)
    assert order_of(info) is None
    assert verdict(info, _cited("2023-11-20", "2023-11-02")) is None
