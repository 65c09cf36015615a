"""The ingest progress bar of the command line (``newsrag ingest``, ``newsrag eval``): a tqdm bar
over chunks (rate in chunks/s, ETA) with the article count beside it, and the sentences read
while a long article is read before its passages are embedded."""

from __future__ import annotations

import sys


class ProgressBar:
    """Called with each ``index.ingest_plan.Progress``; nothing is drawn while there is nothing to embed."""

    def __init__(self, *, desc: str = "Embedding", enabled: bool = True):
        self.desc, self.enabled = desc, enabled
        self.bar = None

    def __call__(self, event) -> None:
        if not self.enabled or event.chunks_total == 0:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=event.chunks_total, unit="chunk", desc=self.desc, file=sys.stderr,
                            dynamic_ncols=True, smoothing=0.1)
        self.bar.update(event.chunks_done - self.bar.n)
        reading = f" · sentences {event.sentences_done:,}/{event.sentences_total:,}" if not event.chunks_done \
            and event.sentences_done else ""
        self.bar.set_postfix_str(f"articles {event.articles_done}/{event.articles_total}{reading}", refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
