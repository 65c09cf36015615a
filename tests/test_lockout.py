"""One lockout for every way in (ui/guard.py): the login at any of its paths, bearer tokens and any
other Authorization header, keyed on the connection's address; forwarded headers read only from
NEWSRAG_TRUSTED_PROXIES. The attacks run against a real `newsrag serve` process."""

from __future__ import annotations

import base64
import ipaddress
import subprocess
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import VENV_BIN, free_port, stop, wait_for_port
from fastapi import HTTPException

from ui.guard import Lockout, client_key, current_clients, is_login, password_check, resolve_client
from ui.settings import ServeSettings

PASSWORD = "correct horse"
TOKEN = "api-token-" + "z" * 16
PROXY = "127.0.0.9"
NETS = (ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network(PROXY))


@pytest.mark.parametrize("peer, headers, expected", [
    # not a trusted proxy: its headers are not read
    ("127.0.0.1", [(b"x-forwarded-for", b"1.2.3.4")], (("127.0.0.1",), None)),
    ("127.0.0.1", [(b"forwarded", b"for=1.2.3.4;proto=https")], (("127.0.0.1",), None)),
    # a trusted proxy: the rightmost address that is not a trusted proxy
    (PROXY, [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4")], (("1.2.3.4",), None)),
    (PROXY, [(b"x-forwarded-for", b"6.6.6.6, 1.2.3.4, 10.0.0.7")], (("1.2.3.4",), None)),
    (PROXY, [(b"x-forwarded-for", b"6.6.6.6"), (b"x-forwarded-for", b"1.2.3.4")], (("1.2.3.4",), None)),
    (PROXY, [(b"x-forwarded-for", b"10.0.0.7, 10.0.0.8")], (("10.0.0.7",), None)),  # all proxies: the first
    (PROXY, [(b"x-forwarded-for", b"1.2.3.4:5678")], (("1.2.3.4",), None)),
    (PROXY, [(b"forwarded", b'for=6.6.6.6, for="[2001:db8::1]:80";proto=https')], (("2001:db8::/64",), "https")),
    (PROXY, [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"https")], (("1.2.3.4",), "https")),
    (PROXY, [(b"x-forwarded-for", b"1.2.3.4"), (b"x-forwarded-proto", b"gopher")], (("1.2.3.4",), None)),
    # the two headers name different clients: counted on both
    (PROXY, [(b"x-forwarded-for", b"1.2.3.4"), (b"forwarded", b"for=5.5.5.5")], (("1.2.3.4", "5.5.5.5"), None)),
    (PROXY, [(b"x-forwarded-for", b"1.2.3.4"), (b"forwarded", b"for=1.2.3.4")], (("1.2.3.4",), None)),
    (PROXY, [], ((PROXY,), None)),  # a trusted proxy's own request
    (PROXY, [(b"x-forwarded-for", b"unknown")], (("unknown",), None)),
    ("::ffff:127.0.0.1", [], (("127.0.0.1",), None)),
    ("2001:db8::1", [], (("2001:db8::/64",), None)),
    ("2001:db8::2:1", [(b"x-forwarded-for", b"1.2.3.4")], (("2001:db8::/64",), None)),
])
def test_which_client_a_request_is_counted_on(peer, headers, expected):
    assert resolve_client(peer, headers, NETS) == expected


def test_without_trusted_proxies_no_header_is_read():
    headers = [(b"x-forwarded-for", b"1.2.3.4"), (b"forwarded", b"for=5.6.7.8"), (b"x-forwarded-proto", b"https")]
    assert resolve_client("127.0.0.1", headers, ()) == (("127.0.0.1",), None)


@pytest.mark.parametrize("value, key", [("192.0.2.1", "192.0.2.1"), ("2001:db8:0:0:ffff::1", "2001:db8::/64"),
                                        ("[2001:db8::1]:443", "2001:db8::/64"), ("unix:sock", "unix:sock"),
                                        ("", "unknown")])
def test_client_key(value, key):
    assert client_key(value) == key


@pytest.mark.parametrize("method, path, login", [
    ("POST", "/login", True), ("POST", "/login/", True), ("POST", "/login//", True),
    ("POST", "/news/login/", True), ("POST", "/Login", True), ("GET", "/login", False),
    ("POST", "/logins", False), ("POST", "/login/x", False), ("POST", "/", False)])
def test_is_login(method, path, login):
    assert is_login(method, path) is login


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_lockout_counts_a_sliding_window_and_locks_every_key_named():
    clock = Clock()
    lockout = Lockout(max_failures=3, window=10, lockout=30, clock=clock)
    lockout.failed(["a"])
    clock.now += 11  # out of the window
    lockout.failed(["a"])
    lockout.failed(["a"])
    assert lockout.wait(["a"]) == (0.0, None)
    lockout.failed(["a", "b"])
    assert lockout.wait(["a"]) == (30.0, "a") and lockout.wait(["c", "a"]) == (30.0, "a")
    assert lockout.wait(["b"]) == (0.0, None)  # one failure of three
    clock.now += 29.5
    assert lockout.wait(["a"]) == (0.5, "a")
    clock.now += 1
    assert lockout.wait(["a"]) == (0.0, None)
    lockout.failed(["b"])
    lockout.succeeded(["b"])  # a good login forgets the failures
    lockout.failed(["b"])
    assert lockout.wait(["b"]) == (0.0, None)


def test_the_password_check_counts_and_refuses_whatever_route_called_it():
    lockout = Lockout(max_failures=2, clock=Clock())
    check = password_check(("editor", PASSWORD), lockout)
    assert current_clients() == ("unknown",)  # outside a request: one shared key, never none
    assert check("editor", PASSWORD) is True
    assert check("editor", "guess") is False and check("someone", PASSWORD) is False
    with pytest.raises(HTTPException) as locked:
        check("editor", PASSWORD)
    assert locked.value.status_code == 429 and locked.value.headers["Retry-After"] == "61"
    assert locked.value.detail == "Too many failed logins from unknown: try again in 60 s."


def test_trusted_proxies_must_be_addresses():
    assert ServeSettings(trusted_proxies=("10.0.0.0/8", "::1")).proxy_networks == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))
    from index.errors import ConfigError

    with pytest.raises(ConfigError, match="NEWSRAG_TRUSTED_PROXIES has 'proxy.local', which is not an address"):
        ServeSettings(trusted_proxies=("proxy.local",))
    assert ServeSettings.from_env({"NEWSRAG_TRUSTED_PROXIES": " 10.0.0.5, 10.1.0.0/16 "}).trusted_proxies == (
        "10.0.0.5", "10.1.0.0/16")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`newsrag serve` with a login, a token and one trusted proxy (127.0.0.9), on an empty home."""
    import os

    tmp = tmp_path_factory.mktemp("lockout")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_") or k == "NEWSRAG_MODEL_DIR"}
    env |= {"NEWSRAG_HOME": str(tmp / "home"), "NEWSRAG_AUTH": f"editor:{PASSWORD}", "NEWSRAG_API_TOKEN": TOKEN,
            "NEWSRAG_TRUSTED_PROXIES": PROXY}
    with open(tmp / "serve.log", "w+") as log:
        process = subprocess.Popen([str(VENV_BIN / "newsrag"), "serve", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, timeout=120, process=process)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


def client_from(url: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, transport=httpx.HTTPTransport(local_address=address))


def login(client: httpx.Client, path: str, password: str) -> httpx.Response:
    return client.post(path, data={"username": "editor", "password": password})


@pytest.mark.slow
def test_a_login_brute_force_through_login_slash_is_locked_out(server):
    with client_from(server, "127.0.0.2") as attacker, client_from(server, "127.0.0.3") as editor:
        # 8 clients at once, 32 guesses, on the route the old lockout did not watch
        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(lambda i: login(attacker, "/login/", f"guess-{i}").status_code, range(32)))
        assert statuses == [400] * 5 + [429] * 27
        for path in ("/login/", "/login", "/login//"):
            refused = login(attacker, path, PASSWORD)  # the right password, while locked
            assert refused.status_code == 429, (path, refused.text)
            assert "set-cookie" not in refused.headers
        assert refused.json()["error"].startswith("Too many failed logins from 127.0.0.2: try again in ")
        assert attacker.get("/api/articles", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 429
        # the lockout is the attacker's: the editor, from another address, logs in on either path
        assert login(editor, "/login/", PASSWORD).json() == {"success": True}
        assert editor.get("/api/articles", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.slow
def test_a_rotated_forwarded_header_does_not_escape_the_lockout(server):
    with client_from(server, "127.0.0.4") as attacker:
        statuses = [attacker.get("/api/articles", headers={
            "Authorization": "Bearer " + "w" * 24, "X-Forwarded-For": f"10.20.{i}.1",
            "Forwarded": f"for=10.30.{i}.1"}).status_code for i in range(30)]
        assert statuses == [401] * 5 + [429] * 25
    with client_from(server, "127.0.0.5") as basic:  # Basic credentials count the same
        wrong = "Basic " + base64.b64encode(b"editor:guess").decode()
        statuses = [basic.get("/api/articles", headers={"Authorization": wrong}).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        assert basic.post("/login/", data={"username": "editor", "password": PASSWORD}).status_code == 429


@pytest.mark.slow
def test_behind_a_trusted_proxy_each_client_is_its_forwarded_address(server):
    wrong = {"Authorization": "Bearer " + "w" * 24}
    right = {"Authorization": f"Bearer {TOKEN}"}
    with client_from(server, PROXY) as proxy:
        # a client behind the proxy rotates what it sends; the proxy appends what it saw: 10.9.9.9
        statuses = [proxy.get("/api/articles", headers={**wrong, "X-Forwarded-For": f"6.6.6.{i}, 10.9.9.9"})
                    .status_code for i in range(6)]
        assert statuses == [401] * 5 + [429]
        assert proxy.get("/api/articles", headers={**right, "X-Forwarded-For": "10.9.9.9",
                                                   "Forwarded": "for=10.7.7.7"}).status_code == 429
        # another client behind the same proxy is not locked out, nor is the proxy itself
        assert proxy.get("/api/articles", headers={**right, "X-Forwarded-For": "10.9.9.8"}).status_code == 200
        assert proxy.get("/api/articles", headers=right).status_code == 200
