"""`newsrag mcp` over stdio, driven by the MCP SDK's own client: one server process for the module,
over the sample articles."""

from __future__ import annotations

import anyio
import pytest
from helpers import session

pytestmark = pytest.mark.slow

DRONES = "How many drones were intercepted?"


@pytest.fixture(scope="module")
def results(seed_pipeline):
    async def calls(client):
        tools = await client.list_tools()
        out = {"tools": {t.name: t for t in tools.tools}}
        out["ask"] = await client.call_tool("ask", {"question": DRONES})
        out["refused"] = await client.call_tool("ask", {"question": "Who won the World Cup?"})
        out["search"] = await client.call_tool("search", {"query": "S-300 and S-400 batteries", "top_k": 2})
        out["filtered"] = await client.call_tool("search", {"query": "drones", "source": ["Miami News, KMIA"]})
        answer = out["ask"].structured_content
        out["article"] = await client.call_tool("get_article", {"article_id": answer["citations"][0]["article_id"]})
        out["missing"] = await client.call_tool("get_article", {"article_id": "no-such-article"})
        out["bad"] = await client.call_tool("search", {"query": "drones", "top_k": 99})
        out["wrong_mode"] = await client.call_tool("ask", {"question": DRONES, "mode": "gpt5"})
        return out

    return anyio.run(session, seed_pipeline.settings.index.home, calls)


def test_the_three_tools_are_listed_with_their_inputs(results):
    tools = results["tools"]
    assert sorted(tools) == ["ask", "get_article", "search"]
    assert tools["ask"].input_schema["required"] == ["question"]
    assert set(tools["ask"].input_schema["properties"]) == {"question", "mode", "top_k", "source", "since", "until"}
    assert tools["get_article"].input_schema["required"] == ["article_id"]


def test_ask_gives_the_answer_text_and_the_answer_object(results, seed_pipeline):
    result = results["ask"]
    expected = seed_pipeline.ask(DRONES).to_dict()
    assert not result.is_error
    assert {**result.structured_content, "timings_ms": None} == {**expected, "timings_ms": None}
    (content,) = result.content
    text, sources = content.text.split("\n\n**Sources**\n")
    assert text == expected["answer"]
    assert [line.split(" — ", 1)[1] for line in sources.split("\n")] == \
        [f"“{c['quote']}” ({c['title']})" for c in expected["citations"]]
    refused = results["refused"]
    assert refused.structured_content["status"] == "refused"
    assert refused.content[0].text.startswith("The indexed articles do not answer this.\n\n_Why: the best evidence")


def test_search_lists_citable_passages_and_get_article_reads_one(results, seed_pipeline):
    found = results["search"].structured_content
    assert found["query"] == "S-300 and S-400 batteries" and [p["n"] for p in found["passages"]] == [1, 2]
    first = found["passages"][0]
    assert "S-300 and S-400 batteries" in first["text"] and first["source"] == "Miami News, KMIA"
    body = seed_pipeline.library.article(first["article_id"]).body
    assert body[first["start"]:first["end"]] == first["text"]
    assert results["search"].content[0].text.startswith(f"[1] {first['title']} — Miami News, KMIA, ")
    assert {p["source"] for p in results["filtered"].structured_content["passages"]} == {"Miami News, KMIA"}
    article = results["article"].structured_content
    cited = results["ask"].structured_content["citations"][0]
    assert article["id"] == cited["article_id"] and cited["quote"] in article["body"]
    assert results["article"].content[0].text.startswith(f"{article['title']}\n")


def test_bad_calls_are_tool_errors_with_the_message(results):
    for name, message in [("missing", "no-such-article"), ("bad", "top_k=99 must be between 1 and 20."),
                          ("wrong_mode", "Unknown answering mode 'gpt5': use one of extractive, openai")]:
        result = results[name]
        assert result.is_error, name
        assert message in result.content[0].text, result.content[0].text
