"""The shortest path through the product: the samples indexed, one question answered."""

from __future__ import annotations

from conftest import SEED_55, SEED_64


def test_intercept_question_cites_both_figures_and_flags_the_conflict(seed_pipeline):
    answer = seed_pipeline.ask("How many drones did Russian air defences intercept?")
    assert answer.status == "answered"
    quotes = {c.quote for c in answer.citations}
    assert any("64 Ukrainian drones" in q for q in quotes)
    assert any("55 Ukrainian drones" in q for q in quotes)
    assert len(answer.conflicts) == 1
    claims = {c.text for c in answer.conflicts[0].claims}
    assert claims == {"64 Ukrainian drones", "55 Ukrainian drones"}
    by_figure = {c.text.split()[0]: c.n for c in answer.conflicts[0].claims}
    cited = {c.n: c for c in answer.citations}
    assert cited[by_figure["64"]].title == SEED_64.removesuffix(".txt")
    assert cited[by_figure["55"]].source == "Miami News, KMIA"
    assert SEED_55  # the 55 report is the one with the Miami News header
