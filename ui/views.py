"""HTML for the chat, the sources panel and the article page, built from ``Answer.to_dict()``.

Every piece of article or user text goes through ``esc`` before it touches markup: article bodies
and titles are data, never HTML (an article containing ``<script>`` shows those characters). The
chat renders the very dictionaries the API returns, so a stored conversation re-renders after a
page reload without asking the index again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote, urlparse

_MARKER = re.compile(r"\[(\d{1,3})\]")
CONTEXT_CHARS = 320  # characters of the passage shown on each side of a quoted sentence


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def when(published_at: str | None) -> str:
    return (published_at or "")[:10] or "undated"


def outlets(item: Mapping) -> str:
    names = [item.get("source")] + [a.get("source") for a in item.get("also") or ()]
    return ", ".join(dict.fromkeys(n for n in names if n)) or "unknown outlet"


def article_href(article_id: str, start: int | None = None, end: int | None = None) -> str:
    """Relative link to the article page (works under any mount path), highlighted when given."""
    href = f"articles/{quote(article_id, safe='')}"
    if start is not None and end is not None:
        href += f"?start={int(start)}&end={int(end)}#hl"
    return href


def _link(href: str, text: str, *, cls: str, title: str | None = None) -> str:
    tip = f' title="{esc(title)}"' if title else ""
    return f'<a class="{cls}" href="{esc(href)}" target="_blank" rel="noopener"{tip}>{text}</a>'


def cite_link(n: int, citation: Mapping | None) -> str:
    n = int(n)  # stored conversations come back from the browser: numbers must be numbers
    if citation is None:
        return f'<span class="nr-cite nr-cite-missing">[{n}]</span>'
    title = f"{citation['title']} — {outlets(citation)}, {when(citation.get('published_at'))}"
    return _link(article_href(citation["article_id"], citation["start"], citation["end"]), f"[{n}]",
                 cls="nr-cite", title=title)


def _inline(text: str, cites: Mapping[int, Mapping] | None) -> str:
    """Escape ``text``; ``[n]`` markers become citation links (or inert spans while streaming)."""
    out, pos = [], 0
    for match in _MARKER.finditer(text):
        out.append(esc(text[pos:match.start()]))
        n = int(match.group(1))
        if cites is None:
            out.append(f'<span class="nr-cite nr-cite-pending">[{n}]</span>')
        else:
            out.append(cite_link(n, cites.get(n)))
        pos = match.end()
    out.append(esc(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def _flag_unsupported(text: str, sentences: Sequence[Mapping], cites: Mapping[int, Mapping]) -> str:
    """The answer text with sentences the cited passages do not back wrapped in a warning span."""
    spans: list[tuple[int, int, str]] = []
    for s in sentences:
        if s.get("supported", True):
            continue
        at = text.find(s["text"])
        if at >= 0 and all(at >= e or at + len(s["text"]) <= b for b, e, _ in spans):
            spans.append((at, at + len(s["text"]), s.get("reason") or "not supported by its sources"))
    out, pos = [], 0
    for b, e, reason in sorted(spans):
        out.append(_inline(text[pos:b], cites))
        out.append(f'<span class="nr-unsupported" title="{esc(reason)}">⚠ {_inline(text[b:e], cites)}</span>')
        pos = e
    out.append(_inline(text[pos:], cites))
    return "".join(out)


def conflict_banner(conflicts: Sequence[Mapping], cites: Mapping[int, Mapping]) -> str:
    rows = []
    for conflict in conflicts:
        claims = " vs ".join(f"<b>{esc(c['text'])}</b> {cite_link(c['n'], cites.get(c['n']))}"
                             for c in conflict["claims"])
        rows.append(f"<div>{claims}</div>")
    return ('<div class="nr-banner nr-conflict" role="alert"><strong>⚠ Sources disagree</strong>'
            f'{"".join(rows)}</div>')


def _footer(answer: Mapping) -> str:
    total = (answer.get("timings_ms") or {}).get("total")
    parts = [f"mode: {esc(answer.get('mode'))}"]
    if total is not None:
        parts.append(f"{total:.0f} ms" if total < 1000 else f"{total / 1000:.1f} s")
    if answer.get("status") != "refused":
        n = len(answer.get("citations") or ())
        parts.append(f"{n} source{'s' if n != 1 else ''}")
    return f'<div class="nr-footer">{" · ".join(parts)}</div>'


def _excerpt(text: str, limit: int = 260) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + "…"


def answer_html(answer: Mapping) -> str:
    """The final assistant message: banner, text with clickable ``[n]``, mode line."""
    if answer["status"] == "refused":
        items = "".join(
            f"<li>{_link(article_href(p['article_id'], p['start'], p['end']), esc(p['title']), cls='nr-title')}"
            f' <span class="nr-meta">{esc(outlets(p))} · {esc(when(p.get("published_at")))}</span>'
            f'<div class="nr-excerpt">{esc(_excerpt(p["text"]))}</div></li>'
            for p in answer.get("closest") or ())
        closest = (f'<div class="nr-closest"><div class="nr-closest-title">Closest passages (not citations)</div>'
                   f"<ol>{items}</ol></div>") if items else ""
        return ('<div class="nr-answer nr-refused"><div class="nr-banner nr-notfound" role="status">'
                f'<strong>Not in the articles</strong> {esc(answer["answer"])}</div>{closest}{_footer(answer)}</div>')
    cites = {c["n"]: c for c in answer.get("citations") or ()}
    text = answer["answer"]
    for conflict in answer.get("conflicts") or ():  # the banner says it; do not repeat the note
        text = text.replace(conflict["note"], "")
    body = _flag_unsupported(text.strip(), answer.get("sentences") or (), cites)
    banner = conflict_banner(answer["conflicts"], cites) if answer.get("conflicts") else ""
    return f'<div class="nr-answer">{banner}<div class="nr-text">{body}</div>{_footer(answer)}</div>'


def partial_html(text: str) -> str:
    """The assistant message while the answer streams in."""
    if not text:
        return '<div class="nr-answer nr-streaming"><span class="nr-pending">Searching the articles…</span></div>'
    return f'<div class="nr-answer nr-streaming"><div class="nr-text">{_inline(text, None)}</div></div>'


def error_html(message: str) -> str:
    return f'<div class="nr-answer nr-error"><div class="nr-banner nr-failed" role="alert">{esc(message)}</div></div>'


def question_html(question: str) -> str:
    return f'<div class="nr-question">{esc(question)}</div>'.replace("\n", "<br>")


def messages(exchanges: Iterable[Mapping]) -> list[dict]:
    """Chatbot messages for stored exchanges (``{"question", "answer", "passages"}``)."""
    out: list[dict] = []
    for exchange in exchanges:
        out.append({"role": "user", "content": question_html(exchange["question"])})
        out.append({"role": "assistant", "content": answer_html(exchange["answer"])})
    return out


# ------------------------------------------------------------------------------ sources panel


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
        for claim in conflict["claims"]:
            found.setdefault(claim["n"], []).append(claim["text"])
    return found


def sources_html(exchange: Mapping | None) -> str:
    """One card per citation of an exchange (or its closest passages when it was refused)."""
    if not exchange:
        return ('<div class="nr-sources nr-empty">Sources appear here: every answer sentence is quoted '
                "from an article, and [n] opens it at that sentence.</div>")
    answer = exchange["answer"]
    head = f'<div class="nr-sources-head">Sources for “{esc(_excerpt(exchange["question"], 120))}”</div>'
    if answer["status"] == "refused":
        cards = "".join(
            f'<article class="nr-card nr-card-closest"><header>'
            f"{_link(article_href(p['article_id'], p['start'], p['end']), esc(p['title']), cls='nr-title')}</header>"
            f'<div class="nr-meta">{esc(outlets(p))} · {esc(when(p.get("published_at")))}</div>'
            f'<blockquote class="nr-passage">{esc(_excerpt(p["text"], 600))}</blockquote></article>'
            for p in answer.get("closest") or ())
        return (f'<div class="nr-sources">{head}<div class="nr-note">Not in the articles: the closest '
                f"passages, for you to check (they are not citations).</div>{cards}</div>")
    disputes = _disputes(answer)
    passages = exchange.get("passages") or {}
    cards = []
    for c in answer.get("citations") or ():
        n = int(c["n"])
        href = article_href(c["article_id"], c["start"], c["end"])
        passage = highlighted_passage(passages.get(str(n)), c["start"], c["end"], c["quote"])
        also = "".join(f"<li>{esc(a['title'])} — {esc(a.get('source') or 'unknown outlet')}</li>"
                       for a in c.get("also") or ())
        dispute = "".join(f'<span class="nr-tag">disputed: {esc(t)}</span>' for t in disputes.get(n, ()))
        cards.append(
            f'<article class="nr-card" id="nr-source-{n}"><header><span class="nr-n">[{n}]</span> '
            f"{_link(href, esc(c['title']), cls='nr-title')}</header>"
            f'<div class="nr-meta">{esc(outlets(c))} · {esc(when(c.get("published_at")))}{dispute}</div>'
            f'<blockquote class="nr-passage">{passage}</blockquote>'
            + (f'<div class="nr-also">Same sentence also in:<ul>{also}</ul></div>' if also else "")
            + f'{_link(href, "Open the article at this sentence ↗", cls="nr-open")}</article>')
    return f'<div class="nr-sources">{head}{"".join(cards)}</div>'


# ------------------------------------------------------------------------------- article page

_PAGE_CSS = """
body{font:17px/1.6 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:46rem;margin:2rem auto;
padding:0 1rem;color:#1f2937;background:#fff}
h1{font-size:1.6rem;line-height:1.3;margin:.2rem 0 .4rem}
.meta{color:#6b7280;font-size:.92rem;margin-bottom:1.4rem}.meta a{color:#2563eb;word-break:break-all}
.body{white-space:pre-wrap;overflow-wrap:anywhere}
mark{background:#fde68a;padding:.1rem .15rem;border-radius:.2rem;scroll-margin-top:35vh;
box-shadow:0 0 0 2px #f59e0b}
.error{border:1px solid #fca5a5;background:#fef2f2;padding:1rem;border-radius:.4rem}
.version{border-left:4px solid #93c5fd;background:#eff6ff;padding:.5rem .8rem;margin-bottom:1.2rem}
.version.old{border-color:#f59e0b;background:#fffbeb}
"""


def page(title: str, content: str) -> str:
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_PAGE_CSS}</style></head><body>{content}</body></html>")


def safe_url(url: str | None) -> str | None:
    if not url:
        return None
    parsed = urlparse(url)
    return url if parsed.scheme in {"http", "https"} and parsed.netloc else None


def version_note(article: Mapping, versions: Mapping | None) -> str:
    """Which version of an updated article this is, with a link to the indexed one (links are
    relative to ``/articles/<id>``)."""
    if not versions or (versions["number"] == 1 and not article.get("superseded_by")):
        return ""
    number, current = int(versions["number"]), versions.get("current")
    if article.get("superseded_by"):
        latest = (f'<a href="{esc(quote(current, safe=""))}">read the current version</a>' if current
                  else "the article has been removed since")
        return (f'<div class="version old" role="note">Version {number} of this article, replaced by a newer '
                f"text on {esc(when_ts(article.get('superseded_at')))}: {latest}.</div>")
    earlier = ", ".join(f'<a href="{esc(quote(p, safe=""))}">{esc(p)}</a>' for p in versions.get("previous") or ())
    return f'<div class="version" role="note">Version {number} of this article (earlier: {earlier}).</div>'


def when_ts(seconds: object) -> str:
    try:
        return datetime.fromtimestamp(float(seconds), UTC).date().isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return "an unknown date"


def article_page(article: Mapping, start: int | None = None, end: int | None = None, *,
                 versions: Mapping | None = None) -> str:
    """The full article as text, ``body[start:end]`` in ``<mark id="hl">`` (the URL's ``#hl``
    scrolls to it without any script); an earlier or updated version says so."""
    body = article.get("body") or ""
    if start is not None and end is not None:
        text = f'{esc(body[:start])}<mark id="hl">{esc(body[start:end])}</mark>{esc(body[end:])}'
    else:
        text = esc(body)
    url = safe_url(article.get("url"))
    meta = [", ".join(article.get("sources") or []) or "unknown outlet", when(article.get("published_at"))]
    if article.get("author"):
        meta.append(f"by {article['author']}")
    meta_html = " · ".join(esc(m) for m in meta)
    if url:
        meta_html += f' · <a href="{esc(url)}" rel="noopener noreferrer nofollow">{esc(url)}</a>'
    elif article.get("url"):
        meta_html += f" · {esc(article['url'])}"
    return page(article.get("title") or article.get("id", "article"),
                f'<h1>{esc(article.get("title"))}</h1><div class="meta">{meta_html}</div>'
                f'{version_note(article, versions)}<div class="body">{text}</div>')


def error_page(message: str) -> str:
    return page("newsrag", f'<div class="error">{esc(message)}</div>')
