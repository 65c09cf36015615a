"""News as a stream, as ``newsrag serve`` runs it: the feeds and their poller, the scheduler that
polls them, and the watched questions answered again after every ingest (a poll or an upload)."""

from __future__ import annotations

import logging

from index.feeds import Feeds, Poller
from rag.pipeline import Pipeline
from rag.watches import Watches

log = logging.getLogger("newsrag.stream")


def story_resolver(library):
    """Article id -> its story id (itself when it has none, or is unknown)."""

    def story_of(article_id: str) -> str:
        record = library.catalog().articles.get(article_id)
        return (getattr(record, "story", None) or article_id) if record is not None else article_id

    return story_of


class Stream:
    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        home = pipeline.library.settings.home
        self.feeds = Feeds(home)
        self.watches = Watches(home)
        self.poller = Poller(pipeline.library)
        self.scheduler = None

    def check(self, wid: str) -> dict:
        return self.watches.check(wid, self.pipeline.ask, story_resolver(self.pipeline.library))

    def after_ingest(self, job: dict) -> None:
        """Every watch answered again; the ones that changed are logged."""
        for watch in self.watches.check_all(self.pipeline.ask, story_resolver(self.pipeline.library)):
            log.warning("watched question %s changed: %s", watch["id"], "; ".join(watch["history"][-1]["changes"]))

    def start(self, jobs, *, tick_seconds: float) -> None:
        from ui.scheduler import FeedScheduler

        self.scheduler = FeedScheduler(feeds=self.feeds, jobs=jobs, tick_seconds=tick_seconds).start()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.poller.close()
