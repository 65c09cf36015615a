"""newsrag as a model for other chat clients: OpenAI-compatible ``GET /v1/models`` and
``POST /v1/chat/completions`` (streaming and not).

The ``model`` field picks the answering mode: ``newsrag-extractive``, ``newsrag-openai``,
``newsrag-ollama``, ``newsrag-llamacpp``, or ``newsrag`` for the server's default. The last message
is the question; earlier user/assistant pairs are the conversation; system messages are ignored
(newsrag answers only from the articles, with its own instructions). The reply's text keeps its
``[n]`` markers and ends with a Markdown "Sources" block for clients that show only text; the full
answer object (citations, conflicts, sentence verdicts, refusal) rides in the extra field
``newsrag``, in the last chunk when streaming. The text is safe to render as Markdown or HTML
(``ui.render``: article text escaped, no image, the only links to this server). Optional extra fields ``top_k``, ``source``,
``since`` and ``until`` filter as in ``/api/ask``.

Same bearer-token rule as ``/api`` (the client's API key is ``NEWSRAG_API_TOKEN`` when that is
set). Errors have OpenAI's shape, ``{"error": {"message", "type", "param", "code"}}``, so OpenAI
clients raise their usual exceptions. Every request is bounded: body size, number and length of
messages, the question's length (the pipeline's), and the LLM's time (``NEWSRAG_LLM_TIMEOUT``).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from index.errors import ConfigError, NewsragError, NotFoundError, TooLargeError
from rag.answerers import ANSWERERS
from rag.filters import make_filters
from rag.pipeline import Pipeline
from rag.types import Answer, Turn
from ui.api import AuthRequiredError, token_ok, token_problem
from ui.render import MarkdownText, answer_markdown, sources_markdown
from ui.settings import ServeSettings

log = logging.getLogger("newsrag.openai_api")

PREFIX = "newsrag"
MAX_BODY_BYTES = 1_000_000
MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 20_000
MAX_TURNS = 20  # earlier exchanges read as the conversation (the most recent ones)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self, index: int) -> str:
        if self.content is None or isinstance(self.content, str):
            text = self.content or ""
        else:
            other = [p.type for p in self.content if p.type != "text"]
            if other:
                raise ConfigError(f"messages[{index}] has a {other[0]!r} part: only text content is supported.")
            text = "\n".join(p.text or "" for p in self.content)
        if len(text) > MAX_MESSAGE_CHARS:
            raise ConfigError(f"messages[{index}].content is {len(text)} characters long; the limit is "
                              f"{MAX_MESSAGE_CHARS}.")
        return text


class ChatRequest(BaseModel):
    """The fields newsrag reads; any other OpenAI field (temperature, max_tokens, ...) is accepted
    and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    n: int = 1
    top_k: int | None = None
    source: list[str] | str | None = None
    since: str | None = None
    until: str | None = None


def model_ids() -> list[str]:
    return [PREFIX] + [f"{PREFIX}-{mode}" for mode in ANSWERERS]


def mode_of(model: str, default_mode: str) -> str:
    if model == PREFIX:
        return default_mode
    mode = model.removeprefix(f"{PREFIX}-")
    if not model.startswith(f"{PREFIX}-") or mode not in ANSWERERS:
        raise NotFoundError(f"The model {model!r} does not exist: use one of "
                            f"{', '.join(model_ids())} (GET /v1/models).")
    return mode


def conversation(messages: list[Message]) -> tuple[str, list[Turn]]:
    """The question (the last message, the user's) and the earlier exchanges."""
    if len(messages) > MAX_MESSAGES:
        raise ConfigError(f"{len(messages)} messages; at most {MAX_MESSAGES} are accepted.")
    texts = [(m.role, m.text(i)) for i, m in enumerate(messages)]
    role, question = texts[-1]
    if role != "user":
        raise ConfigError(f"The last message is the {role}'s: the last message must be the user's question.")
    turns: list[Turn] = []
    asked: str | None = None
    for role, text in texts[:-1]:
        if role == "user":
            asked = text
        elif role == "assistant" and asked is not None:
            turns.append(Turn(question=asked, answer=text.split("\n\n**Sources**")[0]))
            asked = None
    return question, turns[-MAX_TURNS:]


def openai_error(exc: NewsragError) -> JSONResponse:
    status = exc.http_status
    kind = ("authentication_error" if status == 401 else "not_found_error" if status == 404
            else "invalid_request_error" if status < 500 else "server_error")
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"message": str(exc), "type": kind, "param": None, "code": type(exc).__name__}}
    return JSONResponse(body, status_code=status, headers=headers)


async def read_json(request: Request) -> object:
    """The body, read up to ``MAX_BODY_BYTES`` (a longer one is refused before it is all read)."""
    data = bytearray()
    async for piece in request.stream():
        data += piece
        if len(data) > MAX_BODY_BYTES:
            raise TooLargeError(f"The request body is over {MAX_BODY_BYTES // 1000} kB: send fewer or shorter "
                                "messages.")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ConfigError(f"The request body is not JSON ({exc}).") from None
    except RecursionError:
        raise ConfigError("The request body nests too deeply: send a flat chat request.") from None


def _invalid(exc: ValidationError) -> ConfigError:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ())) or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return ConfigError("Invalid request: " + "; ".join(parts[:3]) + ".")


def build_router(*, pipeline: Pipeline, serve: ServeSettings) -> APIRouter:
    router = APIRouter(prefix="/v1", include_in_schema=True, tags=["OpenAI-compatible"])
    default_mode = pipeline.settings.mode

    def check_token(request: Request) -> None:
        if serve.api_token is not None and not token_ok(request, serve.api_token):
            raise AuthRequiredError("Use NEWSRAG_API_TOKEN as the API key ('Authorization: Bearer ...'; "
                                    f"{token_problem(request)}).")

    @router.get("/models", summary="The answering modes, as OpenAI models")
    def models(request: Request) -> JSONResponse:
        try:
            check_token(request)
        except NewsragError as exc:
            return openai_error(exc)
        return JSONResponse({"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "newsrag"} for name in model_ids()]})

    @router.post("/chat/completions", summary="Answer the last user message from the articles (OpenAI format)")
    async def chat(request: Request):
        try:
            check_token(request)
            try:
                body = ChatRequest.model_validate(await read_json(request))
            except ValidationError as exc:
                raise _invalid(exc) from None
            if body.n != 1:
                raise ConfigError(f"n={body.n}: newsrag gives one answer per request (n=1).")
            mode = mode_of(body.model, default_mode)
            question, history = conversation(body.messages)
            options = {"history": history, "mode": mode, "top_k": body.top_k,
                       "filters": make_filters(sources=body.source, since=body.since, until=body.until)}
            base = str(request.base_url)
            if not body.stream:
                answer = await run_in_threadpool(pipeline.ask, question, **options)
                return JSONResponse(completion(answer, body.model, base))
            events = pipeline.stream(question, **options)
            first = await run_in_threadpool(next, events)  # bad input fails here, with its status
        except NewsragError as exc:
            return openai_error(exc)
        return StreamingResponse(chunks(itertools.chain([first], events), body.model, base),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(request: Request, path: str) -> JSONResponse:
        return openai_error(NotFoundError(f"No route {request.method} /v1/{path}: newsrag serves GET /v1/models "
                                          "and POST /v1/chat/completions."))

    return router


def completion(answer: Answer, model: str, base_url: str) -> dict:
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": answer_markdown(answer, base_url)}}],
            "newsrag": answer.to_dict()}


def chunks(events: Iterator, model: str, base_url: str) -> Iterator[str]:
    """Server-Sent Events in the shape of OpenAI's ``chat.completion.chunk``."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model}

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        data = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    yield event({"role": "assistant", "content": ""})
    text = MarkdownText()  # the same escaped text as answer_markdown's, a whole word at a time
    try:
        for item in events:
            if item.kind == "delta":
                piece = text.feed(item.text)
                if piece:
                    yield event({"content": piece})
            elif item.kind == "answer":
                yield event({"content": text.flush() + sources_markdown(item.answer, base_url)})
                yield event({}, "stop", newsrag=item.answer.to_dict())
    except NewsragError as exc:
        yield f"data: {json.dumps(json.loads(openai_error(exc).body))}\n\n"
    except Exception as exc:  # keep the server up; the client learns it failed
        log.exception("streaming a chat completion failed")
        yield "data: " + json.dumps({"error": {"message": f"Internal error ({type(exc).__name__}); the server log has the traceback.",
                                               "type": "server_error", "param": None, "code": "InternalError"}}) + "\n\n"
    yield "data: [DONE]\n\n"


def install(app: FastAPI, *, pipeline: Pipeline, serve: ServeSettings) -> None:
    app.include_router(build_router(pipeline=pipeline, serve=serve))
