"""Boilerplate removal (``index.boilerplate``): lines recurring verbatim across articles of one
outlet are neither indexed nor shown; incrementally, with earlier articles cleaned again; and on
MultiHop-RAG, no gold evidence fact is ever removed."""

from __future__ import annotations

import pytest
from conftest import MULTIHOP, SHARED
from helpers import assert_consistent

from index.boilerplate import MIN_ARTICLES, LineCounts, clean, clean_all, line_key, line_keys, parse_stored

NEWSLETTER = "SIGN UP FOR THE GAZETTE NEWSLETTER: the island's news every morning"
TEMPLATE = "Gazette email {{ #verifyErrors }} {{ message }} {{ /verifyErrors }} Something went wrong."


def story(title: str, outlet: str | None, text: str, day: int) -> str:
    head = f"title: {title}\n" + (f"outlet: {outlet}\n" if outlet else "") + f"date: 2024-03-{day:02d}\n"
    return f"---\n{head}---\n{text}\n\n{NEWSLETTER}\n\n{TEMPLATE}\n\nAdvertisement\n"


STORIES = [
    ("Ferry timetable changes", "Gozo Gazette", "The Mgarr ferry runs every 45 minutes from Monday.", 1),
    ("Citadel reopens", "Gozo Gazette", "The Citadel reopened to visitors after two years of works.", 2),
    ("Salt pans harvest", "Gozo Gazette", "The Xwejni salt pans gave 40 tonnes of salt this summer.", 3),
    ("Festa fireworks", "Gozo Gazette", "The Nadur festa fireworks lasted 25 minutes on Saturday.", 4),
]


# ------------------------------------------------------------------------------------ the rules


@pytest.mark.parametrize(("line", "same_as"), [
    ("Advertisement", "  Advertisement  "),
    ("Facebook Twitter  Whatsapp\tShare", "Facebook Twitter Whatsapp Share"),
])
def test_a_line_is_known_by_its_words_whatever_its_spacing(line, same_as):
    assert line_key(line) == line_key(same_as) and len(line_key(line)) == 8
    assert line_key("Advertisement") != line_key("advertisement")  # verbatim: case counts
    assert line_key("   ") is None


def test_counts_are_per_outlet_and_per_article_and_need_min_articles():
    ad = line_key("Advertisement")
    counts = LineCounts()
    for n in range(MIN_ARTICLES - 1):
        counts.add("The Roar", [ad, line_key(f"story {n}")])
    counts.add("The Roar", [ad, line_key("story 0")])  # the same text again: counted once
    counts.add("The Age", [ad, line_key("story 9")])  # another outlet's line
    counts.add(None, [ad])  # no outlet: never counted
    assert counts.count("The Roar", ad) == MIN_ARTICLES - 1 and counts.frequent("The Roar") == set()
    counts.add(" the  roar ", [ad, line_key("story 5")])  # outlet names compared as people write them
    assert counts.frequent("The Roar") == {ad} and counts.frequent("The Age") == set()
    counts.discard("The Roar", [ad, line_key("story 5")])
    assert counts.frequent("The Roar") == set()


@pytest.mark.parametrize(("body", "drop", "expected", "removed"), [
    ("One.\n\nAdvertisement\n\nTwo.", ["Advertisement"], "One.\n\nTwo.", 1),
    ("Advertisement\nOne.\nAdvertisement\nTwo.", ["Advertisement"], "One.\nTwo.", 1),  # every occurrence
    ("One.\n\nShare  this\n\n\n\nTwo.", ["Share this"], "One.\n\nTwo.", 1),
    ("One.\n\nTwo.", ["Advertisement"], "One.\n\nTwo.", 0),
    ("Advertisement\n\nShare", ["Advertisement", "Share"], "Advertisement\n\nShare", 0),  # never emptied
    ("A sentence with Advertisement in it.", ["Advertisement"], "A sentence with Advertisement in it.", 0),
])
def test_clean_removes_whole_lines_only(body, drop, expected, removed):
    result = clean(body, {line_key(d) for d in drop})
    assert result.body == expected and len(result.removed) == removed


def test_stored_keys_mark_the_removed_lines():
    body = "One.\nAdvertisement\nTwo."
    keys = line_keys(body)
    result = clean(body, {line_key("Advertisement")})
    assert parse_stored(result.stored_keys(keys)) == (keys, {line_key("Advertisement")})


def test_clean_all_needs_the_line_in_min_articles_of_the_outlet():
    bodies = [f"Story {i}.\nAdvertisement" for i in range(MIN_ARTICLES)]
    together = clean_all([("The Roar", b) for b in bodies])
    assert [c.body for c in together] == [f"Story {i}." for i in range(MIN_ARTICLES)]
    fewer = clean_all([("The Roar", b) for b in bodies[:-1]] + [("The Age", bodies[-1])])
    assert [c.body for c in fewer] == bodies
    assert [c.body for c in clean_all([(None, b) for b in bodies])] == bodies


# ------------------------------------------------------------------------------- MultiHop-RAG


@pytest.mark.multihop
@pytest.mark.parametrize(("data", "lines", "removed", "distinct", "articles", "again", "facts"), [
    (MULTIHOP, 3288, 44, 6, 21, 8, 651),
    (SHARED / "datasets" / "multihop-rag-train", 25079, 694, 82, 216, 98, 3977),
])
def test_multihop_boilerplate_goes_and_every_evidence_fact_stays(data, lines, removed, distinct, articles, again,
                                                                facts):
    from eval.boilerplate import measure

    if not (data / "corpus.json").is_file():
        pytest.fail(f"{data} is missing: the MultiHop-RAG folders must sit in ../shared")
    found = measure(data)
    assert (found["lines"], found["removed_lines"], found["distinct_lines_removed"], found["articles_cleaned"]) == \
        (lines, removed, distinct, articles)
    assert found["one_at_a_time_same"] and found["cleaned_again"] == again
    assert found["evidence_facts"] == facts and found["facts_lost"] == []


# ------------------------------------------------------------------------------- in the library


def test_a_line_becoming_frequent_cleans_the_earlier_articles_too(library, tmp_path):
    files = []
    for i, (title, outlet, text, day) in enumerate(STORIES):
        files.append(tmp_path / f"story-{i}.md")
        files[-1].write_text(story(title, outlet, text, day))
    other = tmp_path / "other.md"
    other.write_text(story("Harbour works", "Malta Maritime Review", "Works on the breakwater began.", 5))
    unsigned = tmp_path / "unsigned.md"
    unsigned.write_text(story("Untold", None, "A report without an outlet.", 6))

    def bodies() -> dict[str, str]:
        return {r.title: library.article(r.id).body for r in library.articles()}

    for path in (files[0], files[1], other, unsigned):
        report = library.ingest([path])
        assert (report.added, report.boilerplate, report.recleaned) == (1, 0, 0)
    assert all(NEWSLETTER in body and TEMPLATE in body for body in bodies().values())
    before = {r.title: r.id for r in library.articles()}

    third = library.ingest([files[2]])  # the third Gozo Gazette article: its three lines are boilerplate
    assert (third.added, third.recleaned, third.boilerplate) == (1, 2, 9)
    assert "2 earlier articles cleaned again" in third.summary()
    assert sorted(a["status"] for a in third.articles) == ["added", "cleaned", "cleaned"]
    texts = bodies()
    for title, _, text, _ in STORIES[:3]:
        assert texts[title] == text
    for title in ("Harbour works", "Untold"):  # another outlet's, and one without an outlet: kept whole
        assert NEWSLETTER in texts[title] and "Advertisement" in texts[title]
    old = library.article(before["Ferry timetable changes"])  # the text quoted before stays readable
    assert NEWSLETTER in old.body and old.superseded_by == library.catalog().articles[
        next(r.id for r in library.articles() if r.title == "Ferry timetable changes")].id
    _, lexical = library.search_index()
    found = {library.catalog().article_of(cid).title for cid, _ in lexical.search("newsletter verifyErrors", 10)}
    assert found == {"Harbour works", "Untold"}

    fourth = library.ingest([files[3]])  # cleaned as it arrives
    assert (fourth.added, fourth.recleaned, fourth.boilerplate) == (1, 0, 3)
    assert bodies()["Festa fireworks"] == STORIES[3][2]
    again = library.ingest(files)  # the same files again: nothing to write
    assert (again.unchanged, again.added, again.updated, again.chunks_written) == (4, 0, 0, 0)

    library.remove_many([r.id for r in library.articles() if r.title in {"Salt pans harvest", "Festa fireworks"}])
    assert bodies()["Citadel reopens"] == STORIES[1][2]  # not put back
    assert_consistent(library)
