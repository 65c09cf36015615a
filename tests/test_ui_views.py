"""``ui.views``: the HTML of answers, source cards and article pages, from ``Answer.to_dict()``.

The answers here are real: the sample articles through the real pipeline (``seed_pipeline``).
"""

from __future__ import annotations

import pytest

from ui import views

DRONES = "How many drones were intercepted?"


@pytest.fixture(scope="module")
def drones(seed_pipeline) -> dict:
    return seed_pipeline.ask(DRONES).to_dict()


def test_citation_markers_become_links_to_the_sentence_and_the_note_moves_to_the_banner(drones):
    html = views.answer_html(drones)
    first, second = drones["citations"]
    assert html.count('class="nr-cite"') == 4  # [1] [2] in the text, and in the banner
    assert (f'href="articles/{first["article_id"]}?start={first["start"]}&amp;end={first["end"]}#hl" '
            'target="_blank" rel="noopener" title="Urgent Update: Russia Intercepts 55 Ukrainian Drones in '
            'Largest Nighttime Operation, Fueling Fears of Escalation — Miami News, KMIA, undated">[1]</a>') in html
    assert f'href="articles/{second["article_id"]}?start=0&amp;end=198#hl"' in html
    assert html.startswith('<div class="nr-answer"><div class="nr-banner nr-conflict" role="alert">'
                           "<strong>⚠ Sources disagree</strong><div><b>55 Ukrainian drones</b> <a ")
    assert "Sources disagree: 55" not in html  # the text's own note is not repeated
    assert "\n" not in html  # one HTML block: markdown never touches the article text


def test_streaming_text_is_escaped_and_its_markers_inert():
    assert views.partial_html("") == ('<div class="nr-answer nr-streaming"><span class="nr-pending">Searching the '
                                      "articles…</span></div>")
    assert views.partial_html("A <b>bold</b> claim [1]\n\nnext") == (
        '<div class="nr-answer nr-streaming"><div class="nr-text">A &lt;b&gt;bold&lt;/b&gt; claim '
        '<span class="nr-cite nr-cite-pending">[1]</span><br><br>next</div></div>')


def test_a_refusal_lists_the_closest_passages_as_links_not_citations(seed_pipeline):
    refused = seed_pipeline.ask("Who won the World Cup?").to_dict()
    html = views.answer_html(refused)
    assert html.startswith('<div class="nr-answer nr-refused"><div class="nr-banner nr-notfound" role="status">'
                           "<strong>Not in the articles</strong> The indexed articles do not answer this.</div>")
    assert html.count("<li>") == 3 and "nr-cite" not in html
    panel = views.sources_html({"question": "Who won the World Cup?", "answer": refused})
    assert panel.count('class="nr-card nr-card-closest"') == 3


def test_unsupported_sentences_are_flagged_with_their_reason():
    answer = {"status": "answered", "mode": "openai", "answer": "Kursk was hit [1]. Moscow fell [1].",
              "citations": [], "conflicts": [], "timings_ms": {"total": 1234.0},
              "sentences": [{"text": "Kursk was hit [1].", "citations": [1], "supported": True},
                            {"text": "Moscow fell [1].", "citations": [1], "supported": False,
                             "reason": "not in passage [1]"}]}
    assert views.answer_html(answer) == (
        '<div class="nr-answer"><div class="nr-text">Kursk was hit <span class="nr-cite nr-cite-missing">[1]</span>. '
        '<span class="nr-unsupported" title="not in passage [1]">⚠ Moscow fell '
        '<span class="nr-cite nr-cite-missing">[1]</span>.</span></div>'
        '<div class="nr-footer">mode: openai · 1.2 s · 0 sources</div></div>')


def test_source_cards_highlight_the_quote_inside_its_passage(drones):
    first = drones["citations"][0]
    passage = {"start": 0, "text": first["quote"] + " This development <marks> one of the largest."}
    panel = views.sources_html({"question": DRONES, "answer": drones, "passages": {"1": passage}})
    assert (f'<blockquote class="nr-passage"><mark>{first["quote"]}</mark> This development &lt;marks&gt; one '
            "of the largest.</blockquote>") in panel
    assert '<span class="nr-tag">disputed: 55 Ukrainian drones</span>' in panel
    # no passage stored (or one that no longer matches): the quote alone
    assert f'<blockquote class="nr-passage"><mark>{drones["citations"][1]["quote"]}</mark></blockquote>' in panel
    assert views.highlighted_passage({"start": 5, "text": "other text"}, 0, 3, "The") == "<mark>The</mark>"


def test_long_passages_are_trimmed_around_the_quote():
    text = "a" * 1000 + "QUOTE" + "b" * 1000
    html = views.highlighted_passage({"start": 100, "text": text}, 1100, 1105, "QUOTE")
    assert html == "…" + "a" * views.CONTEXT_CHARS + "<mark>QUOTE</mark>" + "b" * views.CONTEXT_CHARS + "…"


def test_article_page_escapes_everything_and_marks_the_range():
    article = {"id": "a1", "title": "<script>alert(1)</script>", "sources": ["<b>Outlet</b>"],
               "published_at": "2024-03-09T10:00:00+00:00", "author": "O'Brien", "url": "javascript:alert(1)",
               "body": "Before. <img src=x onerror=alert(1)> Target sentence. After."}
    html = views.article_page(article, 8, 43)
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html
    assert ('<div class="meta">&lt;b&gt;Outlet&lt;/b&gt; · 2024-03-09 · by O&#x27;Brien · javascript:alert(1)'
            "</div>") in html  # not a link: only http(s) URLs are
    assert ('<div class="body">Before. <mark id="hl">&lt;img src=x onerror=alert(1)&gt; Target</mark> sentence. '
            "After.</div>") in html
    assert "<script" not in html and "<img" not in html
    linked = views.article_page({**article, "url": "https://example.org/a?b=1&c=2"})
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">' in linked


def test_messages_render_stored_exchanges(drones):
    shown = views.messages([{"question": "<i>drones</i>?", "answer": drones}])
    assert shown[0] == {"role": "user", "content": '<div class="nr-question">&lt;i&gt;drones&lt;/i&gt;?</div>'}
    assert shown[1] == {"role": "assistant", "content": views.answer_html(drones)}
