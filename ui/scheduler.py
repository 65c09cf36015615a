"""The feed scheduler of ``newsrag serve``: APScheduler runs one job, ``tick``, on one worker
thread; each tick queues a poll (an ``ui.jobs`` job, the upload queue's one worker) for every
feed that is due. The schedule itself is the feeds' ``next_poll`` under the home (``index.feeds``),
so it survives restarts; the lease taken by each poll keeps two servers on one store from polling
the same feed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from index.errors import NewsragError
from index.feeds import Feeds
from ui.jobs import Jobs

log = logging.getLogger("newsrag.scheduler")


class FeedScheduler:
    def __init__(self, *, feeds: Feeds, jobs: Jobs, tick_seconds: float):
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.feeds = feeds
        self.jobs = jobs
        self.tick_seconds = tick_seconds
        self._scheduler = BackgroundScheduler(
            timezone=UTC, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None})

    def start(self) -> FeedScheduler:
        self._scheduler.add_job(self.tick, "interval", seconds=self.tick_seconds, id="newsrag-feeds",
                                next_run_time=datetime.now(UTC))
        self._scheduler.start()
        return self

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def tick(self) -> list[str]:
        """Queue a poll of every feed due now; returns their ids."""
        queued = []
        try:
            for feed in self.feeds.due():
                self.jobs.submit_feed(feed["id"], scheduled=True)
                queued.append(feed["id"])
        except NewsragError as exc:
            log.warning("feeds not polled: %s", exc)
        except Exception:  # the scheduler keeps ticking
            log.exception("the feed scheduler's tick failed")
        return queued
