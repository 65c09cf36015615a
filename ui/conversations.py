"""The conversations of one browser, as kept in its localStorage (``gr.BrowserState``, encrypted).

The stored value is plain JSON::

    {"v": 2, "current": "c3f…", "conversations": [
        {"id": "c3f…", "title": "How many drones…", "named": false, "created": 1732…, "updated": 1732…,
         "exchanges": [{"question": "...", "answer": Answer.to_dict(), "passages": {"1": {...}}}]}]}

Every function here takes that value and returns a new one (the input is never changed), so an
event handler can hand the result straight back to the browser. Values of another shape (an older
version, a tampered one) are read as far as they make sense: version 1 (one conversation,
``{"v": 1, "exchanges": [...]}``) becomes a single conversation.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping

from index.errors import ConfigError

VERSION = 2
MAX_EXCHANGES = 30  # per conversation; older exchanges are dropped first
MAX_CONVERSATIONS = 50
MAX_CHARS = 2_500_000  # the whole JSON; localStorage holds about 5 MB per site, encryption adds a third
TITLE_CHARS = 60
UNTITLED = "New conversation"


def _now() -> float:
    return round(time.time(), 3)


def _exchanges(found: object) -> list[dict]:
    if not isinstance(found, list):
        return []
    return [dict(e) for e in found if isinstance(e, Mapping) and isinstance(e.get("answer"), Mapping)
            and isinstance(e.get("question"), str)]


def title_for(question: str) -> str:
    flat = " ".join(question.split())
    return flat if len(flat) <= TITLE_CHARS else flat[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def blank() -> dict:
    now = _now()
    return {"id": "c" + secrets.token_hex(6), "title": UNTITLED, "named": False, "created": now,
            "updated": now, "exchanges": []}


def load(state: object) -> dict:
    """The stored conversations in the current format, with a current one (perhaps empty)."""
    conversations: list[dict] = []
    current = None
    if isinstance(state, Mapping) and state.get("v") == 1:
        exchanges = _exchanges(state.get("exchanges"))
        if exchanges:
            conversation = blank() | {"exchanges": exchanges, "title": title_for(exchanges[0]["question"])}
            conversations.append(conversation)
    elif isinstance(state, Mapping) and state.get("v") == VERSION:
        for c in state.get("conversations") or ():
            if not isinstance(c, Mapping) or not isinstance(c.get("id"), str):
                continue
            conversations.append({
                "id": c["id"], "title": str(c.get("title") or UNTITLED)[:200], "named": bool(c.get("named")),
                "created": float(c.get("created") or 0), "updated": float(c.get("updated") or 0),
                "exchanges": _exchanges(c.get("exchanges"))})
        current = state.get("current")
    if not conversations:
        conversations = [blank()]
    ids = [c["id"] for c in conversations]
    if current not in ids:
        current = max(conversations, key=lambda c: c["updated"])["id"]
    return {"v": VERSION, "current": current, "conversations": conversations}


def current(state: Mapping) -> dict:
    return next(c for c in state["conversations"] if c["id"] == state["current"])


def exchanges(state: Mapping) -> list[dict]:
    return current(state)["exchanges"]


def _replace(state: Mapping, conversation: dict) -> dict:
    others = [c for c in state["conversations"] if c["id"] != conversation["id"]]
    return {"v": VERSION, "current": conversation["id"], "conversations": [conversation, *others]}


def new(state: object) -> dict:
    """Start a new conversation (the current one, if still empty, is reused)."""
    state = load(state)
    if not exchanges(state):
        return state
    fresh = blank()
    return _fit({**state, "current": fresh["id"], "conversations": [fresh, *state["conversations"]]},
                keep=fresh["id"])


def select(state: object, conversation_id: str) -> dict:
    state = load(state)
    if conversation_id not in {c["id"] for c in state["conversations"]}:
        raise ConfigError("That conversation is no longer stored in this browser.")
    # an empty conversation left behind is dropped: it holds nothing to come back to
    kept = [c for c in state["conversations"] if c["exchanges"] or c["id"] == conversation_id]
    return {**state, "current": conversation_id, "conversations": kept}


def rename(state: object, title: str) -> dict:
    state = load(state)
    title = " ".join((title or "").split())
    if not title:
        raise ConfigError("Type a name for the conversation first.")
    return _replace(state, {**current(state), "title": title[:200], "named": True})


def delete(state: object, conversation_id: str | None = None) -> dict:
    """Delete a conversation (the current one by default); the most recent other becomes current."""
    state = load(state)
    gone = conversation_id or state["current"]
    kept = [c for c in state["conversations"] if c["id"] != gone]
    return load({"v": VERSION, "current": state["current"] if state["current"] != gone else None,
                 "conversations": kept})


def append(state: object, exchange: dict) -> dict:
    """Add an exchange to the current conversation (named after its first question)."""
    state = load(state)
    conversation = current(state)
    found = [*conversation["exchanges"], exchange][-MAX_EXCHANGES:]
    title = conversation["title"] if conversation["named"] else title_for(found[0]["question"])
    return _fit(_replace(state, {**conversation, "exchanges": found, "title": title, "updated": _now()}),
                keep=conversation["id"])


def truncate(state: object, index: int) -> tuple[dict, dict | None]:
    """Drop the exchange at ``index`` and every later one (to edit or regenerate it); returns the
    new state and the dropped exchange (None when there is none at ``index``)."""
    state = load(state)
    conversation = current(state)
    found = conversation["exchanges"]
    if not 0 <= index < len(found):
        return state, None
    return _replace(state, {**conversation, "exchanges": found[:index]}), found[index]


def choices(state: Mapping) -> list[tuple[str, str]]:
    """``(label, id)`` for the list of conversations, most recently used first."""
    ordered = sorted(state["conversations"], key=lambda c: -c["updated"])
    return [(c["title"], c["id"]) for c in ordered]


def _fit(state: dict, *, keep: str) -> dict:
    """Drop the least recently used conversations (never ``keep`` or the current one) until the
    count and the stored size are within bounds."""
    protected = {keep, state["current"]}
    conversations = list(state["conversations"])

    def size() -> int:
        return len(json.dumps(conversations, ensure_ascii=False))

    while len(conversations) > MAX_CONVERSATIONS or (len(conversations) > 1 and size() > MAX_CHARS):
        # the list runs from the most to the least recently used: on equal times, the later one goes
        victims = [(c["updated"], -i, c["id"]) for i, c in enumerate(conversations) if c["id"] not in protected]
        if not victims:
            break
        gone = min(victims)[2]
        conversations = [c for c in conversations if c["id"] != gone]
    return {**state, "conversations": conversations}
