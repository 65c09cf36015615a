"""HTML of the chat's messages and of the article page, built from ``Answer.to_dict()``.

An answer is drawn from its data: the direct answer line, the conflicts, then ``sentences`` with
the citations each carries (``[n]`` links to the sentence in its article), never by searching the
answer text for ``[n]``. Conversations stored before answers had ``sentences`` fall back to their
text. Every piece of article or user text goes through ``esc`` before it touches markup: article
bodies and titles are data, never HTML (an article containing ``<script>`` shows those characters).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, urlparse

from ui import timeline
from ui.markup import (
    OUTLET_UNKNOWN,
    cite_link,
    cite_links,
    esc,
    source_line,
    when,
)

_MARKER = re.compile(r"\[(\d{1,3})\]")
DISAGREE, DIFFER, UPDATED = "disagree", "differ", "updated"
_KIND_TIPS = {  # how an answer sentence relates to its citations, for the tooltip
    "quoted": "Quoted word for word from",
    "cited": "Written by the model and checked against",
    "attributed": "Written by the model without a valid citation; found in",
}


# ------------------------------------------------------------------------------- answer parts


def sentence_html(sentence: Mapping, cites: Mapping[int, Mapping]) -> str:
    """One answer sentence and its citation links; an unsupported one is flagged with the reason
    and carries no link (its citations would point at quotes that do not back it)."""
    text = esc(sentence["text"])
    kind = sentence.get("kind") or "quoted"
    if not sentence.get("supported", True) or kind == "unsupported":
        reason = sentence.get("reason") or "nothing in the articles supports it"
        return f'<span class="nr-s nr-unsupported" title="Not supported: {esc(reason)}">⚠ {text}</span>'
    numbers = [int(n) for n in sentence.get("citations") or ()]
    tip = _KIND_TIPS.get(kind)
    title = f' title="{tip} {esc(" ".join(f"[{n}]" for n in numbers))}"' if tip and numbers else ""
    return f'<span class="nr-s nr-{esc(kind)}"{title}>{text}{cite_links(numbers, cites)}</span>'


def sentences_html(answer: Mapping, cites: Mapping[int, Mapping]) -> str:
    """The sentences, grouped under the parts of a multi-part question when the answer has them."""
    sentences = answer["sentences"]
    claims = [c for c in answer.get("claims") or () if isinstance(c, str)]
    if len(claims) < 2 or not any(isinstance(s.get("claim"), int) for s in sentences):
        return f'<div class="nr-text">{" ".join(sentence_html(s, cites) for s in sentences)}</div>'
    groups: dict[int | None, list[str]] = {}
    for s in sentences:
        part = s.get("claim") if isinstance(s.get("claim"), int) and 0 <= s["claim"] < len(claims) else None
        groups.setdefault(part, []).append(sentence_html(s, cites))
    out = []
    if None in groups:
        out.append(f'<div class="nr-text">{" ".join(groups[None])}</div>')
    for i, claim in enumerate(claims):
        said = " ".join(groups.get(i, ())) or '<span class="nr-missing">The articles do not say.</span>'
        out.append(f'<div class="nr-part"><div class="nr-part-q">{esc(claim)}</div>'
                   f'<div class="nr-text">{said}</div></div>')
    return "".join(out)


def direct_html(direct: Mapping, cites: Mapping[int, Mapping]) -> str:
    """The direct answer line: "**Sam Bankman-Fried** — named in 3 cited sentences … [1][2][3]"."""
    values = [v for v in direct.get("values") or () if v.get("text")]
    detail = f" — {esc(direct['detail'])}" if direct.get("detail") else ""
    if len(values) == 1:
        shown = f"<b>{esc(values[0]['text'])}</b>{detail}{cite_links(values[0].get('citations'), cites)}"
    elif values:
        shown = " / ".join(f"<b>{esc(v['text'])}</b>{cite_links(v.get('citations'), cites)}" for v in values)
        shown += detail
    else:
        shown = f"<b>{esc(direct.get('text'))}</b>{detail}"
    return f'<div class="nr-direct">{shown}</div>'


def conflict_banner(conflict: Mapping, cites: Mapping[int, Mapping]) -> str:
    """"Sources disagree" when the reports are about the same event, "Reports differ" when nothing
    shows they are; each value with the outlet and date of its source and its citation."""
    if conflict.get("kind") == UPDATED:  # one outlet or one story, later: older -> newer
        steps = " → ".join(f"<b>{esc(c['text'])}</b> ({esc(source_line(cites.get(int(c['n']))))}) "
                           f"{cite_link(c['n'], cites.get(int(c['n'])))}"
                           for c in sorted(conflict["claims"],
                                           key=lambda c: (cites.get(int(c["n"])) or {}).get("published_at") or ""))
        return (f'<div class="nr-banner nr-conflict nr-{UPDATED}" role="status"><strong>↻ Figure updated</strong>'
                f"<div>{steps}</div></div>")
    differ = conflict.get("kind") == DIFFER
    head = "Reports differ" if differ else "Sources disagree"
    items = "".join(f"<li><b>{esc(c['text'])}</b> — {esc(source_line(cites.get(int(c['n']))))} "
                    f"{cite_link(c['n'], cites.get(int(c['n'])))}</li>" for c in conflict["claims"])
    why = ('<div class="nr-why">Nothing shows these reports describe the same event: check their dates.</div>'
           if differ else "")
    return (f'<div class="nr-banner nr-conflict nr-{DIFFER if differ else DISAGREE}" role="alert">'
            f"<strong>⚠ {head}</strong><ul>{items}</ul>{why}</div>")


def filter_labels(filters: Mapping | None) -> list[tuple[str, str, str]]:
    """``(kind, value, label)`` of each active filter (``Filters.to_dict()``: ``source``, ``since``,
    ``until``), named as the chips above the chat name them (``ui.app.CHIPS_VALUE_JS``)."""
    filters = filters or {}
    found = [("source", name, f"Outlet: {name}") for name in filters.get("source") or ()]
    if filters.get("since"):
        found.append(("since", filters["since"], f"From {filters['since']}"))
    if filters.get("until"):
        found.append(("until", filters["until"], f"Until {filters['until']}"))
    return found


def _footer(answer: Mapping) -> str:
    total = (answer.get("timings_ms") or {}).get("total")
    parts = [f"mode: {esc(answer.get('mode'))}"]
    if total is not None:
        parts.append(f"{total:.0f} ms" if total < 1000 else f"{total / 1000:.1f} s")
    if answer.get("status") != "refused":
        n = len(answer.get("citations") or ())
        parts.append(f"{n} source{'s' if n != 1 else ''}")
    chips = "".join(f'<span class="nr-chip nr-chip-used">{esc(label)}</span>'
                    for _, _, label in filter_labels(answer.get("filters")))
    if chips:
        parts.append(f'<span class="nr-footer-filters">filtered: {chips}</span>')
    return f'<div class="nr-footer">{" · ".join(parts)}</div>'


def _verdict(v: Mapping) -> str:
    ok = v.get("supported", False)
    why = "supported by its passage" if ok else (v.get("reason") or "not supported")
    return f'<li class="nr-verdict-{"ok" if ok else "bad"}">{esc(v.get("text"))} <i>— {esc(why)}</i></li>'


def refusal_html(answer: Mapping) -> str:
    """Not in the articles: the reason, a pointer to the closest passages (listed once, in the
    Sources panel), and in LLM modes the model's own reply with its verdicts, collapsed."""
    refusal = answer.get("refusal") or {}
    parts = ['<div class="nr-banner nr-notfound" role="status"><strong>Not in the articles</strong> '
             f'{esc(answer["answer"])}</div>']
    if refusal.get("reason"):
        parts.append(f'<div class="nr-reason">Why: {esc(refusal["reason"])}</div>')
    n = len(answer.get("closest") or ())
    if n:
        parts.append(f'<div class="nr-note">The {n} closest passage{"s are" if n != 1 else " is"} under '
                     "Sources, for you to check (not citations).</div>")
    if refusal.get("reply"):
        verdicts = "".join(_verdict(v) for v in refusal.get("verdicts") or ())
        parts.append('<details class="nr-reply"><summary>What the model replied</summary>'
                     f'<blockquote>{esc(refusal["reply"])}</blockquote>'
                     + (f"<ul>{verdicts}</ul>" if verdicts else "") + "</details>")
    return f'<div class="nr-answer nr-refused">{"".join(parts)}{_footer(answer)}</div>'


def _legacy_text(answer: Mapping, cites: Mapping[int, Mapping]) -> str:
    """An answer stored before it had ``sentences``: its text, markers made links."""
    text = answer["answer"]
    for conflict in answer.get("conflicts") or ():  # the banner says it; do not repeat the note
        text = text.replace(conflict["note"], "")
    return f'<div class="nr-text">{_inline(text.strip(), cites)}</div>'


def answer_html(answer: Mapping, *, question: str = "") -> str:
    """The final assistant message: conflicts, direct line, sentences, timeline, mode line."""
    if answer["status"] == "refused":
        return refusal_html(answer)
    cites = {int(c["n"]): c for c in answer.get("citations") or ()}
    banners = "".join(conflict_banner(c, cites) for c in answer.get("conflicts") or ())
    direct = direct_html(answer["direct"], cites) if answer.get("direct") else ""
    body = sentences_html(answer, cites) if answer.get("sentences") else _legacy_text(answer, cites)
    when_ = timeline.timeline_html(answer, open_=timeline.asks_about_time(question or answer.get("question", ""),
                                                                          answer))
    return f'<div class="nr-answer">{banners}{direct}{body}{when_}{_footer(answer)}</div>'


def _inline(text: str, cites: Mapping[int, Mapping] | None) -> str:
    """Escape ``text``; ``[n]`` markers become citation links (or inert spans while streaming)."""
    out, pos = [], 0
    for match in _MARKER.finditer(text):
        out.append(esc(text[pos:match.start()]))
        n = int(match.group(1))
        out.append(f'<span class="nr-cite nr-cite-pending">[{n}]</span>' if cites is None
                   else cite_link(n, cites.get(n)))
        pos = match.end()
    out.append(esc(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def partial_html(text: str, *, stopped: bool = False) -> str:
    """The assistant message while the answer streams in (or where it was stopped)."""
    note = '<div class="nr-stopped">Stopped. Regenerate, or edit the question and ask again.</div>' if stopped else ""
    if not text:
        pending = "" if stopped else '<span class="nr-pending">Searching the articles…</span>'
        return f'<div class="nr-answer nr-streaming">{pending}{note}</div>'
    return f'<div class="nr-answer nr-streaming"><div class="nr-text">{_inline(text, None)}</div>{note}</div>'


def error_html(message: str) -> str:
    return f'<div class="nr-answer nr-error"><div class="nr-banner nr-failed" role="alert">{esc(message)}</div></div>'


def question_html(question: str) -> str:
    """A question as its message shows it: escaped text and nothing else, so the chat's edit box
    shows the question itself (the stylesheet keeps its line breaks)."""
    return html.escape(question, quote=False)


def messages(exchanges: Iterable[Mapping]) -> list[dict]:
    """Chatbot messages for stored exchanges (``{"question", "answer", "passages"}``)."""
    out: list[dict] = []
    for exchange in exchanges:
        out.append({"role": "user", "content": question_html(exchange["question"])})
        out.append({"role": "assistant", "content": answer_html(exchange["answer"], question=exchange["question"])})
    return out



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
.back{margin-top:1.2rem}.back a{color:#1d4ed8}
"""


def page(title: str, content: str) -> str:
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(title)}</title><style>{_PAGE_CSS}</style></head><body><main>{content}</main></body></html>")


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
    meta = [", ".join(article.get("sources") or []) or OUTLET_UNKNOWN, when(article.get("published_at"))]
    if article.get("author"):
        meta.append(f"by {article['author']}")
    meta_html = " · ".join(esc(m) for m in meta)
    if url:
        meta_html += f' · <a href="{esc(url)}" rel="noopener noreferrer nofollow">{esc(url)}</a>'
    elif article.get("url"):
        meta_html += f" · {esc(article['url'])}"
    title = article.get("display_title") or article.get("title") or article.get("id", "article")
    return page(title, f'<h1>{esc(title)}</h1><div class="meta">{meta_html}</div>'
                f'{version_note(article, versions)}<div class="body">{text}</div>')


BACK = '<p class="back"><a href="../">← Back to the chat</a></p>'


def error_page(message: str) -> str:
    return page("newsrag", f'<div class="error">{esc(message)}</div>{BACK}')


def missing_page(removed: Mapping | None) -> str:
    """The page of an article the library does not hold: removed (when, and its title), or a link
    that names no article."""
    if removed:
        title = removed.get("title") or "This article"
        text = (f"“{title}” was removed from the library on {when_ts(removed.get('at'))}. What was quoted "
                "from it can no longer be shown here.")
        return page("Article removed", f'<h1>Article removed</h1><div class="error">{esc(text)}</div>{BACK}')
    text = "The library holds no article at this address: the link may be incomplete."
    return page("Article not found", f'<h1>Article not found</h1><div class="error">{esc(text)}</div>{BACK}')
