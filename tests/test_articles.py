"""Loading: every format, the honest metadata of plain text, and a one-line error per bad input."""

from __future__ import annotations

import json

import pytest
from conftest import MULTIHOP, SEED_55, SEED_64, SEEDS

from index.articles import Article, load_paths, normalize_date, split_text_header
from index.errors import InputError, TooLargeError

MB = 1_000_000


def load(*paths, max_bytes=10 * MB):
    results = list(load_paths(paths, max_bytes=max_bytes))
    return ([r for r in results if isinstance(r, Article)], [r for r in results if isinstance(r, InputError)])


def test_sample_with_a_news_header_gives_outlet_section_and_headline():
    (article,), errors = load(SEEDS / SEED_55)
    assert errors == []
    assert article.source == "Miami News, KMIA"
    assert article.category == "World News"
    assert article.title == ("Urgent Update: Russia Intercepts 55 Ukrainian Drones in Largest Nighttime "
                             "Operation, Fueling Fears of Escalation")
    assert article.body.startswith("The Russian Air Defense Forces have intercepted 55 Ukrainian drones")
    assert article.published_at is None  # never invented
    assert article.key == str((SEEDS / SEED_55).resolve()) or article.key == str(SEEDS / SEED_55)


def test_sample_without_header_is_untitled_and_named_by_its_lead_never_its_file_name():
    (article,), _ = load(SEEDS / SEED_64)
    assert article.title is None
    assert article.display_title == 'Untitled — "The Russian Ministry of Defense has confirmed …"'
    assert article.source is None and article.published_at is None and article.author is None
    assert article.body.startswith("The Russian Ministry of Defense has confirmed")
    assert not article.body.endswith("\n")


def test_key_value_header_lines_become_metadata(tmp_path):
    path = tmp_path / "kv.txt"
    path.write_text("Title: Bridge vote\nSource: The Daily\nDate: 2024-03-05\nAuthor: Jane Doe\n"
                    "URL: https://daily.example/1\n\nThe council voted 7 to 2.\n")
    (article,), _ = load(path)
    assert (article.title, article.source, article.published_at, article.author, article.url) == (
        "Bridge vote", "The Daily", "2024-03-05", "Jane Doe", "https://daily.example/1")
    assert article.body == "The council voted 7 to 2."
    assert article.key == "https://daily.example/1"


def test_split_text_header_reads_date_and_byline_lines():
    meta, body = split_text_header("The Daily\nMarch 5, 2024\nBy Jane Doe\nBridge approved\n\nIt passed.")
    assert meta == {"published_at": "March 5, 2024", "author": "Jane Doe", "title": "Bridge approved",
                    "source": "The Daily"}
    assert body.strip() == "It passed."


def test_markdown_front_matter_and_heading(tmp_path):
    with_front = tmp_path / "a.md"
    with_front.write_text("---\ntitle: Storm hits coast\noutlet: Coast Herald\n"
                          "published_at: 2024-01-02T08:00:00Z\nauthors: [A. One, B. Two]\n---\n"
                          "Heavy rain fell overnight.\n")
    with_heading = tmp_path / "b.md"
    with_heading.write_text("# Markets rally\n\nStocks rose 3% on Monday.\n")
    articles, errors = load(with_front, with_heading)
    assert errors == []
    first, second = articles
    assert (first.title, first.source, first.published_at, first.author) == (
        "Storm hits coast", "Coast Herald", "2024-01-02T08:00:00+00:00", "A. One, B. Two")
    assert first.body == "Heavy rain fell overnight."
    assert (second.title, second.body) == ("Markets rally", "Stocks rose 3% on Monday.")


def test_markdown_with_broken_front_matter_is_one_line_error(tmp_path):
    path = tmp_path / "bad.md"
    path.write_text("---\ntitle: [unclosed\n---\nBody.\n")
    articles, (error,) = load(path)
    assert articles == []
    assert str(error) == f"{path}: front matter is not valid YAML (line 2)"


def test_html_main_text_and_metadata_without_script_or_navigation(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Big news | The Daily</title><meta property='og:site_name' content='The Daily'>"
        "<meta name='author' content='Jane Doe'>"
        "<meta property='article:published_time' content='2024-03-05T10:00:00Z'>"
        "<link rel='canonical' href='https://daily.example/news/1'></head><body><nav>Home | World</nav>"
        "<article><h1>Big news</h1><p>The council voted 7 to 2 on Tuesday to approve the new bridge. "
        "Construction starts in May.</p><p>Residents were divided.<script>alert('x')</script> "
        "Some welcomed it.</p></article><footer>Copyright The Daily</footer></body></html>")
    (article,), _ = load(path)
    assert article.title == "Big news"
    assert article.source == "The Daily"
    assert article.author == "Jane Doe"
    assert article.url == "https://daily.example/news/1"
    assert article.published_at == "2024-03-05"
    assert article.body.startswith("The council voted 7 to 2 on Tuesday")
    assert "alert" not in article.body and "Home | World" not in article.body
    assert "Copyright" not in article.body


def test_multihop_corpus_loads_as_it_is():
    articles, errors = load(MULTIHOP / "corpus.json")
    assert errors == [] and len(articles) == 60
    raw = json.loads((MULTIHOP / "corpus.json").read_text())
    first = articles[0]
    assert first.title == raw[0]["title"] and first.source == raw[0]["source"]
    assert first.url == raw[0]["url"] and first.key == raw[0]["url"]
    assert first.published_at == raw[0]["published_at"]
    assert first.category == raw[0]["category"] and first.author == raw[0]["author"]
    assert len({a.id for a in articles}) == 60


def test_json_object_list_and_wrapper(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"headline": "A", "text": "Alpha text here.", "outlet": "X"}))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([{"title": "B", "body": "Beta text."}, {"title": "C"}, "oops"]))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"articles": [{"title": "D", "content": "Delta text."}]}))
    articles, errors = load(one, many, wrapped)
    assert [(a.title, a.body, a.source) for a in articles] == [
        ("A", "Alpha text here.", "X"), ("B", "Beta text.", None), ("D", "Delta text.", None)]
    assert [a.origin for a in articles] == [str(one), f"{many}#0", f"{wrapped}#0"]
    assert [str(e) for e in errors] == [
        f"{many}#1: no article text (expected a 'body', 'text' or 'content' field)",
        f"{many}#2: item 2 is a JSON str, not an object"]


def test_jsonl_bad_line_is_reported_with_its_number_and_the_rest_loads(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_text('{"title": "One", "body": "First."}\n{"title": "Two", "body": \n\n'
                    '{"title": "Four", "body": "Fourth."}\n[1, 2]\n')
    articles, errors = load(path)
    assert [a.title for a in articles] == ["One", "Four"]
    assert [a.origin for a in articles] == [f"{path}:1", f"{path}:4"]
    assert [str(e) for e in errors] == [
        f"{path}:2: malformed JSON line (Expecting value at column 26)",
        f"{path}:5: a JSON list, not an article object"]


def test_malformed_json_file_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"title": "x",\n "body": "y"\n')
    _, (error,) = load(path)
    assert str(error).startswith(f"{path}: malformed JSON at line 3, column 1 (")


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.txt", b"", "empty file"),
    ("blank.txt", b"  \n\n \t", "empty file"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file, not text"),
    ("latin1.txt", "Caf\u00e9 au lait".encode("latin-1"),
     "not valid UTF-8 (byte 0xe9 at offset 3); re-save the file as UTF-8"),
    ("report.pdf", b"%PDF-1.4", "unsupported file type '.pdf' (supported: .txt, .md, .markdown, .html, "
                                ".htm, .json, .jsonl)"),
])
def test_bad_files_get_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    articles, (error,) = load(path)
    assert articles == []
    assert str(error) == f"{path}: {message}"
    assert "\n" not in str(error)


def test_missing_path_broken_link_and_size_limit(tmp_path):
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)  # 1.5 MB
    link = tmp_path / "dangling.txt"
    link.symlink_to(tmp_path / "gone.txt")
    articles, errors = load(tmp_path / "nope.txt", link, big, max_bytes=1 * MB)
    assert articles == []
    assert [str(e) for e in errors] == [
        f"{tmp_path / 'nope.txt'}: no such file or folder",
        f"{link}: cannot read (a broken link or not a regular file)",
        f"{big}: 1.5 MB is over the 1 MB limit (raise NEWSRAG_MAX_FILE_MB to allow it)"]
    assert isinstance(errors[2], TooLargeError) and errors[2].http_status == 413


def test_folders_are_read_recursively_in_order_skipping_hidden_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "a.txt").write_text("Alpha body.")
    (tmp_path / "b" / "c.txt").write_text("Charlie body.")
    (tmp_path / ".hidden.txt").write_text("Hidden body.")
    (tmp_path / ".git" / "x.txt").write_text("Git body.")
    articles, errors = load(tmp_path)
    assert errors == []
    assert [a.body for a in articles] == ["Alpha body.", "Charlie body."]


@pytest.mark.parametrize(("raw", "expected"), [
    ("2023-10-06T17:22:02+00:00", "2023-10-06T17:22:02+00:00"),
    ("2023-10-06T17:22:02Z", "2023-10-06T17:22:02+00:00"),
    ("2023-10-06", "2023-10-06"),
    ("October 6, 2023", "2023-10-06"),
    ("Fri, 06 Oct 2023 17:22:02 GMT", "2023-10-06T17:22:02+00:00"),
    ("last Tuesday", None),
    ("", None),
])
def test_dates_are_normalized_or_dropped_never_invented(raw, expected):
    assert normalize_date(raw) == expected


def test_the_lead_is_the_first_sentence_cut_at_a_word():
    from index.articles import display_title, lead_of

    assert lead_of("Stocks rose 3% on Monday. Bonds fell.") == "Stocks rose 3% on Monday."
    assert lead_of("  A  very long opening sentence that goes on, and on, past the limit of the lead.") == \
        "A very long opening sentence that goes on, and …"
    assert lead_of("x" * 60) == "x" * 48 + " …"  # one unbroken word is cut where it must be
    assert display_title("Bridge vote", "ignored") == "Bridge vote"
    assert display_title(None, "") == "Untitled"


def test_an_untitled_chunk_header_holds_only_what_is_known():
    from index.chunking import make_header

    assert make_header(None, None, None) == ""
    assert make_header(None, "The Daily", "2024-03-05T10:00:00") == "The Daily, 2024-03-05\n\n"
    assert make_header("Bridge vote", None, None) == "Bridge vote\n\n"
