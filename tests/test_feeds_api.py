"""/api/feeds and /api/watches on a server others could reach (a login and a token): a feed is
added only with the token, polled as a job, and its bad input answered in one line."""

from __future__ import annotations

import httpx
import pytest
from conftest import SEEDS, make_library, serve_in_thread
from helpers import TOKEN, build, error_of, fetch_settings, item

from tests.feedserver import FeedServer, Route, rss

pytestmark = pytest.mark.slow
OK = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def site(tmp_path_factory, embedder):
    library = make_library(tmp_path_factory.mktemp("feeds-api") / "home", embedder, fetch=fetch_settings())
    assert library.ingest([SEEDS]).added == 2
    app, _, port = build(library, host="0.0.0.0", auth=("editor", "correct horse"), api_token=TOKEN,
                         poll_feeds=False)
    with FeedServer() as feeds, serve_in_thread(app, port) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        yield client, feeds
    app.state.stream.stop()
    app.state.jobs.stop(5)


def test_feeds_over_the_api(site):
    client, feeds = site
    feeds.routes["/feed.xml"] = Route(body=rss([item(feeds, 1)]))
    url = f"{feeds.url}/feed.xml"
    assert error_of(client.post("/api/feeds", json={"url": url}))[:2] == (401, "AuthRequiredError")
    assert error_of(client.post("/api/feeds", json={"url": "ftp://x/feed"}, headers=OK)) == (
        400, "ConfigError", "'ftp://x/feed' is not a feed address: give an http(s) URL, e.g. https://example.org/rss.xml.")
    assert error_of(client.post("/api/feeds", json={"url": url, "every": "soon"}, headers=OK))[2] == (
        "--every 'soon' is not an interval: use a number with s, m, h or d, e.g. 30m.")
    added = client.post("/api/feeds", json={"url": url, "every": "1h", "name": "My wire"}, headers=OK)
    assert added.status_code == 201 and added.headers["location"] == f"/api/feeds/{added.json()['feed']['id']}"
    feed, job = added.json()["feed"], added.json()["job"]
    assert (feed["name"], feed["every"], feed["status"], job["kind"], job["feed"]) == (
        "My wire", 3600, "new", "feed", feed["id"])
    assert error_of(client.post("/api/feeds", json={"url": url}, headers=OK))[2].startswith(f"{url} is already a feed")
    done = client.get(f"/api/jobs/{job['id']}", params={"wait": 60}, headers=OK).json()
    assert done["status"] == "done" and done["results"][0]["summary"] == "My wire: 1 new, 0 updated, 0 unchanged, 0 failed"
    assert done["report"]["added"] == 1
    listed = client.get("/api/feeds", headers=OK).json()
    assert [(f["id"], f["status"], f["last"]["new"], f["entries_known"]) for f in listed] == [(feed["id"], "ok", 1, 1)]
    again = client.post(f"/api/feeds/{feed['id']}/poll", headers=OK)
    assert again.status_code == 202
    done = client.get(f"/api/jobs/{again.json()['id']}", params={"wait": 60}, headers=OK).json()
    assert done["results"][0]["summary"] == "My wire: 0 new, 0 updated, 1 unchanged, 0 failed"
    article = next(a for a in client.get("/api/articles", headers=OK).json() if a["url"] == f"{feeds.url}/a/1")
    assert article["story"] == {"id": "s" + article["id"][1:], "size": 1, "members": [
        {"id": article["id"], "title": "Drones over Kamen 1", "source": "Test Wire",
         "published_at": "2026-12-01T06:00:00+00:00", "url": f"{feeds.url}/a/1"}]}
    assert client.delete(f"/api/feeds/{feed['id']}", headers=OK).json()["removed"]["id"] == feed["id"]
    assert error_of(client.get(f"/api/feeds/{feed['id']}", headers=OK))[:2] == (404, "NotFoundError")
    assert client.get(f"/api/articles/{article['id']}", headers=OK).status_code == 200  # its articles stay


def test_watches_over_the_api(site):
    client, _ = site
    created = client.post("/api/watches", json={"question": "How many drones were intercepted?"}, headers=OK)
    assert created.status_code == 201
    watch = created.json()
    assert watch["status"] == "answered" and watch["changed"] is False and watch["changes"] == []
    history = client.get(f"/api/watches/{watch['id']}", headers=OK).json()["history"]
    assert len(history) == 1 and {c["source"] for c in history[0]["citations"]} >= {"Miami News, KMIA"}
    assert [w["id"] for w in client.get("/api/watches", headers=OK).json()] == [watch["id"]]
    assert client.post(f"/api/watches/{watch['id']}/seen", headers=OK).json()["changed"] is False
    atom = client.get("/api/watches/feed.atom", headers=OK)
    assert atom.status_code == 200 and "<entry>" not in atom.text  # no change yet
    assert error_of(client.post("/api/watches", json={"question": ""}, headers=OK))[2].startswith(
        "The question to watch is empty")
    assert error_of(client.get("/api/watches/w000000000000", headers=OK))[:2] == (404, "NotFoundError")
    assert client.delete(f"/api/watches/{watch['id']}", headers=OK).json()["removed"]["id"] == watch["id"]
