"""The small pieces every HTML view is made of: escaping, dates, outlets, links and ``[n]`` citations.

Every piece of article or user text goes through ``esc`` before it touches markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from urllib.parse import quote

OUTLET_UNKNOWN = "outlet unknown"


def esc(text: object) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def when(published_at: str | None) -> str:
    return (published_at or "")[:10] or "undated"


def outlets(item: Mapping) -> str:
    names = [item.get("source")] + [a.get("source") for a in item.get("also") or ()]
    return ", ".join(dict.fromkeys(n for n in names if n)) or OUTLET_UNKNOWN


def source_line(citation: Mapping | None) -> str:
    """"Miami News, KMIA, undated": who published a cited sentence, and when."""
    if citation is None:
        return "source not found"
    return f"{outlets(citation)}, {when(citation.get('published_at'))}"


def article_href(article_id: str, start: int | None = None, end: int | None = None) -> str:
    """Relative link to the article page (works under any mount path), highlighted when given."""
    href = f"articles/{quote(article_id, safe='')}"
    if start is not None and end is not None:
        href += f"?start={int(start)}&end={int(end)}#hl"
    return href


def link(href: str, text: str, *, cls: str, title: str | None = None) -> str:
    tip = f' title="{esc(title)}"' if title else ""
    return f'<a class="{cls}" href="{esc(href)}" target="_blank" rel="noopener"{tip}>{text}</a>'


def cite_link(n: int, citation: Mapping | None) -> str:
    n = int(n)  # stored conversations come back from the browser: numbers must be numbers
    if citation is None:
        return f'<span class="nr-cite nr-cite-missing">[{n}]</span>'
    title = f"{citation['title']} — {source_line(citation)}"
    return link(article_href(citation["article_id"], citation["start"], citation["end"]), f"[{n}]",
                cls="nr-cite", title=title)


def cite_links(numbers: Iterable[int] | None, cites: Mapping[int, Mapping]) -> str:
    return "".join(cite_link(n, cites.get(int(n))) for n in numbers or ())


def excerpt(text: str, limit: int = 260) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + "…"


def user_error(message: object):
    """A message for Gradio's error toast: one escaped line (Gradio renders it as HTML, and it can
    hold a file name or a question), and no traceback in the server log."""
    import gradio as gr

    return gr.Error(esc(str(message)), print_exception=False)
