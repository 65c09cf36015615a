"""``ServeSettings``: loopback by default, auth required anywhere else, bad values named with a fix."""

from __future__ import annotations

import pytest

from index.errors import ConfigError
from ui.settings import DEFAULT_EXAMPLES, ServeSettings, is_loopback, parse_auth

TOKEN = "t" * 24
AUTH = ("editor", "correct horse")


def test_defaults_are_loopback_7860_without_auth():
    settings = ServeSettings.from_env({})
    assert (settings.host, settings.port, settings.auth, settings.api_token) == ("127.0.0.1", 7860, None, None)
    assert settings.url == "http://127.0.0.1:7860"
    assert settings.examples == DEFAULT_EXAMPLES


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("example.org", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_a_public_address_without_auth_is_refused_with_both_variables_named():
    with pytest.raises(ConfigError) as caught:
        ServeSettings.from_env({}, host="0.0.0.0", port=8080)
    assert str(caught.value) == (
        "Refusing to serve on 0.0.0.0:8080 without NEWSRAG_AUTH and NEWSRAG_API_TOKEN: any other machine "
        "could read and change the library. Set NEWSRAG_AUTH=user:password and NEWSRAG_API_TOKEN=<token> "
        "(`python -c 'import secrets; print(secrets.token_urlsafe(24))'`), or bind to 127.0.0.1.")
    assert "\n" not in str(caught.value)


def test_a_public_address_needs_the_api_token_too():
    with pytest.raises(ConfigError, match=r"^Refusing to serve on 0\.0\.0\.0:7860 without NEWSRAG_API_TOKEN:"):
        ServeSettings.from_env({"NEWSRAG_AUTH": "editor:correct horse"}, host="0.0.0.0")
    with pytest.raises(ConfigError, match=r"^Refusing to serve on 10\.0\.0\.5:7860 without NEWSRAG_AUTH:"):
        ServeSettings.from_env({"NEWSRAG_API_TOKEN": TOKEN}, host="10.0.0.5")


def test_a_public_address_with_login_and_token_is_accepted():
    settings = ServeSettings.from_env({"NEWSRAG_AUTH": "editor:correct horse", "NEWSRAG_API_TOKEN": TOKEN},
                                      host="0.0.0.0", port=9000)
    assert settings.auth == AUTH and settings.api_token == TOKEN
    assert settings.url == "http://127.0.0.1:9000"


def test_auth_parsing():
    assert parse_auth(None) is None and parse_auth("  ") is None
    assert parse_auth("editor:pa:ss:word") == ("editor", "pa:ss:word")
    for bad in ("editor", ":password", "editor:"):
        with pytest.raises(ConfigError, match=r"^NEWSRAG_AUTH must be 'user:password'"):
            parse_auth(bad)


def test_weak_secrets_and_bad_numbers_are_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"^The NEWSRAG_AUTH password is 3 characters long: use at least 8\.$"):
        ServeSettings(auth=("editor", "abc"))
    with pytest.raises(ConfigError, match=r"^NEWSRAG_API_TOKEN is 5 characters long: use at least 16"):
        ServeSettings(api_token="short")
    with pytest.raises(ConfigError, match=r"^--port 70000 is not a TCP port: use a number from 1 to 65535"):
        ServeSettings(port=70000)
    with pytest.raises(ConfigError, match=r"^--host '' is not an address"):
        ServeSettings(host="")
    with pytest.raises(ConfigError, match=r"^NEWSRAG_UI_CONCURRENCY=0 must be between 1 and 64\.$"):
        ServeSettings.from_env({"NEWSRAG_UI_CONCURRENCY": "0"})
    with pytest.raises(ConfigError, match=r"^NEWSRAG_MAX_UPLOAD_FILES='many' is not an integer"):
        ServeSettings.from_env({"NEWSRAG_MAX_UPLOAD_FILES": "many"})


def test_examples_come_from_the_environment():
    settings = ServeSettings.from_env({"NEWSRAG_EXAMPLES": "What happened in Kursk? | Who reported it?|"})
    assert settings.examples == ("What happened in Kursk?", "Who reported it?")


def test_settings_are_keyword_only():
    with pytest.raises(TypeError):
        ServeSettings("0.0.0.0")  # type: ignore[misc]


def test_the_host_allowlist_is_loopback_by_default_and_configurable():
    assert ServeSettings.from_env({}).host_allowlist == {"localhost", "127.0.0.1", "::1"}
    assert ServeSettings.from_env({}, host="127.0.0.2").host_allowlist == {"localhost", "127.0.0.1", "::1",
                                                                            "127.0.0.2"}
    named = ServeSettings.from_env({"NEWSRAG_ALLOWED_HOSTS": "News.Example.org, 10.0.0.5,[::1]"})
    assert named.host_allowlist == {"news.example.org", "10.0.0.5", "::1"}
    assert ServeSettings.from_env({"NEWSRAG_ALLOWED_HOSTS": "*"}).host_allowlist is None
    public = {"NEWSRAG_AUTH": "editor:correct horse", "NEWSRAG_API_TOKEN": TOKEN}
    assert ServeSettings.from_env(public, host="0.0.0.0").host_allowlist is None  # a login guards it
    for bad in ("http://news.example.org", "news.example.org:80", "a b"):
        with pytest.raises(ConfigError, match=r"^NEWSRAG_ALLOWED_HOSTS has .* which is not a host name"):
            ServeSettings.from_env({"NEWSRAG_ALLOWED_HOSTS": bad})


@pytest.mark.parametrize("bad", ["tools.example", "https://tools.example/", "https://tools.example/app",
                                 "ftp://tools.example", "https://", "*"])
def test_cors_origins_are_origins(bad):
    assert ServeSettings.from_env({"NEWSRAG_CORS_ORIGINS": "https://a.example, http://localhost:3000"}
                                  ).cors_origins == ("https://a.example", "http://localhost:3000")
    with pytest.raises(ConfigError, match=r"^NEWSRAG_CORS_ORIGINS has .* which is not an origin: list scheme, host "
                                          r"and port only, e\.g\. NEWSRAG_CORS_ORIGINS=https://tools\.example\.org\.$"):
        ServeSettings.from_env({"NEWSRAG_CORS_ORIGINS": bad})


def test_request_limits_are_bounded():
    assert (ServeSettings().max_request_kb, ServeSettings().body_timeout) == (2048, 30.0)
    with pytest.raises(ConfigError, match=r"^NEWSRAG_MAX_REQUEST_KB=1 must be between 16 and 100000\.$"):
        ServeSettings.from_env({"NEWSRAG_MAX_REQUEST_KB": "1"})
    with pytest.raises(ConfigError, match=r"^NEWSRAG_BODY_TIMEOUT=0.0 must be between 0 and 3600 seconds\.$"):
        ServeSettings.from_env({"NEWSRAG_BODY_TIMEOUT": "0"})
    assert ServeSettings().body_deadline == 300.0
    with pytest.raises(ConfigError, match=r"^NEWSRAG_BODY_DEADLINE=10.0 must be between NEWSRAG_BODY_TIMEOUT "
                                          r"\(30\) and 86400 seconds\.$"):
        ServeSettings.from_env({"NEWSRAG_BODY_DEADLINE": "10"})
