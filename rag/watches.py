"""Watched questions: a saved question answered again after every ingest, and a change recorded
when its answer differs in what matters.

What matters (``snapshot``): the answer's status, the values of its answer line (a figure, a
name), its conflicts, the outlets and the stories it cites. A change (``changes``) is a refusal
turned into an answer, a new value in the answer line, a new conflict, a new outlet or a new story
cited; a reworded sentence, a new citation from an outlet and story already cited, or an article
that is not cited at all changes nothing.

A watch is a JSON file under ``<home>/watches/<id>.json`` (written whole, atomically): the
question, its history of answers (the first, and each that changed), and whether a change is
unseen. ``atom`` renders the changes of every watch as an Atom feed.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

from index.errors import ConfigError, NewsragError, NotFoundError
from index.records import Records
from rag.types import ANSWERED, REFUSED, Answer

MAX_WATCHES = 200
MAX_HISTORY = 50
MAX_QUESTION = 2000


def snapshot(answer: Answer, story_of: Callable[[str], str] = lambda a: a) -> dict:
    """What matters in an answer, as plain data."""
    outlets, stories = set(), {}
    for c in answer.citations:
        for loc in (c.location, *c.also):
            if loc.source:
                outlets.add(loc.source)
            stories.setdefault(story_of(loc.article_id), loc.title)
    return {"status": answer.status,
            "values": [v for v, _ in answer.direct.values] if answer.direct else [],
            # each conflict by the values in it (its note also names citation numbers, which move)
            "conflicts": {" / ".join(sorted(_norm(x.text) for x in c.claims)): c.note for c in answer.conflicts},
            "outlets": sorted(outlets), "stories": stories}


def changes(before: dict | None, after: dict) -> list[str]:
    """Why ``after`` differs from ``before`` in what matters (empty: it does not)."""
    if before is None:
        return []
    found = []
    if before["status"] == REFUSED and after["status"] == ANSWERED:
        found.append("answered now (the articles did not answer it before)")
    if after["status"] != ANSWERED:
        return found
    old = {_norm(v) for v in before["values"]}
    found += [f"new in the answer line: {v}" for v in after["values"] if _norm(v) not in old]
    found += [f"new conflict: {note}" for key, note in after["conflicts"].items() if key not in before["conflicts"]]
    found += [f"new outlet cited: {o}" for o in after["outlets"] if o not in set(before["outlets"])]
    found += [f"new story cited: {title}" for sid, title in after["stories"].items() if sid not in before["stories"]]
    return found


def _norm(value: str) -> str:
    return re.sub(r"\W+", " ", value).strip().casefold()


class Watches(Records):
    """The watched questions of one data directory."""

    def __init__(self, home: Path):
        super().__init__(Path(home) / "watches", prefix="w", what="watched question",
                         listed="`newsrag watch list`", order="created_at")

    def add(self, question: str) -> dict:
        question = " ".join((question or "").split())
        if not question:
            raise ConfigError("The question to watch is empty: give the question, e.g. "
                              "`newsrag watch add \"How many drones were intercepted?\"`.")
        if len(question) > MAX_QUESTION:
            raise ConfigError(f"The question is {len(question)} characters long; the limit is {MAX_QUESTION}.")
        with self.locked():
            existing = [w for w in self.all() if w["question"] == question]
            if existing:
                return existing[0]
            if len(self.all()) >= MAX_WATCHES:
                raise ConfigError(f"{MAX_WATCHES} questions are watched already: remove one first "
                                  "(`newsrag watch remove ID`).")
            watch = {"id": "w" + secrets.token_hex(6), "question": question, "created_at": time.time(),
                     "changed": False, "last_change": None, "checked_at": None, "history": [], "error": None}
            self.write(watch)
            return watch

    def seen(self, wid: str) -> dict:
        """The user has seen the latest change."""
        with self.locked():
            watch = self.get(wid)
            watch["changed"] = False
            self.write(watch)
            return watch

    def check(self, wid: str, ask: Callable[[str], Answer], story_of: Callable[[str], str] = lambda a: a) -> dict:
        """Answer one watch again; record the answer when it is the first or what matters changed."""
        watch = self.get(wid)
        now = time.time()
        try:
            answer = ask(watch["question"])
        except NewsragError as exc:
            message = str(exc)
            return self.update(wid, lambda w: w.update(error=message, checked_at=now))
        snap = snapshot(answer, story_of)
        last = watch["history"][-1]["snapshot"] if watch["history"] else None
        found = changes(last, snap)
        if last is not None and not found:
            return self.update(wid, lambda w: w.update(error=None, checked_at=now))
        entry = {"at": now, "snapshot": snap, "answer": answer.answer, "status": answer.status,
                 "direct": answer.direct.text if answer.direct else None, "changes": found,
                 "citations": [{"n": c.n, "article_id": c.location.article_id, "title": c.location.title,
                                "source": c.location.source, "published_at": c.location.published_at,
                                "quote": c.quote} for c in answer.citations]}

        def record(w: dict) -> None:
            w["history"] = (w["history"] + [entry])[-MAX_HISTORY:]
            w.update(error=None, checked_at=now)
            if found:
                w.update(changed=True, last_change=now)

        return self.update(wid, record)

    def check_all(self, ask: Callable[[str], Answer], story_of: Callable[[str], str] = lambda a: a) -> list[dict]:
        """Answer every watch again; returns those that changed now."""
        changed = []
        for watch in self.all():
            with contextlib.suppress(NotFoundError):  # removed meanwhile
                after = self.check(watch["id"], ask, story_of)
                if after["last_change"] and after["last_change"] != watch["last_change"]:
                    changed.append(after)
        return changed


def public_watch(watch: dict, *, history: bool = False) -> dict:
    latest = watch["history"][-1] if watch["history"] else None
    data = {"id": watch["id"], "question": watch["question"], "created_at": watch["created_at"],
            "changed": watch["changed"], "last_change": watch["last_change"], "checked_at": watch["checked_at"],
            "error": watch["error"], "answer": latest["answer"] if latest else None,
            "status": latest["status"] if latest else None, "direct": latest["direct"] if latest else None,
            "changes": latest["changes"] if latest else []}
    if history:
        data["history"] = [{k: v for k, v in h.items() if k != "snapshot"} | {"outlets": h["snapshot"]["outlets"],
                            "conflicts": list(h["snapshot"]["conflicts"].values())} for h in watch["history"]]
    return data


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def atom(watches: list[dict], *, base_url: str) -> str:
    """The changes of every watched question as an Atom 1.0 feed, newest first."""
    entries = []
    for w in watches:
        for h in w["history"]:
            if h["changes"]:
                entries.append((h["at"], w, h))
    entries.sort(key=lambda item: -item[0])
    updated = _stamp(entries[0][0] if entries else 0)
    base = base_url.rstrip("/")
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
             "<title>newsrag: changes to watched questions</title>", f"<id>{escape(base)}/api/watches</id>",
             f'<link rel="self" href="{escape(base)}/api/watches/feed.atom"/>', f"<updated>{updated}</updated>",
             "<author><name>newsrag</name></author>"]
    for at, w, h in entries[:200]:
        summary = "; ".join(h["changes"])
        parts.append(
            f"<entry><id>{escape(base)}/api/watches/{w['id']}#{int(at * 1000)}</id>"
            f"<title>{escape(w['question'])}</title><updated>{_stamp(at)}</updated>"
            f'<link href="{escape(base)}/api/watches/{w["id"]}"/>'
            f"<summary>{escape(summary)}</summary>"
            f'<content type="text">{escape(h["answer"])}</content></entry>')
    parts.append("</feed>")
    return "\n".join(parts)
