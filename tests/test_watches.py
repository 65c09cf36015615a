"""Watched questions: what counts as a change of the answer, the history kept, the Atom feed of the
changes, and the Feeds panel's table."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from index.errors import ConfigError, NotFoundError
from rag.types import Answer, Citation, Claim, Conflict, Direct, Location
from rag.watches import Watches, atom, changes, public_watch, snapshot
from ui.library_view import feeds_html


def cite(n: int, article: str, source: str, *, story: tuple[Location, ...] = ()) -> Citation:
    return Citation(n=n, location=Location(article_id=article, title=f"T{article}", source=source,
                                           published_at="2026-12-01", url=None, chunk_id=f"v{article}-0000",
                                           start=0, end=1), quote="q", story=story)


def answer(*, status="answered", values=(), citations=(), conflicts=()) -> Answer:
    direct = Direct(kind="number", values=tuple((v, (1,)) for v in values)) if values else None
    return Answer(question="How many?", answer="text", status=status, mode="extractive", direct=direct,
                  citations=tuple(citations), conflicts=tuple(conflicts))


BASE = answer(values=["13 drones"], citations=[cite(1, "a1", "Wire")])
RIVAL = Conflict(claims=(Claim(n=1, text="13 drones"), Claim(n=2, text="20 drones")), note="Sources disagree: …")


@pytest.mark.parametrize(("after", "expected"), [
    (BASE, []),
    (answer(values=["13 drones"], citations=[cite(1, "a1", "Wire"), cite(2, "a1", "Wire")]), []),
    (answer(values=["13 Drones"], citations=[cite(1, "a1", "Wire")]), []),  # the same value, cased otherwise
    (answer(values=["41 drones"], citations=[cite(1, "a2", "Wire")]),
     ["new in the answer line: 41 drones", "new story cited: Ta2"]),
    (answer(values=["13 drones"], citations=[cite(1, "a1", "Wire"), cite(2, "a3", "Post")]),
     ["new outlet cited: Post", "new story cited: Ta3"]),
    (answer(values=["13 drones", "20 drones"], citations=[cite(1, "a1", "Wire"), cite(2, "a3", "Wire")],
            conflicts=[RIVAL]),
     ["new in the answer line: 20 drones", "new conflict: Sources disagree: …", "new story cited: Ta3"]),
    (answer(status="refused"), []),
])
def test_what_counts_as_a_change(after, expected):
    assert changes(snapshot(BASE), snapshot(after)) == expected


def test_a_refusal_turned_into_an_answer_and_stories_not_articles():
    refused = snapshot(answer(status="refused"))
    assert changes(refused, snapshot(BASE)) == ["answered now (the articles did not answer it before)",
                                                "new in the answer line: 13 drones", "new outlet cited: Wire",
                                                "new story cited: Ta1"]
    story_of = {"a1": "s1", "a9": "s1"}.get
    # a new version of the article (another id, the same story) is no new story
    assert changes(snapshot(BASE, story_of), snapshot(answer(values=["13 drones"],
                                                             citations=[cite(1, "a9", "Wire")]), story_of)) == []


def test_watches_keep_the_first_answer_and_each_change(tmp_path):
    watches = Watches(tmp_path)
    watch = watches.add("  How many   drones? ")
    assert watch["question"] == "How many drones?" and watches.add("How many drones?")["id"] == watch["id"]
    replies = iter([BASE, BASE, answer(values=["41 drones"], citations=[cite(1, "a1", "Wire")])])
    ask = lambda q: next(replies)  # noqa: E731
    first = watches.check(watch["id"], ask)
    assert (len(first["history"]), first["changed"]) == (1, False)
    same = watches.check(watch["id"], ask)
    assert (len(same["history"]), same["changed"]) == (1, False) and same["checked_at"] >= first["checked_at"]
    changed = watches.check_all(ask)
    assert [w["id"] for w in changed] == [watch["id"]]
    shown = public_watch(changed[0], history=True)
    assert (shown["changed"], shown["direct"], shown["changes"]) == (True, "41 drones",
                                                                    ["new in the answer line: 41 drones"])
    assert [h["changes"] for h in shown["history"]] == [[], ["new in the answer line: 41 drones"]]
    assert watches.seen(watch["id"])["changed"] is False
    feed = ET.fromstring(atom(watches.all(), base_url="http://127.0.0.1:7860/"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    (entry,) = feed.findall("a:entry", ns)
    assert entry.findtext("a:title", namespaces=ns) == "How many drones?"
    assert entry.findtext("a:summary", namespaces=ns) == "new in the answer line: 41 drones"
    assert entry.find("a:link", ns).get("href") == f"http://127.0.0.1:7860/api/watches/{watch['id']}"
    watches.remove(watch["id"])
    with pytest.raises(NotFoundError, match="No watched question"):
        watches.get(watch["id"])
    with pytest.raises(ConfigError, match="The question to watch is empty"):
        watches.add("   ")


def test_the_feeds_table():
    feeds = [{"id": "f1", "url": "https://a.example/rss", "name": "A <News>", "every": 1800, "status": "ok",
              "last_poll": 40, "next_poll": 1840, "last_error": None, "totals": {"polls": 3, "new": 5, "updated": 1},
              "last": {"new": 2, "updated": 1, "failed": 0, "deferred": 4}},
             {"id": "f2", "url": "https://b.example/rss", "name": "B", "every": 60, "status": "failed",
              "last_poll": 90, "next_poll": 220, "last_error": "https://b.example/rss: HTTP 500",
              "totals": {"polls": 1}, "last": {}},
             {"id": "f3", "url": "https://c.example/rss", "name": "C", "every": 7200, "status": "ok", "last_poll": 99,
              "next_poll": 7299, "last_error": None, "totals": {"polls": 2, "new": 1}, "last": {"not_modified": True}},
             {"id": "f4", "url": "https://d.example/rss", "name": "D", "every": 86400 * 3, "status": "new",
              "last_poll": None, "next_poll": 100, "last_error": None, "totals": {"polls": 0}, "last": None}]
    html = feeds_html(feeds, now=100)
    assert ("<b>A &lt;News&gt;</b>" in html and "<td>every 30 min</td>" in html
            and '<td class="nr-feed-last">60 s ago</td>' in html and '<td class="nr-feed-next">in 29 min</td>' in html)
    assert "2 new, 1 updated, 0 failed, 4 waiting<div class=\"nr-feed-totals\">in all: 5 new, 1 updated, 3 polls" in html
    assert '<tr class="nr-feed nr-feed-failed"' in html and "https://b.example/rss: HTTP 500" in html
    assert "not modified (304)" in html and "<td>every 2.0 h</td>" in html
    assert "waiting for its first poll" in html and '<td class="nr-feed-last">never</td>' in html
    assert "<td>every 3 days</td>" in html
    assert "No feeds yet" in feeds_html([], now=0)
