"""``newsrag mcp``: the library as an MCP server over stdio, for desktop assistants.

Three tools, each answering with readable text for the assistant and the same JSON objects as the
HTTP API in ``structuredContent``:

- ``ask``: a question answered from the articles, with checked citations (``Answer.to_dict()``);
- ``search``: the passages retrieval finds for a query, each citable (article, outlet, date,
  offsets), without answering;
- ``get_article``: one article with its body.

Their text is safe to render as Markdown or HTML (``ui.render.escape_markdown``: article text
escaped, no image, no link). Errors of ours come back as tool errors with their one-line message. stdout carries the protocol
(the SDK sends anything else printed to stderr while it serves).
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING

from mcp_types import CallToolResult, TextContent  # the tools' return type (read by the SDK)

from index.errors import ConfigError, NewsragError
from rag.filters import make_filters
from rag.pipeline import MAX_QUESTION_CHARS
from ui.render import answer_markdown, escape_markdown

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

INSTRUCTIONS = ("newsrag answers questions from a library of news articles. `ask` answers with "
                "numbered citations of the exact sentences; every sentence is checked against its "
                "source, and 'The indexed articles do not answer this.' means the library lacks it. "
                "`search` lists matching passages without answering; `get_article` reads one article.")
MAX_SEARCH = 20


def _when(published_at: str | None) -> str:
    return (published_at or "")[:10] or "undated"


def build_server(pipeline: Pipeline) -> MCPServer:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer(name="newsrag", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING")

    def result(text: str, data: dict) -> CallToolResult:
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)

    @contextlib.contextmanager
    def as_tool_errors():
        try:
            yield
        except NewsragError as exc:
            raise ToolError(str(exc)) from exc

    @server.tool(description="Answer a question from the news articles, citing the exact sentences. Optional: "
                             "mode (extractive, openai, ollama, llamacpp), top_k passages (1-50), source (outlet "
                             "names), since/until (YYYY-MM-DD).")
    def ask(question: str, mode: str | None = None, top_k: int | None = None, source: list[str] | None = None,
            since: str | None = None, until: str | None = None) -> CallToolResult:
        with as_tool_errors():
            filters = make_filters(sources=source, since=since, until=until)
            answer = pipeline.ask(question, mode=mode, top_k=top_k, filters=filters)
        return result(answer_markdown(answer), answer.to_dict())

    @server.tool(description="Find the passages of the news articles that match a query, without answering: "
                             "each with its article id, title, outlet, date and character offsets. Optional: "
                             "top_k (1-20, default 5), source (outlet names), since/until (YYYY-MM-DD).")
    def search(query: str, top_k: int = 5, source: list[str] | None = None, since: str | None = None,
               until: str | None = None) -> CallToolResult:
        with as_tool_errors():
            query = query.strip()
            if not query:
                raise ConfigError("The query is empty: give words to look for.")
            if len(query) > MAX_QUESTION_CHARS:
                raise ConfigError(f"The query is {len(query)} characters long; the limit is {MAX_QUESTION_CHARS}.")
            if not 1 <= top_k <= MAX_SEARCH:
                raise ConfigError(f"top_k={top_k} must be between 1 and {MAX_SEARCH}.")
            filters = make_filters(sources=source, since=since, until=until)
            passages = pipeline.retriever.retrieve(query, k=top_k, filters=filters)
        found = [{"n": n, **p.to_dict()} for n, p in enumerate(passages, start=1)]
        lines = [f"[{p['n']}] {escape_markdown(p['title'])} — {escape_markdown(p['source'] or 'unknown outlet')}, "
                 f"{_when(p['published_at'])} (article {p['article_id']}, characters {p['start']}-{p['end']})\n"
                 f"{escape_markdown(' '.join(p['text'].split()))}" for p in found]
        text = "\n\n".join(lines) if lines else "No passage matches."
        return result(text, {"query": query, "passages": found, "filters": filters.to_dict()})

    @server.tool(description="Read one news article (its id comes from `ask` citations or `search`).")
    def get_article(article_id: str) -> CallToolResult:
        with as_tool_errors():
            record = pipeline.library.article(article_id).to_dict(with_body=True)
        meta = " · ".join(escape_markdown(x) for x in (", ".join(record.get("sources") or []),
                                                       record.get("published_at"), record.get("author"),
                                                       record.get("url")) if x)
        return result(f"{escape_markdown(record['display_title'])}\n{meta}\n\n"
                      f"{escape_markdown(record.get('body') or '')}", record)

    return server


def run(rag_settings: RagSettings) -> int:
    from index.offline import stay_offline
    from rag.pipeline import Pipeline

    stay_offline()
    with contextlib.redirect_stdout(sys.stderr):  # stdout is the protocol's
        pipeline = Pipeline(rag_settings)
    build_server(pipeline).run("stdio")
    return 0
