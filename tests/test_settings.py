"""Settings read their variables one way, each default written once, and the README's
configuration table says the same as the settings (names and defaults)."""

from __future__ import annotations

import re
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from index.errors import ConfigError
from index.settings import FetchSettings, IndexSettings, variables
from rag.settings import TUNING_VARIABLES, RagSettings
from rag.tuning import Tuning
from ui.settings import ServeSettings

README = Path(__file__).resolve().parent.parent / "README.md"
SETTINGS = (IndexSettings, FetchSettings, RagSettings, ServeSettings)


def _default(f) -> object:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def _shown(f) -> str:
    """How the README's table gives a field's default."""
    if f.metadata.get("shown"):
        return f.metadata["shown"]
    value = _default(f)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{int(value)}`"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def documented() -> dict[str, str]:
    """Variable -> the default the README's configuration table gives it."""
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`NEWSRAG_"):
            continue
        names = re.findall(r"`(NEWSRAG_\w+)`", cells[0])
        defaults = [d.strip() for d in cells[1].split(" / ")] if len(names) > 1 else [cells[1]]
        assert len(defaults) == len(names), line
        table.update(zip(names, defaults, strict=True))
    return table


def declared() -> dict[str, str]:
    """Variable -> the default the settings give it, as the README would write it."""
    out = {name: _shown(f) for cls in SETTINGS for name, f in variables(cls).items()}
    tuning = {f.name: f for f in fields(Tuning)}
    out.update({name: _shown(tuning[field]) for name, field in TUNING_VARIABLES.items()})
    return out


def test_the_readme_table_lists_every_variable_with_its_default():
    assert documented() == declared()


def test_no_setting_is_read_from_a_variable_twice():
    names = [name for cls in SETTINGS for name in variables(cls)] + list(TUNING_VARIABLES)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("env, name, value", [
    ({}, "top_k", 10),
    ({"NEWSRAG_TOP_K": "7"}, "top_k", 7),
    ({"NEWSRAG_TOP_K": "  "}, "top_k", 10),  # empty: the default
    ({"NEWSRAG_LLM_TIMEOUT": "12.5"}, "llm_timeout", 12.5),
    ({"NEWSRAG_GGUF_PATH": "/models/x.gguf"}, "gguf_path", "/models/x.gguf"),
    ({"NEWSRAG_MODE": " openai "}, "mode", "openai"),
])
def test_rag_settings_from_the_environment(env, name, value):
    assert getattr(RagSettings.from_env(env), name) == value


@pytest.mark.parametrize("env, name, value", [
    ({}, "home", Path(".newsrag")),
    ({"NEWSRAG_HOME": "/data/news"}, "home", Path("/data/news")),
    ({"NEWSRAG_MODEL_DIR": "/models"}, "model_dir", Path("/models")),
    ({"NEWSRAG_CHUNK_TOKENS": "128"}, "chunk_tokens", 128),
    ({"NEWSRAG_MAX_FILE_MB": "2"}, "max_file_mb", 2.0),
])
def test_index_settings_from_the_environment(env, name, value):
    assert getattr(IndexSettings.from_env(env), name) == value


@pytest.mark.parametrize("env, name, value", [
    ({"NEWSRAG_FETCH_ROBOTS": "off"}, "robots", False),
    ({"NEWSRAG_FETCH_ALLOW": "127.0.0.1, intranet.example.org"}, "allow", ("127.0.0.1", "intranet.example.org")),
    ({"NEWSRAG_FEED_MIN_EVERY": "90"}, "min_every", 90.0),
])
def test_fetch_settings_from_the_environment(env, name, value):
    assert getattr(IndexSettings.from_env(env).fetch, name) == value


@pytest.mark.parametrize("env, name, value", [
    ({"NEWSRAG_AUTH": "editor:a-long-passphrase", "NEWSRAG_API_TOKEN": "t" * 16}, "auth",
     ("editor", "a-long-passphrase")),
    ({"NEWSRAG_ALLOWED_HOSTS": "news.example.org, 10.0.0.5"}, "allowed_hosts", ("news.example.org", "10.0.0.5")),
    ({"NEWSRAG_EXAMPLES": "Who won? | How many?"}, "examples", ("Who won?", "How many?")),
    ({"NEWSRAG_POLL_FEEDS": "0"}, "poll_feeds", False),
])
def test_serve_settings_from_the_environment(env, name, value):
    assert getattr(ServeSettings.from_env(env), name) == value


@pytest.mark.parametrize("env, message", [
    ({"NEWSRAG_TOP_K": "ten"}, r"NEWSRAG_TOP_K='ten' is not an integer: set it to a value such as 256\."),
    ({"NEWSRAG_LLM_TIMEOUT": "soon"}, r"NEWSRAG_LLM_TIMEOUT='soon' is not a number: set it to a value such as 0\.5\."),
    ({"NEWSRAG_TOP_K": "90"}, r"top_k=90 must be between 1 and 50\."),
])
def test_a_bad_variable_is_refused_with_its_name_and_value(env, message):
    with pytest.raises(ConfigError, match=message):
        RagSettings.from_env(env)
