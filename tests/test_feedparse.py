"""Feed documents -> entries: RSS 2.0, Atom, JSON Feed, sitemaps, Google News sitemaps, sitemap
indexes; malformed documents and entries give one line each."""

from __future__ import annotations

import json

import pytest

from index.feedparse import FULL_TEXT_WORDS, FeedParseError, html_text, parse_feed
from tests.feedserver import rss

LONG = "<p>" + "The ministry said the drones were intercepted overnight. " * 12 + "</p><p>Second paragraph.</p>"


def test_rss_entries_newest_first_with_their_fields():
    doc = rss([{"title": "Older", "link": "https://wire.example/a/1", "date": "Mon, 07 Dec 2026 01:00:00 GMT",
                "author": "Ann Lee", "content": LONG},
               {"title": "Newer &amp; better", "link": "/a/2", "date": "Mon, 07 Dec 2026 03:00:00 GMT",
                "summary": "A short teaser."},
               {"title": "Undated", "link": "https://wire.example/a/3"},
               {"title": "No link", "link": "mailto:x@example.org"}])
    parsed = parse_feed(doc, url="https://wire.example/feed.xml")
    assert (parsed.kind, parsed.title) == ("rss", "Test Wire")
    assert [(e.url, e.title, e.published_at) for e in parsed.entries] == [
        ("https://wire.example/a/2", "Newer & better", "2026-12-07T03:00:00+00:00"),
        ("https://wire.example/a/1", "Older", "2026-12-07T01:00:00+00:00"),
        ("https://wire.example/a/3", "Undated", None)]
    older = parsed.entries[1]
    assert older.author == "Ann Lee" and older.outlet == "Test Wire" and older.full_text
    assert older.content.startswith("The ministry said") and older.content.endswith("\n\nSecond paragraph.")
    assert parsed.entries[0].content == "A short teaser." and not parsed.entries[0].full_text
    assert parsed.errors == ["https://wire.example/feed.xml#3: entry 3 ('No link') has no http(s) link"]


def test_atom_and_json_feed():
    atom = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
      <title>Atom Daily</title><entry><title>A story</title><link href="https://atom.example/s/1"/>
      <id>tag:atom.example,2026:1</id><published>2026-12-01T10:00:00Z</published>
      <updated>2026-12-02T10:00:00Z</updated><author><name>Bo Chen</name></author>
      <content type="html">&lt;p&gt;Body &lt;b&gt;text&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;</content>
      </entry></feed>"""
    parsed = parse_feed(atom, url="https://atom.example/feed")
    (entry,) = parsed.entries
    assert (parsed.kind, parsed.title) == ("atom", "Atom Daily")
    assert (entry.url, entry.title, entry.published_at, entry.updated_at, entry.author, entry.content) == (
        "https://atom.example/s/1", "A story", "2026-12-01T10:00:00+00:00", "2026-12-02T10:00:00+00:00",
        "Bo Chen", "Body text")
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "JSON Times", "authors": [{"name": "Desk"}],
            "items": [{"id": "1", "url": "https://json.example/1", "title": "First", "content_html": LONG,
                       "date_published": "2026-12-03T08:00:00Z"},
                      {"id": "2", "title": "No url"}, "junk"]}
    parsed = parse_feed(json.dumps(feed).encode(), url="https://json.example/feed.json")
    (entry,) = parsed.entries
    assert (parsed.kind, entry.outlet, entry.author, entry.published_at) == (
        "jsonfeed", "JSON Times", "Desk", "2026-12-03T08:00:00+00:00")
    assert entry.full_text
    assert parsed.errors == ["https://json.example/feed.json#1: item 1 ('No url') has no http(s) url",
                             "https://json.example/feed.json#2: item 2 is a JSON str, not an object"]


def test_sitemaps_news_sitemaps_and_indexes():
    news = b"""<?xml version="1.0" encoding="UTF-8"?>
    <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
      <url><loc>https://n.example/business/article55.html</loc><news:news><news:publication>
        <news:name>The Example Times</news:name><news:language>en</news:language></news:publication>
        <news:publication_date>2026-12-01T10:00:00+01:00</news:publication_date>
        <news:title>Companies A, B in Merger Talks</news:title></news:news></url>
      <url><loc>ftp://n.example/x</loc></url></urlset>"""
    parsed = parse_feed(news, url="https://n.example/news-sitemap.xml")
    (entry,) = parsed.entries
    assert (parsed.kind, parsed.title) == ("news-sitemap", "The Example Times")
    assert (entry.url, entry.title, entry.outlet, entry.published_at, entry.content) == (
        "https://n.example/business/article55.html", "Companies A, B in Merger Talks", "The Example Times",
        "2026-12-01T10:00:00+01:00", None)
    assert parsed.errors == ["https://n.example/news-sitemap.xml#1: <url> 1 has no http(s) <loc>"]
    plain = parse_feed(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>/p/1</loc>'
                       b"<lastmod>2026-11-30</lastmod></url></urlset>", url="https://s.example/sitemap.xml")
    assert plain.kind == "sitemap" and [(e.url, e.updated_at) for e in plain.entries] == [
        ("https://s.example/p/1", "2026-11-30")]
    index = parse_feed(b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap>'
                       b"<loc>https://s.example/a.xml</loc></sitemap><sitemap><loc>/b.xml</loc></sitemap></sitemapindex>",
                       url="https://s.example/index.xml")
    assert index.kind == "sitemap-index" and index.sitemaps == ["https://s.example/a.xml", "https://s.example/b.xml"]


@pytest.mark.parametrize(("doc", "message"), [
    (b"", "https://x.example/f: the feed is empty"),
    (b"<rss><channel><item><title>x</title></chan", "https://x.example/f: malformed XML (line "),
    (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>x</url>',
     "https://x.example/f: malformed XML at line 1, column"),
    (b'{"items": [}', "https://x.example/f: malformed JSON at line 1, column 12"),
    (b'{"items": []}', "https://x.example/f: JSON, but not a JSON Feed"),
    (b"<html><body>hello</body></html>", "https://x.example/f: not an RSS, Atom, JSON Feed or sitemap document"),
    (b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><urlset>&lol2;</urlset>',
     "https://x.example/f: the sitemap declares a DTD (entities), which is not read"),
])
def test_unreadable_documents_give_one_line(doc, message):
    with pytest.raises(FeedParseError) as failed:
        parse_feed(doc, url="https://x.example/f")
    assert str(failed.value).startswith(message) and "\n" not in str(failed.value)


def test_a_broken_feed_keeps_the_entries_read_before_the_break():
    doc = (b'<rss version="2.0"><channel><title>T</title><item><title>x</title><link>https://x.example/1</link>'
           b"</item><item><title>y</ti")
    parsed = parse_feed(doc, url="https://x.example/f")
    assert [e.url for e in parsed.entries] == ["https://x.example/1"]
    assert parsed.errors[0].startswith("https://x.example/f: the feed is not well-formed (line ")


def test_five_thousand_entries():
    items = [{"title": f"Item {i}", "link": f"https://w.example/a/{i}",
              "date": f"Mon, 07 Dec 2026 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d} GMT",
              "content": f"<p>Story {i}.</p>"} for i in range(5000)]
    parsed = parse_feed(rss(items), url="https://w.example/feed")
    assert len(parsed.entries) == 5000 and parsed.errors == []
    assert [e.url for e in parsed.entries[:2]] == ["https://w.example/a/4999", "https://w.example/a/4998"]
    assert len({e.fingerprint() for e in parsed.entries}) == 5000


def test_html_text():
    assert html_text("<div><h2>Head</h2><p>One <i>two</i></p><ul><li>a</li><li>b</li></ul><style>x{}</style></div>") \
        == "Head\n\nOne two\n\na\n\nb"
    assert html_text("plain &amp; simple") == "plain & simple"
    assert html_text("  ") is None
    assert FULL_TEXT_WORDS == 80
