"""The HTTP API (``/api/*``, ``/healthz``) and the article page (``/articles/{id}``).

``POST /api/ask`` returns exactly ``Answer.to_dict()`` — the JSON of ``newsrag ask --json`` — and
``POST /api/ask/stream`` the same answer as Server-Sent Events (``delta`` events, then one
``answer`` event), both from ``Pipeline.stream``. Every error leaves as
``{"error": message, "type": ClassName}`` with the status of ``NewsragError.http_status``.
"""

from __future__ import annotations

import itertools
import json
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, File, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware

from index.browse import ArticleQuery
from index.errors import ConfigError, NewsragError, NotFoundError
from index.store import ArticleRecord
from rag.filters import make_filters
from rag.pipeline import Pipeline
from rag.types import Turn
from ui import export, uploads, views
from ui.guard import Guard, GuardRules, Lockout, origin_of
from ui.jobs import Jobs
from ui.settings import ServeSettings

log = logging.getLogger("newsrag.api")

MAX_HISTORY = 20
ARTICLE_PAGE_HEADERS = {
    # The page needs no script at all: even a failure of escaping could not run one.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class AuthRequiredError(NewsragError):
    """No valid bearer token (API) or login (article page)."""

    http_status = 401


def unicode_text(value: str) -> str:
    """Text that is valid Unicode: JSON can carry a lone surrogate (``"\\ud800"``), which no
    tokenizer accepts."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid Unicode text (a lone surrogate at character {exc.start})") from None
    return value


Text = Annotated[str, AfterValidator(unicode_text)]


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    question: Text
    answer: Text = ""
    articles: list[Text] = Field(default_factory=list,
                                description="Ids of the articles that answer cited (a follow-up leans towards them).")


class AskRequest(BaseModel):
    """A question and the options of ``newsrag ask``."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"question": "How many drones were intercepted?"},
        {"question": "And over which regions?", "history": [{"question": "How many drones were intercepted?",
                                                             "answer": "55 ... [1] 64 ... [2]"}],
         "mode": "extractive", "top_k": 8, "source": ["Miami News, KMIA"], "since": "2023-01-01"}]})
    question: Text = Field(description="The question, at most 2000 characters.")
    history: list[TurnIn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    mode: Text | None = Field(None, description="extractive (default), openai, ollama or llamacpp.")
    top_k: int | None = Field(None, description="Passages given to the answerer, 1-50 (default 10).")
    source: list[Text] | Text | None = Field(None, description="Only these outlets (a list, or names "
                                                             "separated by '|').")
    since: Text | None = Field(None, description="Only articles published on or after YYYY-MM-DD.")
    until: Text | None = Field(None, description="Only articles published on or before YYYY-MM-DD.")

    def options(self) -> dict:
        if len(self.history) > MAX_HISTORY:
            raise ConfigError(f"history has {len(self.history)} turns; send at most the last {MAX_HISTORY}.")
        return {"history": [Turn(question=t.question, answer=t.answer, articles=tuple(t.articles))
                            for t in self.history],
                "mode": self.mode, "top_k": self.top_k,
                "filters": make_filters(sources=self.source, since=self.since, until=self.until)}


class ExchangeIn(BaseModel):
    model_config = ConfigDict(strict=True)  # other keys the chat stores (passages) are ignored
    question: Text
    answer: dict = Field(description="The answer object of /api/ask (Answer.to_dict()).")


class ConversationIn(BaseModel):
    """A conversation as the chat stores it: its title and its exchanges, oldest first."""

    model_config = ConfigDict(strict=True, json_schema_extra={"examples": [
        {"title": "Drones", "exchanges": [{"question": "How many drones were intercepted?",
                                          "answer": {"status": "answered", "answer": "...", "citations": []}}]}]})
    title: Text | None = Field(None, max_length=500)
    exchanges: list[ExchangeIn] = Field(max_length=200)


def error_body(exc: NewsragError) -> dict:
    return {"error": str(exc), "type": type(exc).__name__}


def error_response(exc: NewsragError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthRequiredError) else None
    return JSONResponse(error_body(exc), status_code=exc.http_status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Our errors, request validation and unknown routes all answer ``{"error", "type"}``."""

    @app.exception_handler(NewsragError)
    async def _ours(request: Request, exc: NewsragError):
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        return error_response(ConfigError("Invalid request: " + "; ".join(parts) + " (see /docs)."))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": str(exc.detail), "type": "HTTPError"}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))



class CatchAll:
    """A bug answers 500 ``{"error", "type": "InternalError"}`` and the server goes on. (A handler
    for ``Exception`` would not do: Starlette re-raises after it, and uvicorn then drops the
    client's keep-alive connection.)"""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracked(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = JSONResponse({"error": f"Internal error ({type(exc).__name__}); the server log has the "
                                              "traceback.", "type": "InternalError"}, status_code=500)
            await response(scope, receive, send)


RELEASE_READER = "newsrag.release_reader"  # in a request's scope: ends its hold as a reader (``Readers``)


class Readers:
    """Every HTTP request is a reader of the library (``Library.reading``) until its response is
    sent: a write of an upload job waits for it before its next batch. Without this, each step of
    a request that needs Python's interpreter (parsing it, the handler, sending the answer) could
    wait behind a batch that Chroma on disk writes holding it. A stream of events gives the
    library back as it starts (it lasts as long as its page is open); a handler that waits a long
    time (``GET /api/jobs/{id}?wait=``) gives it back itself (``scope[RELEASE_READER]()``)."""

    def __init__(self, app, *, library):
        self.app = app
        self.library = library

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.library.begin_reading()
        held = [True]
        lock = threading.Lock()  # released by the handler's thread or the event loop, once

        def release() -> None:
            with lock:
                if not held[0]:
                    return
                held[0] = False
            self.library.end_reading()

        async def send_released(message):
            if message["type"] == "http.response.start" and any(
                    k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                    for k, v in message.get("headers", ())):
                release()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()

        try:
            await self.app({**scope, RELEASE_READER: release}, receive, send_released)
        finally:
            release()


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_problem(request: Request) -> str:
    """Why a request's credentials are not the API token, in a few words."""
    if bearer(request):
        return "wrong bearer token"
    if request.headers.get("authorization"):
        return "an Authorization header that is not 'Bearer <token>'"
    return "no bearer token"


def token_ok(request: Request, expected: str | None) -> bool:
    given = bearer(request)
    return bool(expected and given and secrets.compare_digest(given.encode(), expected.encode()))


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def public_article(record: ArticleRecord, *, with_body: bool = False, stories: dict | None = None) -> dict:
    """An article as the API shows it: where it came from by file name, never a server path; its
    story (``index.stories``) with its members, the syndicated copies of it (``stories``: the
    catalog's, when known)."""
    data = record.to_dict(with_body=with_body)
    data["origins"] = [public_origin(o) for o in record.origins]
    members = (stories or {}).get(record.story_id) or [record]
    data["story"] = {"id": record.story_id, "size": len(members),
                     "members": [{"id": r.id, "title": r.display_title, "source": r.source,
                                  "published_at": r.published_at, "url": r.url} for r in members]}
    return data


def public_origin(origin: dict) -> dict:
    name = PurePath(origin.get("origin") or "").name
    key = name if origin.get("key") == origin.get("origin") else origin.get("key")
    return {"key": key, "origin": name, "title": origin.get("title"), "source": origin.get("source")}


def build_router(*, pipeline: Pipeline, serve: ServeSettings, jobs: Jobs,
                 session_user: Callable[[Request], str | None], exports: export.Exports, stream=None
                 ) -> tuple[APIRouter, APIRouter]:
    """The token-guarded ``/api`` routes and the others. ``session_user`` names the logged-in chat user of a request (Gradio's cookie), or None."""
    library = pipeline.library

    def require_token(request: Request, _: Annotated[object, Depends(HTTPBearer(auto_error=False))]) -> None:
        if serve.api_token is None or token_ok(request, serve.api_token):
            return
        raise AuthRequiredError(f"The API needs 'Authorization: Bearer <NEWSRAG_API_TOKEN>' "
                                f"({token_problem(request)}).")

    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
    root = APIRouter()

    @api.post("/ask", summary="Answer a question with cited sentences",
              response_description="Answer.to_dict(): the JSON of `newsrag ask --json`.")
    def ask(body: AskRequest) -> JSONResponse:
        answer = pipeline.ask(body.question, **body.options())
        return JSONResponse(answer.to_dict())

    @api.post("/ask/stream", summary="The same answer as Server-Sent Events",
              response_description="`event: delta` with {text} (concatenated they are the answer text), "
                                   "then one `event: answer` with Answer.to_dict(); `event: error` with "
                                   "{error, type} if it fails midway.")
    def ask_stream(body: AskRequest) -> StreamingResponse:
        events = pipeline.stream(body.question, **body.options())
        first = next(events)  # bad input fails here, with a proper status, before any byte is sent

        def sse() -> Iterator[str]:
            try:
                for event in itertools.chain([first], events):
                    if event.kind == "delta":
                        yield _sse("delta", {"text": event.text})
                    elif event.kind == "answer":
                        yield _sse("answer", event.answer.to_dict())
            except NewsragError as exc:
                yield _sse("error", error_body(exc))
            except Exception as exc:  # keep the server up; the client learns it failed
                log.exception("streaming an answer failed")
                yield _sse("error", {"error": f"Internal error ({type(exc).__name__}); the server log has the traceback.",
                                     "type": "InternalError"})

        return StreamingResponse(sse(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @api.get("/articles", summary="Indexed articles (without bodies): one page, searched and sorted",
             response_description="A list of articles; `X-Total-Count` says how many match, `Link` "
                                  "gives the next page.")
    def articles(request: Request,
                 q: Annotated[str | None, Query(description="Words that must all occur in the title, outlet "
                                                            "or text; each article then says where "
                                                            "(`match.fields`) and gives the sentence of its "
                                                            "text that matches best (`match.sentence`).")] = None,
                 source: Annotated[list[str] | None, Query(description="Only these outlets (repeat the "
                                                                       "parameter).")] = None,
                 since: Annotated[str | None, Query(description="Published on or after YYYY-MM-DD.")] = None,
                 until: Annotated[str | None, Query(description="Published on or before YYYY-MM-DD.")] = None,
                 sort: Annotated[str, Query(description="newest, oldest, title, or relevance (best match "
                                                        "first).")] = "newest",
                 offset: Annotated[int, Query(description="Articles to skip.")] = 0,
                 limit: Annotated[int, Query(description="Articles per page, 1-1000 (default 1000).")] = 1000
                 ) -> JSONResponse:
        page = library.browse(ArticleQuery.of(q=q, sources=source, since=since, until=until, sort=sort,
                                              offset=offset, limit=limit))
        headers = {"X-Total-Count": str(page.total)}
        if page.last < page.total:
            headers["Link"] = f'<{request.url.include_query_params(offset=page.last)}>; rel="next"'
        stories = library.catalog().stories
        return JSONResponse([{**public_article(r, stories=stories), **({"match": page.matches[r.id].to_dict()}
                                                                       if r.id in page.matches else {})}
                             for r in page.articles], headers=headers)

    @api.get("/library", summary="What the library holds: outlets with their articles and dates, the newest",
             response_description="{articles, outlets: [{name, articles, first, last, undated}] (most articles "
                                  "first), span: {first, last}, undated, without_outlet, newest: [articles]}.")
    def library_overview() -> JSONResponse:
        held = library.overview()
        data = held.to_dict()
        stories = library.catalog().stories
        data["newest"] = [public_article(r, stories=stories) for r in held.newest]
        return JSONResponse(data)

    @api.get("/articles/{article_id}", summary="One article with its body (or an earlier version of one)",
             response_description="The article, and `versions`: {number, previous: [ids], current: id of "
                                  "the indexed version or null}. An updated article's earlier version stays "
                                  "readable by its id, with `superseded_by` set.")
    def article(article_id: str) -> dict:
        return {**public_article(library.article(article_id), with_body=True, stories=library.catalog().stories),
                "versions": library.versions(article_id)}

    @api.post("/articles", status_code=202, summary="Upload article files; they are ingested in the background",
              response_description="The upload job (status `queued`); follow it at `GET /api/jobs/{id}`.")
    def upload(files: Annotated[list[UploadFile], File(description="One or more .txt, .md, .html, .json "
                                                                   "or .jsonl files.")]) -> JSONResponse:
        max_bytes = library.settings.max_file_bytes
        received = []
        for item in files:
            data = item.file.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise uploads.too_large(item.filename or "upload", item.size or len(data), max_bytes)
            received.append(uploads.Upload(item.filename or "upload.txt", data))
        job = jobs.submit(received, max_files=serve.max_upload_files)
        return JSONResponse(job, status_code=202, headers={"Location": f"/api/jobs/{job['id']}"})

    @api.get("/jobs/{job_id}", summary="An upload job: progress, then the result of every file",
             response_description="{id, status: queued|running|done|failed, progress: {articles_done, "
                                  "articles_total, chunks_done, chunks_total, sentences_done, sentences_total}, results: [{file, status, "
                                  "articles, failures}], report: the IngestReport, error}.")
    def job(request: Request, job_id: str,
            wait: Annotated[float, Query(ge=0, le=60, description="Wait up to this many seconds "
                                                                  "for the job to finish.")] = 0) -> dict:
        if wait:  # a caller waiting for its job is not a reader its job's writes should wait for
            request.scope.get(RELEASE_READER, lambda: None)()
        return jobs.get(job_id, wait=wait)

    @api.delete("/articles/{article_id}", summary="Remove an article, its chunks and its earlier versions")
    def remove(article_id: str) -> dict:
        record = library.remove(article_id)
        jobs.discard(uploads.origin_paths(library, record))
        return {"removed": public_article(record)}

    @api.post("/conversations/export", summary="A conversation as Markdown, with its citations",
              response_description="text/markdown: each question, its answer and every source (title, "
                                   "outlet, date, URL, link to the sentence here, the quoted sentence).")
    def export_conversation(body: ConversationIn, request: Request) -> Response:
        # POST, not GET: the conversation lives only in the browser (or the API client), so it is
        # sent here; with its citations it is far larger than a URL can carry. Nothing is stored.
        conversation = body.model_dump()
        text = export.conversation_markdown(conversation, base_url=str(request.base_url))
        name = export.file_name(conversation.get("title"))
        return Response(text, media_type="text/markdown; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    if stream is not None:  # /api/feeds and /api/watches (ui.feeds_api)
        from ui import feeds_api

        feeds_api.install(api, feeds=stream.feeds, watches=stream.watches, jobs=jobs, serve=serve,
                          min_every=library.settings.fetch.min_every, check_watch=stream.check,
                          authenticated=lambda r: bool(session_user(r) or token_ok(r, serve.api_token)))

    @api.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    def unknown(request: Request, path: str) -> None:
        # Without this, the chat mounted at / would answer unknown API paths in its own format.
        raise NotFoundError(f"No API route {request.method} /api/{path}: /docs lists them.")

    @root.get("/healthz", summary="Store reachable, and how much is indexed (to a caller with credentials)")
    def healthz(request: Request) -> JSONResponse:
        # with a login or token set, a caller without them (a load balancer) learns only up or down
        told = (serve.auth is None and serve.api_token is None) or bool(
            session_user(request) or token_ok(request, serve.api_token))
        try:
            library.store.ping()
            counts = library.store.counts()
        except NewsragError as exc:
            return JSONResponse({"status": "unavailable", **(error_body(exc) if told else {})}, status_code=503)
        return JSONResponse({"status": "ok", **(counts if told else {})})

    @root.get("/exports/{key}", include_in_schema=False)
    def exported(request: Request, key: str) -> Response:
        """The chat's export, once, to the session that asked for it; then it is gone."""
        found = exports.take(key, owner=session_user(request) if serve.auth else None)
        if found is None:
            raise NotFoundError("This export was already downloaded, has expired or is another session's: "
                                "click Export as Markdown again.")
        return Response(found.text, media_type="text/markdown; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{found.name}"', "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff"})

    @root.get("/articles/{article_id}", include_in_schema=False)
    def article_page(request: Request, article_id: str, start: int | None = Query(None),
                     end: int | None = Query(None)) -> HTMLResponse:
        def fail(exc: NewsragError) -> HTMLResponse:
            return HTMLResponse(views.error_page(str(exc)), status_code=exc.http_status,
                                headers=ARTICLE_PAGE_HEADERS)

        if serve.auth is not None and not (session_user(request) or token_ok(request, serve.api_token)):
            return fail(AuthRequiredError("Log in to the chat first (open / in this browser), then follow "
                                          "the citation again."))
        try:
            record = library.article(article_id)
        except NotFoundError:
            gone = library.removed(article_id)
            return HTMLResponse(views.missing_page(gone), status_code=410 if gone else 404,
                                headers=ARTICLE_PAGE_HEADERS)
        except NewsragError as exc:
            return fail(exc)
        body = record.body or ""
        if (start is None) != (end is None) or (start is not None and not 0 <= start <= end <= len(body)):
            return fail(ConfigError(f"start={start}, end={end} is not a range of this article: use "
                                    f"0 <= start <= end <= {len(body)}, or neither."))
        return HTMLResponse(views.article_page(record.to_dict(with_body=True), start, end,
                                               versions=library.versions(article_id)),
                            headers=ARTICLE_PAGE_HEADERS)

    return api, root


def install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` from files shipped in a package (``fastapi-offline``), never a CDN;
    without that package, a plain list of the endpoints and the link to ``/openapi.json``."""
    try:
        import fastapi_offline
    except ImportError:
        fastapi_offline = None

    if fastapi_offline is not None:
        from pathlib import Path

        from fastapi.staticfiles import StaticFiles

        static = Path(fastapi_offline.__file__).parent / "static"
        app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            return get_swagger_ui_html(openapi_url="openapi.json", title="newsrag HTTP API",
                                       swagger_js_url="docs-static/swagger-ui-bundle.js",
                                       swagger_css_url="docs-static/swagger-ui.css",
                                       swagger_favicon_url="docs-static/favicon.png")
        return

    @app.get("/docs", include_in_schema=False)
    def plain_docs() -> HTMLResponse:
        rows = "".join(f"<li><code>{views.esc(method.upper())} {views.esc(path)}</code> — "
                       f"{views.esc(op.get('summary', ''))}</li>"
                       for path, ops in app.openapi()["paths"].items() for method, op in ops.items())
        return HTMLResponse(views.page("newsrag HTTP API", f"<h1>newsrag HTTP API</h1><ul>{rows}</ul><p>The "
                                       'full OpenAPI description: <a href="openapi.json">openapi.json</a>.</p>'))


def install(app: FastAPI, *, pipeline: Pipeline, serve: ServeSettings, jobs: Jobs,
            session_user: Callable[[Request], str | None], lockout: Lockout,
            exports: export.Exports, stream=None) -> None:
    """Routes, error translation and the guard on ``app`` (before Gradio is mounted); ``lockout``
    is the one shared with the chat's login; ``stream`` (``ui.stream.Stream``): feeds and watches."""
    api, root = build_router(pipeline=pipeline, serve=serve, jobs=jobs, session_user=session_user,
                             exports=exports, stream=stream)

    def signed_in(request: Request) -> bool:
        return bool(session_user(request) or token_ok(request, serve.api_token))

    app.include_router(api)
    app.include_router(root)
    install_error_handlers(app)
    install_docs(app)
    # Our CORS policy, also for the mounted Gradio app (which then skips its own: that one echoed
    # any localhost Origin with Allow-Credentials): only NEWSRAG_CORS_ORIGINS, none by default.
    app.add_middleware(CORSMiddleware, allow_origins=list(serve.cors_origins), allow_credentials=True,
                       allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                       allow_headers=["authorization", "content-type"])
    app.add_middleware(CatchAll)
    app.add_middleware(Guard, rules=guard_rules(serve, max_file_bytes=pipeline.library.settings.max_file_bytes),
                       lockout=lockout, signed_in=signed_in if serve.auth else None)
    app.add_middleware(Readers, library=pipeline.library)  # outermost: the whole request, the guard's part too


UPLOAD_PATHS = frozenset({"/api/articles", "/gradio_api/upload"})
# With a login set, what answers a caller who has neither its session nor the API token: the login
# page and what it loads, /healthz (status only), and the routes that check credentials themselves
# and answer in their own format (the API's JSON 401, the article page's HTML one, an export's owner).
OPEN_PATHS = frozenset({"/", "/login", "/login/", "/logout", "/favicon.ico", "/theme.css", "/manifest.json",
                        "/robots.txt", "/healthz", "/gradio_api/login_check", "/gradio_api/login_check/"})
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/", "/api/", "/v1/", "/articles/", "/exports/")


def guard_rules(serve: ServeSettings, *, max_file_bytes: int) -> GuardRules:
    """The limits of every request: an upload may carry its files plus 1 MB of form overhead."""
    return GuardRules(allowed_hosts=serve.host_allowlist, max_body=serve.max_request_kb * 1024,
                      upload_paths=UPLOAD_PATHS,
                      max_upload_body=serve.max_upload_files * max_file_bytes + 1_000_000,
                      max_part=max_file_bytes, body_timeout=serve.body_timeout,
                      body_deadline=serve.body_deadline, trusted_proxies=serve.proxy_networks,
                      open_paths=OPEN_PATHS, open_prefixes=OPEN_PREFIXES,
                      allowed_origins=frozenset(filter(None, map(origin_of, serve.cors_origins))))
