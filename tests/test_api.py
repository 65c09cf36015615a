"""The HTTP API over real HTTP: the app runs in uvicorn on a free port, on the real model and Chroma.

One server per scenario per module: the sample articles (open), the same library behind a login and
a token, and a library whose Chroma server is down.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
import pytest
from conftest import (
    REFERENCE_BACKEND,
    SEED_55,
    SEEDS,
    VENV_BIN,
    free_port,
    make_library,
    serve_in_thread,
    stop,
    wait_for_port,
)
from helpers import DRONES, TOKEN, WORLD_CUP, build, error_of, gradio_call, upload

KURSK = ("The ministry has released preliminary footage showing the drones being intercepted mid-air, with several "
         "explosions visible in the night sky over the Kursk and Belgorod regions.")
UPLOAD_MD = """---
title: Valletta harbour sets a container record
outlet: Malta Maritime Review
date: 2024-02-03
---
The Port of Valletta handled 3.2 million containers in 2023, a record for the harbour.
Officials credited the new deep-water berth opened in the spring.
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory, embedder):
    library = make_library(tmp_path_factory.mktemp("api") / "home", embedder, max_file_mb=0.05)
    assert library.ingest([SEEDS]).added == 2
    app, pipeline, port = build(library, max_upload_files=3)
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield SimpleNamespace(url=url, client=client, library=library, pipeline=pipeline)


def without_timings(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timings_ms"}


def sse_events(response: httpx.Response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: "):])))
    return events


# ----------------------------------------------------------------------------------- answering


def test_ask_returns_exactly_the_json_of_newsrag_ask(api, capsys, monkeypatch):
    from ui.cli import main

    monkeypatch.setenv("NEWSRAG_EMBED_BACKEND", REFERENCE_BACKEND)  # the index's, as the server reads it

    response = api.client.post("/api/ask", json={"question": DRONES})
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "answered" and answer["mode"] == "extractive"
    assert [c["n"] for c in answer["citations"]] == [1, 2]
    assert {c["quote"][:60] for c in answer["citations"]} == {
        "The Russian Air Defense Forces have intercepted 55 Ukrainian",
        "The Russian Ministry of Defense has confirmed that its air d"}
    # the sample articles are undated: nothing shows the two reports are of the same night
    assert (answer["conflicts"][0]["kind"], answer["conflicts"][0]["note"]) == (
        "differ", "Reports differ: 55 Ukrainian drones — Miami News, KMIA, undated [1]; "
                  "64 Ukrainian drones — outlet unknown, undated [2].")
    assert list(answer["timings_ms"]) == ["understand", "retrieve", "score", "gate", "select", "answer", "total"]

    assert main(["ask", DRONES, "--json", "--home", str(api.library.settings.home)]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert without_timings(cli) == without_timings(answer)


def test_a_question_the_articles_do_not_answer_is_refused_with_the_closest_passages(api):
    answer = api.client.post("/api/ask", json={"question": WORLD_CUP}).json()
    assert answer["status"] == "refused"
    assert answer["answer"] == "The indexed articles do not answer this."
    assert answer["citations"] == [] and len(answer["closest"]) == 3
    assert all(p["text"] and p["title"] for p in answer["closest"])


def test_stream_deltas_concatenate_to_the_answer_and_end_with_the_same_object(api):
    with api.client.stream("POST", "/api/ask/stream", json={"question": DRONES}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    kinds = [kind for kind, _ in events]
    assert kinds == ["delta"] * (len(kinds) - 1) + ["answer"] and len(kinds) >= 3
    final = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == final["answer"]
    posted = api.client.post("/api/ask", json={"question": DRONES}).json()
    assert without_timings(final) == without_timings(posted)


def test_filters_and_follow_ups_reach_the_pipeline(api):
    only_miami = api.client.post("/api/ask", json={"question": DRONES, "source": "Miami News, KMIA"}).json()
    assert {c["source"] for c in only_miami["citations"]} == {"Miami News, KMIA"}
    assert only_miami["filters"] == {"source": ["Miami News, KMIA"], "since": None, "until": None}
    follow = api.client.post("/api/ask", json={
        "question": "And over which regions?", "top_k": 4,
        "history": [{"question": DRONES, "answer": only_miami["answer"]}]})
    assert follow.status_code == 200
    assert follow.json()["question"] == "And over which regions?"


# --------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("body, kind, message", [
    ({"question": "  "}, "ConfigError", "The question is empty: type a question about the indexed articles."),
    ({"question": DRONES, "since": "last week"}, "ConfigError",
     "since='last week' is not a date: use YYYY-MM-DD, e.g. 2023-10-01."),
    ({"question": DRONES, "since": "2024-05-01", "until": "2024-01-01"}, "ConfigError",
     "since=2024-05-01 is after until=2024-01-01: swap them."),
    ({"question": DRONES, "mode": "gpt-9"}, "UnknownBackendError",
     "Unknown answering mode 'gpt-9': use one of extractive, openai, ollama, llamacpp."),
    ({"question": DRONES, "top_k": 0}, "ConfigError", "top_k=0 must be between 1 and 50."),
    ({"question": DRONES, "topk": 3}, "ConfigError",
     "Invalid request: topk: Extra inputs are not permitted (see /docs)."),
    ({"history": []}, "ConfigError", "Invalid request: question: Field required (see /docs)."),
    ({"question": DRONES, "history": [{"question": "q"}] * 21}, "ConfigError",
     "history has 21 turns; send at most the last 20."),
    # strict types and dates: nothing is coerced or cut to fit
    ({"question": DRONES, "top_k": True}, "ConfigError",
     "Invalid request: top_k: Input should be a valid integer (see /docs)."),
    ({"question": DRONES, "top_k": "3"}, "ConfigError",
     "Invalid request: top_k: Input should be a valid integer (see /docs)."),
    ({"question": DRONES, "top_k": 2.5}, "ConfigError",
     "Invalid request: top_k: Input should be a valid integer (see /docs)."),
    ({"question": 42}, "ConfigError", "Invalid request: question: Input should be a valid string (see /docs)."),
    ({"question": DRONES, "since": "2023-10-01garbage"}, "ConfigError",
     "since='2023-10-01garbage' is not a date: use YYYY-MM-DD, e.g. 2023-10-01."),
    ({"question": DRONES, "until": "2023-10-01T25:00"}, "ConfigError",
     "until='2023-10-01T25:00' is not a date: use YYYY-MM-DD, e.g. 2023-10-01."),
    ({"question": DRONES, "history": [{"question": "q", "articles": "a1"}]}, "ConfigError",
     "Invalid request: history.0.articles: Input should be a valid list (see /docs)."),
])
def test_bad_input_is_a_400_with_the_reason(api, body, kind, message):
    for path in ("/api/ask", "/api/ask/stream"):
        assert error_of(api.client.post(path, json=body)) == (400, kind, message)


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.client.post("/api/ask", content=b"question=drones",
                               headers={"content-type": "application/json"})
    status, kind, message = error_of(response)
    assert (status, kind) == (400, "ConfigError") and message.startswith("Invalid request: ")


def test_unknown_articles_are_404(api):
    assert error_of(api.client.get("/api/articles/a0000000000000000")) == (
        404, "NotFoundError", "No article with id 'a0000000000000000': `newsrag articles list` shows the ids.")
    assert error_of(api.client.delete("/api/articles/nope"))[:2] == (404, "NotFoundError")
    page = api.client.get("/articles/nope")
    assert page.status_code == 404 and "The library holds no article at this address" in page.text
    assert "newsrag articles" not in page.text and '<a href="../">← Back to the chat</a>' in page.text
    assert error_of(api.client.get("/api/nothing-here")) == (
        404, "NotFoundError", "No API route GET /api/nothing-here: /docs lists them.")
    assert error_of(api.client.put("/api/articles")) == (
        404, "NotFoundError", "No API route PUT /api/articles: /docs lists them.")


def test_uploads_over_the_limits_are_refused_before_ingesting(api):
    before = api.client.get("/healthz").json()
    big = ("A sentence about harbours. " * 2000).encode()  # 54 KB, over the 0.05 MB test limit
    assert error_of(api.client.post("/api/articles", files={"files": ("big.txt", big)})) == (
        413, "TooLargeError", "big.txt: 0.1 MB is over the 0.05 MB limit per file (raise NEWSRAG_MAX_FILE_MB "
                              "to allow it)")
    assert error_of(api.client.post("/api/articles", files={"files": ("tool.exe", b"MZ")})) == (
        400, "InputError", "tool.exe: unsupported file type '.exe' (upload .txt, .md, .markdown, .html, .htm, "
                           ".json, .jsonl)")
    four = [("files", (f"n{i}.txt", b"Some text.")) for i in range(4)]
    assert error_of(api.client.post("/api/articles", files=four)) == (
        400, "InputError", "4 files in one upload; the limit is 3 (upload them in parts, or raise "
                           "NEWSRAG_MAX_UPLOAD_FILES).")
    huge = b"x" * 1_200_000  # the declared length alone exceeds 3 files x 0.05 MB + 1 MB
    status, kind, message = error_of(api.client.post("/api/articles", files={"files": ("huge.txt", huge)}))
    assert (status, kind) == (413, "TooLargeError")
    assert message == ("The request body is 1.2 MB; POST /api/articles accepts at most 1.15 MB (fewer or smaller "
                       "files, or raise NEWSRAG_MAX_FILE_MB).")
    assert api.client.get("/healthz").json() == before


@pytest.mark.parametrize("name", ["a" * 296 + ".txt", "é" * 130 + ".md", "../" * 40 + "b" * 250 + ".txt"])
def test_a_file_name_too_long_for_the_disk_is_refused_in_one_line_without_a_server_path(api, name):
    before = api.client.get("/healthz").json()
    status, kind, message = error_of(api.client.post("/api/articles", files={"files": (name, b"A short story.\n")}))
    base = name.rsplit("/", 1)[-1]
    assert (status, kind) == (400, "InputError")
    assert message == (f"{base[:40]}…{base[-10:]}: the file name is {len(base.encode())} bytes long; rename the "
                       "file to at most 200 bytes and upload it again.")
    assert "\n" not in message and str(api.library.settings.home) not in message and "/" not in message
    assert api.client.get("/healthz").json() == before
    assert not (api.library.settings.home / "uploads").exists() or not any(
        (api.library.settings.home / "uploads").rglob("*.part"))


def test_an_unreadable_file_is_reported_and_the_good_ones_still_indexed(api):
    files = [("files", ("ok.txt", b"Lighthouse keepers on Gozo counted 41 storm nights last winter.\n")),
             ("files", ("latin1.txt", "Caf\xe9 owners protested.".encode("latin-1")))]
    report = upload(api.client, files)["report"]
    assert (report["added"], report["failed"]) == (1, 1)
    assert report["failures"] == ["latin1.txt: not valid UTF-8 (byte 0xe9 at offset 3); re-save the file as UTF-8"]
    assert api.client.delete(f"/api/articles/{report['articles'][0]['id']}").status_code == 200


# ------------------------------------------------------------------------------------- library


def test_upload_then_ask_about_it_then_remove_it(api):
    report = upload(api.client, {"files": ("valletta.md", UPLOAD_MD.encode())})["report"]
    assert (report["added"], report["failed"], report["chunks_written"]) == (1, 0, 1)
    article_id = report["articles"][0]["id"]
    assert report["articles"][0] == {"id": article_id, "title": "Valletta harbour sets a container record",
                                     "status": "added"}
    again = upload(api.client, {"files": ("valletta.md", UPLOAD_MD.encode())})["report"]
    assert (again["added"], again["unchanged"]) == (0, 1)

    listed = {a["id"]: a for a in api.client.get("/api/articles").json()}
    assert len(listed) == 3
    assert listed[article_id]["sources"] == ["Malta Maritime Review"] and listed[article_id]["n_chunks"] == 1
    assert "body" not in listed[article_id]
    full = api.client.get(f"/api/articles/{article_id}").json()
    assert full["body"].startswith("The Port of Valletta handled 3.2 million containers in 2023")
    assert api.client.get("/healthz").json() == {"status": "ok", "articles": 3, "chunks": 9}

    answer = api.client.post("/api/ask", json={"question": "How many containers did the Port of Valletta "
                                                           "handle in 2023?"}).json()
    assert answer["status"] == "answered"
    first = answer["citations"][0]
    assert (first["article_id"], first["source"], first["published_at"][:10]) == (
        article_id, "Malta Maritime Review", "2024-02-03")
    assert full["body"][first["start"]:first["end"]] == first["quote"]
    page = api.client.get(f"/articles/{article_id}", params={"start": first["start"], "end": first["end"]})
    assert page.status_code == 200 and f'<mark id="hl">{first["quote"]}</mark>' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]

    removed = api.client.delete(f"/api/articles/{article_id}").json()["removed"]
    assert (removed["id"], removed["title"]) == (article_id, "Valletta harbour sets a container record")
    assert api.client.get(f"/api/articles/{article_id}").status_code == 404
    gone = api.client.get(f"/articles/{article_id}", params={"start": first["start"], "end": first["end"]})
    assert gone.status_code == 410  # the page a stored citation opens says what happened
    assert "“Valletta harbour sets a container record” was removed from the library on " in gone.text
    after = api.client.post("/api/ask", json={"question": "How many containers did the Port of Valletta "
                                                          "handle in 2023?"}).json()
    assert article_id not in {c["article_id"] for c in after["citations"]}


DATED = [("harbour.md", "---\ntitle: Harbour reopens after the storm\noutlet: Gozo Gazette\ndate: 2024-02-11\n---\n"
                         "The harbour of Mgarr reopened on Sunday. Ferries resumed at noon.\n"),
         ("storm.md", "---\ntitle: Storm closes Mgarr harbour\noutlet: Malta Maritime Review\ndate: 2024-02-01\n"
                      "---\nA storm closed the harbour of Mgarr on Thursday night.\n")]


def test_articles_are_listed_a_page_at_a_time_searched_filtered_and_sorted(api, tmp_path):
    for name, text in DATED:
        (tmp_path / name).write_text(text)
    added = [a["id"] for a in api.library.ingest([tmp_path]).articles]
    try:
        def titles(**params) -> tuple[list[str], str, str | None]:
            response = api.client.get("/api/articles", params=params)
            assert response.status_code == 200, response.text
            return ([a["display_title"][:24] for a in response.json()], response.headers["x-total-count"],
                    response.headers.get("link"))

        assert titles() == (["Harbour reopens after th", "Storm closes Mgarr harbo", 'Untitled — "The Russian ',
                             "Urgent Update: Russia In"], "4", None)  # newest first, undated last
        first, total, link = titles(limit=1, sort="oldest")
        assert (first, total) == (["Storm closes Mgarr harbo"], "4")
        assert link == f'<{api.url}/api/articles?limit=1&sort=oldest&offset=1>; rel="next"'
        assert titles(q="HARBOUR gozo")[:2] == (["Harbour reopens after th"], "1")
        assert titles(q="Kupyansk ministry")[:2] == (['Untitled — "The Russian '], "1")  # by its text
        assert titles(q="ferries mgarr", sort="relevance")[:2] == (["Harbour reopens after th"], "1")
        assert titles(q="mgarr harbour", sort="relevance")[:2] == (
            ["Storm closes Mgarr harbo", "Harbour reopens after th"], "2")  # both words, in its title too: first
        found = api.client.get("/api/articles", params={"q": "drones Kursk"}).json()
        assert [(a["display_title"][:24], a["match"]["fields"]) for a in found] == [
            ("Urgent Update: Russia In", ["title", "text"])]
        sentence = found[0]["match"]["sentence"]
        assert sentence["quote"] == KURSK
        assert [sentence["quote"][a:b] for a, b in sentence["marks"]] == ["drones", "Kursk"]
        body = api.client.get(f"/api/articles/{found[0]['id']}").json()["body"]
        assert body[sentence["start"]:sentence["end"]] == KURSK
        assert [a["match"] for a in api.client.get("/api/articles", params={"q": "gazette"}).json()] == [
            {"fields": ["outlet"]}]  # in its outlet only: no sentence
        assert "match" not in api.client.get("/api/articles").json()[0]

        held = api.client.get("/api/library").json()
        assert {k: v for k, v in held.items() if k != "newest"} == {
            "articles": 4, "span": {"first": "2024-02-01", "last": "2024-02-11"}, "undated": 2, "without_outlet": 1,
            "outlets": [{"name": "Gozo Gazette", "articles": 1, "first": "2024-02-11", "last": "2024-02-11",
                         "undated": 0},
                        {"name": "Malta Maritime Review", "articles": 1, "first": "2024-02-01", "last": "2024-02-01",
                         "undated": 0},
                        {"name": "Miami News, KMIA", "articles": 1, "first": None, "last": None, "undated": 1}]}
        assert [a["display_title"][:24] for a in held["newest"]] == [
            "Harbour reopens after th", "Storm closes Mgarr harbo", 'Untitled — "The Russian ',
            "Urgent Update: Russia In"]
        assert "body" not in held["newest"][0] and "lines" not in held["newest"][0]
        assert titles(source=["Malta Maritime Review", "Gozo Gazette"], since="2024-02-02")[:2] == (
            ["Harbour reopens after th"], "1")
        assert titles(sort="title", offset=3)[:2] == (["Urgent Update: Russia In"], "4")
        assert error_of(api.client.get("/api/articles", params={"sort": "size"})) == (
            400, "ConfigError", "sort='size' is unknown: use one of newest, oldest, title, relevance.")
        assert error_of(api.client.get("/api/articles", params={"until": "Feb 1"})) == (
            400, "ConfigError", "until='Feb 1' is not a date: use YYYY-MM-DD, e.g. 2023-10-01.")
    finally:
        api.library.remove_many(added)
    assert len(api.client.get("/api/articles").json()) == 2


def test_a_conversation_sent_by_the_client_comes_back_as_markdown_with_its_citations(api):
    answer = api.client.post("/api/ask", json={"question": DRONES}).json()
    response = api.client.post("/api/conversations/export", json={
        "title": "Drones", "exchanges": [{"question": DRONES, "answer": answer}]})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="newsrag-drones.md"'
    text = response.text
    assert text.startswith("# Drones\n\n_Exported from newsrag on ")
    assert f"## 1. {DRONES}\n\n> **⚠ Reports differ:** 55 Ukrainian drones — Miami News, KMIA, undated [1]; " \
           "64 Ukrainian drones — outlet unknown, undated [2]\n" in text
    for c in answer["citations"]:
        assert f"  - In newsrag: <{api.url}/articles/{c['article_id']}?start={c['start']}&end={c['end']}#hl>\n" \
               f"  > {c['quote']}\n" in text
    assert '- [2] **Untitled — "The Russian Ministry of Defense has confirmed …"** — outlet unknown, undated' in text

    assert error_of(api.client.post("/api/conversations/export", json={
        "exchanges": [{"question": DRONES, "answer": {"status": "answered", "sentences": [{}]}}]})) == (
        400, "ConfigError", "exchanges[0] is not a question with an answer object from /api/ask (KeyError: 'text').")
    status, kind, message = error_of(api.client.post("/api/conversations/export", json={
        "exchanges": [{"question": "q", "answer": {}}] * 201}))
    assert (status, kind) == (400, "ConfigError") and message.startswith("Invalid request: exchanges: List should "
                                                                         "have at most 200 items")


def test_gradio_upload_function_refuses_a_server_path_outside_its_upload_cache(api, tmp_path):
    secret = tmp_path / "server-secret.txt"
    secret.write_text("The vault code of the newsroom is 4-8-15-16-23-42. It must never be served.\n")
    before = {r.id for r in api.library.articles()}
    events = gradio_call(api.client, "ingest",
                         [[{"path": str(secret), "meta": {"_type": "gradio.FileData"}}]])
    assert "event: error" in events and "event: complete" not in events, events
    assert {r.id for r in api.library.articles()} == before
    assert "4-8-15-16-23-42" not in api.client.get("/api/articles").text


def test_article_page_rejects_a_range_outside_the_body(api):
    article_id = next(a["id"] for a in api.client.get("/api/articles").json() if a["source"] == "Miami News, KMIA")
    page = api.client.get(f"/articles/{article_id}", params={"start": 10, "end": 999999})
    assert page.status_code == 400 and "start=10, end=999999 is not a range of this article" in page.text


def test_health_docs_and_openapi(api):
    assert api.client.get("/healthz").json() == {"status": "ok", "articles": 2, "chunks": 8}
    spec = api.client.get("/openapi.json").json()
    assert set(spec["paths"]) == {"/api/ask", "/api/ask/stream", "/api/articles", "/api/articles/{article_id}", "/api/library",
                                  "/api/conversations/export", "/api/jobs/{job_id}", "/healthz",
                                  "/v1/models", "/v1/chat/completions", "/api/feeds", "/api/feeds/{fid}",
                                  "/api/feeds/{fid}/poll", "/api/watches", "/api/watches/feed.atom",
                                  "/api/watches/{wid}", "/api/watches/{wid}/seen"}
    docs = api.client.get("/docs")
    assert docs.status_code == 200 and "openapi.json" in docs.text
    assert "https://" not in docs.text and "http://" not in docs.text  # no CDN: nothing calls home


def test_eight_concurrent_clients_get_the_same_answers_as_one(api, monkeypatch):
    questions = [DRONES, WORLD_CUP, "Where were 25 drones shot down?", "Which outlet reported 55 drones?"]
    expected = {q: without_timings(api.client.post("/api/ask", json={"question": q}).json()) for q in questions}
    # a tiny sentence-embedding cache, so the clients evict each other's entries all the time
    monkeypatch.setattr(api.library.embedder, "_cache_size", 4)

    def client_run(i: int) -> list[tuple[str, int, dict]]:
        with httpx.Client(base_url=api.url, timeout=120) as client:
            out = []
            for q in (questions[i % 4:] + questions[:i % 4])[:2]:
                response = client.post("/api/ask", json={"question": q})
                out.append((q, response.status_code, response.json()))
            return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        runs = list(pool.map(client_run, range(8)))
    assert sum(len(r) for r in runs) == 16
    for q, status, body in (item for run in runs for item in run):
        assert status == 200 and without_timings(body) == expected[q]


# ----------------------------------------------------------------------------------------- auth


@pytest.fixture(scope="module")
def guarded(api):
    app, _, port = build(api.library, auth=("editor", "correct horse"), api_token=TOKEN)
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client


def test_the_api_needs_the_bearer_token_when_one_is_set(guarded):
    response = guarded.get("/api/articles")
    assert error_of(response) == (401, "AuthRequiredError", "The API needs 'Authorization: Bearer "
                                                            "<NEWSRAG_API_TOKEN>' (no bearer token).")
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = guarded.post("/api/ask", json={"question": DRONES}, headers={"Authorization": "Bearer " + "z" * 26})
    assert error_of(wrong)[2].endswith("(wrong bearer token).")
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert guarded.get("/api/articles", headers=ok).status_code == 200
    assert guarded.post("/api/ask", json={"question": DRONES}, headers=ok).json()["status"] == "answered"
    assert guarded.get("/healthz").status_code == 200  # for load balancers: counts only


def test_chat_and_article_pages_need_the_login(guarded):
    article_id = guarded.get("/api/articles", headers={"Authorization": f"Bearer {TOKEN}"}).json()[0]["id"]
    page = guarded.get(f"/articles/{article_id}")
    assert page.status_code == 401 and "Log in to the chat first" in page.text
    assert guarded.get("/config").status_code == 401  # Gradio's own routes are behind its login
    refused = guarded.post("/login", data={"username": "editor", "password": "wrong password"})
    assert refused.status_code == 400
    assert guarded.post("/login", data={"username": "editor", "password": "correct horse"}).json() == {"success": True}
    assert guarded.get(f"/articles/{article_id}").status_code == 200  # the login cookie now opens it
    assert guarded.get("/config").status_code == 200


# --------------------------------------------------------------------------------- store down


def test_an_unreachable_chroma_server_is_503_and_the_server_keeps_serving(tmp_path, embedder):
    library = make_library(tmp_path / "home", embedder, chroma_url=f"http://127.0.0.1:{free_port()}")
    app, _, port = build(library)
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=60) as client:
        for _ in range(2):  # a failure does not take the server down
            health = client.get("/healthz")
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable" and health.json()["type"] == "StoreUnavailableError"
            assert "unreachable" in health.json()["error"] and "NEWSRAG_CHROMA_URL" in health.json()["error"]
            assert error_of(client.post("/api/ask", json={"question": DRONES}))[:2] == (503, "StoreUnavailableError")
            assert error_of(client.get("/api/articles"))[:2] == (503, "StoreUnavailableError")
        assert client.get("/").status_code == 200  # the chat page itself still loads


# --------------------------------------------------------------------------- the real command


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_") or k == "NEWSRAG_MODEL_DIR"}
    return {**env, "NEWSRAG_HOME": str(tmp_path / "home"), **extra}


def test_serve_refuses_a_public_address_without_auth_in_one_line(tmp_path):
    port = free_port()
    result = subprocess.run([str(VENV_BIN / "newsrag"), "serve", "--host", "0.0.0.0", "--port", str(port)],
                            env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: Refusing to serve on 0.0.0.0:{port} without NEWSRAG_AUTH and NEWSRAG_API_TOKEN: any other "
        "machine could read and change the library. Set NEWSRAG_AUTH=user:password and "
        "NEWSRAG_API_TOKEN=<token> (`python -c 'import secrets; print(secrets.token_urlsafe(24))'`), or bind "
        "to 127.0.0.1."]
    assert not (tmp_path / "home").exists()  # refused before touching anything


def test_serve_refuses_a_port_in_use(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([str(VENV_BIN / "newsrag"), "serve", "--port", str(port)], env=_env(tmp_path),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: Cannot listen on 127.0.0.1:{port} (Address already in use): stop the other server or pass "
        f"another --port, e.g. --port {port + 1}."]


@pytest.mark.slow
def test_newsrag_serve_starts_the_chat_and_the_api(tmp_path):
    port = free_port()
    with open(tmp_path / "serve.log", "w+") as log:
        process = subprocess.Popen([str(VENV_BIN / "newsrag"), "serve", "--port", str(port)],
                                   env=_env(tmp_path), stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=90, process=process)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                assert client.get("/healthz").json() == {"status": "ok", "articles": 0, "chunks": 0}
                page = client.get("/")
                assert page.status_code == 200 and "text/html" in page.headers["content-type"]
                assert error_of(client.post("/api/ask", json={"question": DRONES}))[:2] == (409, "EmptyIndexError")
                seed = (SEEDS / SEED_55).read_bytes()
                assert upload(client, {"files": (SEED_55, seed)})["report"]["added"] == 1
                assert client.post("/api/ask", json={"question": DRONES}).json()["status"] == "answered"
        finally:
            stop(process)
        log.seek(0)
        output = log.read()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
    assert process.returncode in (0, -signal.SIGTERM) and "Traceback" not in output, output
    assert f"chat on http://127.0.0.1:{port}/ · API docs http://127.0.0.1:{port}/docs" in output
    assert "0 articles indexed in" in output and "DEBUG" not in output
