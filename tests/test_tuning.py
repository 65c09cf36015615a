"""The one ``Tuning`` object: every field documented, loaded from a file or the environment with
clear errors, and no tuned number left anywhere else in ``rag/``."""

from __future__ import annotations

import ast
import gc
import json
from dataclasses import fields
from pathlib import Path

import pytest

from eval.command import settings as eval_settings
from index.errors import ConfigError
from rag.settings import RagSettings
from rag.tuning import Tuning
from ui.cli import build_parser

RAG = Path(__file__).resolve().parent.parent / "rag"


def _parse(*texts: str) -> list[ast.Module]:
    """``ast.parse`` of each text with the garbage collector held: a finalizer run inside it (an
    event loop an earlier test's Gradio app left) reports through a traceback, which Python 3.11
    formats with ``ast`` too, and the nested parse breaks the outer one's recursion count ("AST
    constructor recursion depth mismatch"). One collection first, not one per text: late in the
    suite the heap is large and each took about a second."""
    gc.collect()
    gc.disable()
    try:
        return [ast.parse(text) for text in texts]
    finally:
        gc.enable()


def _field_docstrings() -> dict[str, str]:
    """Field name -> the string literal right under it in ``rag/tuning.py``."""
    tree, = _parse((RAG / "tuning.py").read_text(encoding="utf-8"))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tuning"]
    docs = {}
    for node, after in zip(cls.body, cls.body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = after.value.value
    return docs


def test_every_field_says_what_it_does_and_how_its_value_was_chosen():
    docs = _field_docstrings()
    assert list(docs) == [f.name for f in fields(Tuning)]
    chosen = ("dev slice", "set by hand", "swept", "measured", "chosen", "set with", "checked by hand")
    undecided = [name for name, doc in docs.items() if not any(word in " ".join(doc.lower().split()) for word in chosen)]
    assert undecided == []


def test_a_file_sets_some_fields_and_leaves_the_rest_at_their_defaults(tmp_path):
    path = tmp_path / "tuning.json"
    path.write_text(json.dumps({"dense_weight": 0.5, "per_article": 3, "rrf_k": 20, "unfinished": 1}))
    tuning = Tuning.from_file(path)
    assert (tuning.dense_weight, tuning.per_article, tuning.rrf_k, tuning.unfinished) == (0.5, 3, 20, 1.0)
    assert isinstance(tuning.unfinished, float)  # a whole number given for a weight is read as one
    assert tuning.with_(dense_weight=0.4, per_article=2, rrf_k=10, unfinished=0.8) == Tuning()
    assert Tuning.from_mapping(Tuning(claim_share=0.3).to_dict()) == Tuning(claim_share=0.3)


@pytest.mark.parametrize("content, message", [
    ('{"dense_wieght": 0.5}', r"tuning file .*tuning\.json: unknown tuning field 'dense_wieght'; the fields are "
                              r"followup_max_words, .*, dense_weight, "),
    ('{"per_article": 2.5}', r"tuning file .*: tuning per_article=2\.5 must be a whole number, such as 2\."),
    ('{"redundant": "high"}', r"tuning redundant='high' is not a number: give one such as 0\.9\."),
    ('{"naming_cited": true}', r"tuning naming_cited=True is not a number: give one such as 2\."),
    ('{"same_story": -1.1}', r"tuning same_story=-1\.1 must be at least 0; the default is 1\.1\."),
    ('{"dense_weight": 1.5}', r"tuning dense_weight=1\.5 must be between 0 and 1\."),
    ('{"per_report": 0}', r"tuning per_report=0 must be at least 1\."),
    ('[0.5]', r"tuning file .* must hold one JSON object of field names and values, not a list\."),
    ('{"dense_weight": 0.5', r"tuning file .* is not valid JSON \(Expecting .*, line 1\)\."),
])
def test_a_bad_file_is_refused_in_one_line_with_the_value_and_the_fix(tmp_path, content, message):
    path = tmp_path / "tuning.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        Tuning.from_file(path)


def test_a_missing_file_names_the_path(tmp_path):
    with pytest.raises(ConfigError, match=r"tuning file .*nowhere\.json does not exist: give the path of a JSON"):
        Tuning.from_file(tmp_path / "nowhere.json")


def test_the_environment_file_then_the_single_value_variables(tmp_path):
    path = tmp_path / "tuning.json"
    path.write_text(json.dumps({"dense_weight": 0.5, "refusal_threshold": 0.3, "claim_share": 0.4}))
    assert RagSettings.from_env({}).tuning == Tuning()
    settings = RagSettings.from_env({"NEWSRAG_TUNING": str(path), "NEWSRAG_DENSE_WEIGHT": "0.25"})
    assert settings.tuning == Tuning(dense_weight=0.25, refusal_threshold=0.3, claim_share=0.4)
    assert RagSettings.from_env({"NEWSRAG_RRF_K": "30"}).tuning == Tuning(rrf_k=30)
    with pytest.raises(ConfigError, match=r"tuning dense_weight=2\.0 must be between 0 and 1\."):
        RagSettings.from_env({"NEWSRAG_DENSE_WEIGHT": "2"})


def test_eval_takes_a_tuning_file_over_the_environment_one(tmp_path, monkeypatch):
    mine, theirs = tmp_path / "mine.json", tmp_path / "theirs.json"
    mine.write_text('{"no_number": 0.5}')
    theirs.write_text('{"no_number": 0.7}')
    monkeypatch.setenv("NEWSRAG_TUNING", str(theirs))
    args = build_parser().parse_args(["eval", "multihop", "--data", str(tmp_path), "--tuning", str(mine)])
    assert eval_settings(args).tuning == Tuning(no_number=0.5)
    args = build_parser().parse_args(["eval", "sample"])
    assert eval_settings(args).tuning == Tuning(no_number=0.7)


# Floats in rag/ that are not tuning (a backend's quirk). A tuned weight, share or threshold belongs
# in rag/tuning.py; whole numbers in rag/ are limits and sizes (a question's length, a cache).
FLOATS = {("llm.py", 0.01),  # llama.cpp's sampler takes no temperature of 0
          # the answer line's model: the cap of a feature (part of what the model was trained on: a
          # change is a new model, not a new weight), an overflow guard and Newton's tolerances
          ("line_model.py", 5.0), ("line_model.py", 50.0), ("line_model.py", 1e-10), ("line_model.py", 1e-09)}


def test_no_tuned_weight_is_left_outside_the_tuning_object():
    found = []
    paths = [p for p in sorted(RAG.glob("*.py")) if p.name not in {"tuning.py", "settings.py"}]
    for path, tree in zip(paths, _parse(*(p.read_text(encoding="utf-8") for p in paths)), strict=True):
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and type(node.value) is float and node.value not in (0.0, 1.0) \
                    and (path.name, node.value) not in FLOATS:
                found.append(f"{path.name}:{node.lineno}: {node.value}")
    assert found == []
