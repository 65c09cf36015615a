"""Uploads over real HTTP: background jobs, the limits of one file, what stays on disk, earlier
versions of updated articles, and a server stopped in the middle of a job."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import time

import httpx
import pytest
from conftest import SEEDS, VENV_BIN, free_port, make_library, serve_in_thread, stop, wait_for_port
from helpers import DRONES, build, error_of, gradio_call, upload

HARBOUR = "How many containers did the Port of Valletta handle in 2023?"


def story(url: str, figure: str, title: str = "Valletta harbour sets a container record") -> bytes:
    return (f"---\ntitle: {title}\noutlet: Malta Maritime Review\ndate: 2024-02-03\nurl: {url}\n---\n"
            f"The Port of Valletta handled {figure} containers in 2023, a record for the harbour.\n"
            "Officials credited the new deep-water berth opened in the spring.\n").encode()


@pytest.fixture(scope="module")
def site(tmp_path_factory, embedder):
    library = make_library(tmp_path_factory.mktemp("jobs") / "home", embedder, max_articles_per_file=5)
    assert library.ingest([SEEDS]).added == 2
    app, _, port = build(library)
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client, library


def kept_files(library) -> list[str]:
    root = library.settings.home / "uploads"
    return sorted(p.name for p in root.glob("*/*")) if root.is_dir() else []


@contextlib.contextmanager
def ingest_lock_held(library):
    """Hold the library's ingest lock, as a long ingest by another process would."""
    with open(library.settings.home / f"ingest-{library.settings.collection}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def test_an_upload_answers_202_at_once_and_questions_are_answered_while_it_runs(site):
    client, library = site
    with ingest_lock_held(library):
        data = story("https://mmr.example/1", "3.2 million")
        started = client.post("/api/articles", files={"files": ("valletta.md", data)},
                              timeout=20)  # before, this request was held open until the ingest ended
        assert started.status_code == 202
        job = started.json()
        assert (job["status"], job["files"], job["results"]) == ("queued", [{"name": "valletta.md",
                                                                            "bytes": len(data)}], None)
        answer = client.post("/api/ask", json={"question": DRONES}, timeout=60)
        assert answer.status_code == 200 and answer.json()["status"] == "answered"
        waiting = client.get(f"/api/jobs/{job['id']}").json()
        assert waiting["status"] in {"queued", "running"} and waiting["finished_at"] is None
    done = client.get(f"/api/jobs/{job['id']}", params={"wait": 60}).json()
    assert done["status"] == "done" and done["error"] is None
    (result,) = done["results"]
    assert result["file"] == "valletta.md" and result["status"] == "ok" and result["failures"] == []
    assert [a["status"] for a in result["articles"]] == ["added"]
    assert done["progress"] == {"articles_done": 1, "articles_total": 1, "chunks_done": 1, "chunks_total": 1,
                                "sentences_done": 2, "sentences_total": 2}
    assert done["report"]["added"] == 1
    assert client.post("/api/ask", json={"question": HARBOUR}).json()["citations"][0]["article_id"] == \
        result["articles"][0]["id"]
    client.delete(f"/api/articles/{result['articles'][0]['id']}")


def test_per_file_results_the_article_limit_and_no_failed_file_left_on_disk(site):
    client, library = site
    six = json.dumps([{"title": f"Item {i}", "text": f"Ferry number {i} left the harbour at dawn."}
                      for i in range(6)]).encode()
    two = json.dumps([{"title": "Gozo ferry", "text": "The Gozo ferry carried 900 passengers on Sunday."},
                      {"title": "Broken", "text": "  "}]).encode()
    job = upload(client, [("files", ("feed.json", six)), ("files", ("two.json", two)),
                          ("files", ("latin1.txt", "Caf\xe9 owners protested.".encode("latin-1")))])
    feed, pair, latin = job["results"]
    assert feed == {"file": "feed.json", "status": "failed", "articles": [], "failures": [
        "feed.json: 6 articles in one file; at most 5 are accepted (split the file, or raise "
        "NEWSRAG_MAX_ARTICLES_PER_FILE)"]}
    assert pair["status"] == "partial" and pair["failures"] == ["two.json#1: empty article body"]
    assert [(a["title"], a["status"]) for a in pair["articles"]] == [("Gozo ferry", "added")]
    assert latin["status"] == "failed" and latin["failures"][0].startswith("latin1.txt: not valid UTF-8")
    assert kept_files(library) == []  # no upload file outlives its job
    listed = {a["id"]: a for a in client.get("/api/articles").json()}
    gozo = listed[pair["articles"][0]["id"]]
    assert gozo["origins"] == [{"key": "two.json#0", "origin": "two.json#0", "title": "Gozo ferry", "source": None}]
    home = str(library.settings.home)
    assert home not in client.get("/api/articles").text
    assert home not in client.get(f"/api/articles/{gozo['id']}").text
    removed = client.delete(f"/api/articles/{gozo['id']}").json()["removed"]
    assert removed["id"] == gozo["id"] and home not in json.dumps(removed)
    assert kept_files(library) == []  # DELETE takes the uploaded file with it


def test_an_unknown_job_is_404(site):
    client, _ = site
    assert error_of(client.get("/api/jobs/j0123456789abcdef"))[:2] == (404, "NotFoundError")
    assert error_of(client.get("/api/jobs/..%2f..%2fetc%2fpasswd"))[:2] == (404, "NotFoundError")
    assert error_of(client.get("/api/jobs/..passwd")) == (
        404, "NotFoundError", "No upload job '..passwd': POST /api/articles answers with the job id.")
    assert error_of(client.get("/api/jobs/j0123456789abcdef", params={"wait": 999}))[:2] == (400, "ConfigError")


def test_an_upload_claiming_another_articles_url_keeps_the_cited_text_readable(site):
    client, _ = site
    first = upload(client, {"files": ("valletta.md", story("https://mmr.example/record", "3.2 million"))})
    original = first["results"][0]["articles"][0]["id"]
    cited = client.post("/api/ask", json={"question": HARBOUR}).json()["citations"][0]
    assert cited["article_id"] == original and "3.2 million" in cited["quote"]

    claim = upload(client, {"files": ("claim.md", story("https://mmr.example/record", "9.9 million",
                                                        title="Valletta harbour record revised"))})
    (entry,) = claim["results"][0]["articles"]
    assert (entry["status"], entry["replaces"]) == ("updated", original)  # said, not silent
    current = entry["id"]

    earlier = client.get(f"/api/articles/{original}")
    assert earlier.status_code == 200  # before, 404: the stored citation pointed at nothing
    body = earlier.json()
    assert body["body"][cited["start"]:cited["end"]] == cited["quote"]
    assert body["superseded_by"] == current
    assert body["versions"] == {"number": 1, "previous": [], "current": current}
    assert client.get(f"/api/articles/{current}").json()["versions"] == {"number": 2, "previous": [original],
                                                                         "current": current}
    page = client.get(f"/articles/{original}", params={"start": cited["start"], "end": cited["end"]})
    assert page.status_code == 200 and f'<mark id="hl">{cited["quote"]}</mark>' in page.text
    assert "Version 1 of this article, replaced by a newer text on " in page.text
    assert f'<a href="{current}">read the current version</a>' in page.text
    newer = client.get(f"/articles/{current}").text
    assert f'Version 2 of this article (earlier: <a href="{original}">{original}</a>).' in newer
    # only the current text is searched
    answer = client.post("/api/ask", json={"question": HARBOUR}).json()
    assert {c["article_id"] for c in answer["citations"]} == {current}
    assert original not in {a["id"] for a in client.get("/api/articles").json()}

    client.delete(f"/api/articles/{current}")  # removing an article removes its earlier versions
    assert client.get(f"/api/articles/{original}").status_code == 404


@pytest.mark.slow
def test_sigterm_stops_the_server_within_10_s_mid_job_and_the_restart_completes_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_") or k == "NEWSRAG_MODEL_DIR"}
    env.update(NEWSRAG_HOME=str(tmp_path / "home"), NEWSRAG_EMBED_BATCH="4")
    port = free_port()
    # 150 short articles in one file: a job of many commits, long enough to be stopped midway
    feed = json.dumps([{"title": f"Harbour log {i}", "text": f"On day {i} the harbour of Valletta counted "
                        f"{100 + i} ships. The weather on day {i} was calm, and {i % 7} ferries were late."}
                       for i in range(150)]).encode()

    def serve(log):
        process = subprocess.Popen([str(VENV_BIN / "newsrag"), "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(port, timeout=120, process=process)
        return process

    with open(tmp_path / "serve.log", "w+") as log, httpx.Client(base_url=f"http://127.0.0.1:{port}",
                                                                 timeout=60) as client:
        process = serve(log)
        try:
            job = client.post("/api/articles", files={"files": ("harbour.json", feed)}).json()
            deadline = time.monotonic() + 180
            while True:
                progress = client.get(f"/api/jobs/{job['id']}").json()["progress"]
                if progress and progress["articles_done"] >= 5:
                    break
                assert time.monotonic() < deadline, "the job never made progress"
                time.sleep(0.2)
            stopped_at = time.monotonic()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            took = time.monotonic() - stopped_at
        finally:
            stop(process)
        assert took < 10, f"SIGTERM took {took:.1f} s"
        assert process.returncode in (0, -signal.SIGTERM)

        process = serve(log)  # the restart resumes the job
        try:
            done = client.get(f"/api/jobs/{job['id']}", params={"wait": 60}).json()
            while done["status"] != "done":
                done = client.get(f"/api/jobs/{job['id']}", params={"wait": 60}).json()
                assert done["status"] in {"queued", "running"}, done
            assert done["resumed"] == 1 and done["results"][0]["status"] == "ok"
            articles = client.get("/api/articles").json()
            assert len(articles) == 150 and len({a["id"] for a in articles}) == 150
            assert client.get("/healthz").json() == {"status": "ok", "articles": 150, "chunks": 150}
        finally:
            stop(process)
        log.seek(0)
        output = log.read()
    assert "Traceback" not in output, output
    assert "resuming 1 unfinished upload job(s)" in output


def test_an_empty_upload_is_one_line_and_no_traceback(site, capfd):

    client, _ = site
    capfd.readouterr()
    assert error_of(client.post("/api/articles", files=[])) == (
        400, "ConfigError", "Invalid request: files: Field required (see /docs).")
    events = gradio_call(client, "ingest", [[]])
    assert "event: error" in events and "No files to ingest: choose one or more .txt" in events
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err, out + err


def test_a_library_tab_upload_runs_as_an_upload_job(site):
    """The Gradio upload function goes through the API's jobs (one writer, resumed after a restart,
    per-file results), and its progress and result still stream to the page."""

    client, library = site
    jobs_dir = library.settings.home / "jobs"
    before = {p.name for p in jobs_dir.glob("j*.json")}
    data = story("https://mmr.example/tab", "2.9 million", title="Valletta harbour in the Library tab")
    path = client.post("/gradio_api/upload", files={"files": ("harbour.md", data)}).json()[0]
    events = gradio_call(client, "ingest", [[{"path": path, "orig_name": "harbour.md",
                                               "meta": {"_type": "gradio.FileData"}}]])
    assert "event: complete" in events and "harbour.md" in events, events
    (job,) = [json.loads(p.read_text()) for p in jobs_dir.glob("j*.json") if p.name not in before]
    assert job["status"] == "done" and [f["name"] for f in job["files"]] == ["harbour.md"]
    (result,) = job["results"]
    assert result["status"] == "ok" and [a["status"] for a in result["articles"]] == ["added"]
    assert client.get(f"/api/jobs/{job['id']}").json()["results"] == job["results"]
    article = result["articles"][0]["id"]
    assert library.article(article).title == "Valletta harbour in the Library tab"
    assert kept_files(library) == []  # neither the upload nor Gradio's copy of it outlives the job
    assert not list((library.settings.home / "tmp").rglob("harbour.md"))
    client.delete(f"/api/articles/{article}")


@pytest.mark.server
def test_an_upload_while_the_chroma_server_is_down_waits_for_it_and_completes(tmp_path, embedder):
    port = free_port()
    library = make_library(tmp_path / "home", embedder, chroma_url=f"http://127.0.0.1:{port}")
    app, _, server_port = build(library)
    with serve_in_thread(app, server_port) as url, httpx.Client(base_url=url, timeout=60) as client:
        started = client.post("/api/articles", files={"files": ("valletta.md", story("https://mmr.example/down",
                                                                                     "3.1 million"))})
        assert started.status_code == 202
        job_url = started.headers["location"]
        deadline = time.monotonic() + 60
        while (waiting := client.get(job_url).json())["error"] is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert waiting["status"] == "queued" and waiting["finished_at"] is None  # not failed: waiting
        assert waiting["error"].startswith(f"Chroma at http://127.0.0.1:{port} is unreachable")
        assert "The upload is kept and tried again in " in waiting["error"]
        chroma = shutil.which("chroma", path=str(VENV_BIN)) or shutil.which("chroma")
        with open(tmp_path / "chroma.log", "wb") as log:
            process = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "db"), "--host", "127.0.0.1",
                                        "--port", str(port)], stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
            try:
                wait_for_port(port, process=process)
                done = client.get(job_url, params={"wait": 60}).json()  # the next try is at most 30 s away
                for _ in range(2):
                    done = done if done["status"] == "done" else client.get(job_url, params={"wait": 60}).json()
                assert (done["status"], done["error"]) == ("done", None), done
                (result,) = done["results"]
                assert result["status"] == "ok" and [a["status"] for a in result["articles"]] == ["added"]
                answer = client.post("/api/ask", json={"question": HARBOUR}).json()
                assert answer["citations"][0]["article_id"] == result["articles"][0]["id"]
                assert "3.1 million" in answer["answer"]
            finally:
                stop(process)


def test_a_client_waiting_for_its_job_is_not_a_reader_the_jobs_writes_wait_for(tmp_path, embedder):
    import threading

    library = make_library(tmp_path / "home", embedder)
    library.settings.home.mkdir(parents=True)  # for the lock file, before any ingest
    app, _, port = build(library)
    jobs = app.state.jobs
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=60) as client:
        polled: list[dict] = []
        with ingest_lock_held(library):
            data = story("https://mmr.example/wait", "4.4 million")
            job = client.post("/api/articles", files={"files": ("waiting.md", data)}).json()
            poll = threading.Thread(target=lambda: polled.append(
                client.get(f"/api/jobs/{job['id']}", params={"wait": 30}).json()))
            poll.start()
            deadline = time.monotonic() + 20
            while not jobs._changed._waiters and time.monotonic() < deadline:  # the request waits in its handler
                time.sleep(0.02)
            assert jobs._changed._waiters and poll.is_alive()
            assert library._readers == 0  # waiting for its job, the client holds no write back
        poll.join(60)
    assert polled[0]["status"] == "done"
