"""``/api/feeds`` and ``/api/watches``: feeds polled into the library, watched questions and the
Atom feed of their changes. Installed on the token-guarded ``/api`` router by ``ui.api``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from index.errors import NewsragError
from index.feeds import DEFAULT_EVERY, Feeds, parse_every, public_feed
from rag.watches import Watches, atom, public_watch
from ui.jobs import Jobs
from ui.settings import ServeSettings, is_loopback


def _text(value: str) -> str:
    value.encode("utf-8")  # a lone surrogate fails here, as a validation error
    return value


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"url": "https://example.org/rss.xml", "every": "30m", "name": "Example News"}]})
    url: Annotated[str, AfterValidator(_text)] = Field(max_length=2000, description="The feed's http(s) URL.")
    every: str | int | None = Field(None, description="Interval: 30m, 2h, 1d, 90s (a bare number is minutes).")
    name: Annotated[str, AfterValidator(_text)] | None = Field(None, max_length=200)


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"question": "How many drones were intercepted?"}]})
    question: Annotated[str, AfterValidator(_text)] = Field(max_length=2000)


class NotAllowedError(NewsragError):
    http_status = 401


def install(api: APIRouter, *, feeds: Feeds, watches: Watches, jobs: Jobs, serve: ServeSettings,
            min_every: float, check_watch: Callable[[str], dict],
            authenticated: Callable[[Request], bool]) -> None:
    """Routes on ``api`` (before its catch-all). ``check_watch(id)`` answers a watch again;
    ``authenticated(request)``: a valid token or a logged-in chat user."""

    @api.get("/feeds", summary="Feeds polled into the library",
             response_description="Each feed: id, url, name, every (s), last_poll, next_poll, status "
                                  "(new|ok|failed), last: {new, updated, unchanged, failed, not_modified, errors}, "
                                  "totals, last_error.")
    def list_feeds() -> list[dict]:
        return [public_feed(f) for f in feeds.all()]

    @api.post("/feeds", status_code=201, summary="Add a feed (RSS, Atom, JSON Feed, sitemap); its first poll is queued",
              response_description="{feed, job}: the feed and the job of its first poll (GET /api/jobs/{id}).")
    def add_feed(body: FeedIn, request: Request) -> JSONResponse:
        if not is_loopback(serve.host) and not authenticated(request):
            raise NotAllowedError("Adding a feed on a server others can reach needs a login or the API token.")
        every = parse_every(body.every if body.every is not None else DEFAULT_EVERY, minimum=min_every)
        feed = feeds.add(body.url, every=every, name=body.name)
        job = jobs.submit_feed(feed["id"])
        return JSONResponse({"feed": public_feed(feed), "job": job}, status_code=201,
                            headers={"Location": f"/api/feeds/{feed['id']}"})

    @api.get("/feeds/{fid}", summary="One feed and the result of its last poll")
    def get_feed(fid: str) -> dict:
        return public_feed(feeds.get(fid))

    @api.delete("/feeds/{fid}", summary="Stop polling a feed (its articles stay in the library)")
    def remove_feed(fid: str) -> dict:
        return {"removed": public_feed(feeds.remove(fid))}

    @api.post("/feeds/{fid}/poll", status_code=202, summary="Poll a feed now",
              response_description="The poll's job: GET /api/jobs/{id} gives its result.")
    def poll_feed(fid: str) -> JSONResponse:
        feeds.get(fid)
        job = jobs.submit_feed(fid)
        return JSONResponse(job, status_code=202, headers={"Location": f"/api/jobs/{job['id']}"})

    @api.get("/watches", summary="Watched questions, each with its latest answer and whether it changed")
    def list_watches() -> list[dict]:
        return [public_watch(w) for w in watches.all()]

    @api.post("/watches", status_code=201, summary="Watch a question: answered now and after every ingest",
              response_description="The watch with its first answer.")
    def add_watch(body: WatchIn) -> JSONResponse:
        watch = watches.add(body.question)
        watch = check_watch(watch["id"]) if not watch["history"] else watch
        return JSONResponse(public_watch(watch), status_code=201, headers={"Location": f"/api/watches/{watch['id']}"})

    @api.get("/watches/feed.atom", summary="The changes of every watched question as an Atom feed",
             response_class=Response)
    def watches_atom(request: Request) -> Response:
        return Response(atom(watches.all(), base_url=str(request.base_url)),
                        media_type="application/atom+xml; charset=utf-8")

    @api.get("/watches/{wid}", summary="A watched question and the history of its answers",
             response_description="The watch and `history`: [{at, answer, status, direct, changes, citations, "
                                  "outlets, conflicts}], oldest first; `changes` says what changed.")
    def get_watch(wid: str) -> dict:
        return public_watch(watches.get(wid), history=True)

    @api.post("/watches/{wid}/seen", summary="Mark the latest change of a watch as seen")
    def seen_watch(wid: str) -> dict:
        return public_watch(watches.seen(wid))

    @api.delete("/watches/{wid}", summary="Stop watching a question")
    def remove_watch(wid: str) -> dict:
        return {"removed": public_watch(watches.remove(wid))}
