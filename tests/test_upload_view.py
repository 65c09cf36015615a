"""The upload status block of the Library tab (``ui.library_view.upload_html``): what it says at
each stage of a job."""

from __future__ import annotations

import pytest

from index.library import Progress
from ui.library_view import upload_html


@pytest.mark.parametrize("latest, says, bar", [
    (None, "Reading the files…", None),
    # a long article: its sentences are read before any passage is embedded
    (Progress(0, 1, 0, 8321, sentences_done=1024, sentences_total=9000),
     "Reading 1,024 of 9,000 sentences · 0 of 1 articles", '<progress max="9000" value="1024">'),
    (Progress(0, 1, 640, 8321, sentences_done=9000, sentences_total=9000),
     "Embedding 640 of 8,321 passages · 0 of 1 articles", '<progress max="8321" value="640">'),
    (Progress(0, 2, 0, 10), "Embedding 0 of 10 passages · 0 of 2 articles", '<progress max="10" value="0">'),
])
def test_the_upload_block_says_what_the_job_is_doing(latest, says, bar):
    html = upload_html(["endless.txt"], latest=latest)
    assert f'<div class="nr-up-overall">{says}</div>' in html
    assert (bar in html) if bar else "<progress" not in html
    assert '<span class="nr-up-name">endless.txt</span> <span class="nr-up-state">queued</span>' in html
