"""Text for other clients is safe to render (ui/render.py): an article that carries Markdown or HTML
(an image pixel, a script, a javascript: link, bare addresses to be linkified) reaches `/v1` and MCP
as text that shows what it says and makes no image, no script and no link but ours. Checked with a
real Markdown renderer (markdown-it, CommonMark with raw HTML allowed, as chat clients do)."""

from __future__ import annotations

import json
import random
import re
from html.parser import HTMLParser

import anyio
import httpx
import pytest
from conftest import free_port, make_library, serve_in_thread

from eval.soak.probes import HOSTILE, HOSTILE_QUESTION  # the article the probes upload too
from ui.render import MarkdownText, escape_markdown

QUESTION = HOSTILE_QUESTION


@pytest.mark.parametrize("text, expected", [
    ("plain text, 3.2 million (KMIA) S-300 — “quoted”", "plain text, 3.2 million (KMIA) S-300 — “quoted”"),
    ("**25 drones** [1] / **55 drones** [2][3].", "**25 drones** [1] / **55 drones** [2][3]."),
    ("![pixel](http://h/leak.png)", "`![pixel](http://h/leak.png`)"),
    ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
    ("[click](javascript:alert(1))", r"\[click\](javascript:alert(1))"),
    ("[1](javascript:x) [1]: http://h", r"\[1\](javascript:x) \[1\]: `http://h`"),
    ("See example.com[1].", "See `example.com`[1]."),
    ("www.evil.example, a@evil.example;", "`www.evil.example`, `a@evil.example`;"),
    ("&lt;b&gt; AT&T $5 `x` a\\b", r"&amp;lt;b&amp;gt; AT&T \$5 \`x\` a\\b"),
    ("U.S. e.g. a.m. 3.5bn", "U.S. e.g. a.m. 3.5bn"),
    ("line one\n\nline two", "line one\n\nline two"),
])
def test_escape_markdown(text, expected):
    assert escape_markdown(text) == expected


def test_streamed_pieces_escape_to_the_whole_however_they_are_cut():
    text = HOSTILE + " **812 ferries** [1] and [2]: [3](x) www.a.org "
    whole = escape_markdown(text)
    rng = random.Random(7)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(text)), rng.randint(1, 40)))
        stream = MarkdownText()
        pieces = [stream.feed(text[a:b]) for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        assert "".join(pieces) + stream.flush() == whole


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def assert_safe(markdown: str, *, server: str | None) -> str:
    """Render as a chat client would; no image, script or foreign link, and nothing a linkifier would
    link (every address in code). Returns the text a reader sees."""
    from markdown_it import MarkdownIt

    renderer = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    html = renderer.render(markdown)
    page = Tags()
    page.feed(html)
    assert {tag for tag, _ in page.tags} <= {"p", "strong", "em", "code", "a", "ul", "li", "br"}, html
    for tag, attrs in page.tags:
        if tag == "a":
            assert server and attrs["href"].startswith(f"{server}/articles/"), attrs
    words, inside = [], 0  # text outside code and outside our links
    for child in (c for block in renderer.parse(markdown) for c in block.children or ()):
        inside += {"link_open": 1, "link_close": -1}.get(child.type, 0)
        if child.type == "text" and not inside:
            words.append(child.content)
    assert not [w for w in words if re.search(r"://|www\.|@\w|\w\.example", w)], words  # a linkifier's prey
    return "".join(page.text), [attrs["href"] for tag, attrs in page.tags if tag == "a"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, embedder):
    library = make_library(tmp_path_factory.mktemp("hostile") / "home", embedder)
    source = tmp_path_factory.mktemp("articles") / "zorblax.md"
    source.write_text(HOSTILE)
    assert library.ingest([source]).added == 1
    return library


@pytest.mark.slow
def test_a_v1_answer_over_a_hostile_article_renders_safely(hostile):
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings
    from ui.server import create_app
    from ui.settings import ServeSettings

    port = free_port()
    app = create_app(pipeline=Pipeline(RagSettings(index=hostile.settings), library=hostile),
                     serve=ServeSettings(port=port), secret="s" * 24)
    request = {"model": "newsrag-extractive", "messages": [{"role": "user", "content": QUESTION}]}
    with serve_in_thread(app, port) as url, httpx.Client(base_url=url, timeout=120) as client:
        reply = client.post("/v1/chat/completions", json=request).json()
        with client.stream("POST", "/v1/chat/completions", json={**request, "stream": True}) as stream:
            chunks = [json.loads(line[6:]) for line in stream.iter_lines()
                      if line.startswith("data: {")]
    content = reply["choices"][0]["message"]["content"]
    answer = reply["newsrag"]
    assert answer["status"] == "answered" and "812 ferries" in answer["answer"]
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == content
    seen, links = assert_safe(content, server=url)
    # what the article says is shown, as text
    assert "[1](javascript:alert(2))" in seen and "<img src=x onerror=alert(3)>" in seen
    assert "![pixel](http://127.0.0.1:9/leak.png" in seen and "<script>alert(1)</script>" in seen
    assert "(click)(javascript:alert(1))" in seen  # the Sources block softens brackets
    assert "812 ferries" in seen and "$5 $" not in content  # dollars escaped, shown as such
    assert links == [f"{url}/articles/{c['article_id']}?start={c['start']}&end={c['end']}"
                     for c in answer["citations"]]  # one link per source: the sentence on this server


@pytest.mark.slow
def test_mcp_text_over_a_hostile_article_renders_safely(hostile):
    from helpers import session

    async def calls(client):
        asked = await client.call_tool("ask", {"question": QUESTION})
        found = await client.call_tool("search", {"query": "Zorblax harbour ferries", "top_k": 3})
        article = await client.call_tool("get_article", {
            "article_id": asked.structured_content["citations"][0]["article_id"]})
        return asked, found, article

    asked, found, article = anyio.run(session, hostile.settings.home, calls)
    assert asked.structured_content["status"] == "answered"
    for result in (asked, found, article):
        seen, _ = assert_safe(result.content[0].text, server=None)
        assert "<img src=x onerror=alert(3)>" in seen or "<img src=x onerror=alert(1)>" in seen
    assert article.structured_content["body"] in HOSTILE  # the data itself is untouched
