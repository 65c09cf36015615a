"""The Sources panel: one card per citation of an exchange, the quoted sentence highlighted inside
the passage around it; for a refused answer, the closest passages (shown here only, once).

Built from the stored exchange (``{"question", "answer", "passages"}``), so it re-renders after a
page reload without asking the index again.
"""

from __future__ import annotations

from collections.abc import Mapping

from ui.markup import article_href, esc, excerpt, link, outlets, when

CONTEXT_CHARS = 320  # characters of the passage shown on each side of a quoted sentence
EMPTY = ('<div class="nr-sources nr-empty">Sources appear here: every answer sentence is quoted '
         "from an article, and [n] opens it at that sentence.</div>")


def highlighted_passage(passage: Mapping | None, start: int, end: int, quote_text: str) -> str:
    """The passage around a quoted sentence, the sentence in ``<mark>``; the quote alone if the
    passage is unknown or no longer matches."""
    if passage:
        text, base = passage["text"], passage["start"]
        a, b = start - base, end - base
        if 0 <= a <= b <= len(text) and text[a:b] == quote_text:
            before, after = text[max(0, a - CONTEXT_CHARS):a], text[b:b + CONTEXT_CHARS]
            lead = "…" if a > CONTEXT_CHARS else ""
            tail = "…" if b + CONTEXT_CHARS < len(text) else ""
            return f"{lead}{esc(before)}<mark>{esc(quote_text)}</mark>{esc(after)}{tail}"
    return f"<mark>{esc(quote_text)}</mark>"


def _disputes(answer: Mapping) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for conflict in answer.get("conflicts") or ():
        verb = "differs" if conflict.get("kind") == "differ" else "disputed"
        for claim in conflict["claims"]:
            found.setdefault(int(claim["n"]), []).append(f"{verb}: {claim['text']}")
    return found


def _closest_card(p: Mapping, i: int) -> str:
    href = article_href(p["article_id"], p["start"], p["end"])
    return (f'<article class="nr-card nr-card-closest"><header><span class="nr-n nr-n-closest">{i}.</span> '
            f"{link(href, esc(p['title']), cls='nr-title')}</header>"
            f'<div class="nr-meta">{esc(outlets(p))} · {esc(when(p.get("published_at")))}</div>'
            f'<blockquote class="nr-passage">{esc(excerpt(p["text"], 600))}</blockquote>'
            f'{link(href, "Open the article at this passage ↗", cls="nr-open")}</article>')


def _card(c: Mapping, passage: Mapping | None, disputes: list[str]) -> str:
    n = int(c["n"])
    href = article_href(c["article_id"], c["start"], c["end"])
    also = "".join(f"<li>{esc(a['title'])} — {esc(a.get('source') or 'outlet unknown')}</li>"
                   for a in c.get("also") or ())
    story = "".join(f"<li>{esc(a.get('source') or 'outlet unknown')}, {esc(when(a.get('published_at')))} — "
                    f"{link(article_href(a['article_id']), esc(a['title']), cls='nr-story-link')}</li>"
                    for a in c.get("story") or ())
    tags = "".join(f' <span class="nr-tag">{esc(t)}</span>' for t in disputes)
    return (f'<article class="nr-card" id="nr-source-{n}"><header><span class="nr-n">[{n}]</span> '
            f"{link(href, esc(c['title']), cls='nr-title')}</header>"
            f'<div class="nr-meta">{esc(outlets(c))} · {esc(when(c.get("published_at")))}{tags}</div>'
            f'<blockquote class="nr-passage">{highlighted_passage(passage, c["start"], c["end"], c["quote"])}'
            "</blockquote>"
            + (f'<div class="nr-also">Same sentence also in:<ul>{also}</ul></div>' if also else "")
            + (f'<div class="nr-also nr-story">The same story also in:<ul>{story}</ul></div>' if story else "")
            + f'{link(href, "Open the article at this sentence ↗", cls="nr-open")}</article>')


def sources_html(exchange: Mapping | None) -> str:
    """One card per citation of an exchange (or its closest passages when it was refused)."""
    if not exchange:
        return EMPTY
    answer = exchange["answer"]
    head = f'<div class="nr-sources-head">Sources for “{esc(excerpt(exchange["question"], 120))}”</div>'
    if answer["status"] == "refused":
        closest = answer.get("closest") or ()
        cards = "".join(_closest_card(p, i) for i, p in enumerate(closest, start=1))
        note = ("Not in the articles. The closest passages, for you to check (they are not citations):"
                if closest else "Not in the articles, and no passage came close.")
        return f'<div class="nr-sources">{head}<div class="nr-note">{note}</div>{cards}</div>'
    disputes = _disputes(answer)
    passages = exchange.get("passages") or {}
    cards = "".join(_card(c, passages.get(str(int(c["n"]))), disputes.get(int(c["n"]), []))
                    for c in answer.get("citations") or ())
    return f'<div class="nr-sources">{head}{cards}</div>'
