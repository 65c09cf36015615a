"""The feed fetcher against a real HTTP server on 127.0.0.1: address checks after DNS and on every
redirect, size and time limits, conditional GET, robots.txt, Retry-After, politeness."""

from __future__ import annotations

import time

import pytest

from index.errors import BlockedURLError, ConfigError, FetchError
from index.fetch import Fetcher, address_refusal, retry_after_seconds
from index.settings import FetchSettings, IndexSettings
from tests.feedserver import FeedServer, Route


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def fetcher(**settings) -> Fetcher:
    settings = {"allow": ("127.0.0.1",), "host_interval": 0.0, "timeout": 5.0, **settings}
    return Fetcher(settings=FetchSettings(**settings))


@pytest.mark.parametrize(("address", "host", "allow", "refused"), [
    ("127.0.0.1", "localhost", (), "a loopback address"),
    ("::1", "localhost", (), "a loopback address"),
    ("10.1.2.3", "intranet", (), "a private address"),
    ("192.168.0.7", "router", (), "a private address"),
    ("172.20.0.1", "docker", (), "a private address"),
    ("169.254.169.254", "metadata", (), "a link-local (cloud metadata) address"),
    ("100.100.100.200", "metadata.aliyun", (), "a private address"),
    ("fd00:ec2::254", "metadata6", (), "a private address"),
    ("::ffff:127.0.0.1", "mapped", (), "a loopback address"),
    ("0.0.0.0", "zero", (), "a reserved address"),
    ("224.0.0.1", "mcast", (), "a multicast address"),
    ("93.184.215.14", "example.org", (), None),
    ("127.0.0.1", "localhost", ("127.0.0.1",), None),
    ("10.1.2.3", "intranet", ("10.0.0.0/8",), None),
    ("10.1.2.3", "intranet", ("intranet",), None),
    ("10.1.2.3", "intranet", ("10.2.0.0/16",), "a private address"),
])
def test_address_checks(address, host, allow, refused):
    reason = address_refusal(address, host, FetchSettings(allow=allow).allow)
    if refused is None:
        assert reason is None
    else:
        assert f"{host} resolves to {address}, {refused}" in reason
        assert f"NEWSRAG_FETCH_ALLOW={host}" in reason


def test_allow_setting_is_checked():
    assert IndexSettings.from_env({"NEWSRAG_FETCH_ALLOW": " 127.0.0.1, 10.0.0.0/8 ,Intranet.Example"}).fetch.allow \
        == ("127.0.0.1", "10.0.0.0/8", "intranet.example")
    with pytest.raises(ConfigError, match="NEWSRAG_FETCH_ALLOW has '10.0.0.0/33'"):
        IndexSettings.from_env({"NEWSRAG_FETCH_ALLOW": "10.0.0.0/33"})
    with pytest.raises(ConfigError, match="NEWSRAG_FETCH_ALLOW has 'http://x/', which is neither a host name nor"):
        IndexSettings.from_env({"NEWSRAG_FETCH_ALLOW": "http://x/"})
    with pytest.raises(ConfigError, match="NEWSRAG_FETCH_ALLOW has 'bad host!', which is not a host name"):
        IndexSettings.from_env({"NEWSRAG_FETCH_ALLOW": "bad host!"})


def test_retry_after_values():
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412420.0) == 60.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("99999999") == 6 * 3600.0


def test_loopback_refused_unless_allowed(server):
    server.routes["/feed.xml"] = Route(body=b"<rss/>")
    with fetcher(allow=()) as closed, pytest.raises(BlockedURLError) as refused:
        closed.get(f"{server.url}/feed.xml")
    assert str(refused.value) == (
        f"{server.url}/feed.xml: refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address; newsrag "
        "fetches only public addresses unless NEWSRAG_FETCH_ALLOW names the host or range "
        "(e.g. NEWSRAG_FETCH_ALLOW=127.0.0.1)")
    assert server.requests == []  # refused before any request, robots.txt included
    with fetcher() as open_:
        got = open_.get(f"{server.url}/feed.xml")
    assert got.status == 200 and got.content == b"<rss/>"
    assert server.hits("/feed.xml")[0].headers["user-agent"].startswith("newsrag/")


def test_a_public_name_resolving_to_a_private_address_is_refused(server):
    """The check is on the resolved address, and the connection goes to that same address."""
    server.routes["/feed.xml"] = Route(body=b"<rss/>")
    table = {"news.example": ["127.0.0.1"]}
    resolve = lambda host, port: table[host]  # noqa: E731
    url = f"http://news.example:{server.port}/feed.xml"
    with Fetcher(settings=FetchSettings(host_interval=0), resolve=resolve) as closed, \
            pytest.raises(BlockedURLError, match="news.example resolves to 127.0.0.1, a loopback address"):
        closed.get(url)
    with Fetcher(settings=FetchSettings(host_interval=0, allow=("127.0.0.1",)), resolve=resolve) as open_:
        got = open_.get(url)
    assert got.content == b"<rss/>"
    assert server.hits("/feed.xml")[0].headers["host"] == f"news.example:{server.port}"


@pytest.mark.parametrize("target", ["http://10.0.0.5/internal", "http://169.254.169.254/latest/meta-data/",
                                    "http://[::1]:9/x", "file:///etc/passwd"])
def test_every_redirect_is_checked(server, target):
    server.routes["/moved"] = Route(status=302, headers={"Location": target})
    with fetcher() as client, pytest.raises(BlockedURLError, match="refused|only http and https") as refused:
        client.get(f"{server.url}/moved")
    assert str(refused.value).startswith(target[:30])


def test_redirects_followed_and_limited(server):
    for i in range(8):
        server.routes[f"/r{i}"] = Route(status=301, headers={"Location": f"/r{i + 1}"})
    server.routes["/r8"] = Route(body=b"end")
    with fetcher(max_redirects=8) as client:
        got = client.get(f"{server.url}/r0")
    assert got.content == b"end" and got.url == f"{server.url}/r8"
    with fetcher(max_redirects=3) as client, pytest.raises(FetchError, match="more than 3 redirects"):
        client.get(f"{server.url}/r0")


def test_conditional_get(server):
    server.routes["/feed.xml"] = Route(body=b"<rss>1</rss>", etag='"v1"',
                                       headers={"Last-Modified": "Mon, 07 Dec 2026 01:00:00 GMT"})
    with fetcher() as client:
        first = client.get(f"{server.url}/feed.xml")
        again = client.get(f"{server.url}/feed.xml", etag=first.etag, last_modified=first.last_modified)
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', "Mon, 07 Dec 2026 01:00:00 GMT")
    assert again.not_modified and again.status == 304 and again.content == b""
    sent = server.hits("/feed.xml")[1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Mon, 07 Dec 2026 01:00:00 GMT"


def test_a_50_mb_response_is_cut_at_the_limit(server):
    sent = []

    def fifty_mb():
        for _ in range(50):
            sent.append(1)
            yield b"x" * 1_000_000

    server.routes["/huge.xml"] = Route(body=fifty_mb)
    with fetcher(max_mb=2) as client, pytest.raises(FetchError) as cut:
        client.get(f"{server.url}/huge.xml")
    assert str(cut.value) == (f"{server.url}/huge.xml: the response was cut at the 2 MB limit "
                              "(raise NEWSRAG_FETCH_MAX_MB to allow more)")
    assert len(sent) < 50  # the server was not read to its end
    server.routes["/declared.xml"] = Route(body=b"y" * 3_000_001)
    with fetcher(max_mb=2) as client, pytest.raises(FetchError, match="3.0 MB, over the 2 MB limit"):
        client.get(f"{server.url}/declared.xml")


def test_slow_responses_time_out(server):
    server.routes["/slow.xml"] = Route(body=b"<rss/>", delay=3)

    def drip():
        for _ in range(40):
            yield b" "
            time.sleep(0.1)

    server.routes["/drip.xml"] = Route(body=drip)
    with fetcher(timeout=1.0) as client:
        with pytest.raises(FetchError, match=r"slow.xml: no response within 1 s"):
            client.get(f"{server.url}/slow.xml")
        with pytest.raises(FetchError, match=r"drip.xml: no complete response within 1 s"):
            client.get(f"{server.url}/drip.xml")


def test_robots_txt_is_obeyed(server):
    server.routes["/robots.txt"] = Route(body=b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    server.routes["/private/feed.xml"] = Route(body=b"<rss/>")
    server.routes["/public/feed.xml"] = Route(body=b"<rss/>")
    with fetcher() as client:
        assert client.get(f"{server.url}/public/feed.xml").content == b"<rss/>"
        with pytest.raises(BlockedURLError, match=r"private/feed.xml: refused by .*/robots.txt"):
            client.get(f"{server.url}/private/feed.xml")
    assert server.hits("/private/feed.xml") == [] and len(server.hits("/robots.txt")) == 1  # cached


def test_unreadable_robots_txt_stops_the_site_for_now(server):
    server.routes["/robots.txt"] = Route(status=503)
    server.routes["/feed.xml"] = Route(body=b"<rss/>")
    with fetcher() as client, pytest.raises(FetchError, match="robots.txt cannot be read, so nothing of the site"):
        client.get(f"{server.url}/feed.xml")
    assert server.hits("/feed.xml") == []


def test_retry_after_holds_the_host_back(server):
    server.routes["/busy.xml"] = Route(status=429, headers={"Retry-After": "120"})
    server.routes["/other.xml"] = Route(body=b"<rss/>")
    with fetcher() as client:
        with pytest.raises(FetchError) as first:
            client.get(f"{server.url}/busy.xml")
        assert first.value.retry_after == 120.0 and first.value.status == 429
        assert "HTTP 429; the server asks to retry in 120 s" in str(first.value)
        with pytest.raises(FetchError, match=r"asked not to be fetched for another 1[12]\d s") as held:
            client.get(f"{server.url}/other.xml")
    assert held.value.retry_after > 100
    assert server.hits("/other.xml") == []


def test_one_request_at_a_time_and_an_interval_per_host(server):
    server.routes["/a.xml"] = Route(body=b"a")
    with fetcher(host_interval=0.25, robots=False) as client:
        for _ in range(3):
            client.get(f"{server.url}/a.xml")
    times = [r.at for r in server.hits("/a.xml")]
    assert [round(b - a, 2) >= 0.24 for a, b in zip(times, times[1:], strict=False)] == [True, True]
