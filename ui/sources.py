"""The Sources panel: one card per article an exchange cites, each of its cited sentences listed
under it and highlighted inside the passage around it; for a refused answer, the closest passages
(shown here only, once).

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


def _quote_item(c: Mapping, passage: Mapping | None, disputes: list[str]) -> str:
    """One cited sentence of an article, in the passage around it, with its own link."""
    n = int(c["n"])
    href = article_href(c["article_id"], c["start"], c["end"])
    tags = "".join(f' <span class="nr-tag">{esc(t)}</span>' for t in disputes)
    return (f'<li class="nr-quote" id="nr-source-{n}"><span class="nr-n">[{n}]</span>{tags}'
            f'<blockquote class="nr-passage">{highlighted_passage(passage, c["start"], c["end"], c["quote"])}'
            f'</blockquote>{link(href, "Open the article at this sentence ↗", cls="nr-open")}</li>')


def _card(cited: list[Mapping], passages: Mapping, disputes: Mapping[int, list[str]]) -> str:
    """One card per article: its title, outlet and date once, then every sentence cited from it."""
    first = cited[0]
    numbers = "".join(f"[{int(c['n'])}]" for c in cited)
    href = article_href(first["article_id"])
    also = {(a["title"], a.get("source") or "outlet unknown"): None for c in cited for a in c.get("also") or ()}
    also_html = "".join(f"<li>{esc(title)} — {esc(source)}</li>" for title, source in also)
    story = {a["article_id"]: a for c in cited for a in c.get("story") or ()}  # its syndicated copies
    story_html = "".join(f"<li>{esc(a.get('source') or 'outlet unknown')}, {esc(when(a.get('published_at')))} — "
                         f"{link(article_href(a['article_id']), esc(a['title']), cls='nr-story-link')}</li>"
                         for a in story.values())
    quotes = "".join(_quote_item(c, passages.get(str(int(c["n"]))), disputes.get(int(c["n"]), [])) for c in cited)
    return (f'<article class="nr-card" id="nr-article-{esc(first["article_id"])}"><header>'
            f'<span class="nr-n">{numbers}</span> {link(href, esc(first["title"]), cls="nr-title")}</header>'
            f'<div class="nr-meta">{esc(outlets(first))} · {esc(when(first.get("published_at")))}</div>'
            f'<ul class="nr-quotes">{quotes}</ul>'
            + (f'<div class="nr-also">The same sentence also in:<ul>{also_html}</ul></div>' if also else "")
            + (f'<div class="nr-also nr-story">The same story also in:<ul>{story_html}</ul></div>' if story else "")
            + "</article>")


def sources_html(exchange: Mapping | None) -> str:
    """One card per cited article, in the order of its first citation (or the closest passages when
    the answer was refused)."""
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
    by_article: dict[str, list[Mapping]] = {}
    for c in answer.get("citations") or ():
        by_article.setdefault(c["article_id"], []).append(c)
    disputes = _disputes(answer)
    cards = "".join(_card(cited, exchange.get("passages") or {}, disputes) for cited in by_article.values())
    return f'<div class="nr-sources">{head}{cards}</div>'
