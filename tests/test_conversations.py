"""``ui.conversations`` (the conversations one browser keeps) and ``ui.export`` (Markdown)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from index.errors import ConfigError
from ui import conversations as convs
from ui import export


def exchange(question: str, size: int = 0) -> dict:
    return {"question": question, "answer": {"status": "answered", "answer": "x" * size, "mode": "extractive"}}


def test_a_browser_starts_with_one_empty_conversation_and_names_it_after_its_first_question():
    state = convs.load(None)
    assert [c["title"] for c in state["conversations"]] == ["New conversation"]
    state = convs.append(state, exchange("How many drones were intercepted over the Ryazan region during "
                                         "the night of the attack?"))
    state = convs.append(state, exchange("And over Kursk?"))
    (only,) = state["conversations"]
    assert only["title"] == "How many drones were intercepted over the Ryazan region…"
    assert [e["question"] for e in convs.exchanges(state)][-1] == "And over Kursk?"


def test_new_select_rename_and_delete():
    first = convs.append(convs.load(None), exchange("Drones?"))
    assert len(convs.new(convs.new(first))["conversations"]) == 2
    second = convs.append(convs.new(first), exchange("Harbour?"))
    ids = [c["id"] for c in second["conversations"]]
    assert len(ids) == 2 and second["current"] == ids[0]
    assert [label for label, _ in convs.choices(second)] == ["Harbour?", "Drones?"]  # most recent first

    back = convs.select(second, ids[1])
    assert [e["question"] for e in convs.exchanges(back)] == ["Drones?"]
    renamed = convs.rename(back, "  Night   of the drones ")
    assert convs.current(renamed)["title"] == "Night of the drones"
    renamed = convs.append(renamed, exchange("More?"))
    assert convs.current(renamed)["title"] == "Night of the drones"  # a name given is kept
    with pytest.raises(ConfigError, match="Type a name for the conversation first."):
        convs.rename(renamed, "   ")

    left = convs.delete(renamed)
    assert [c["title"] for c in left["conversations"]] == ["Harbour?"] and left["current"] == ids[0]
    empty = convs.delete(left)
    assert [c["title"] for c in empty["conversations"]] == ["New conversation"]
    with pytest.raises(ConfigError, match="no longer stored in this browser"):
        convs.select(empty, ids[0])


def test_an_empty_conversation_is_reused_and_dropped_when_left():
    state = convs.append(convs.load(None), exchange("Drones?"))
    fresh = convs.new(state)
    assert convs.new(fresh)["current"] == fresh["current"]  # no pile of empty conversations
    back = convs.select(fresh, state["current"])
    assert len(back["conversations"]) == 1


def test_truncate_drops_an_exchange_and_every_later_one():
    state = convs.load(None)
    for q in ("One?", "Two?", "Three?"):
        state = convs.append(state, exchange(q))
    cut, dropped = convs.truncate(state, 1)
    assert dropped["question"] == "Two?" and [e["question"] for e in convs.exchanges(cut)] == ["One?"]
    same, none = convs.truncate(state, 3)  # a turn that was never stored (stopped or failed)
    assert none is None and convs.exchanges(same) == convs.exchanges(state)


def test_version_1_and_unreadable_values_are_read_as_far_as_they_make_sense():
    old = {"v": 1, "exchanges": [exchange("Drones?"), {"question": 3}, "junk"]}
    state = convs.load(old)
    assert [e["question"] for e in convs.exchanges(state)] == ["Drones?"]
    for junk in (None, "text", {"v": 9}, {"v": 2, "conversations": "no"}, {"v": 2, "conversations": [{"id": 5}]}):
        assert [c["exchanges"] for c in convs.load(junk)["conversations"]] == [[]]


def test_the_stored_value_stays_within_its_bounds(monkeypatch):
    monkeypatch.setattr(convs, "MAX_CHARS", 30_000)
    state = convs.load(None)
    for i in range(8):
        state = convs.append(convs.new(state), exchange(f"Question {i}?", size=5_000))
    assert len(json.dumps(state["conversations"])) <= 30_000
    kept = [c["title"] for c in state["conversations"]]
    assert kept[0] == "Question 7?" and "Question 0?" not in kept  # the least recently used go first
    for i in range(convs.MAX_EXCHANGES + 5):
        state = convs.append(state, exchange(f"Q{i}"))
    assert len(convs.exchanges(state)) == convs.MAX_EXCHANGES
    assert convs.exchanges(state)[0]["question"] == "Q5"  # 36 asked, the last 30 kept


ANSWER = {
    "status": "answered", "mode": "extractive", "answer": "…", "timings_ms": {"total": 412.4},
    "citations": [
        {"n": 1, "article_id": "a55", "title": "Russia intercepts 55 drones", "source": "Miami News, KMIA",
         "published_at": None, "url": "https://kmia.example/drones", "chunk_id": "v1-0000",
         "quote": "Air defences intercepted 55 Ukrainian drones.", "start": 0, "end": 45,
         "also": [{"title": "Copy", "source": "Gozo <b>Gazette</b>"}]},
        {"n": 2, "article_id": "a64", "title": 'Untitled — "The Russian Ministry of Defense has confirmed …"',
         "source": None, "published_at": "2023-10-05", "url": None, "chunk_id": "v2-0000",
         "quote": "It said *64* drones were destroyed [sic].", "start": 10, "end": 52, "also": []}],
    "conflicts": [{"claims": [{"n": 2, "text": "64"}, {"n": 1, "text": "55"}], "note": "…", "kind": "differ"}],
    "direct": {"kind": "number", "text": "64 / 55", "detail": "", "values": [{"text": "64", "citations": [2]},
                                                                             {"text": "55", "citations": [1]}]},
    "sentences": [{"text": "Air defences intercepted 55 Ukrainian drones.", "citations": [1], "supported": True,
                   "kind": "quoted"},
                  {"text": "It said *64* drones were destroyed [sic].", "citations": [2], "supported": True,
                   "kind": "quoted"}]}


def test_a_conversation_exports_as_markdown_with_every_citation():
    refused = {"status": "refused", "mode": "extractive", "answer": "The indexed articles do not answer this.",
               "refusal": {"reason": "no passage scores above the threshold"}, "timings_ms": {},
               "closest": [{"article_id": "a64", "title": "Drone report", "source": None, "published_at": None,
                            "url": None, "start": 0, "end": 20, "text": "The Russian Ministry said …"}]}
    text = export.conversation_markdown(
        {"title": "Drones", "exchanges": [{"question": "How many drones?", "answer": ANSWER},
                                          {"question": "Who won the World Cup?", "answer": refused}]},
        base_url="http://127.0.0.1:7860/", now=datetime(2026, 11, 22, 14, 5, tzinfo=UTC))
    assert text == """# Drones

_Exported from newsrag on 2026-11-22 14:05 UTC · 2 questions_

## 1. How many drones?

> **⚠ Reports differ:** 64 — outlet unknown, 2023-10-05 [2]; 55 — Miami News, KMIA, Gozo \\<b\\>Gazette\\</b\\>, undated [1]

**64** [2] / **55** [1]

Air defences intercepted 55 Ukrainian drones. [1] It said \\*64\\* drones were destroyed \\[sic\\]. [2]

Sources:

- [1] **Russia intercepts 55 drones** — Miami News, KMIA, Gozo \\<b\\>Gazette\\</b\\>, undated
  - URL: <https://kmia.example/drones>
  - In newsrag: <http://127.0.0.1:7860/articles/a55?start=0&end=45#hl>
  > Air defences intercepted 55 Ukrainian drones.
  - Same sentence also in: Copy — Gozo \\<b\\>Gazette\\</b\\>
- [2] **Untitled — "The Russian Ministry of Defense has confirmed …"** — outlet unknown, 2023-10-05
  - In newsrag: <http://127.0.0.1:7860/articles/a64?start=10&end=52#hl>
  > It said \\*64\\* drones were destroyed \\[sic\\].

_mode: extractive · 412 ms_

## 2. Who won the World Cup?

**Not in the articles.** The indexed articles do not answer this.

Why: no passage scores above the threshold

Closest passages (not citations):

- 1. **Drone report** — outlet unknown, undated
  - In newsrag: <http://127.0.0.1:7860/articles/a64?start=0&end=20#hl>
  > The Russian Ministry said …

_mode: extractive_
"""
    assert export.file_name("Night of the drones: 55/64?") == "newsrag-night-of-the-drones-55-64.md"
    assert export.file_name("") == "newsrag-conversation.md"


def test_an_exchange_that_is_not_an_answer_is_refused_by_position():
    with pytest.raises(ConfigError, match=r"^exchanges\[1\] is not a question with an answer object from /api/ask "
                                          r"\(KeyError: 'text'\)\.$"):
        export.conversation_markdown({"exchanges": [{"question": "ok?", "answer": ANSWER},
                                                    {"question": "bad?", "answer": {"sentences": [{}]}}]})
