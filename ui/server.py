"""``newsrag serve``: one FastAPI app — the HTTP API, the article pages and the Gradio chat at ``/``.

``create_app`` builds it around one shared ``Pipeline`` (thread-safe; tests run it in uvicorn on a
free port); ``serve`` checks the settings before importing anything heavy, warms the index and
the embedding model up so the first question is not slow, and runs uvicorn. Nothing calls home:
Gradio analytics are off, no share link, no run history, no server-side rendering process, and
the theme uses the system fonts.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index.errors import ConfigError, NewsragError
from index.offline import stay_offline
from ui.settings import ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI, Request

    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

log = logging.getLogger("newsrag.server")

LOGIN_MESSAGE = ("Welcome to newsrag: ask questions of the news articles and check every answer against "
                 "its sources. Log in with the user name and password you were given.")


def private_temp(home: Path) -> Path:
    """This process's temporary folder, ``<home>/tmp/<pid>`` (mode 0700), made the folder of
    Python's ``tempfile`` and of Gradio's uploads and cache (``GRADIO_TEMP_DIR``): nothing of the
    server's goes to the shared /tmp. Folders of processes that no longer run are removed first
    (a server killed with ``kill -9`` never cleans up after itself); ``serve`` removes its own
    at exit. Called before Gradio is imported: it reads the variable once."""
    import tempfile

    root = home / "tmp"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.name.isdigit() and int(old.name) != os.getpid() and not _running(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    mine = root / str(os.getpid())
    mine.mkdir(mode=0o700, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(mine / "gradio")
    os.environ["TMPDIR"] = str(mine)
    tempfile.tempdir = str(mine)
    return mine


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def browser_secret(home: Path) -> str:
    """The key that encrypts conversations in the browser; kept in the data directory so they
    survive a server restart (a fresh random key when the directory is not writable)."""
    path = home / "ui-secret"
    try:
        if path.is_file():
            value = path.read_text().strip()
            if len(value) >= 16:
                return value
        home.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(24)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        return value
    except OSError:
        return secrets.token_urlsafe(24)


def _session_reader(app: FastAPI) -> Callable[[Request], str | None]:
    """Who is logged in to the mounted Gradio app (its login cookie), for the article pages."""

    def user(request: Request) -> str | None:
        gradio_app = getattr(app.state, "gradio", None)
        if gradio_app is None:
            return None
        cookie_id = gradio_app.cookie_id
        token = (request.cookies.get(f"access-token-{cookie_id}")
                 or request.cookies.get(f"access-token-unsecure-{cookie_id}"))
        return gradio_app.tokens.get(token) if token else None

    return user


def create_app(*, pipeline: Pipeline, serve: ServeSettings, secret: str | None = None) -> FastAPI:
    stay_offline()
    import gradio as gr
    from fastapi import FastAPI
    from starlette.routing import Mount

    from ui import api, openai_api
    from ui.app import CSS_PATH, build_blocks, theme
    from ui.export import Exports
    from ui.guard import Lockout, password_check

    app = FastAPI(title="newsrag", version="0.1.0", docs_url=None, redoc_url=None,
                  description="Ask questions of news articles; every answer cites the sentences it rests "
                              "on. Errors are `{\"error\": message, \"type\": ClassName}`.")
    from ui.jobs import Jobs
    from ui.stream import Stream

    stream = Stream(pipeline)  # feeds, their scheduler, watched questions
    jobs = Jobs(pipeline.library, poller=stream.poller, after_ingest=stream.after_ingest)
    lockout = Lockout()  # one for the login, bearer tokens and any other Authorization header
    exports = Exports()  # the chat's exports, in memory until their one download
    api.install(app, pipeline=pipeline, serve=serve, jobs=jobs, session_user=_session_reader(app),
                lockout=lockout, exports=exports, stream=stream)
    openai_api.install(app, pipeline=pipeline, serve=serve)  # /v1: newsrag as a model for chat clients
    blocks = build_blocks(pipeline=pipeline, serve=serve, jobs=jobs, exports=exports, stream=stream,
                          secret=secret or browser_secret(pipeline.library.settings.home))
    gr.mount_gradio_app(
        app, blocks, path="/", auth=password_check(serve.auth, lockout) if serve.auth else None,
        auth_message=LOGIN_MESSAGE, ssr_mode=False,
        footer_links=[], run_history=False, max_file_size=pipeline.library.settings.max_file_bytes,
        theme=theme(), css=CSS_PATH.read_text(), enable_monitoring=False, pwa=False, mcp_server=False,
        show_error=True, server_name=serve.host, server_port=serve.port)
    # A mounted Blocks never "launches", and Gradio skips its own file checks until it has: any
    # FileData path sent to /gradio_api/call/... (say /etc/passwd) would be copied into its cache
    # and handed to our upload function. Mounted is launched; only the user's uploads pass now.
    blocks.has_launched = True
    app.state.gradio = next(r.app for r in app.routes if isinstance(r, Mount) and hasattr(r.app, "tokens"))
    app.state.jobs = jobs
    app.state.exports = exports
    app.state.stream = stream
    jobs.start()  # uploads and polls left unfinished by the last run go first
    if serve.poll_feeds:
        stream.start(jobs, tick_seconds=max(1.0, min(15.0, pipeline.library.settings.fetch.min_every / 2)))
    return app


def warm_up(pipeline: Pipeline) -> str:
    """Open the store, load the BM25 index and the embedding model; a one-line status."""
    started = time.perf_counter()
    try:
        catalog, _ = pipeline.library.search_index()
        _ = pipeline.library.embedder.dimension  # loads the model
    except NewsragError as exc:
        return f"warning: {exc}"
    n = len(catalog.articles)
    hint = "" if n else " — add some in the Library tab or with `newsrag ingest data/articles`"
    return (f"{n} article{'s' if n != 1 else ''} indexed in {pipeline.library.where}{hint} "
            f"(ready in {time.perf_counter() - started:.1f} s)")


def check_port(host: str, port: int) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host!r} cannot be resolved ({exc.strerror}): use an address such as "
                          "127.0.0.1.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"Cannot listen on {host}:{port} ({exc.strerror}): stop the other server or "
                              f"pass another --port, e.g. --port {port + 1}.") from None


def serve(rag_settings: RagSettings, *, host: str, port: int) -> int:
    settings = ServeSettings.from_env(host=host, port=port)  # refuses a bad or unsafe setup first
    check_port(settings.host, settings.port)
    stay_offline()
    handler = logging.StreamHandler()
    handler.setLevel(logging.WARNING)  # on the handler: bm25s sets its own logger to DEBUG on import
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    temp = private_temp(rag_settings.index.home)
    import uvicorn

    from rag.pipeline import Pipeline

    pipeline = Pipeline(rag_settings)
    print(f"newsrag: {warm_up(pipeline)}", file=sys.stderr)
    app = create_app(pipeline=pipeline, serve=settings)
    access = "login required (NEWSRAG_AUTH)" if settings.auth else "no login (this machine only)"
    token = ", API token required" if settings.api_token else ""
    print(f"newsrag: chat on {settings.url}/ · API docs {settings.url}/docs · {access}{token}",
          file=sys.stderr, flush=True)
    config = uvicorn.Config(app, **uvicorn_options(settings))
    try:
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl-C it handled
            uvicorn.Server(config).run()  # stops on Ctrl-C or SIGTERM after the requests in flight
        return stop(app, temp)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def uvicorn_options(settings: ServeSettings) -> dict:
    """uvicorn reads no forwarded header: the guard reads them, only from NEWSRAG_TRUSTED_PROXIES
    (uvicorn's own default trusts X-Forwarded-For from 127.0.0.1, which would let any local
    process, or a proxy passing the header through, pick the address a failed login counts on)."""
    return {"host": settings.host, "port": settings.port, "log_level": "warning",
            "timeout_graceful_shutdown": GRACE_SECONDS, "proxy_headers": False, "forwarded_allow_ips": ""}


GRACE_SECONDS = 4  # for requests in flight, then up to JOB_STOP_SECONDS for the upload job: < 10 s
JOB_STOP_SECONDS = 4


def stop(app: FastAPI, temp: Path) -> int:
    """Stop the upload worker between two articles; if it is deep in one (chunking a huge file),
    leave without it: the index is crash-safe and the job resumes at the next start."""
    app.state.stream.stop()
    if app.state.jobs.stop(JOB_STOP_SECONDS):
        print("newsrag: stopped.", file=sys.stderr, flush=True)
        return 0
    shutil.rmtree(temp, ignore_errors=True)
    print("newsrag: stopped; the running upload job resumes at the next start.", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(0)
