"""Feeds polled into a real library from a real HTTP server on 127.0.0.1 that changes between
polls: new and updated items, 304, 500 then recovery, malformed XML, a slow response, a 50 MB
response, a redirect to a private address, a bad page among good ones, 5,000 entries; a poll
killed after its commit; the lease of two servers on one store."""

from __future__ import annotations

import json

import pytest
from conftest import make_library
from helpers import BODY, fetch_settings, item

from index.errors import ConfigError
from index.feeds import Feeds, Poller, parse_every
from tests.feedserver import FeedServer, Route, rss

PAGE = (b"<html><head><title>Bridge budget</title><meta property='og:site_name' content='Page Times'>"
        b"<meta name='author' content='Cleo Park'></head><body><nav>Home | World</nav><article><h1>Bridge budget</h1>"
        + b"".join(f"<p>The city council approved a budget of {n} million euros for the new river bridge on "
                   f"Tuesday, after a debate of four hours.</p>".encode() for n in (4, 5, 6)) +
        b"<p>Construction is to start in spring and last two years, the mayor told reporters.</p></article>"
        b"<footer>Copyright</footer></body></html>")


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


@pytest.fixture
def lib(tmp_path, embedder):
    return make_library(tmp_path / "home", embedder, fetch=fetch_settings())


def test_parse_every():
    assert [parse_every(x) for x in ("30m", "2h", "90s", "1d", "45", 600)] == [1800, 7200, 90, 86400, 2700, 600]
    with pytest.raises(ConfigError, match=r"--every '10s' is 10 s: feeds are polled every 60 s to 30 days"):
        parse_every("10s")
    with pytest.raises(ConfigError, match=r"--every 'soon' is not an interval: use a number with s, m, h or d"):
        parse_every("soon")


@pytest.mark.slow
def test_a_feed_polled_again_and_again(server, lib, request):
    server.routes["/feed.xml"] = Route(etag='"1"', body=rss([item(server, 1), {
        "title": "Bridge budget", "link": f"{server.url}/p/1", "summary": "The council voted.",
        "date": "Sun, 06 Dec 2026 09:00:00 GMT"}]))
    server.routes["/p/1"] = Route(content_type="text/html; charset=utf-8", body=PAGE)
    feeds = Feeds(lib.settings.home)
    feed = feeds.add(f"{server.url}/feed.xml", every=60)
    poller = Poller(lib)
    request.addfinalizer(poller.close)

    first = poller.poll(feed["id"])  # new: one article from the feed's text, one from its page
    assert first.summary() == "Test Wire: 2 new, 0 updated, 0 unchanged, 0 failed", first.feed["last"]["errors"]
    by_url = {r.url: r for r in lib.articles()}
    drones, bridge = by_url[f"{server.url}/a/1"], by_url[f"{server.url}/p/1"]
    assert (drones.title, drones.source, drones.published_at, drones.author) == (
        "Drones over Kamen 1", "Test Wire", "2026-12-01T06:00:00+00:00", "Dana Ortiz")
    assert lib.article(drones.id).body == BODY.format(n=13).strip()
    bridge = lib.article(bridge.id)
    assert (bridge.title, bridge.source, bridge.published_at) == ("Bridge budget", "Test Wire",
                                                                   "2026-12-06T09:00:00+00:00")
    assert bridge.body.startswith("The city council approved a budget of 4 million euros")
    assert "Home | World" not in bridge.body and "Copyright" not in bridge.body
    assert first.feed["status"] == "ok" and first.feed["etag"] == '"1"'

    second = poller.poll(feed["id"])  # 304: nothing read, nothing written
    assert second.summary() == "Test Wire: not modified (304)" and second.report is None
    assert server.hits("/feed.xml")[-1].headers["if-none-match"] == '"1"'
    assert second.feed["totals"] == {"new": 2, "updated": 0, "failed": 0, "polls": 2, "not_modified": 1}

    # an updated item (new figure), a new item, the page entry unchanged (its page is not fetched again)
    server.routes["/feed.xml"] = Route(etag='"2"', body=rss([item(server, 1, figure=40), item(server, 2), {
        "title": "Bridge budget", "link": f"{server.url}/p/1", "summary": "The council voted.",
        "date": "Sun, 06 Dec 2026 09:00:00 GMT"}]))
    third = poller.poll(feed["id"])
    assert third.summary() == "Test Wire: 1 new, 1 updated, 1 unchanged, 0 failed"
    assert len(server.hits("/p/1")) == 1
    updated = next(r for r in lib.articles() if r.url == f"{server.url}/a/1")
    assert "41 drones were intercepted" in lib.article(updated.id).body
    assert lib.versions(updated.id)["previous"] == [drones.id]  # the earlier text stays readable
    assert lib.article(drones.id).superseded_by == updated.id
    assert len(lib.articles()) == 3

    server.routes["/feed.xml"] = Route(status=500, body=b"oops")  # 500, then recovery
    failed = poller.poll(feed["id"])
    assert failed.summary() == f"Test Wire: failed: {server.url}/feed.xml: HTTP 500"
    assert failed.feed["failures"] == 1 and failed.feed["next_poll"] >= failed.feed["last_poll"] + 60
    server.routes["/feed.xml"] = Route(etag='"3"', body=rss([item(server, 1, figure=40), item(server, 2)]))
    recovered = poller.poll(feed["id"])
    assert recovered.summary() == "Test Wire: 0 new, 0 updated, 2 unchanged, 0 failed"
    assert (recovered.feed["status"], recovered.feed["failures"], recovered.feed["last_error"]) == ("ok", 0, None)
    assert len(lib.articles()) == 3


@pytest.mark.slow
@pytest.mark.parametrize(("route", "error"), [
    (Route(body=b"<rss><channel><item><title>x</title></chan"), "/feed.xml: malformed XML (line "),
    (Route(status=302, headers={"Location": "http://10.0.0.7/feed.xml"}),
     "http://10.0.0.7/feed.xml: refused: 10.0.0.7 resolves to 10.0.0.7, a private address"),
    (Route(body=lambda: (b"x" * 100_000 for _ in range(500))), "/feed.xml: the response was cut at the 1 MB limit"),
    (Route(body=b"<rss/>", delay=3), "/feed.xml: no response within 2 s"),
])
def test_bad_feeds_fail_in_one_line_and_write_nothing(server, lib, route, error):
    server.routes["/feed.xml"] = route
    feeds = Feeds(lib.settings.home)
    feed = feeds.add(f"{server.url}/feed.xml", every=60)
    with Poller(lib) as poller:
        result = poller.poll(feed["id"])
    assert result.feed["status"] == "failed" and error in result.feed["last_error"]
    assert "\n" not in result.feed["last_error"] and result.report is None
    assert lib.articles() == []


@pytest.mark.slow
def test_bad_entries_are_one_line_each_and_the_rest_is_ingested(server, lib):
    server.routes["/feed.xml"] = Route(body=rss([
        item(server, 1), {"title": "Gone", "link": f"{server.url}/missing"},
        {"title": "Empty page", "link": f"{server.url}/empty"}, item(server, 2)]))
    server.routes["/empty"] = Route(content_type="text/html", body=b"<html><body></body></html>")
    feeds = Feeds(lib.settings.home)
    feed = feeds.add(f"{server.url}/feed.xml", every=60)
    with Poller(lib) as poller:
        result = poller.poll(feed["id"])
    assert result.summary() == "Test Wire: 2 new, 0 updated, 0 unchanged, 2 failed"
    assert result.feed["last"]["errors"] == [f"{server.url}/missing: HTTP 404",
                                             f"{server.url}/empty: no article text found in the HTML"]
    assert sorted(r.url for r in lib.articles()) == [f"{server.url}/a/1", f"{server.url}/a/2"]
    # the failed entries are tried again at the next poll; the good ones are not read again
    server.routes["/missing"] = Route(content_type="text/html", body=PAGE)
    with Poller(lib) as poller:
        again = poller.poll(feed["id"])
    assert again.summary() == "Test Wire: 1 new, 0 updated, 2 unchanged, 1 failed"


@pytest.mark.slow
def test_five_thousand_entries_a_few_per_poll(server, tmp_path, embedder):
    lib = make_library(tmp_path / "home", embedder, fetch=fetch_settings(max_entries=3, max_mb=8))
    items = [{"title": f"Short item {i}", "link": f"{server.url}/a/{i}",
              "date": f"Mon, 07 Dec 2026 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d} GMT",
              "content": f"<p>Item number {i} of the long feed reports {i} new cases of flu in the county today, "
                         f"the health office said.</p><p>{BODY.format(n=i)}</p>"} for i in range(5000)]
    server.routes["/feed.xml"] = Route(etag='"big"', body=rss(items))
    feeds = Feeds(lib.settings.home)
    feed = feeds.add(f"{server.url}/feed.xml", every=60)
    with Poller(lib) as poller:
        first = poller.poll(feed["id"])
        second = poller.poll(feed["id"])  # not conditional: entries are waiting
    assert (first.feed["last"]["seen"], first.feed["last"]["new"], first.feed["last"]["deferred"]) == (5000, 3, 4997)
    assert sorted(r.title for r in lib.articles()) == [f"Short item {i}" for i in range(4994, 5000)]  # newest first
    assert "if-none-match" not in server.hits("/feed.xml")[-1].headers
    assert (second.feed["last"]["new"], second.feed["last"]["unchanged"], second.feed["last"]["deferred"]) == (3, 3, 4994)


@pytest.mark.slow
def test_a_poll_killed_after_its_commit_ingests_nothing_twice(server, lib):
    """kill -9 between the library's commit and the feed's state: the next poll reads every entry
    again and the library finds them unchanged."""
    server.routes["/feed.xml"] = Route(etag='"1"', body=rss([item(server, 1), item(server, 2)]))
    feeds = Feeds(lib.settings.home)
    feed = feeds.add(f"{server.url}/feed.xml", every=60)
    with Poller(lib) as poller:
        poller.poll(feed["id"])
    chunks = lib.store.counts()
    path = lib.settings.home / "feeds" / f"{feed['id']}.json"
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "entries": {}, "etag": None}))  # as if the state was never saved
    with Poller(lib) as poller:
        again = poller.poll(feed["id"])
    assert again.summary() == "Test Wire: 0 new, 0 updated, 2 unchanged, 0 failed"
    assert again.report.chunks_written == 0 and lib.store.counts() == chunks


@pytest.mark.server
def test_two_servers_on_one_store_do_not_both_poll_a_feed(server, tmp_path, embedder, chroma_server):
    server.routes["/feed.xml"] = Route(body=rss([item(server, 1)]))
    replicas = [make_library(tmp_path / name, embedder, chroma_url=chroma_server, collection="lease-test",
                             fetch=fetch_settings()) for name in ("one", "two")]
    ids = [Feeds(lib.settings.home).add(f"{server.url}/feed.xml", every=600)["id"] for lib in replicas]
    with Poller(replicas[0], holder="one") as one, Poller(replicas[1], holder="two") as two:
        first = one.poll(ids[0], scheduled=True)
        second = two.poll(ids[1], scheduled=True)
        forced = two.poll(ids[1])  # `feeds poll ID`: polled, and the article is there already
    assert first.summary() == "Test Wire: 1 new, 0 updated, 0 unchanged, 0 failed"
    assert second.skipped.startswith("polled by one until ") and second.report is None
    assert second.feed["next_poll"] > first.feed["last_poll"] + 590  # it waits for the lease to end
    assert len(server.hits("/feed.xml")) == 2  # the first poll and the forced one
    assert forced.summary() == "Test Wire: 0 new, 0 updated, 1 unchanged, 0 failed"


@pytest.mark.slow
def test_the_command_line(server, tmp_path, monkeypatch, capsys):
    from ui.cli import main

    for name, value in {"NEWSRAG_HOME": str(tmp_path / "home"), "NEWSRAG_FETCH_ALLOW": "127.0.0.1",
                        "NEWSRAG_FETCH_INTERVAL": "0", "NEWSRAG_EMBED_BACKEND": "onnx-fp32"}.items():
        monkeypatch.setenv(name, value)
    server.routes["/feed.xml"] = Route(etag='"1"', body=rss([item(server, 1)]))
    url = f"{server.url}/feed.xml"
    assert main(["feeds", "add", url, "--every", "10s"]) == 1
    assert capsys.readouterr().err == "error: --every '10s' is 10 s: feeds are polled every 60 s to 30 days.\n"
    assert main(["feeds", "add", url, "--every", "2h", "--name", "Wire"]) == 0
    fid = capsys.readouterr().out.split()[1]
    assert main(["feeds", "poll", "--quiet"]) == 0  # cron: the due feeds (a new one is due)
    assert capsys.readouterr().out == "Wire: 1 new, 0 updated, 0 unchanged, 0 failed\n"
    assert main(["feeds", "poll", "--quiet"]) == 0
    assert capsys.readouterr().out == "No feed is due.\n"
    assert main(["watch", "add", "How many drones were intercepted near Kamen?"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "  now: 13 drones"
    server.routes["/feed.xml"] = Route(etag='"2"', body=rss([item(server, 1, figure=40)]))
    assert main(["feeds", "poll", fid, "--quiet"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["Wire: 0 new, 1 updated, 0 unchanged, 0 failed",
                   "watched question changed: How many drones were intercepted near Kamen? — "
                   "new in the answer line: 41 drones"]
    assert main(["feeds", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{fid}  ok" in listed and "every   7200 s" in listed and "0 new, 1 updated, 0 failed  Wire" in listed
    server.routes["/feed.xml"] = Route(status=503, headers={"Retry-After": "120"})
    assert main(["feeds", "poll", "--all", "--quiet"]) == 1
    captured = capsys.readouterr()
    assert captured.out == f"Wire: failed: {url}: HTTP 503; the server asks to retry in 120 s\n"
    assert main(["watch", "list"]) == 0
    assert capsys.readouterr().out.startswith("* w")
    assert main(["feeds", "remove", "Wire"]) == 0
    assert main(["feeds", "list"]) == 0
    assert capsys.readouterr().out.endswith("No feeds — add one with `newsrag feeds add URL [--every 30m]`.\n")
