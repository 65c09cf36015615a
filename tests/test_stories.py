"""Syndicated copies as one story (index/stories.py): MinHash-LSH over word shingles at ingest."""

from __future__ import annotations

import json
import random

import pytest
from conftest import MULTIHOP, SEED_55, SEED_64, SEEDS

from eval.stories import make_copy, measure, pairwise
from index.stories import CONTAINMENT, StoryIndex, shingles, signature, story_id

WIRE = ("The Russian Ministry of Defense has confirmed that its air defense systems intercepted 64 Ukrainian "
        "drones overnight.")


def seed_texts() -> dict[str, str]:
    return {name: (SEEDS / name).read_text() for name in (SEED_64, SEED_55)}


def test_shingles_are_five_word_runs():
    assert shingles("One two, three FOUR five six.") == {b"one two three four five", b"two three four five six"}
    assert shingles("Just three words") == {b"just three words"}
    assert shingles("") == set()


@pytest.mark.parametrize(("kind", "seed"), [("boilerplate", 1), ("lead", 2), ("cut", 3), ("boilerplate", 4)])
def test_a_copy_is_the_same_story_and_the_other_report_is_not(kind, seed):
    texts = seed_texts()
    original, other = texts[SEED_64], texts[SEED_55]
    copy = make_copy(original, random.Random(seed), kind=kind)
    assert copy != original
    share = signature(copy).containment(signature(original))
    assert share >= CONTAINMENT, share
    index = StoryIndex()
    assert index.assign("a64", original) [0] == "s64"
    assert index.assign("a55", other)[0] == "s55"  # another report of the same night: its own story
    assert index.assign("acopy", copy)[0] == "s64"
    assert signature(other).containment(signature(original)) < 0.05


def test_an_update_stays_in_its_story_and_short_texts_are_never_grouped():
    index = StoryIndex([("a1", "s1", signature(WIRE * 3).encode())])
    assert index.assign("a2", "Something else entirely, about a bridge and its budget.", previous_story="s1") \
        == ("s1", signature("Something else entirely, about a bridge and its budget.").encode())
    assert index.assign("a3", "Drones intercepted.")[0] == story_id("a3")  # under MIN_SHINGLES


def test_pairwise_precision_and_recall():
    assert pairwise({"a": "x", "b": "x", "c": "y"}, {"a": "1", "b": "1", "c": "1"}) == (1.0, 1 / 3, 1, 1, 3)
    assert pairwise({"a": "x", "b": "x", "c": "x"}, {"a": "1", "b": "1", "c": "2"}) == (1 / 3, 1.0, 1, 3, 1)


@pytest.mark.slow
def test_ingest_groups_copies_and_keeps_the_two_samples_apart(library, tmp_path):
    texts = seed_texts()
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in texts.items():
        (folder / name).write_text(text)
    copy = make_copy(texts[SEED_64], random.Random(7), kind="boilerplate")
    (folder / "wire.json").write_text(json.dumps({"title": "Drones downed overnight, ministry says",
                                                  "source": "Wire Daily", "published_at": "2023-10-06",
                                                  "url": "https://wire.example/drones", "body": copy}))
    report = library.ingest([folder])
    assert report.added == 3
    catalog = library.catalog(fresh=True)
    by_source = {r.source or "none": r for r in catalog.articles.values()}
    wire, first, other = by_source["Wire Daily"], by_source["none"], by_source["Miami News, KMIA"]
    assert wire.story_id == first.story_id != other.story_id
    assert [r.id for r in catalog.stories[first.story_id]] == sorted([first.id, wire.id],
                                                                     key=lambda a: (a != first.id, a))
    assert catalog.stories[other.story_id] == [other]
    assert wire.to_dict()["story"] == first.story_id and "minhash" not in wire.to_dict()
    # an update of the copy (same URL, a new figure) is a new version in the same story
    (folder / "wire.json").write_text(json.dumps({"title": "Drones downed overnight, ministry says",
                                                  "source": "Wire Daily", "published_at": "2023-10-07",
                                                  "url": "https://wire.example/drones",
                                                  "body": copy.replace("64", "71")}))
    assert library.ingest([folder]).updated == 1
    newer = next(r for r in library.catalog(fresh=True).articles.values() if r.source == "Wire Daily")
    assert newer.id != wire.id and newer.story_id == first.story_id


@pytest.mark.multihop
def test_constructed_set_precision_and_recall():
    """Copies of the dev-slice articles (5-40 % of sentences edited, new headline, boilerplate, a new
    lead, cut short): the targets are precision >= 0.98 and recall >= 0.95."""
    articles = json.loads((MULTIHOP / "corpus.json").read_text())
    found = measure(articles, seed=11)
    assert found["items"] == 240 and found["pairs_true"] == 360
    assert found["precision"] >= 0.98 and found["recall"] >= 0.95, found
    assert found["others_max_containment"] < CONTAINMENT <= found["copies_min_containment"]


def _report(folder, name: str, **fields) -> None:
    (folder / name).write_text(json.dumps(fields))


@pytest.mark.slow
def test_answers_quote_one_copy_and_a_later_figure_is_an_update(library, tmp_path):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    folder = tmp_path / "in"
    folder.mkdir()
    wire = BODY_KAMEN.format(n=12)
    _report(folder, "wire.json", title="Drones over Kamen", source="Wire Daily", published_at="2026-12-01",
            url="https://wire.example/kamen", body=wire)
    _report(folder, "copy.json", title="Kamen: drones downed overnight", source="Valley Post",
            published_at="2026-12-01", url="https://valley.example/kamen",
            body="VALLEY (Wire) — " + wire.replace("were intercepted", "were shot down")
            + "\n\nSign up for our newsletter for the top stories every morning.")
    _report(folder, "herald1.json", title="Herald: air defence busy", source="Kamen Herald",
            published_at="2026-12-02", url="https://herald.example/1",
            body="Air defence units over the Kamen district downed 20 drones on Wednesday night, the district "
                 "command said. Windows were broken in three houses on the edge of town.")
    _report(folder, "herald2.json", title="Herald: more drones than first said", source="Kamen Herald",
            published_at="2026-12-03", url="https://herald.example/2",
            body="The district command now says air defence units over the Kamen district downed 26 drones on "
                 "Wednesday night. Repairs to the houses on the edge of town began on Thursday.")
    assert library.ingest([folder]).added == 4
    pipeline = Pipeline(RagSettings(index=library.settings), library=library)

    answer = pipeline.ask("How many drones were intercepted over Kamen on Monday night?")
    (cited,) = [c for c in answer.citations if "12 drones" in c.quote]  # one copy quoted, the other listed
    other = {"Wire Daily": "Valley Post", "Valley Post": "Wire Daily"}[cited.location.source]
    assert cited.also == () and [(o.source, o.published_at) for o in cited.story] == [(other, "2026-12-01")]
    assert cited.to_dict()["story"] == [{"article_id": cited.story[0].article_id, "title": cited.story[0].title,
                                         "source": other, "published_at": "2026-12-01",
                                         "url": cited.story[0].url}]

    herald = pipeline.ask("How many drones did air defence units over the Kamen district down on Wednesday night?")
    assert [c.kind for c in herald.conflicts] == ["updated"], (herald.answer, [c.quote for c in herald.citations])
    (update,) = herald.conflicts
    n20 = next(c.n for c in herald.citations if "20 drones" in c.quote)
    n26 = next(c.n for c in herald.citations if "26 drones" in c.quote)
    assert update.note == (f"Figure updated: 20 drones (Kamen Herald, 2026-12-02) [{n20}] → "
                           f"26 drones (Kamen Herald, 2026-12-03) [{n26}].")
    assert "Sources disagree" not in herald.answer and "Reports differ" not in herald.answer


BODY_KAMEN = ("The regional ministry said {n} drones were intercepted over Kamen on Monday night. Officials "
              "gave no details of damage. Residents reported loud explosions before dawn, and the governor urged "
              "people to stay indoors while debris was cleared from two streets near the station.")
