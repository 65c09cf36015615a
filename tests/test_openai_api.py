"""newsrag as an OpenAI-compatible model: the official ``openai`` client against the real app in
uvicorn, over the sample articles, streaming and not."""

from __future__ import annotations

import httpx
import openai
import pytest
from conftest import free_port, serve_in_thread

from rag.types import Turn

TOKEN = "openai-token-" + "z" * 16
DRONES = "How many drones were intercepted?"


@pytest.fixture(scope="module")
def served(seed_library):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings
    from ui.server import create_app
    from ui.settings import ServeSettings

    pipeline = Pipeline(RagSettings(index=seed_library.settings), library=seed_library)
    port = free_port()
    app = create_app(pipeline=pipeline, serve=ServeSettings(port=port, api_token=TOKEN), secret="s" * 24)
    with serve_in_thread(app, port) as url:
        yield url, pipeline


@pytest.fixture(scope="module")
def client(served):
    url, _ = served
    with openai.OpenAI(base_url=f"{url}/v1", api_key=TOKEN, max_retries=0, timeout=120) as c:
        yield c


def ask(client, question: str, **options):
    return client.chat.completions.create(model="newsrag-extractive",
                                          messages=[{"role": "user", "content": question}], **options)


def test_models_are_the_answering_modes(client):
    assert [m.id for m in client.models.list()] == [
        "newsrag", "newsrag-extractive", "newsrag-openai", "newsrag-ollama", "newsrag-llamacpp"]


def test_a_completion_is_the_answer_with_a_sources_block_and_the_answer_object(client, served):
    _, pipeline = served
    response = ask(client, DRONES)
    expected = pipeline.ask(DRONES).to_dict()
    data = response.model_extra["newsrag"]
    assert {k: v for k, v in data.items() if k != "timings_ms"} == \
        {k: v for k, v in expected.items() if k != "timings_ms"}
    (choice,) = response.choices
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    text, sources = choice.message.content.split("\n\n**Sources**\n")
    assert text == expected["answer"] and "[1]" in text
    assert "Reports differ: 55 Ukrainian drones — Miami News, KMIA, undated [1]" in text
    lines = sources.split("\n")
    assert len(lines) == len(expected["citations"])
    for line, citation in zip(lines, expected["citations"], strict=True):
        assert line.startswith(f"[{citation['n']}] {citation['source'] or 'unknown outlet'}, ")
        assert f"“{citation['quote']}”" in line
        assert line.endswith(f"/articles/{citation['article_id']}?start={citation['start']}&end={citation['end']}>")


def test_streaming_gives_the_same_text_then_the_answer_object(client):
    whole = ask(client, DRONES).choices[0].message.content
    chunks = list(ask(client, DRONES, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content or "" for c in chunks]
    assert "".join(pieces) == whole
    assert sum(1 for p in pieces if p) >= 4  # the answer arrives in pieces, then the sources
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.model_extra["newsrag"]["answer"] in whole
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_the_conversation_and_filters_reach_the_pipeline(client, served):
    _, pipeline = served
    first = ask(client, DRONES).choices[0].message.content
    follow = "And over which regions?"
    response = client.chat.completions.create(model="newsrag-extractive", messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": DRONES}, {"role": "assistant", "content": first},
        {"role": "user", "content": [{"type": "text", "text": follow}]}])
    answer = pipeline.ask(follow, history=[Turn(question=DRONES, answer=first.split("\n\n**Sources**")[0])])
    assert response.model_extra["newsrag"]["answer"] == answer.answer
    filtered = ask(client, DRONES, extra_body={"source": ["Miami News, KMIA"], "top_k": 3}).model_extra["newsrag"]
    assert filtered["filters"]["source"] == ["Miami News, KMIA"]
    assert {c["source"] for c in filtered["citations"]} == {"Miami News, KMIA"} and "55" in filtered["answer"]


def test_a_refusal_says_why_and_lists_the_closest_passages(client):
    response = ask(client, "Who won the World Cup?")
    text = response.choices[0].message.content
    assert text.startswith("The indexed articles do not answer this.\n\n_Why: the best evidence scores ")
    assert "\n\n**Closest passages** (not citations)\n- " in text
    data = response.model_extra["newsrag"]
    assert data["status"] == "refused" and data["refusal"]["reason"].startswith("the best evidence scores")


def test_errors_have_openai_shape_and_the_client_raises_them(served, client):
    url, _ = served
    with openai.OpenAI(base_url=f"{url}/v1", api_key="wrong-" + "k" * 16, max_retries=0) as intruder, \
            pytest.raises(openai.AuthenticationError) as caught:
        intruder.models.list()
    assert caught.value.status_code == 401
    assert caught.value.body == {"message": "Use NEWSRAG_API_TOKEN as the API key ('Authorization: Bearer ...'; "
                                            "wrong bearer token).", "type": "authentication_error", "param": None,
                                 "code": "AuthRequiredError"}
    with pytest.raises(openai.NotFoundError, match="The model 'gpt-4o' does not exist: use one of newsrag, "
                                                   "newsrag-extractive, newsrag-openai"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": DRONES}])
    bad = [
        ([{"role": "user", "content": DRONES}, {"role": "assistant", "content": "64"}],
         "The last message is the assistant's: the last message must be the user's question."),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}]}],
         "messages[0] has a 'image_url' part: only text content is supported."),
        ([{"role": "user", "content": "x"}] * 201, "201 messages; at most 200 are accepted."),
        ([{"role": "user", "content": "x" * 20_001}],
         "messages[0].content is 20001 characters long; the limit is 20000."),
        ([{"role": "user", "content": "Why? " * 500}], "The question is 2499 characters long; the limit is 2000."),
    ]
    for messages, message in bad:
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="newsrag-extractive", messages=messages)
        assert caught.value.body["message"].startswith(message), caught.value.body
        assert caught.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError, match=r"n=2: newsrag gives one answer per request"):
        ask(client, DRONES, n=2)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as raw:
        big = raw.post("/v1/chat/completions", content=b"{" + b" " * 1_000_001 + b"}",
                       headers={"content-type": "application/json"})
        assert big.status_code == 413 and big.json()["error"]["message"].startswith("The request body is over 1000 kB")
        broken = raw.post("/v1/chat/completions", content=b"{not json")
        assert broken.status_code == 400 and broken.json()["error"]["message"].startswith("The request body is not JSON")
        missing = raw.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": DRONES}]})
        assert missing.status_code == 400
        assert missing.json()["error"]["message"] == "Invalid request: model: Field required."
        elsewhere = raw.get("/v1/embeddings")
        assert elsewhere.status_code == 404 and elsewhere.json() == {"error": {
            "message": "No route GET /v1/embeddings: newsrag serves GET /v1/models and POST /v1/chat/completions.",
            "type": "not_found_error", "param": None, "code": "NotFoundError"}}
        assert raw.get("/healthz").json()["status"] == "ok"  # and the server keeps serving
