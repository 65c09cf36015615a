"""Yes/no verdicts only where the evidence decides them (rag/verdicts.py): the publication dates of
the two reports a question orders. The same question flips with the articles' dates alone."""

from __future__ import annotations

import pytest
from helpers import sentence

from rag.analysis import analyse
from rag.verdicts import order_of, verdict

OUTLETS = ["Engadget", "The Verge", "Fortune", "Sporting News", "Essentially Sports"]
BEFORE = "Did Engadget report a discount on the MacBook Air before The Verge reported a deal on the Galaxy Buds?"
AFTER = "Did Engadget report a discount on the MacBook Air after The Verge reported a deal on the Galaxy Buds?"


def _cited(engadget_day: str, verge_day: str) -> list:
    return [(1, sentence("The 13.6-inch MacBook Air is $200 off at Amazon.", source="Engadget", day=engadget_day), 0),
            (2, sentence("Samsung's Galaxy Buds 2 are down to $70.", source="The Verge", day=verge_day), 1)]


@pytest.mark.parametrize(("question", "engadget", "verge", "found"), [
    # the dates contradict the order the question states: No, with both reports cited
    (BEFORE, "2023-11-20", "2023-11-02", ("No", (1, 2))),
    (AFTER, "2023-11-02", "2023-11-20", ("No", (1, 2))),
    # the dates agree: what each report says may still not be what the question claims
    (BEFORE, "2023-11-02", "2023-11-20", None),
    (AFTER, "2023-11-20", "2023-11-02", None),
    (BEFORE, "2023-11-02", "2023-11-02", None),  # the same day decides nothing
    (BEFORE, "2023-11-20", None, None),  # an undated report neither
])
def test_a_verdict_rests_on_the_reports_dates(question, engadget, verge, found):
    info = analyse(question, outlets=OUTLETS)
    assert order_of(info) == (0, "before" if question == BEFORE else "after", 1)
    direct = verdict(info, _cited(engadget, verge))
    assert (direct.values[0] if direct else None) == found
    if found:
        assert direct.kind == "verdict" and direct.detail.startswith(
            "Engadget's report [1] is dated ")


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
