"""Figures and names: what counts as a conflict between sources, and what does not."""

from __future__ import annotations

import pytest
from conftest import make_library

from rag.conflicts import figures
from rag.pipeline import Pipeline
from rag.settings import RagSettings


def test_figures_read_numbers_with_their_units():
    found = figures("Officials said 64 Ukrainian drones over Russia cost $5 million, 3.5% of the budget.")
    assert [(f.value, f.phrase, sorted(f.units), f.part) for f in found] == [
        (64.0, "64 Ukrainian drones", ["drone", "ukrainian"], False),
        (5_000_000.0, "$5 million", ["$"], False),
        (3.5, "3.5%", ["%"], False)]


def test_parts_years_and_model_names_are_not_rival_figures():
    found = figures("In 2023, 25 of these drones were hit by S-400 batteries and 1,200 shells.")
    assert [(f.value, f.phrase, f.part) for f in found] == [
        (25.0, "25 of these drones", True), (1200.0, "1,200 shells", False)]


@pytest.mark.parametrize("sentence, expected", [
    ("Microsoft agreed a $5bn deal with OpenAI.", [(5e9, "$5bn deal", ["$", "deal"])]),
    ("Two hundred and ten people and fifty-five drones.", [(210.0, "Two hundred and ten people", ["peopl"]),
                                                          (55.0, "fifty-five drones", ["drone"])]),
    ("Seven hundred thousand people in the city fled.", [(7e5, "Seven hundred thousand people", ["peopl"])]),
    ("The charges: 1) fraud and 2) conspiracy, over 3 years.", [(3.0, "3 years", ["year"])]),
    ("One of the largest raids, with one drone.", [(1.0, "one drone", ["drone"])]),
    ("A 5m wall cost £3m.", [(3e6, "£3m", ["$"])]),
])
def test_figures_in_words_with_scales_and_not_list_numbers(sentence, expected):
    assert [(f.value, f.phrase, sorted(f.units)) for f in figures(sentence)] == expected


@pytest.fixture(scope="module")
def election(tmp_path_factory, embedder):
    folder = tmp_path_factory.mktemp("election")
    (folder / "a.md").write_text("---\ntitle: Vote\nsource: Springfield Star\n---\nAlice Smith won the "
                                 "mayoral election in Springfield on Tuesday, officials said. Turnout was high.\n")
    (folder / "b.md").write_text("---\ntitle: Result\nsource: Shelbyville Sun\n---\nCounting finished late "
                                 "at night. Bob Jones won the mayoral election in Springfield on Tuesday, "
                                 "officials said.\n")
    lib = make_library(folder / "home", embedder)
    lib.ingest([folder])
    return Pipeline(RagSettings(index=lib.settings), library=lib)


def test_two_outlets_naming_different_winners_disagree(election):
    answer = election.ask("Who won the mayoral election in Springfield?")
    (conflict,) = answer.conflicts
    cited = {c.n: c.location.source for c in answer.citations}
    assert {cited[claim.n]: claim.text for claim in conflict.claims} == {
        "Springfield Star": "Alice Smith", "Shelbyville Sun": "Bob Jones"}
    assert answer.answer.endswith(conflict.note)


def test_agreeing_sources_are_not_a_conflict(seed_pipeline):
    answer = seed_pipeline.ask("Which air defence systems were deployed against the drones?")
    assert answer.conflicts == ()
