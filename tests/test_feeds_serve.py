"""The scheduler inside a real `newsrag serve`: a feed added over the API is polled on its
interval, new entries are answerable, a watched question reports the new figure (and not an
unrelated article), and after `kill -9` the restarted server resumes with nothing ingested twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest
from conftest import VENV_BIN, free_port, stop, wait_for_port

from tests.feedserver import FeedServer, Route, rss
from tests.test_feeds import item

QUESTION = "How many drones were intercepted near Kamen?"
BRIDGE = ("The city council approved a budget of 4 million euros for the new river bridge on Tuesday. " * 3
          + "Construction is to start in spring and last two years, the mayor told reporters at the town hall. "
          + "Opponents said the money would be better spent on the tram line, which has waited ten years. " * 3)


def wait_until(check, *, timeout: float = 90.0, what: str = "the state"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.3)


@pytest.mark.slow
def test_feeds_polled_by_a_real_server_with_a_watch_and_a_kill(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_") or k == "NEWSRAG_MODEL_DIR"}
    env.update(NEWSRAG_HOME=str(tmp_path / "home"), NEWSRAG_FETCH_ALLOW="127.0.0.1", NEWSRAG_FETCH_INTERVAL="0",
               NEWSRAG_FEED_MIN_EVERY="1", NEWSRAG_EMBED_BACKEND="onnx-fp32")
    port = free_port()

    def serve(log):
        process = subprocess.Popen([str(VENV_BIN / "newsrag"), "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(port, timeout=120, process=process)
        return process

    with FeedServer() as feed_server, open(tmp_path / "serve.log", "w+") as log, \
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        feed_server.routes["/feed.xml"] = Route(etag='"1"', body=rss([item(feed_server, 1)]))
        process = serve(log)
        try:
            added = client.post("/api/feeds", json={"url": f"{feed_server.url}/feed.xml", "every": "2s"})
            assert added.status_code == 201, added.text
            fid = added.json()["feed"]["id"]
            assert added.json()["feed"]["every"] == 2
            feed = wait_until(lambda: (f := client.get(f"/api/feeds/{fid}").json())["totals"]["new"] == 1 and f,
                              what="the first poll")
            assert feed["name"] == "Test Wire" and feed["status"] == "ok"
            watch = client.post("/api/watches", json={"question": QUESTION}).json()
            assert watch["direct"] == "13 drones" and watch["changed"] is False

            # an unrelated article arrives: ingested, the watch is answered again and has not changed
            feed_server.routes["/feed.xml"] = Route(etag='"2"', body=rss([item(feed_server, 1), {
                "title": "Bridge budget", "link": f"{feed_server.url}/p/9", "content": f"<p>{BRIDGE}</p>",
                "date": "Mon, 07 Dec 2026 08:00:00 GMT"}]))
            wait_until(lambda: client.get(f"/api/feeds/{fid}").json()["totals"]["new"] == 2, what="the bridge")
            checked = wait_until(lambda: (w := client.get(f"/api/watches/{watch['id']}").json())["checked_at"] and w,
                                 what="the watch checked")
            assert checked["changed"] is False and len(checked["history"]) == 1

            # the same report updated with a new figure: the watch says what changed
            feed_server.routes["/feed.xml"] = Route(etag='"3"', body=rss([item(feed_server, 1, figure=40), {
                "title": "Bridge budget", "link": f"{feed_server.url}/p/9", "content": f"<p>{BRIDGE}</p>",
                "date": "Mon, 07 Dec 2026 08:00:00 GMT"}]))
            changed = wait_until(lambda: (w := client.get(f"/api/watches/{watch['id']}").json())["changed"] and w,
                                 what="the watch's change")
            assert changed["direct"] == "41 drones"
            assert changed["history"][-1]["changes"] == ["new in the answer line: 41 drones"]
            atom = client.get("/api/watches/feed.atom")
            assert atom.headers["content-type"].startswith("application/atom+xml")
            assert f"<title>{QUESTION}</title>" in atom.text and "new in the answer line: 41 drones" in atom.text
            answer = client.post("/api/ask", json={"question": QUESTION}).json()
            assert answer["direct"]["text"] == "41 drones"
            polls = client.get(f"/api/feeds/{fid}").json()["totals"]["polls"]
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        assert polls >= 3
        health = client  # the restart resumes: the next polls find nothing new
        process = serve(log)
        try:
            before = client.get("/healthz").json()
            wait_until(lambda: client.get(f"/api/feeds/{fid}").json()["totals"]["polls"] >= polls + 2,
                       what="polls after the restart")
            feed = client.get(f"/api/feeds/{fid}").json()
            assert feed["totals"]["new"] == 2 and feed["totals"]["updated"] == 1
            assert health.get("/healthz").json() == before and before["articles"] == 2
            assert len(client.get("/api/articles").json()) == 2
        finally:
            stop(process)
