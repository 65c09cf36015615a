"""index.records: a folder of JSON records (the feeds and the watched questions are kept so)."""

from __future__ import annotations

import pytest

from index.errors import NotFoundError
from index.records import Records


def records(tmp_path) -> Records:
    return Records(tmp_path / "things", prefix="t", what="thing", listed="`newsrag things list`", order="at")


@pytest.mark.parametrize("rid", ["", "t123", "x0123456789ab", "t0123456789abc", "t0123456789AB", "../t0123456789ab"])
def test_an_id_of_another_form_is_refused_in_one_line(tmp_path, rid):
    with pytest.raises(NotFoundError) as refused:
        records(tmp_path).get(rid)
    assert str(refused.value) == f"No thing {rid[:40]!r}: `newsrag things list` shows the ids."


def test_records_are_written_whole_listed_in_order_changed_and_removed(tmp_path):
    things = records(tmp_path)
    assert things.all() == []
    with things.locked():
        for rid, at in [("t00000000000b", 2.0), ("t00000000000a", 2.0), ("t00000000000c", 1.0)]:
            things.write({"id": rid, "at": at, "n": 0})
    (things.root / "t00000000000d.json").write_text("{half")  # unreadable: left out of the list
    assert [t["id"] for t in things.all()] == ["t00000000000c", "t00000000000a", "t00000000000b"]
    assert not list(things.root.glob("*.part"))
    changed = things.update("t00000000000a", lambda t: t.update(n=5))
    assert changed["n"] == 5 and things.get("t00000000000a") == {"id": "t00000000000a", "at": 2.0, "n": 5}
    assert things.remove("t00000000000a")["n"] == 5
    with pytest.raises(NotFoundError, match="No thing 't00000000000a': `newsrag things list` shows the ids."):
        things.get("t00000000000a")
    with pytest.raises(NotFoundError):
        things.update("t00000000000a", lambda t: None)
