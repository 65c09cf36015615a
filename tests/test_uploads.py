"""What the chat's upload function may read: only files inside Gradio's upload cache."""

from __future__ import annotations

import pytest

from index.errors import InputError, TooLargeError
from ui.uploads import from_upload_cache


@pytest.fixture
def cache(tmp_path):
    root = tmp_path / "gradio"
    (root / "3f2a").mkdir(parents=True)
    (root / "3f2a" / "story.txt").write_text("A story the user uploaded.\n")
    return root


def test_a_file_in_the_upload_cache_is_read_under_its_own_name(cache):
    upload = from_upload_cache(cache / "3f2a" / "story.txt", cache=cache, max_bytes=1000)
    assert (upload.name, upload.data) == ("story.txt", b"A story the user uploaded.\n")
    assert list(cache.iterdir()) == []  # read once, then gone from Gradio's cache, its folder too


def test_a_relative_path_into_the_cache_is_resolved_first(cache, monkeypatch):
    monkeypatch.chdir(cache)
    assert from_upload_cache("3f2a/story.txt", cache=cache, max_bytes=1000).name == "story.txt"


@pytest.mark.parametrize("where", ["outside", "dotdot", "symlink", "the-cache-itself", "missing"])
def test_any_other_path_is_refused_without_reading_it(cache, tmp_path, where):
    secret = tmp_path / "secret.txt"
    secret.write_text("server secret\n")
    if where == "outside":
        path = secret
    elif where == "dotdot":
        path = cache / "3f2a" / ".." / ".." / "secret.txt"
    elif where == "symlink":
        path = cache / "3f2a" / "link.txt"
        path.symlink_to(secret)
    elif where == "the-cache-itself":
        path = cache
    else:
        path = cache / "3f2a" / "gone.txt"
    with pytest.raises(InputError, match=r"^(secret|link|gradio|gone)\.?(txt)?: not an uploaded file"):
        from_upload_cache(path, cache=cache, max_bytes=1000)
    assert secret.read_text() == "server secret\n"  # refused, never touched


def test_an_upload_over_the_size_limit_is_refused(cache):
    with pytest.raises(TooLargeError, match=r"^story.txt: 0.0 MB is over the 1e-05 MB limit per file"):
        from_upload_cache(cache / "3f2a" / "story.txt", cache=cache, max_bytes=10)
