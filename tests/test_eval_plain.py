"""The plain-question gold set: the validator's one-line errors on tiny synthetic sets, the scorer on
synthetic answers, the gate's ceiling, and (marker ``multihop``, the train split beside the repo) the
whole set run through the real pipeline against its floors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import MULTIHOP, SHARED

from eval.compare import gate_applies, gate_failures, load_thresholds
from eval.plain import (
    FILLERS,
    KINDS,
    PLAIN_SET,
    PlainItem,
    fillers,
    has,
    problems,
    read_set,
    says_missing,
    score,
    summarize,
)
from rag.types import ANSWERED, REFUSAL_TEXT, REFUSED, Answer, Direct, Refusal

TRAIN = SHARED / "datasets" / "multihop-rag-train"

# A three-article corpus in the MultiHop-RAG format (synthetic text).
CORPUS = {
    "https://a.example/binance": {
        "url": "https://a.example/binance", "source": "TechCrunch", "title": "Binance to pay $4.3B",
        "published_at": "2023-11-21T17:34:32+00:00",
        "body": "Richard Teng will be the exchange's new CEO. Binance agreed to pay about $4.3 billion. "
                "Teng ran a regulator. The penalty was six times larger, a 10-point drop."},
    "https://b.example/coinbase": {
        "url": "https://b.example/coinbase", "source": "Cnbc | World Business News Leader",
        "title": "Coinbase rallies", "published_at": "2023-11-30T21:08:00+00:00",
        "body": "Coinbase shares rocketed more than 60%. Photo: Carlos Jasso | Bloomberg | Getty Images"},
    "https://c.example/filler": {
        "url": "https://c.example/filler", "source": "Polygon", "title": "Games", "published_at": "2023-10-01",
        "body": "A list of games."},
}
GOOD = {"id": "who", "question": "Who is Binance's new CEO?", "kind": "who", "answers": ["Richard Teng"],
        "refuse": False, "missing_source": None, "articles": ["https://a.example/binance"], "history": [],
        "note": "“Richard Teng will be the exchange's new CEO.”"}


def _lines(tmp_path: Path, *lines) -> Path:
    path = tmp_path / "plain.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
                    encoding="utf-8")
    return path


def _errors(tmp_path: Path, *lines) -> list[str]:
    items, errors = read_set(_lines(tmp_path, *lines))
    return errors + problems(items, CORPUS)


def _with(**changes) -> dict:
    return {**GOOD, **changes}


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "plain.jsonl:1: not valid JSON (Expecting property name enclosed in double quotes at column 2)."),
    ({k: v for k, v in GOOD.items() if k != "note"},
     "plain.jsonl:1: missing key 'note': every line has exactly id, question, kind, answers, refuse, "
     "missing_source, articles, history, note."),
    (_with(answer=["x"]), "plain.jsonl:1: unknown key 'answer': every line has exactly id, question, kind, "
                          "answers, refuse, missing_source, articles, history, note."),
    (_with(kind="person"), f"plain.jsonl:1: kind='person' is unknown: use one of {', '.join(KINDS)}."),
    (_with(refuse="no"), "plain.jsonl:1: 'refuse' must be true or false, not 'no'."),
    (_with(answers=[["Richard Teng", ""]]),
     "plain.jsonl:1: 'answers' must be a list of strings or of lists of strings (all required), "
     "not [['Richard Teng', '']]."),
    (_with(refuse=True), "plain.jsonl:1 (who): a refusal item has no answers: set 'answers' to []."),
    (_with(articles=[]), "plain.jsonl:1 (who): an answerable item needs 'answers' and the 'articles' that hold "
                         "them (or set 'refuse': true)."),
    (_with(kind="missing_source", answers=[], refuse=False, missing_source="Reuters"),
     "plain.jsonl:1 (who): an answerable item needs 'answers' and the 'articles' that hold them "
     "(or set 'refuse': true)."),
    (_with(kind="missing_source", answers=[], refuse=True),
     "plain.jsonl:1 (who): kind 'missing_source' and a 'missing_source' outlet go together."),
    (_with(kind="followup"), "plain.jsonl:1 (who): a follow-up (kind 'followup') has the earlier questions in "
                             "'history', and only a follow-up does."),
    (_with(history=["Who runs Binance?"]),
     "plain.jsonl:1 (who): a follow-up (kind 'followup') has the earlier questions in 'history', and only a "
     "follow-up does."),
    (_with(kind="yesno", answers=["maybe"]), "plain.jsonl:1 (who): a yes/no item answers [\"yes\"] or [\"no\"]."),
    (_with(note="x" * 401), "plain.jsonl:1 (who): the note has 401 characters: quote one sentence at most (400), "
                            "article bodies stay out of the repository."),
    (_with(articles=["https://a.example/nope"]),
     "plain.jsonl:1 (who): https://a.example/nope is not in the corpus: copy the article's 'url' from corpus.json."),
    (_with(answers=["Richard Tang"]),
     "plain.jsonl:1 (who): the answer 'Richard Tang' occurs in none of its articles: write it as the article "
     "does, or list the article that holds it."),
    (_with(answers=["$4.4 billion"]),
     "plain.jsonl:1 (who): the answer '$4.4 billion' occurs in none of its articles: write it as the article "
     "does, or list the article that holds it."),
    (_with(answers=[["Richard Teng", "Coinbase"]]),  # every phrase of a conjunction is checked
     "plain.jsonl:1 (who): the answer 'Coinbase' occurs in none of its articles: write it as the article "
     "does, or list the article that holds it."),
    (_with(kind="missing_source", answers=[], articles=[], refuse=True, missing_source="Polygon"),
     "plain.jsonl:1 (who): the index holds articles from 'polygon', so 'Polygon' is not a source it lacks: "
     "pick an outlet none of its articles comes from."),
])
def test_a_bad_line_fails_with_its_line_and_the_fix(tmp_path, line, message):
    assert _errors(tmp_path, line) == [message]


@pytest.mark.parametrize("changes", [
    {},
    {"answers": ["Richard Teng", "$4.3B", "$4.3 billion"]},  # title and body
    {"answers": ["6 times"]},  # "six times": number words read as figures
    {"answers": ["10 points"]},  # its figure, 10, occurs ("10-point")
    {"kind": "outlets", "answers": [["TechCrunch", "CNBC"]],
     "articles": ["https://a.example/binance", "https://b.example/coinbase"]},  # outlets from the source field
    {"kind": "when", "answers": ["November 21", "2023-11-21", "21 November 2023"]},  # its publication day
    {"kind": "yesno", "answers": ["No"]},  # a verdict is not looked up in the text
    {"kind": "missing_source", "answers": [], "articles": [], "refuse": True, "missing_source": "Bloomberg"},
    {"kind": "unanswerable", "answers": [], "articles": [], "refuse": True},
    {"kind": "followup", "history": ["Who is Binance's new CEO?"], "answers": ["Teng ran a regulator"]},
])
def test_a_good_line_has_no_problem(tmp_path, changes):
    """Bloomberg is named in a body (a photo credit) but no indexed article comes from it."""
    assert _errors(tmp_path, _with(**changes)) == []


def test_a_when_answer_is_not_matched_to_another_articles_date(tmp_path):
    assert _errors(tmp_path, _with(kind="when", answers=["November 30"])) == [
        "plain.jsonl:1 (who): the answer 'November 30' occurs in none of its articles: write it as the article "
        "does, or list the article that holds it."]


def test_every_problem_is_listed_not_only_the_first(tmp_path):
    errors = _errors(tmp_path, GOOD, "[1]", _with(id="who"), _with(id="x", answers=["Nobody"]))
    assert errors == [
        "plain.jsonl:2: expected a JSON object, not list.",
        "plain.jsonl:3 (who): duplicate id: ids must be unique.",
        "plain.jsonl:4 (x): the answer 'Nobody' occurs in none of its articles: write it as the article does, "
        "or list the article that holds it."]


def test_fillers_are_the_first_urls_by_sha256_outside_the_set():
    # sha256: filler 1d266b…, binance 7b73bd…, coinbase f496e1…
    assert fillers(CORPUS, [], 3) == ["https://c.example/filler", "https://a.example/binance",
                                      "https://b.example/coinbase"]
    assert fillers(CORPUS, ["https://c.example/filler"], 1) == ["https://a.example/binance"]


@pytest.mark.parametrize(("text", "phrase", "found"), [
    ("**Richard Teng** [1]", "Richard Teng", True),
    ("Teng [1]", "Richard Teng", False),
    ("six goals / 10 goals", "6", True),
    ("$4.3 billion", "$4.3B", False),
    ("almost £300m in the year", "£300m", True),
    ("€473 million ($513 million)", "$513 million", True),
    ("the 10-point penalty", "10 points", False),  # whole words: the validator's figure check is not the scorer's
])
def test_phrases_match_as_whole_words_with_number_words_as_figures(text, phrase, found):
    assert has(text, phrase) is found


@pytest.mark.parametrize(("outlet", "text", "found"), [
    ("Bloomberg", "The library holds no article from Bloomberg or The Wall Street Journal.", True),
    ("The Wall Street Journal", "The library holds no article from Bloomberg or The Wall Street Journal.", True),
    ("The Wall Street Journal", "The indexed articles do not answer this.\nno article from wall street journal", True),
    ("Bloomberg", "No Bloomberg article is in the library.", True),
    ("Bloomberg", "There is nothing from Bloomberg here.", True),
    ("Reuters", "The library holds no article from Bloomberg or The Wall Street Journal.", False),
    ("Bloomberg", "Data from Apptopia, reported by Bloomberg, noted that consumers were spending 18 minutes.", False),
    ("Bloomberg", "The library holds no article from Reuters. Bloomberg reports a figure.", False),  # two sentences
    ("Bloomberg", "the articles never mention 'Bloomberg'", False),
    ("Bloomberg", "The library holds no article from Bloombergs.", False),
])
def test_a_missing_source_is_said_in_one_sentence_with_the_outlet(outlet, text, found):
    assert says_missing(outlet, text) is found


def _item(**changes) -> PlainItem:
    base = {"id": "i", "question": "Who is Binance's new CEO?", "kind": "who", "answers": (("Richard Teng",),),
            "refuse": False, "missing_source": None, "articles": ("u",), "history": (), "note": "n", "line": 1}
    return PlainItem(**{**base, **changes})


def _answer(text: str, *, direct: tuple[str, ...] | None = None, refusal: str | None = None) -> Answer:
    return Answer(question="q", answer=text, status=REFUSED if refusal else ANSWERED, mode="extractive",
                  direct=Direct(kind="person", values=tuple((v, (1,)) for v in direct)) if direct else None,
                  refusal=Refusal(reason=refusal) if refusal else None)


SEVERAL = (("Talon Cyber Security", "Dig Security"),)


@pytest.mark.parametrize(("item", "answer", "expected"), [
    (_item(), _answer("**Richard Teng** [1] — named in 2 cited sentences.", direct=("Richard Teng",)),
     {"right": True, "wrong_line": False, "why": ""}),
    (_item(), _answer("Richard Teng, Binance’s former global head of regional markets, will be the new CEO. [1]"),
     {"right": True, "wrong_line": False, "why": ""}),
    (_item(), _answer("**Changpeng Zhao** [1] Richard Teng will be the exchange's new CEO. [2]", direct=("Changpeng Zhao",)),
     {"right": False, "wrong_line": True, "why": "answer line 'Changpeng Zhao' holds no accepted answer"}),
    (_item(), _answer("**Teng** [1] Teng will lead the exchange. [1]", direct=("Teng",)),
     {"right": False, "wrong_line": True, "why": "answer line 'Teng' holds no accepted answer"}),
    (_item(), _answer("Binance agreed to pay about $4.3 billion. [1]"),
     {"right": False, "wrong_line": False, "why": "no accepted answer in the text"}),
    (_item(), _answer(REFUSAL_TEXT, refusal="the articles never mention 'new CEO'"),
     {"right": False, "wrong_line": False, "why": "refused"}),
    (_item(kind="several", answers=SEVERAL),
     _answer("**Talon Cyber Security** / **Dig Security** [1]", direct=("Talon Cyber Security", "Dig Security")),
     {"right": True, "wrong_line": False, "why": ""}),
    (_item(kind="several", answers=SEVERAL),
     _answer("**Talon Cyber Security** [1] It is also looking at Dig Security. [2]", direct=("Talon Cyber Security",)),
     {"right": False, "wrong_line": True, "why": "answer line 'Talon Cyber Security' holds no accepted answer"}),
    (_item(kind="yesno", answers=(("yes",),)), _answer("**Yes** — both give $4.3 billion [1][2]."),
     {"right": True, "wrong_line": False, "why": ""}),
    (_item(kind="yesno", answers=(("no",),)), _answer("Yes, it did not come close to the Eras Tour. [1]"),
     {"right": False, "wrong_line": False, "why": "verdict yes, expected no"}),
    (_item(kind="yesno", answers=(("no",),)), _answer("Renaissance did not come close, no. [1]"),
     {"right": False, "wrong_line": False, "why": "verdict none, expected no"}),
    (_item(kind="unanswerable", answers=(), refuse=True), _answer(REFUSAL_TEXT, refusal="no article gives a price"),
     {"right": True, "wrong_line": False, "why": ""}),
    (_item(kind="unanswerable", answers=(), refuse=True), _answer("**Chelsea** [1] ...", direct=("Chelsea",)),
     {"right": False, "wrong_line": True,
      "why": "answered; the articles do not answer this; answer line 'Chelsea' shown on a question to refuse"}),
    (_item(kind="missing_source", answers=(), refuse=True, missing_source="Bloomberg"),
     _answer(REFUSAL_TEXT, refusal="the library holds no article from Bloomberg"),
     {"right": True, "wrong_line": False, "why": ""}),
    (_item(kind="missing_source", answers=(), refuse=True, missing_source="Bloomberg"),
     _answer("The library holds no article from Bloomberg. TechCrunch relays its figure: 18 minutes. [1]"),
     {"right": True, "wrong_line": False, "why": ""}),
    (_item(kind="missing_source", answers=(), refuse=True, missing_source="CNN"),
     _answer(REFUSAL_TEXT, refusal="the articles never mention 'CNN'"),
     {"right": False, "wrong_line": False, "why": "does not say the library holds no article from CNN"}),
])
def test_the_scorer_on_synthetic_answers(item, answer, expected):
    assert score(item, answer) == expected


def _result(kind: str, right: bool, wrong_line: bool, total: float) -> dict:
    return {"id": f"{kind}-{total}", "kind": kind, "passed": right, "wrong_line": wrong_line,
            "turns": [{"timings_ms": {"retrieve": total / 2, "answer": total / 2, "total": total}}]}


def test_summary_counts_right_answers_and_wrong_lines_per_kind_in_kind_order():
    s = summarize([_result("yesno", False, False, 30.0), _result("who", True, False, 10.0),
                   _result("who", False, True, 20.0), _result("who", False, True, 40.0)])
    assert (s["items"], s["right"], s["right_rate"], s["wrong_lines"]) == (4, 1, 0.25, 2)
    assert s["by_kind"] == {"who": {"items": 3, "right": 1, "wrong_lines": 2, "right_rate": 1 / 3},
                            "yesno": {"items": 1, "right": 0, "wrong_lines": 0, "right_rate": 0.0}}
    assert s["latency_ms"]["total"] == {"p50": 25.0, "p95": pytest.approx(38.5), "n": 4}
    assert s["failed"] == ["yesno-30.0", "who-20.0", "who-40.0"]


RULES = {"plain": {"mode": "extractive", "data": "abc", "min": {"right_rate": 0.4}, "max": {"wrong_lines": 17}}}


def _run(right_rate: float, wrong_lines: int, **extra) -> dict:
    return {"kind": "plain", "mode": "extractive", "data": {"sha256": "abc"},
            "summary": {"right_rate": right_rate, "wrong_lines": wrong_lines, "failed": []}, **extra}


def test_the_plain_gate_has_a_floor_and_a_ceiling():
    assert gate_failures(_run(0.4, 17), RULES) == []
    assert gate_failures(_run(0.39, 18), RULES, source="t.json") == [
        "plain wrong_lines = 18 is over its ceiling 17 in t.json: a regression — fix it, or raise the ceiling "
        "in review if the trade-off is intended.",
        "plain right_rate = 0.390 is under its floor 0.4 in t.json: a regression — fix it, or lower the floor "
        "in review if the trade-off is intended."]
    assert gate_applies(_run(0.1, 99, custom_set=True), RULES) == (
        "the floors are for eval/sets/plain.jsonl; this run used another set")
    other = {**_run(0.1, 99), "data": {"sha256": "def"}}
    assert gate_applies(other, RULES) == ("the floors are for the MultiHop-RAG train split; this run read its "
                                          "articles from other data")


def test_check_lists_every_problem_and_exits_1(tmp_path, capsys):
    from ui.cli import main

    data = tmp_path / "train"
    data.mkdir()
    (data / "corpus.json").write_text(json.dumps(list(CORPUS.values())), encoding="utf-8")
    bad = _lines(tmp_path, GOOD, _with(id="x", answers=["Nobody"]), _with(id="y", kind="person"))
    assert main(["eval", "plain", "--check", "--data", str(data), "--set", str(bad)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "plain.jsonl:3: kind='person' is unknown: use one of " + ", ".join(KINDS) + ".",
        "plain.jsonl:2 (x): the answer 'Nobody' occurs in none of its articles: write it as the article does, "
        "or list the article that holds it.",
        f"{bad}: 2 problems"]
    good = _lines(tmp_path, GOOD)
    assert main(["eval", "plain", "--check", "--data", str(data), "--set", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: valid\n"


# --------------------------------------------------------------- the set over the train split


@pytest.mark.multihop
def test_the_set_is_valid_against_the_train_split_and_outside_the_dev_slice():
    """The shape issue 26 asks for: ≥ 60 plain questions of every kind, over train articles that the dev
    slice does not hold, at most one quoted sentence per note."""
    items, errors = read_set(PLAIN_SET)
    corpus = json.loads((TRAIN / "corpus.json").read_text(encoding="utf-8"))
    assert errors + problems(items, {a["url"]: a for a in corpus}) == []
    dev = {a["url"] for a in json.loads((MULTIHOP / "corpus.json").read_text(encoding="utf-8"))}
    used = {u for i in items for u in i.articles}
    assert len(items) >= 70 and 35 <= len(used) <= 50 and not used & dev
    counts = {k: sum(i.kind == k for i in items) for k in KINDS}
    assert min(counts.values()) >= 6, counts
    assert sum(i.refuse for i in items) >= 15 and sum(bool(i.history) for i in items) >= 10
    assert {len(i.history) for i in items if i.history} >= {1, 2}


@pytest.fixture(scope="module")
def plain_run(embedder, tmp_path_factory):
    """The whole set through the real pipeline (fp32 encoder), in a fresh index of its articles and fillers."""
    from conftest import make_library

    from eval.plain import run_plain
    from eval.report import write_run
    from rag.pipeline import Pipeline
    from rag.settings import RagSettings

    library = make_library(tmp_path_factory.mktemp("plain") / "home", embedder, collection="eval-plain")
    pipeline = Pipeline(RagSettings(index=library.settings), library=library)
    results = run_plain(pipeline=pipeline, data=TRAIN)
    out = tmp_path_factory.mktemp("plain-run")
    write_run(results, out)
    return results, out


@pytest.mark.multihop
def test_the_plain_set_clears_its_gate(plain_run, embedder):
    results, out = plain_run
    s = results["summary"]
    assert len(results["data"]["fillers"]) == FILLERS and results["data"]["articles"] >= 35
    assert (results["encoder"]["backend"], results["encoder"]["precision"]) == ("onnx-fp32", "fp32") == (
        embedder.backend, embedder.precision)
    thresholds = load_thresholds()
    assert gate_applies(results, thresholds) is None
    failing = [f"{r['id']}: {r['question']!r} expected {r['expected']!r}; {r['why']}"
               for r in results["items"] if not r["passed"]]
    assert gate_failures(results, thresholds) == [], "\n".join(failing)
    measured = thresholds["plain"]["measured"]
    assert thresholds["plain"]["min"]["right_rate"] <= measured["right_rate"]
    assert thresholds["plain"]["max"]["wrong_lines"] >= measured["wrong_lines"]
    assert s["items"] == len(read_set(PLAIN_SET)[0]) and sum(k["items"] for k in s["by_kind"].values()) == s["items"]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert f"**{s['right']} of {s['items']} right" in report and f"{s['wrong_lines']} wrong answer lines.**" in report
    assert sorted(p.name for p in out.iterdir()) == ["report.md", "results.json", "right_by_kind.png"]
