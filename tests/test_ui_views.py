"""``ui.views`` / ``ui.sources`` / ``ui.timeline``: the HTML of answers, source cards, the timeline
and article pages, from ``Answer.to_dict()``.

The drone answers are real: the sample articles through the real pipeline (``seed_pipeline``); the
other answers are written out by hand to pin one feature of the contract each (LLM sentence kinds,
a direct line, a refusal with the model's reply), as the chat receives them.
"""

from __future__ import annotations

import re

import pytest

from ui import sources, timeline, views

DRONES = "How many drones were intercepted?"
UNTITLED_64 = 'Untitled — "The Russian Ministry of Defense has confirmed …"'


@pytest.fixture(scope="module")
def drones(seed_pipeline) -> dict:
    return seed_pipeline.ask(DRONES).to_dict()


def cite(n: int, article: str = "a1", start: int = 0, end: int = 10, **more) -> dict:
    return {"n": n, "article_id": article, "title": f"Story {n}", "source": None, "published_at": None,
            "url": None, "chunk_id": f"v-{n}", "quote": f"Quote {n}.", "start": start, "end": end, "also": [],
            **more}


def answered(**fields) -> dict:
    return {"status": "answered", "mode": "openai", "answer": "", "citations": [], "conflicts": [],
            "sentences": [], "timings_ms": {"total": 1234.0}, **fields}


def text_of(html: str) -> str:
    """What a reader sees: blocks end in a space, inline tags vanish."""
    spaced = re.sub(r"</(div|li|strong|ul|summary|details)>", " ", html)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", spaced)).strip()


def body_of(html: str) -> str:
    """The sentences of an answer (without the timeline below them)."""
    return html.split('<details class="nr-timeline"')[0]


def test_an_answer_is_drawn_from_its_sentences_with_the_citations_each_carries(drones):
    html = views.answer_html(drones, question=DRONES)
    first, second = drones["citations"]
    assert [s["citations"] for s in drones["sentences"]] == [[1], [2]]
    link_1 = (f'<a class="nr-cite" href="articles/{first["article_id"]}?start={first["start"]}&amp;end={first["end"]}'
              '#hl" target="_blank" rel="noopener" title="Urgent Update: Russia Intercepts 55 Ukrainian Drones in '
              'Largest Nighttime Operation, Fueling Fears of Escalation — Miami News, KMIA, undated">[1]</a>')
    assert (f'<span class="nr-s nr-quoted" title="Quoted word for word from [1]">{drones["sentences"][0]["text"]}'
            f"{link_1}</span>") in html
    assert f'title="{UNTITLED_64.replace(chr(34), "&quot;")} — outlet unknown, undated">[2]</a>' in html
    assert "\n" not in html  # one HTML block


def test_a_bracketed_number_inside_a_quote_stays_text(tmp_path):
    # regression: the chat used to turn every "[n]" of the answer text into a citation
    answer = answered(answer="Table [7] lists the sites. [1]", citations=[cite(1)],
                      sentences=[{"text": "Table [7] lists the sites.", "citations": [1], "supported": True,
                                  "kind": "quoted"}])
    html = views.answer_html(answer)
    assert "Table [7] lists the sites." in html and "nr-cite-missing" not in html
    assert body_of(html).count('class="nr-cite"') == 1


def test_the_conflict_banner_names_each_value_with_its_outlet_and_date(drones):
    html = views.answer_html(drones, question=DRONES)
    (conflict,) = drones["conflicts"]
    banner = text_of(views.conflict_banner(conflict, {c["n"]: c for c in drones["citations"]}))
    assert banner == ("⚠ Reports differ 55 Ukrainian drones — Miami News, KMIA, undated [1] "
                      "64 Ukrainian drones — outlet unknown, undated [2] "
                      "Nothing shows these reports describe the same event: check their dates.")
    assert html.startswith('<div class="nr-answer"><div class="nr-banner nr-conflict nr-differ" role="alert">')
    assert "Reports differ:" not in html  # the text's own note is not repeated


def test_reports_that_may_describe_different_events_differ_rather_than_disagree():
    cites = {1: cite(1, source="Miami News, KMIA", published_at="2023-10-05"),
             2: cite(2, published_at=None)}
    html = views.conflict_banner({"claims": [{"n": 2, "text": "64"}, {"n": 1, "text": "55"}], "note": "…",
                                  "kind": "differ"}, cites)
    assert text_of(html) == ("⚠ Reports differ 64 — outlet unknown, undated [2] 55 — Miami News, KMIA, 2023-10-05 [1] "
                             "Nothing shows these reports describe the same event: check their dates.")
    assert 'class="nr-banner nr-conflict nr-differ"' in html


def test_the_direct_line_comes_first_with_its_citations():
    answer = answered(
        citations=[cite(1), cite(2), cite(3)],
        direct={"kind": "person", "text": "Sam Bankman-Fried", "detail": "named in 3 cited sentences from Fortune "
                "and TechCrunch", "values": [{"text": "Sam Bankman-Fried", "citations": [1, 2, 3]}]},
        sentences=[{"text": "He founded FTX.", "citations": [1], "supported": True, "kind": "cited"}])
    html = views.answer_html(answer)
    assert text_of(body_of(html)).startswith("Sam Bankman-Fried — named in 3 cited sentences from Fortune and TechCrunch"
                                    "[1][2][3] He founded FTX.[1]")
    assert '<div class="nr-direct"><b>Sam Bankman-Fried</b> — named in' in html
    two = views.direct_html({"kind": "number", "text": "64 / 55", "detail": "",
                             "values": [{"text": "64", "citations": [2]}, {"text": "55", "citations": [1]}]},
                            {1: cite(1), 2: cite(2)})
    assert text_of(two) == "64[2] / 55[1]"


def test_sentence_kinds_and_unsupported_sentences_without_links():
    answer = answered(citations=[cite(1)], sentences=[
        {"text": "Kursk was hit.", "citations": [1], "supported": True, "kind": "cited"},
        {"text": "Drones fell near Belgorod.", "citations": [1], "supported": True, "kind": "attributed"},
        {"text": "Moscow fell.", "citations": [1], "supported": False, "kind": "unsupported",
         "reason": "'Moscow' is not in the cited passages"}])
    html = views.answer_html(answer)
    assert '<span class="nr-s nr-cited" title="Written by the model and checked against [1]">Kursk was hit.' in html
    assert '<span class="nr-s nr-attributed" title="Written by the model without a valid citation; found in [1]">' in html
    assert ('<span class="nr-s nr-unsupported" title="Not supported: &#x27;Moscow&#x27; is not in the cited '
            'passages">⚠ Moscow fell.</span>') in html  # and no [1] link after it
    assert body_of(html).count('class="nr-cite"') == 2
    assert html.endswith('<div class="nr-footer">mode: openai · 1.2 s · 1 source</div></div>')


def test_parts_of_a_multi_part_question_are_answered_under_their_own_heading():
    answer = answered(citations=[cite(1), cite(2)], claims=["Who won?", "By how much?"], sentences=[
        {"text": "Quill won.", "citations": [1], "supported": True, "kind": "quoted", "claim": 0}])
    assert text_of(views.sentences_html(answer, {1: cite(1)})) == \
        "Who won? Quill won.[1] By how much? The articles do not say."


def test_an_answer_stored_before_sentences_existed_renders_from_its_text():
    old = {"status": "answered", "mode": "extractive", "answer": "Kursk was hit [1].\n\nSources disagree: x [1].",
           "citations": [cite(1)], "conflicts": [{"claims": [{"n": 1, "text": "x"}], "note": "Sources disagree: x [1]."}]}
    html = views.answer_html(old)
    assert 'Kursk was hit <a class="nr-cite"' in html and "Sources disagree:" not in html
    assert 'class="nr-banner nr-conflict nr-disagree"' in html  # no kind stored: the old meaning


def test_streaming_text_is_escaped_and_its_markers_inert():
    assert views.partial_html("") == ('<div class="nr-answer nr-streaming"><span class="nr-pending">Searching the '
                                      "articles…</span></div>")
    assert views.partial_html("A <b>bold</b> claim [1]\n\nnext") == (
        '<div class="nr-answer nr-streaming"><div class="nr-text">A &lt;b&gt;bold&lt;/b&gt; claim '
        '<span class="nr-cite nr-cite-pending">[1]</span><br><br>next</div></div>')
    assert views.partial_html("So far", stopped=True).endswith(
        '<div class="nr-stopped">Stopped. Regenerate, or edit the question and ask again.</div></div>')


def test_a_refusal_gives_its_reason_and_points_to_the_closest_passages_listed_once(seed_pipeline):
    refused = seed_pipeline.ask("Who won the World Cup?").to_dict()
    html = views.answer_html(refused)
    assert html.startswith('<div class="nr-answer nr-refused"><div class="nr-banner nr-notfound" role="status">'
                           "<strong>Not in the articles</strong> The indexed articles do not answer this.</div>")
    assert "The 3 closest passages are under Sources, for you to check (not citations)." in html
    assert "<li>" not in html and "nr-cite" not in html  # the passages themselves are in the panel only
    panel = sources.sources_html({"question": "Who won the World Cup?", "answer": refused})
    assert panel.count('class="nr-card nr-card-closest"') == 3
    assert '<span class="nr-n nr-n-closest">1.</span>' in panel  # numbered, never an empty [n]


def test_an_llm_refusal_keeps_the_models_reply_and_verdicts_collapsed():
    refused = {"status": "refused", "mode": "openai", "answer": "The indexed articles do not answer this.",
               "closest": [], "timings_ms": {},
               "refusal": {"reason": "no sentence of the reply is supported by the passages",
                           "reply": "Argentina won <3>.", "verdicts": [
                               {"text": "Argentina won.", "citations": [], "supported": False,
                                "reason": "'Argentina' is not in the cited passages", "kind": "unsupported"}]}}
    html = views.answer_html(refused)
    assert '<div class="nr-reason">Why: no sentence of the reply is supported by the passages</div>' in html
    assert ('<details class="nr-reply"><summary>What the model replied</summary><blockquote>Argentina won &lt;3&gt;.'
            '</blockquote><ul><li class="nr-verdict-bad">Argentina won. <i>— &#x27;Argentina&#x27; is not in the '
            "cited passages</i></li></ul></details>") in html
    assert "closest passage" not in html


def test_the_timeline_orders_cited_sentences_by_date_on_an_axis():
    answer = answered(question="When did the harbour reopen?", citations=[
        cite(1, published_at="2024-02-11", source="Gozo Gazette"), cite(2, published_at="2024-02-01T22:30:00+00:00"),
        cite(3), cite(4, published_at="2024-02-02")])
    dated, undated = timeline.ordered(answer)
    assert [c["n"] for _, c in dated] == [2, 4, 1] and [c["n"] for c in undated] == [3]
    html = timeline.timeline_html(answer, open_=True)
    assert html.startswith('<details class="nr-timeline" open><summary>Timeline: 3 dated sources, '
                           "2024-02-01 → 2024-02-11, 9 days</summary>")
    assert [m for m in re.findall(r"<time>([^<]+)</time>", html)] == ["2024-02-01", "2024-02-02", "2024-02-11",
                                                                       "undated"]
    gaps = [float(g) for g in re.findall(r"margin-top:([\d.]+)rem", html)]
    assert gaps[0] < gaps[1]  # a few hours apart, then nine days: the space grows with the time
    assert timeline.asks_about_time("When did the harbour reopen?", answer)
    assert not timeline.asks_about_time("How many drones were intercepted?", answered())
    assert timeline.asks_about_time("How many drones?", answered(filters={"since": "2024-01-01", "until": None}))
    assert '<details class="nr-timeline" open>' in views.answer_html(answer)  # a time question: open
    assert timeline.timeline_html(answered(citations=[cite(1)])).startswith(
        '<details class="nr-timeline"><summary>Timeline: no cited article is dated</summary>')


def test_source_cards_highlight_the_quote_inside_its_passage(drones):
    first = drones["citations"][0]
    passage = {"start": 0, "text": first["quote"] + " This development <marks> one of the largest."}
    panel = sources.sources_html({"question": DRONES, "answer": drones, "passages": {"1": passage}})
    assert (f'<blockquote class="nr-passage"><mark>{first["quote"]}</mark> This development &lt;marks&gt; one '
            "of the largest.</blockquote>") in panel
    assert '<span class="nr-tag">differs: 55 Ukrainian drones</span>' in panel
    assert f"{UNTITLED_64.replace(chr(34), '&quot;')}</a></header><div class=\"nr-meta\">outlet unknown · undated" \
        in panel
    # no passage stored (or one that no longer matches): the quote alone
    assert f'<blockquote class="nr-passage"><mark>{drones["citations"][1]["quote"]}</mark></blockquote>' in panel
    assert sources.highlighted_passage({"start": 5, "text": "other text"}, 0, 3, "The") == "<mark>The</mark>"


def test_long_passages_are_trimmed_around_the_quote():
    text = "a" * 1000 + "QUOTE" + "b" * 1000
    html = sources.highlighted_passage({"start": 100, "text": text}, 1100, 1105, "QUOTE")
    assert html == "…" + "a" * sources.CONTEXT_CHARS + "<mark>QUOTE</mark>" + "b" * sources.CONTEXT_CHARS + "…"


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
    untitled = views.article_page({"id": "a2", "title": None, "display_title": UNTITLED_64, "sources": [],
                                   "body": "The Russian Ministry of Defense has confirmed it."})
    assert f"<h1>{UNTITLED_64.replace(chr(34), '&quot;')}</h1>" in untitled and "outlet unknown · undated" in untitled


def test_messages_render_stored_exchanges(drones):
    shown = views.messages([{"question": "<i>drones</i>? What's \"new\"", "answer": drones}])
    # the question as escaped text only: the chat's edit box shows it as typed
    assert shown[0] == {"role": "user", "content": "&lt;i&gt;drones&lt;/i&gt;? What's \"new\""}
    assert shown[1] == {"role": "assistant", "content": views.answer_html(drones, question="<i>drones</i>? "
                                                                                         "What's \"new\"")}


def test_one_card_per_article_lists_each_cited_sentence_under_it():
    answer = answered(citations=[cite(1, "a1", 0, 8), cite(2, "a2", 5, 12), cite(3, "a1", 40, 52)],
                      conflicts=[{"kind": "disagree", "note": "", "claims": [{"n": 3, "text": "55 drones"}]}])
    panel = sources.sources_html({"question": "Q", "answer": answer, "passages": {}})
    cards = re.findall(r'<article class="nr-card" id="nr-article-(\w+)">(.*?)</article>', panel)
    assert [article for article, _ in cards] == ["a1", "a2"]  # in the order of their first citation
    first = cards[0][1]
    assert '<span class="nr-n">[1][3]</span> <a class="nr-title" href="articles/a1"' in first
    assert re.findall(r'<li class="nr-quote" id="nr-source-(\d)">', first) == ["1", "3"]
    assert first.count('class="nr-open"') == 2 and "articles/a1?start=40&amp;end=52#hl" in first
    assert '<li class="nr-quote" id="nr-source-3"><span class="nr-n">[3]</span> <span class="nr-tag">disputed: ' \
           "55 drones</span>" in first
    assert text_of(first).count("Story 1") == 1  # the title once, whatever the citations


def test_the_filters_an_answer_was_given_under_show_in_its_footer():
    filters = {"source": ["Miami News, KMIA", "A <b>B</b>"], "since": "2023-10-01", "until": None}
    assert views.filter_labels(filters) == [("source", "Miami News, KMIA", "Outlet: Miami News, KMIA"),
                                            ("source", "A <b>B</b>", "Outlet: A <b>B</b>"),
                                            ("since", "2023-10-01", "From 2023-10-01")]
    footer = views.answer_html(answered(filters={**filters, "until": "2024-01-31"},
                                        sentences=[{"text": "x", "citations": []}]))
    assert re.findall(r'<span class="nr-chip nr-chip-used">(.*?)</span>', footer) == [
        "Outlet: Miami News, KMIA", "Outlet: A &lt;b&gt;B&lt;/b&gt;", "From 2023-10-01", "Until 2024-01-31"]
    assert text_of(footer).startswith("x mode: openai · 1.2 s · 0 sources · filtered: Outlet: Miami News, KMIA")
    assert "nr-chip-x" not in footer  # the answer says what it was given under; the chips above change it
    assert "filtered" not in views.answer_html(answered(sentences=[{"text": "x", "citations": []}]))


def test_a_removed_article_page_says_so_and_leads_back_to_the_chat():
    page = views.missing_page({"title": "Harbour <reopens>", "at": 1_700_000_000})
    assert "<h1>Article removed</h1>" in page
    assert "“Harbour &lt;reopens&gt;” was removed from the library on 2023-11-14." in page
    assert '<a href="../">← Back to the chat</a>' in page and "newsrag articles" not in page
    unknown = views.missing_page(None)
    assert "The library holds no article at this address" in unknown and '<a href="../">' in unknown


def test_library_rows_show_the_matching_sentence_with_its_words_marked():
    from index.browse import Match
    from ui import library_view

    match = Match(("title", "text"), "Drones <flew> over Kursk.", 120, 145, ((0, 6), (19, 24)), "v-0001")
    assert library_view.match_html("a1", match) == (
        '<div class="nr-match"><a class="nr-match-quote" href="articles/a1?start=120&amp;end=145#hl" '
        'target="_blank" rel="noopener" title="Open the article at this sentence"><mark>Drones</mark> &lt;flew&gt; '
        "over <mark>Kursk</mark>.</a></div>")
    assert text_of(library_view.match_html("a1", Match(("title", "outlet")))) == "Found in the title and the outlet."
    assert library_view.match_html("a1", None) == ""
