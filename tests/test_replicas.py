"""Two replicas (data directories of their own) writing to one `chroma run` server at the same
moment converge: one URL written through each is one article whose earlier version is the other
text, chosen by the rule of ``index.claims.claim`` (newer published date, then the later claim,
then the content hash); one text under two names is one article with both origins; both replicas
list the same within seconds, and ``repair`` decides a lost race by the same rule."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import make_library

from index.library import claim
from index.store import ArticleRecord

ROUNDS = 10
server = [pytest.mark.server, pytest.mark.slow]


def races(function):
    for mark in server:
        function = mark(function)
    return function


def story(url: str, date: str, figure: int) -> str:
    return (f"---\ntitle: Ferry count {figure}\noutlet: Gozo Gazette\ndate: {date}\nurl: {url}\n---\n"
            f"The Gozo ferry carried {figure} passengers on Sunday, the operator said.\n")


@pytest.fixture
def replicas(tmp_path, embedder, chroma_server, request):
    collection = f"r{abs(hash(request.node.name)) % 10**8}"
    return [make_library(tmp_path / name, embedder, chroma_url=chroma_server, collection=collection)
            for name in ("a", "b")]


def at_once(*calls):
    """Run the calls in threads released together; re-raise the first failure."""
    gate, failures = threading.Barrier(len(calls)), []

    def run(call):
        gate.wait()
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 (re-raised below)
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    if failures:
        raise failures[0]


def owners(library, key: str) -> list:
    return [r for r in library.catalog(fresh=True).articles.values() if key in r.keys]


@races
def test_the_same_url_written_through_two_replicas_at_once_is_one_article(replicas, tmp_path):
    a, b = replicas
    for r in range(ROUNDS):
        url = f"https://gozo.example/ferry-{r}"
        # odd rounds: the text through A is dated a day later, so it is the article whoever commits last
        first, second = ("2024-03-02", "2024-03-01") if r % 2 else ("2024-03-01", "2024-03-01")
        (tmp_path / f"a{r}.md").write_text(story(url, first, 100 + r))
        (tmp_path / f"b{r}.md").write_text(story(url, second, 200 + r))
        at_once(lambda r=r: a.ingest([tmp_path / f"a{r}.md"]), lambda r=r: b.ingest([tmp_path / f"b{r}.md"]))
        seen = [owners(replica, url) for replica in (a, b)]
        assert [[o.id for o in found] for found in seen] == [[seen[0][0].id]] * 2, (r, seen)  # one, the same
        (live,) = seen[0]
        other = next(v for v in a.store.list_versions() if v.url == url)
        assert other.superseded_by == live.id  # the other text is its earlier version
        assert claim(live, url) > claim(other, url)  # chosen by the rule
        if r % 2:
            assert "Ferry count 1" in live.title  # the newer date wins, whichever replica wrote last
        assert {a.article(live.id).id, b.article(other.id).id} == {live.id, other.id}


@races
def test_one_text_under_two_names_at_once_is_one_article_with_both(replicas, tmp_path):
    a, b = replicas
    for r in range(ROUNDS):
        text = f"In round {r} the Mgarr harbour counted {300 + r} ferries, the port authority said.\n"
        (tmp_path / f"x{r}.txt").write_text(text)
        (tmp_path / f"y{r}.txt").write_text(text)
        at_once(lambda r=r: a.ingest([tmp_path / f"x{r}.txt"]), lambda r=r: b.ingest([tmp_path / f"y{r}.txt"]))
        for replica in (a, b):
            (found,) = [rec for rec in replica.catalog(fresh=True).articles.values() if rec.lead.startswith(f"In round {r} ")]
            assert sorted(o["origin"].rsplit("/", 1)[-1] for o in found.origins) == [f"x{r}.txt", f"y{r}.txt"]


@races
def test_each_replica_lists_what_the_other_changed_within_seconds(replicas, tmp_path):
    a, b = replicas
    (tmp_path / "one.txt").write_text("The Cirkewwa terminal reopened on Monday after repairs.\n")
    (tmp_path / "two.txt").write_text("The Cirkewwa terminal reopened on Monday after repairs.\n")
    a.ingest([tmp_path / "one.txt"])
    b.ingest([tmp_path / "two.txt"])  # B adds a name to A's article
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        (record,) = a.catalog().articles.values()
        if len(record.origins) == 2:
            break
        time.sleep(0.2)
    assert len(record.origins) == 2, "A still lists the origins it wrote itself"
    b.remove(record.id)
    deadline = time.monotonic() + 10
    while a.catalog().articles and time.monotonic() < deadline:
        time.sleep(0.2)
    assert a.catalog().articles == {}


def test_repair_decides_a_lost_race_by_the_rule(tmp_path, embedder):
    library = make_library(tmp_path / "home", embedder)
    url = "https://gozo.example/race"
    (tmp_path / "old.md").write_text(story(url, "2024-03-02", 1))
    library.ingest([tmp_path / "old.md"])
    dated = next(iter(library.catalog(fresh=True).articles.values()))
    (tmp_path / "other.txt").write_text("A different text about the harbour, ingested later.\n")
    library.ingest([tmp_path / "other.txt"])
    later = next(r for r in library.catalog(fresh=True).articles.values() if r.id != dated.id)
    # a lost race: the later text also holds the URL (as two writers without a lease could leave it)
    origin = {**dated.origins[0], "at": time.time() + 60}
    library.store.update_origins(later, [*later.origins, origin])
    fixed = library.repair()
    assert fixed["duplicate_keys"] == 1
    (holder,) = owners(library, url)
    assert holder.id == dated.id  # the newer published date wins over the later claim


def record(*, id: str, published: str | None, at: float | None, ingested: float = 0.0) -> ArticleRecord:
    origins = ({"key": "https://x.example/a", "origin": "a", "path": "a", "title": None, "source": None,
                **({"at": at} if at is not None else {})},)
    return ArticleRecord(id=id, version="v" + id, origins=origins, n_chunks=1, ingested_at=ingested,
                         published_at=published)


@pytest.mark.parametrize(("one", "other", "stronger"), [
    # the newer published date, whenever written
    (dict(id="aa", published="2024-03-02", at=1.0), dict(id="bb", published="2024-03-01", at=9.0), "aa"),
    # an undated text is the oldest
    (dict(id="aa", published=None, at=9.0), dict(id="bb", published="2020-01-01", at=1.0), "bb"),
    # the same date: the later claim of the URL
    (dict(id="aa", published="2024-03-01", at=5.0), dict(id="bb", published="2024-03-01", at=4.0), "aa"),
    # no claim time (written before claims were kept): the ingest time
    (dict(id="aa", published=None, at=None, ingested=3.0), dict(id="bb", published=None, at=2.0), "aa"),
    # everything equal: the larger content hash, never the order they come in
    (dict(id="aa", published="2024-03-01", at=5.0), dict(id="bb", published="2024-03-01", at=5.0), "bb"),
])
def test_the_claim_rule(one, other, stronger):
    first, second = record(**one), record(**other)
    key = "https://x.example/a"
    assert max([first, second], key=lambda r: claim(r, key)).id == stronger
    assert max([second, first], key=lambda r: claim(r, key)).id == stronger


def test_an_older_text_of_a_url_ingested_later_is_kept_as_an_earlier_version(tmp_path, embedder):
    library = make_library(tmp_path / "home", embedder)
    url = "https://gozo.example/order"
    (tmp_path / "new.md").write_text(story(url, "2024-03-02", 2))
    (tmp_path / "old.md").write_text(story(url, "2024-03-01", 1))
    assert library.ingest([tmp_path / "new.md"]).added == 1
    report = library.ingest([tmp_path / "old.md"])
    (live,) = owners(library, url)
    assert live.title == "Ferry count 2"  # the newer date stays the article
    (entry,) = report.articles
    assert (entry["status"], entry["superseded_by"]) == ("earlier", live.id)
    assert (report.added, report.updated, report.earlier) == (0, 0, 1)
    assert "1 kept as earlier version (older than the indexed one)" in report.summary()
    (earlier,) = library.store.list_versions()
    assert (earlier.id, earlier.title, earlier.superseded_by) == (entry["id"], "Ferry count 1", live.id)
