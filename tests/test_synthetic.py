"""The scale benchmark's tables: each distinct sentence annotated once, with the facts the real
annotator gives it."""

from __future__ import annotations

from eval.synthetic import FactTable
from index.language import annotate


def test_the_fact_table_annotates_each_distinct_sentence_once_with_the_real_facts():
    calls: list[list[str]] = []

    def counting(sentences):
        calls.append(list(sentences))
        return annotate(sentences)

    table = FactTable(counting)
    first = ["Sam Bankman-Fried spoke in New York on Monday.", "Ukraine downed 25 drones over Ryazan.",
             "Sam Bankman-Fried spoke in New York on Monday."]
    second = ["Ukraine downed 25 drones over Ryazan.", "OpenAI named Emmett Shear interim chief."]
    assert table(first) == annotate(first)
    assert table(second) == annotate(second)
    assert calls == [first[:2], second[1:]] and table.misses == 3
    assert table([]) == [] and calls[-1] == second[1:]
