"""``python -m eval.soak probes`` (eval/soak/probes.py): security issue 24's HIGH and MEDIUM findings
repeated against a real ``newsrag serve``, each probe counting its breaches. Run against a server
of its own they all hold; against a server that trusts the attacker's address as a proxy, the
rotated forwarded headers are counted as breaches and the command fails.

(tests/test_probes.py is another matter: malformed input on every route.)"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import ROOT, VENV_BIN, free_port, stop, wait_for_port

from eval.soak.probes import HOSTILE, QUESTIONS, SEE, files_holding, hazards, lockout_rules
from ui.guard import Lockout
from ui.render import escape_markdown

NONE_FOUND = {"images": 0, "scripts": 0, "javascript": 0, "foreign_links": 0, "other_tags": 0, "linkable": 0}


def test_the_allowed_failures_are_the_servers_lockout():
    lockout = Lockout()
    assert lockout_rules() == {"max_failures": lockout.max_failures, "window": lockout.window,
                               "lockout": lockout.lockout}


def test_the_hazards_of_the_hostile_article_are_counted_and_its_escaped_text_has_none():
    server = "http://127.0.0.1:7860"
    assert hazards(HOSTILE, server=server, urls=set()) == {
        "images": 4,  # two ![pixel](...) and two <img>
        "scripts": 1,
        "javascript": 2,  # [click](javascript:...) and [1](javascript:...)
        "foreign_links": 1,  # <a href="http://127.0.0.1:9/a">
        "other_tags": 2,  # the front matter's rule and heading
        "linkable": 5}  # www.evil.example, evil.example/more, press@evil.example, two http://
    body = HOSTILE.split("---\n", 2)[2]
    assert hazards(escape_markdown(body), server=server, urls=set()) == NONE_FOUND
    assert hazards(f"[812 ferries]({server}/articles/a1?start=0&end=9) [x](https://z.example/1)",
                   server=server, urls={"https://z.example/1"}) == NONE_FOUND  # here, or the article's own URL


def test_files_holding_a_question_are_found_in_utf8_utf16_and_across_blocks(tmp_path):
    question = QUESTIONS[0]
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "plain.json").write_text(f'{{"q": "{question}"}}')
    (tmp_path / "a" / "wide.db").write_bytes(b"\0" * 10 + question.encode("utf-16-le"))
    (tmp_path / "a" / "straddling.bin").write_bytes(b"x" * ((1 << 20) - 7) + question.encode())
    (tmp_path / "a" / "other.txt").write_text(question[:-1])
    (tmp_path / "empty").touch()
    found = files_holding(QUESTIONS, [tmp_path / "a", tmp_path / "missing", tmp_path / "empty"])
    assert found == [str(tmp_path / "a" / p) for p in ("b/plain.json", "straddling.bin", "wide.db")]


def probes(*args: str, timeout: float = 300) -> tuple[subprocess.CompletedProcess, dict]:
    result = subprocess.run([str(VENV_BIN / "python"), "-m", "eval.soak", "probes", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, result.stdout + result.stderr[-3000:]
    return result, lines[0]


LOGIN_HELD = {"severity": "HIGH", "breaches": 0, "attempts": 32, "threads": 8, "allowed": 5, "not_refused": 5,
              "statuses": {"400": 5, "429": 27},
              "right_password_while_locked": {"/login/": 429, "/login": 429, "/login//": 429},
              "session_cookies": 0, "token_while_locked": 429, "other_address_login": 200}


@pytest.mark.slow
def test_every_probe_holds_against_a_server_of_its_own(tmp_path):
    result, out = probes("--work", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert list(out) == ["scenario", "ok", "breaches", "url", "probes", "see", "server", "articles", "wall_s"]
    assert (out["scenario"], out["ok"], out["breaches"], out["server"], out["articles"]) == (
        "probes", True, 0, "own", 3)
    assert out["see"] == SEE and list(out["probes"]) == ["login", "forwarded", "conversations", "markup"]
    login = out["probes"]["login"]
    # eight threads at once: a 429 may overtake the fifth 400 on its way back, never come before the fifth try
    assert 1 <= login.pop("first_429") <= 6 and login == LOGIN_HELD
    assert out["probes"]["forwarded"] == {"severity": "MEDIUM", "breaches": 0, "attempts": 30, "allowed": 5,
                                          "first_429": 6, "statuses": {"401": 5, "429": 25}}
    home, tmp = tmp_path / "probes-home", tmp_path / "probes-tmp"
    assert out["probes"]["conversations"] == {
        "severity": "MEDIUM", "breaches": 0, "v1_statuses": [200, 200],
        "gradio": {"asked": 2, "exchanges_in_the_browser": 2},  # the conversation went back to the browser
        "searched": [str(tmp), "/tmp/newsrag-exports", "/tmp/gradio", str(home)], "not_searched": [], "files": []}
    markup = out["probes"]["markup"]
    assert markup == {"severity": "MEDIUM", "breaches": 0, "status": "answered", "answered_812_ferries": True,
                      "stream_same_text": True, "whole": NONE_FOUND, "streamed": NONE_FOUND, "mcp": markup["mcp"]}
    assert os.listdir(tmp) == []  # the server's own temporary files stayed in its home


@pytest.fixture()
def proxied(tmp_path):
    """`newsrag serve` that trusts 127.0.0.4, the forwarded probe's address, as a proxy: each
    rotated header is then a new client, the misconfiguration the probe must report."""
    home, systemp, port = tmp_path / "home", tmp_path / "systemp", free_port()
    systemp.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("NEWSRAG_") or k == "GRADIO_TEMP_DIR") or k == "NEWSRAG_MODEL_DIR"}
    env |= {"NEWSRAG_HOME": str(home), "TMPDIR": str(systemp), "NEWSRAG_AUTH": "editor:correct horse",
            "NEWSRAG_API_TOKEN": "api-token-" + "q" * 16, "NEWSRAG_TRUSTED_PROXIES": "127.0.0.4"}
    with open(tmp_path / "serve.log", "w+") as log:
        process = subprocess.Popen([str(VENV_BIN / "newsrag"), "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=120, process=process)
            yield f"http://127.0.0.1:{port}", home, systemp
        finally:
            stop(process)


@pytest.mark.slow
def test_against_a_given_server_a_trusted_forwarded_header_is_a_breach(proxied, tmp_path):
    url, home, systemp = proxied
    result, out = probes("--url", url + "/", "--user", "editor", "--password", "correct horse",
                         "--token", "api-token-" + "q" * 16, "--tmp", str(systemp), "--home", str(home),
                         "--work", str(tmp_path / "work"))
    assert result.returncode == 1, result.stdout + result.stderr[-3000:]
    assert (out["ok"], out["breaches"], out["server"], out["url"]) == (False, 25, "given", url)
    assert out["probes"]["forwarded"] == {"severity": "MEDIUM", "breaches": 25, "attempts": 30, "allowed": 5,
                                          "first_429": None, "statuses": {"401": 30}}
    login = out["probes"]["login"]
    assert 1 <= login.pop("first_429") <= 6 and login == LOGIN_HELD  # the login's lockout holds there too
    conversations = out["probes"]["conversations"]
    assert conversations["searched"] == [str(systemp), "/tmp/newsrag-exports", "/tmp/gradio", str(home)]
    assert (conversations["breaches"], conversations["files"]) == (0, [])
    assert out["probes"]["markup"]["breaches"] == 0 and out["probes"]["markup"]["status"] == "answered"
    # the hostile article was uploaded through the API, and removed by it at the end
    assert list(out["hostile_article_removed"].values()) == [200]


@pytest.mark.parametrize("args, message", [
    (["--url", "http://10.1.2.3:7860", "--user", "u", "--password", "p", "--token", "t"],
     "--url 'http://10.1.2.3:7860' is not a server on this machine: the probes attack from 127.0.0.2-4, so "
     "give http://127.0.0.1:PORT (the loopback only)."),
    (["--url", "https://localhost:7860", "--user", "u", "--password", "p", "--token", "t"],
     "--url 'https://localhost:7860' is not a server on this machine: the probes attack from 127.0.0.2-4, so "
     "give http://127.0.0.1:PORT (the loopback only)."),
    (["--url", "http://[::1]:7860", "--token", "t"],
     "--url needs --user, --password too: the login and the API token of the server probed "
     "(NEWSRAG_AUTH, NEWSRAG_API_TOKEN)."),
    (["--tmp", "/tmp/x"], "--user, --password, --token, --tmp and --home go with --url; without it the probes "
                          "start a server of their own."),
])
def test_a_given_server_must_be_on_the_loopback_and_come_with_its_credentials(args, message, capsys):
    from eval.soak.__main__ import main

    with pytest.raises(SystemExit) as refused:
        main(["probes", *args])
    assert refused.value.code == 2 and capsys.readouterr().err.endswith(f"error: {message}\n")
