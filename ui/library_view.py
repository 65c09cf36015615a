"""HTML of the Library tab: one page of articles with a checkbox each, the pager line, the index
statistics and the progress of an upload, file by file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from index.browse import ArticlePage, Match, Overview
from index.library import Progress
from ui.markup import OUTLET_UNKNOWN, article_href, esc, link, when

SORT_LABELS = {"newest": "newest first", "oldest": "oldest first", "title": "by title",
               "relevance": "best match first"}

# Event delegation on the table's root: the rows are re-rendered, the listener stays.
SELECTION_JS = """
element.addEventListener('change', (event) => {
  const all = element.querySelector('.nr-pick-all');
  if (event.target === all) {
    element.querySelectorAll('.nr-pick').forEach((box) => { box.checked = all.checked; });
  }
  const picked = element.querySelectorAll('.nr-pick:checked').length;
  const count = element.querySelector('.nr-picked');
  if (count) count.textContent = picked ? `${picked} selected` : '';
});
"""
# Runs in the browser before the removal: the ids ticked on the page, once the person confirms.
REMOVE_JS = """
(ignored) => {
  const ids = [...document.querySelectorAll('#nr-articles .nr-pick:checked')].map((box) => box.value);
  if (!ids.length) return '';
  const what = ids.length === 1 ? 'this article and its passages' : `these ${ids.length} articles and their passages`;
  return window.confirm(`Remove ${what} from the library?`) ? ids.join(' ') : '!cancel';
}
"""


def _story(record, stories: Mapping | None) -> str:
    members = (stories or {}).get(record.story_id) or ()
    others = [m for m in members if m.id != record.id]
    if not others:
        return ""
    carried = ", ".join(dict.fromkeys(f"{m.source or OUTLET_UNKNOWN} ({when(m.published_at)})" for m in others))
    return f'<div class="nr-story">One story with {len(others)} other cop{"y" if len(others) == 1 else "ies"}: {esc(carried)}</div>'


def table_html(page: ArticlePage, stories: Mapping | None = None) -> str:
    if not page.articles:
        what = "No article matches this search." if page.total == 0 and _filtered(page) else \
            "No articles yet: add some above."
        return f'<div class="nr-lib-empty">{what}</div>'
    rows = []
    for r in page.articles:
        title = esc(r.display_title)
        rows.append(
            f'<tr><td class="nr-c-pick"><input type="checkbox" class="nr-pick" value="{esc(r.id)}" '
            f'aria-label="Select {title}"></td>'
            f'<td class="nr-c-title">{link(article_href(r.id), title, cls="nr-title")}'
            f'{match_html(r.id, page.matches.get(r.id))}<div class="nr-id">{esc(r.id)}</div>{_story(r, stories)}</td>'
            f'<td class="nr-c-outlet">{esc(", ".join(r.sources) or OUTLET_UNKNOWN)}</td>'
            f'<td class="nr-c-date">{esc(when(r.published_at))}</td>'
            f'<td class="nr-c-chunks">{r.n_chunks}<span class="nr-unit"> passage{"s" if r.n_chunks != 1 else ""}'
            "</span></td></tr>")
    return ('<div class="nr-lib"><table class="nr-table"><thead><tr>'
            '<th class="nr-c-pick"><input type="checkbox" class="nr-pick-all" aria-label="Select every article '
            'on this page"></th><th>Title <span class="nr-picked"></span></th><th>Outlet</th><th>Date</th>'
            f'<th class="nr-c-chunks">Passages</th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def marked(text: str, marks) -> str:
    """``text`` escaped, the spans ``marks`` (offsets) in ``<mark>``."""
    out, at = [], 0
    for start, end in sorted(marks):
        if start < at:
            continue
        out.append(f"{esc(text[at:start])}<mark>{esc(text[start:end])}</mark>")
        at = end
    return "".join(out) + esc(text[at:])


def match_html(article_id: str, match: Match | None) -> str:
    """Where a search found an article: the sentence of its text, the words marked, linked to it in
    the article; or the fields when only its title or outlet hold the words."""
    if match is None:
        return ""
    if match.quote is None:
        where = " and ".join({"title": "the title", "outlet": "the outlet"}.get(f, f) for f in match.fields)
        return f'<div class="nr-match nr-match-meta">Found in {esc(where)}.</div>' if where else ""
    href = article_href(article_id, match.start, match.end)
    quote = link(href, marked(match.quote, match.marks), cls="nr-match-quote",
                 title="Open the article at this sentence")
    return f'<div class="nr-match">{quote}</div>'


def overview_html(held: Overview) -> str:
    """What the library holds at a glance: how many articles, from which outlets and when (each
    outlet with its count and dates, most articles first), and the newest articles."""
    if not held.articles:
        return '<div class="nr-overview nr-lib-empty">The library is empty: add articles above.</div>'
    span = f"{held.first} to {held.last}" if held.first and held.first != held.last else (held.first or "")
    dated = f", published {span}" if span else ", none of them dated"
    undated = f" ({held.undated:,} undated)" if held.undated and held.first else ""
    rows = "".join(
        f'<tr><td>{esc(o.name)}</td><td class="nr-num">{o.articles:,}</td>'
        f'<td class="nr-c-date">{esc(_days(o.first, o.last))}'
        f'{esc(f" · {o.undated} undated" if o.undated and o.first else "")}</td></tr>' for o in held.outlets)
    if held.without_outlet:
        rows += (f'<tr><td class="nr-subdued">No outlet named</td><td class="nr-num">{held.without_outlet:,}</td>'
                 "<td></td></tr>")
    newest = "".join(f"<li>{link(article_href(r.id), esc(r.display_title), cls='nr-title')} "
                     f'<span class="nr-subdued">{esc(", ".join(r.sources) or OUTLET_UNKNOWN)} · '
                     f"{esc(when(r.published_at))}</span></li>" for r in held.newest)
    return (f'<div class="nr-overview"><p class="nr-overview-head"><b>{held.articles:,}</b> '
            f'article{"s" if held.articles != 1 else ""} from <b>{len(held.outlets):,}</b> '
            f'outlet{"s" if len(held.outlets) != 1 else ""}{esc(dated)}{esc(undated)}.</p>'
            '<div class="nr-outlets" tabindex="0" role="region" aria-label="Outlets"><table class="nr-table nr-outlet-table"><caption>Outlets</caption><thead><tr>'
            '<th scope="col">Outlet</th><th scope="col" class="nr-num">Articles</th><th scope="col">Dates</th>'
            f'</tr></thead><tbody>{rows}</tbody></table></div>'
            f'<div class="nr-newest"><h2>Newest articles</h2><ol>{newest}</ol></div></div>')


def _days(first: str | None, last: str | None) -> str:
    if first is None:
        return "undated"
    return first if first == last else f"{first} to {last}"


def _filtered(page: ArticlePage) -> bool:
    q = page.query
    return bool(q.q or q.sources or q.since or q.until)


def pager_html(page: ArticlePage) -> str:
    if not page.total:
        return '<div class="nr-pager">0 articles</div>'
    return (f'<div class="nr-pager">Articles <b>{page.first:,}–{page.last:,}</b> of <b>{page.total:,}</b>'
            f"{' matching' if _filtered(page) else ''}, {SORT_LABELS[page.query.sort]}</div>")


def stats_html(stats: Mapping, outlets: int) -> str:
    items = [("Articles", f"{stats['articles']:,}"), ("Passages (chunks)", f"{stats['chunks']:,}"),
             ("Outlets", f"{outlets:,}"), ("Embedding model", stats["embed_model"]),
             ("Encoder", f"{stats['embed_backend']} ({stats['embed_precision']} vectors)"),
             ("Chunk size", f"{stats['chunk_tokens']} word pieces, {stats['chunk_overlap']} sentence overlap"),
             ("Store", stats["store"]), ("Collection", stats["collection"])]
    body = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    return f'<dl class="nr-stats">{body}</dl>'


def report_html(text: str, *, failed: bool = False, lines: Sequence[str] = ()) -> str:
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return (f'<div class="nr-report{" nr-report-failed" if failed else ""}">{esc(text)}'
            f"{f'<ul>{items}</ul>' if items else ''}</div>")


_DONE = {"added": "added", "updated": "updated", "unchanged": "unchanged (already indexed)",
         "duplicate": "already indexed under another name",
         "earlier": "kept as an earlier version (the indexed one is newer)"}


def _where(failure: str, name: str) -> str:
    """"name:7: reason" -> "line 7: reason", "name#3: reason" -> "record 3: reason",
    "name: reason" -> "reason"."""
    rest = failure[len(name):] if failure.startswith(name) else failure
    head, _, reason = rest.partition(": ")
    if head.startswith(":") and head[1:].isdigit():
        return f"line {head[1:]}: {reason}"
    if head.startswith("#") and head[1:].isdigit():
        return f"record {head[1:]}: {reason}"
    return rest.lstrip(": ")


def _result(result: Mapping, chunks: Mapping[str, int]) -> tuple[str, str]:
    """The state line and style of a finished file (``ui.uploads.ingest_kept``'s result)."""
    name, articles = result["file"], result["articles"]
    failures = [_where(f, name) for f in result["failures"]]
    if not articles:
        return ("failed: " + "; ".join(failures), "failed") if failures else ("no article in it", "empty")
    statuses = sorted({a["status"] for a in articles})
    n, passages = len(articles), sum(chunks.get(a["id"], 0) for a in articles)
    what = _DONE.get(statuses[0], statuses[0]) if len(statuses) == 1 else "indexed"
    state = f"{what} · {n} article{'s' if n != 1 else ''}, {passages} passage{'s' if passages != 1 else ''}"
    if failures:
        state += f" · {len(failures)} bad record{'s' if len(failures) != 1 else ''}: " + "; ".join(failures[:3])
    return state, "done"


def upload_html(names: Sequence[str], *, latest: Progress | None = None, written: Mapping[str, int] | None = None,
                results: Sequence[Mapping] | None = None, chunks: Mapping[str, int] | None = None,
                summary: str = "") -> str:
    """Each uploaded file with its state: queued, embedding (articles written so far), or its
    result; above them the passages embedded out of all."""
    written = written or {}
    by_name = {r["file"]: r for r in results or ()}
    items = []
    for name in names:
        result = by_name.get(name)
        if result is not None:
            state, cls = _result(result, chunks or {})
        elif written.get(name):
            n = written[name]
            state, cls = f"embedding… {n} article{'s' if n != 1 else ''} written", "working"
        else:
            state, cls = "queued", "waiting"
        items.append(f'<li class="nr-up nr-up-{cls}"><span class="nr-up-name">{esc(name)}</span> '
                     f'<span class="nr-up-state">{esc(state)}</span></li>')
    overall = ""
    if latest is not None and latest.chunks_total and results is None:
        # a long article: its sentences are read before any passage is embedded
        reading = not latest.chunks_done and latest.sentences_done
        what, done, total = (("Reading", latest.sentences_done, latest.sentences_total) if reading else
                             ("Embedding", latest.chunks_done, latest.chunks_total))
        overall = (f'<div class="nr-up-overall">{what} {done:,} of {total:,} {"sentences" if reading else "passages"} '
                   f"· {latest.articles_done:,} of {latest.articles_total:,} articles</div>"
                   f'<progress max="{total}" value="{done}"></progress>')
    elif results is None:
        overall = '<div class="nr-up-overall">Reading the files…</div>'
    done = f'<div class="nr-up-summary">{esc(summary)}</div>' if summary else ""
    return f'<div class="nr-upload-status">{overall}<ul>{"".join(items)}</ul>{done}</div>'


def span(seconds: float) -> str:
    """"45 s", "30 min", "1.5 h", "3 days"."""
    seconds = abs(seconds)
    return (f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min" if seconds < 5400
            else f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.0f} days")


def _ago(ts: float | None, now: float) -> str:
    if not ts:
        return "never"
    return f"in {span(ts - now)}" if ts > now else f"{span(now - ts)} ago"


def feeds_html(feeds: Sequence[Mapping], *, now: float) -> str:
    """The feeds: name (and URL), interval, last and next poll, what the last poll found, the last error."""
    if not feeds:
        return ('<div class="nr-lib-empty">No feeds yet: add an RSS, Atom, JSON Feed or sitemap URL above; '
                "it is polled on its interval while the server runs.</div>")
    rows = []
    for f in feeds:
        last = f.get("last") or {}
        if f["status"] == "new":
            result = "waiting for its first poll"
        elif f["status"] == "failed":
            result = "failed"
        elif last.get("not_modified"):
            result = "not modified (304)"
        else:
            result = (f"{last.get('new', 0)} new, {last.get('updated', 0)} updated, {last.get('failed', 0)} failed"
                      + (f", {last['deferred']} waiting" if last.get("deferred") else ""))
        error = f'<div class="nr-feed-error">{esc(f["last_error"])}</div>' if f.get("last_error") else ""
        totals = f.get("totals") or {}
        polls = totals.get("polls", 0)
        overall = (f'<div class="nr-feed-totals">in all: {totals.get("new", 0)} new, {totals.get("updated", 0)} '
                   f'updated, {polls} poll{"s" if polls != 1 else ""}</div>') if polls else ""
        rows.append(
            f'<tr class="nr-feed nr-feed-{esc(f["status"])}" data-feed="{esc(f["id"])}">'
            f'<td class="nr-c-title"><b>{esc(f["name"])}</b><div class="nr-id">{esc(f["id"])} · '
            f'{esc(f["url"])}</div>{error}</td>'
            f'<td>every {esc(span(f["every"]))}</td>'
            f'<td class="nr-feed-last">{esc(_ago(f.get("last_poll"), now))}</td>'
            f'<td class="nr-feed-next">{esc(_ago(f.get("next_poll"), now))}</td>'
            f'<td class="nr-feed-result">{esc(result)}{overall}</td></tr>')
    return ('<div class="nr-lib"><table class="nr-table nr-feeds"><thead><tr><th>Feed</th><th>Interval</th>'
            '<th>Last poll</th><th>Next poll</th><th>Last result</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')
