"""``index.browse``: one page of the library, searched, filtered and sorted (pure, no store)."""

from __future__ import annotations

from datetime import date

import pytest

from index.browse import ArticleQuery, Listing
from index.errors import ConfigError
from index.store import ArticleRecord


def record(i: str, title: str | None, source: str | None, published: str | None, lead: str = "") -> ArticleRecord:
    return ArticleRecord(id=i, version="v" + i, title=title, lead=lead or None, source=source,
                         published_at=published)


RECORDS = [
    record("a1", "Harbour reopens", "Malta Maritime Review", "2024-02-03"),
    record("a2", "Storm closes the harbour", "Gozo Gazette", "2024-02-01T22:30:00+00:00"),
    record("a3", None, None, None, lead="The council voted 7 to 2 …"),
    record("a4", "Budget passes", "Malta Maritime Review", "2023-12-31"),
    record("a5", "Airport delays", "Gozo Gazette", None),
]
LISTING = Listing(RECORDS)


def ids(query: ArticleQuery) -> list[str]:
    return [r.id for r in LISTING.page(query).articles]


def test_orders_put_undated_articles_last_and_ties_in_title_order():
    assert ids(ArticleQuery()) == ["a1", "a2", "a4", "a5", "a3"]
    assert ids(ArticleQuery(sort="oldest")) == ["a4", "a2", "a1", "a5", "a3"]
    # by the title people see: "Untitled — …" sorts under U
    assert ids(ArticleQuery(sort="title")) == ["a5", "a4", "a1", "a2", "a3"]


def test_search_matches_every_word_in_title_or_outlet_in_any_case():
    assert ids(ArticleQuery(q="HARBOUR")) == ["a1", "a2"]
    assert ids(ArticleQuery(q="gozo harbour")) == ["a2"]
    assert ids(ArticleQuery(q="council")) == ["a3"]  # an untitled article is found by its lead
    assert ids(ArticleQuery(q="untitled")) == ["a3"]
    assert ids(ArticleQuery(q="harbour zebra")) == []


def test_outlet_and_inclusive_date_range_filters():
    assert ids(ArticleQuery(sources=("gozo gazette",))) == ["a2", "a5"]
    assert ids(ArticleQuery(since=date(2024, 2, 1), until=date(2024, 2, 1))) == ["a2"]  # the whole day
    assert ids(ArticleQuery(until=date(2024, 1, 31))) == ["a4"]  # undated never match a range
    assert ids(ArticleQuery.of(sources="Gozo Gazette|Malta Maritime Review", since="2024-01-01")) == ["a1", "a2"]


def test_pages_count_the_matches_and_slice_them():
    page = LISTING.page(ArticleQuery(offset=2, limit=2))
    assert (page.total, page.first, page.last, [r.id for r in page.articles]) == (5, 3, 4, ["a4", "a5"])
    assert page.to_dict()["offset"] == 2 and page.to_dict()["articles"][0]["display_title"] == "Budget passes"
    beyond = LISTING.page(ArticleQuery(offset=10))
    assert (beyond.total, beyond.first, beyond.last, beyond.articles) == (5, 0, 10, [])
    assert LISTING.outlets == ["Gozo Gazette", "Malta Maritime Review"]


@pytest.mark.parametrize(("options", "message"), [
    ({"sort": "size"}, "sort='size' is unknown: use one of newest, oldest, title, relevance."),
    ({"limit": 0}, "limit=0 must be between 1 and 1000."),
    ({"offset": -1}, "offset=-1 must be 0 or more."),
    ({"since": "2024-03-01", "until": "2024-01-01"}, "since=2024-03-01 is after until=2024-01-01: swap them."),
    ({"since": "March"}, "since='March' is not a date: use YYYY-MM-DD, e.g. 2023-10-01."),
])
def test_bad_queries_are_refused_with_the_value_and_the_fix(options, message):
    with pytest.raises(ConfigError) as caught:
        ArticleQuery.of(**options)
    assert str(caught.value) == message


def test_a_write_by_another_process_is_seen_at_once_and_nothing_is_reread_otherwise(library, tmp_path):
    from index.library import Library

    reader = Library(library.settings, embedder=library.embedder, check_every=3600)
    assert len(reader.listing()) == 0
    reads = []
    original = reader.store.list_articles
    reader.store.list_articles = lambda: reads.append(1) or original()
    for _ in range(3):
        assert len(reader.listing()) == 0
    assert reads == []  # no write signalled: the cached catalog serves
    (tmp_path / "a.md").write_text("# Harbour reopens\n\nThe harbour reopened on Sunday.\n")
    library.ingest([tmp_path / "a.md"])  # another Library: another process, as far as the reader knows
    assert [r.display_title for r in reader.browse(ArticleQuery()).articles] == ["Harbour reopens"]
    assert reads == [1]
    library.remove_many([r.id for r in library.articles()])
    assert reader.browse(ArticleQuery()).total == 0 and reads == [1, 1]


# ------------------------------------------------------------------------- the full text (BM25)

KURSK = ("The ministry has released preliminary footage showing the drones being intercepted mid-air, with several "
         "explosions visible in the night sky over the Kursk and Belgorod regions.")
UNTITLED_64 = 'Untitled — "The Russian Ministry of Defense has confirmed …"'
TITLE_55 = "Urgent Update: Russia Intercepts 55 Ukrainian Drones in Largest Nighttime Operation, Fueling Fears of Escalation"


def found(library, **query) -> list[tuple[str, tuple[str, ...], str | None]]:
    page = library.browse(ArticleQuery.of(**query))
    return [(r.display_title, page.matches[r.id].fields, page.matches[r.id].quote) for r in page.articles]


def test_the_full_text_is_searched_and_each_article_shows_its_best_sentence(seed_library):
    page = seed_library.browse(ArticleQuery.of(q="drones Kursk"))
    assert page.total == 1
    (record,) = page.articles
    match = page.matches[record.id]
    assert (record.display_title, match.fields, match.quote) == (TITLE_55, ("title", "text"), KURSK)
    assert [match.quote[a:b] for a, b in match.marks] == ["drones", "Kursk"]
    assert seed_library.article(record.id).body[match.start:match.end] == KURSK
    assert match.chunk_id.startswith(record.version)

    # a word in the text only; stems and spellings ("intercepting", "defence"); every word must match
    assert found(seed_library, q="Ryazan")[0][:2] == (UNTITLED_64, ("text",))
    stems = found(seed_library, q="intercepting defence")
    assert [(title, fields) for title, fields, _ in stems] == [(UNTITLED_64, ("title", "text")),
                                                              (TITLE_55, ("title", "text"))]  # its lead: Defense
    assert stems[0][2].startswith("The Russian Ministry of Defense has confirmed that its air defense forces "
                                  "intercepted")
    assert found(seed_library, q="Ryazan Belgorod") == []
    assert found(seed_library, q="the Ryazan") == found(seed_library, q="Ryazan")  # stop words skipped
    # only in the title or the outlet (the index holds them in each passage's header): no sentence
    assert found(seed_library, q="urgent") == [(TITLE_55, ("title",), None)]
    assert found(seed_library, q="kmia") == [(TITLE_55, ("outlet",), None)]
    # with the outlet filter, the dates, and the best match first
    assert [t for t, _, _ in found(seed_library, q="drones")] == [UNTITLED_64, TITLE_55]  # newest: both undated
    assert [t for t, _, _ in found(seed_library, q="drones", sources="Miami News, KMIA")] == [TITLE_55]
    assert found(seed_library, q="drones", since="2020-01-01") == []  # undated articles never match a range
    assert [t for t, _, _ in found(seed_library, q="drones", sort="relevance")] == [TITLE_55, UNTITLED_64]
    assert seed_library.browse(ArticleQuery.of(q="zebra")).total == 0


def test_the_overview_counts_outlets_dates_and_articles_without_them():
    from index.browse import OutletSummary, overview

    held = overview(RECORDS, newest=2)
    assert held.outlets == (OutletSummary("Gozo Gazette", 2, "2024-02-01", "2024-02-01", 1),
                            OutletSummary("Malta Maritime Review", 2, "2023-12-31", "2024-02-03", 0))
    assert (held.articles, held.first, held.last, held.undated, held.without_outlet) == (
        5, "2023-12-31", "2024-02-03", 2, 1)
    assert [r.id for r in held.newest] == ["a1", "a2"]
    assert LISTING.overview == overview(RECORDS)
@pytest.mark.parametrize("sources, since, until, passing", [
    ((), None, None, None),  # nothing asked: no filter at all
    (("gozo gazette",), None, None, ["a2", "a5"]),  # any case; an undated article has its outlet
    (("Gozo Gazette", "MALTA MARITIME REVIEW"), None, None, ["a1", "a2", "a4", "a5"]),
    ((), date(2024, 2, 1), date(2024, 2, 3), ["a1", "a2"]),  # inclusive days; undated never within
    ((), date(2024, 2, 2), None, ["a1"]),
    ((), None, date(2023, 12, 31), ["a4"]),
    (("Gozo Gazette",), date(2024, 1, 1), None, ["a2"]),
])
def test_one_outlet_and_date_test_for_the_listing_and_the_answer(sources, since, until, passing):
    from index.browse import record_filter
    from index.library import Catalog
    from rag.retrieval import allowed_articles
    from rag.types import Filters

    passes = record_filter(sources, since, until)
    assert (passes is None) == (passing is None)
    if passing is None:
        return
    assert [r.id for r in RECORDS if passes(r)] == passing
    # the Library's listing and the answer's filters read articles the same way
    assert sorted(ids(ArticleQuery(sources=sources, since=since, until=until))) == passing
    catalog = Catalog("fingerprint", {r.id: r for r in RECORDS})
    assert allowed_articles(catalog, Filters(sources=sources, since=since, until=until)) == passing
